//! `plantwatch export` (not built yet).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> ExitCode {
    eprintln!("plantwatch export: not built yet");
    ExitCode::from(1)
}
