//! `plantwatch check CONFIG`: validate a plant config and print its summary, or every problem in it.

use std::path::PathBuf;
use std::process::ExitCode;

/// Check a plant config.
#[derive(clap::Args)]
pub struct Args {
    /// The plant config file (TOML).
    pub config: PathBuf,
}

/// Prints the one-line summary and exits 0, or prints every problem on stderr as
/// `CONFIG:LINE:COL: message` (or `CONFIG: cannot read: ...`) and exits 2.
pub fn run(args: Args) -> ExitCode {
    match plantwatch_config::load(&args.config) {
        Ok(plant) => {
            println!("{}", plantwatch_config::summary(&plant));
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(2)
        }
    }
}
