//! `plantwatch`: with no arguments, the desktop window; with a subcommand, headless.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;
#[cfg(feature = "desktop")]
mod desktop;

#[derive(Parser)]
#[command(name = "plantwatch", version, about = "Watch a plant over Modbus, keep its history, raise alarms.")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check a plant config and print a summary, or every problem as FILE:LINE:COL: message.
    Check(cli::check::Args),
    /// Poll every device of a plant and store the history until the duration ends or a signal arrives.
    Collect(cli::collect::Args),
    /// Export stored samples as CSV or JSON lines.
    Export(cli::export::Args),
    /// Read a device once from the command line and print decoded values.
    Read(cli::read::Args),
    /// Serve the built-in simulated plant over Modbus TCP, RTU or RTU over TCP.
    Simulate(cli::simulate::Args),
    /// Print the alarm journal, or alarm health.
    Alarms(cli::alarms::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check(args)) => cli::check::run(args),
        Some(Command::Collect(args)) => cli::collect::run(args),
        Some(Command::Export(args)) => cli::export::run(args),
        Some(Command::Read(args)) => cli::read::run(args),
        Some(Command::Simulate(args)) => cli::simulate::run(args),
        Some(Command::Alarms(args)) => cli::alarms::run(args),
        None => open_desktop(),
    }
}

#[cfg(feature = "desktop")]
fn open_desktop() -> ExitCode {
    desktop::run()
}

#[cfg(not(feature = "desktop"))]
fn open_desktop() -> ExitCode {
    eprintln!("plantwatch: this build has no desktop window (built without the `desktop` feature); run `plantwatch --help` for the headless commands");
    ExitCode::from(2)
}
