//! `plantwatch sparkplug CONFIG --check`: the installer's first test of the northbound link. Connects
//! to the plant's broker (the first of `brokers` that answers), publishes NBIRTH and every DBIRTH,
//! waits for their PUBACKs, leaves with NDEATH and prints what it did. Exit 0 when the births were
//! acknowledged, 1 when no broker took them (refused connection, TLS, username or password; the
//! message names the broker), 2 for a bad config, a plant without `[northbound.sparkplug]`, or a
//! `password_env` that is not set.

use std::path::PathBuf;
use std::process::ExitCode;

/// The plant's Sparkplug B edge node.
#[derive(clap::Args)]
pub struct Args {
    /// The plant config (TOML) with a [northbound.sparkplug] section.
    config: PathBuf,
    /// Connect, publish the births, wait for their acknowledgement and report.
    #[arg(long)]
    check: bool,
}

pub fn run(args: Args) -> ExitCode {
    let plant = match plantwatch_config::load(&args.config) {
        Ok(plant) => plant,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    let Some(settings) = plant.sparkplug.clone() else {
        eprintln!(
            "plantwatch sparkplug: {} has no [northbound.sparkplug] section",
            plantwatch_core::echo::escape(&args.config.display().to_string())
        );
        return ExitCode::from(2);
    };
    if !args.check {
        eprintln!(
            "plantwatch sparkplug: say what to do: --check (the node itself runs in plantwatch collect)"
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("plantwatch sparkplug: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(plantwatch_northbound::check(&plant, &settings)) {
        Ok(report) => {
            for failed in &report.failed_brokers {
                println!("skipped {failed}");
            }
            println!(
                "ok: broker {}, group {}, node {}: NBIRTH and {} DBIRTHs ({} metrics) acknowledged, round trip {:.1} ms",
                report.broker,
                report.group,
                report.node,
                report.devices,
                report.metrics,
                report.round_trip.as_secs_f64() * 1000.0
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("plantwatch sparkplug: {e}");
            ExitCode::from(if e.is_bad_input() { 2 } else { 1 })
        }
    }
}
