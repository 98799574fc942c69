//! `plantwatch simulate` (not built yet).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> ExitCode {
    eprintln!("plantwatch simulate: not built yet");
    ExitCode::from(1)
}
