//! `plantwatch`: with no arguments, the desktop window; with a subcommand, headless.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;
mod csv;
#[cfg(feature = "desktop")]
mod desktop;
mod report_alarm;

#[derive(Parser)]
#[command(
    name = "plantwatch",
    version,
    about = "Watch a plant over Modbus, keep its history, raise alarms."
)]
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
    /// Find devices on a link: unit ids, readable ranges, identification, serial settings, ports.
    Scan(cli::scan::Args),
    /// Serve the built-in simulated plant over Modbus TCP, RTU or RTU over TCP.
    Simulate(cli::simulate::Args),
    /// A shift, daily or custom report as PDF, XLSX, CSV or HTML: statistics with gaps, availability, alarms.
    Report(cli::report::Args),
    /// Print the alarm journal, or alarm health.
    Alarms(cli::alarms::Args),
    /// Manage the plant's users (add, passwd, remove, role, list) and the idle lock.
    Users(cli::users::Args),
    /// Print the audit trail, or verify its hash chain.
    Audit(cli::audit::Args),
    /// Write one tag through the checked, audited write path (sign in, check, write, read back).
    Write(cli::write::Args),
    /// The plant's Sparkplug B edge node: `--check` connects, publishes the births and reports.
    Sparkplug(cli::sparkplug::Args),
    /// A plant's tag list as CSV: `export` prints it, `import` adds and changes tags from it.
    Tags(cli::tags::Args),
    /// The local API's tokens (add, list, revoke) and a self-signed certificate (make-cert).
    Tokens(cli::tokens::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        Some(Command::Check(args)) => cli::check::run(args),
        Some(Command::Collect(args)) => cli::collect::run(args),
        Some(Command::Export(args)) => cli::export::run(args),
        Some(Command::Read(args)) => cli::read::run(args),
        Some(Command::Scan(args)) => cli::scan::run(args),
        Some(Command::Simulate(args)) => cli::simulate::run(args),
        Some(Command::Report(args)) => cli::report::run(args),
        Some(Command::Alarms(args)) => cli::alarms::run(args),
        Some(Command::Users(args)) => cli::users::run(args),
        Some(Command::Audit(args)) => cli::audit::run(args),
        Some(Command::Write(args)) => cli::write::run(args),
        Some(Command::Sparkplug(args)) => cli::sparkplug::run(args),
        Some(Command::Tags(args)) => cli::tags::run(args),
        Some(Command::Tokens(args)) => cli::tokens::run(args),
        None => open_desktop(),
    }
}

/// Engine diagnostics go to stderr. `PLANTWATCH_LOG` (or `RUST_LOG`) takes a filter such as `info` or
/// `plantwatch_engine=debug`; by default only warnings and errors are shown, so the commands' own output
/// stays readable.
fn init_logging() {
    let filter = std::env::var("PLANTWATCH_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // A second init (tests embedding main) is harmless: keep the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

#[cfg(feature = "desktop")]
fn open_desktop() -> ExitCode {
    // WebKitGTK's accelerated compositing costs about 60 MB more across the app's processes and shows a
    // blank window on some virtual machines and older GPUs; a plant screen gains nothing from it. Users can
    // still choose by setting the variable themselves. Set before any thread starts.
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    desktop::run()
}

#[cfg(not(feature = "desktop"))]
fn open_desktop() -> ExitCode {
    eprintln!("plantwatch: this build has no desktop window (built without the `desktop` feature); run `plantwatch --help` for the headless commands");
    ExitCode::from(2)
}
