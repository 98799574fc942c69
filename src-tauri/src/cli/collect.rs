//! `plantwatch collect CONFIG [--db FILE] [--duration 10m]`: poll every device of a plant and store the
//! history until the duration ends or SIGINT/SIGTERM arrives, then flush and exit: 0 when every sample
//! was stored, 1 when any was lost (or the engine could not start), 2 for a bad config.
//!
//! A status line goes to stderr every few seconds (UTC time of day):
//! `12:00:05 devices 3/4 online, 1234 samples stored, 5 errors, history 12 waiting, 0 dropped, 0 write errors`
//! with, while the history file refuses commits, ` (failing: ...)` saying why; while the history's disk
//! is below `[history] min_free`, `, disk low (812.4 MB free)`, and once the disk guard has dropped old
//! raw samples, `, 5400 old samples dropped for disk space (up to 2026-12-04T10:00:00.000Z)`. With a
//! `[northbound.sparkplug]` section the Sparkplug B edge node runs too (started after the engine,
//! stopped before it), and the line gains `, sparkplug online mqtt://host:1883 12 msg/s 240 metrics/s backlog 0 s`
//! and its last error. With an `[api]` section the local API serves the same engine (started after it,
//! stopped first), and `HH:MM:SS api: http://127.0.0.1:8181/api/v1/` says where; a network address in
//! plain HTTP (`insecure = true`) gets a warning.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use plantwatch_api::{ApiServer, ApiStartError};
use plantwatch_core::{parse_duration, ApiSecurity, Timestamp};
use plantwatch_engine::{Engine, EngineOptions, EngineStats};
use plantwatch_northbound::Northbound;

#[derive(clap::Args)]
pub struct Args {
    /// The plant config (TOML).
    config: PathBuf,
    /// The history file; default: the config's `[history] path`, or the config's name with `.db`.
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Stop after this long (e.g. 90s, 10m, 1h30m); default: until SIGINT or SIGTERM.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    duration: Option<Duration>,
    /// How often the status line is printed.
    #[arg(long, value_parser = parse_duration, default_value = "5s", value_name = "DURATION")]
    status_every: Duration,
    /// Do not evaluate alarms (history only).
    #[arg(long)]
    no_alarms: bool,
}

pub fn run(args: Args) -> ExitCode {
    let plant = match plantwatch_config::load(&args.config) {
        Ok(plant) => Arc::new(plant),
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    // A scheduled report's template is read now, like the plant file: a broken one is a bad config.
    for schedule in &plant.reports {
        if let Err(e) = plantwatch_report::Template::of(&schedule.template) {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("plantwatch collect: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(collect(plant, args))
}

async fn collect(plant: Arc<plantwatch_core::Plant>, args: Args) -> ExitCode {
    let options = EngineOptions {
        history: args.db.clone(),
        alarms: !args.no_alarms,
        ..EngineOptions::default()
    };
    // Watch SIGTERM before anything else: a service manager that stops us early must get a clean
    // stop (history flushed), not the default action's sudden death.
    let terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        Ok(signal) => Some(signal),
        Err(e) => {
            eprintln!("plantwatch collect: cannot watch SIGTERM ({e}); SIGINT still stops");
            None
        }
    };
    let engine = match Engine::start(plant.clone(), options).await {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("plantwatch collect: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "{} collecting '{}': {} devices, {} tags, history {}",
        clock(),
        plant.name,
        plant.devices.len(),
        plant.tag_count(),
        engine.history_path().display()
    );
    let engine = Arc::new(engine);
    let reports = start_reports(&engine);
    let northbound = match plant.sparkplug.clone() {
        None => None,
        Some(settings) => {
            let brokers: Vec<String> = settings.brokers.iter().map(ToString::to_string).collect();
            match Northbound::start(engine.clone(), settings) {
                Ok(node) => {
                    eprintln!(
                        "{} sparkplug edge node: brokers {}",
                        clock(),
                        brokers.join(", ")
                    );
                    Some(node)
                }
                Err(e) => {
                    eprintln!("plantwatch collect: sparkplug: {e}");
                    let code = if e.is_bad_input() { 2 } else { 1 };
                    if let Some(engine) = Engine::reclaim(engine, RECLAIM_WITHIN).await {
                        let _ = engine.stop().await;
                    }
                    return ExitCode::from(code);
                }
            }
        }
    };

    let api = match plant.api.as_ref() {
        None => None,
        Some(settings) => {
            let screens = browser_screens(&engine);
            let serving_screens = screens.is_some();
            match ApiServer::start(settings, engine.clone(), engine.history_path(), screens).await {
                Ok(server) => {
                    eprintln!("{} api: {}", clock(), server.url());
                    if serving_screens {
                        eprintln!("{} screens: {}", clock(), server.screens_url());
                    }
                    if settings.security == ApiSecurity::Insecure {
                        eprintln!(
                        "plantwatch collect: WARNING: the API on {} is plain HTTP on the network \
                         (insecure = true): tokens and data travel in clear text; give tls_cert and \
                         tls_key",
                        server.local_addr()
                    );
                    }
                    Some(server)
                }
                Err(e) => {
                    eprintln!("plantwatch collect: api: {e}");
                    let code = if matches!(e, ApiStartError::Tls(_)) {
                        2
                    } else {
                        1
                    };
                    if let Some(node) = northbound {
                        node.stop().await;
                    }
                    if let Some(engine) = Engine::reclaim(engine, RECLAIM_WITHIN).await {
                        let _ = engine.stop().await;
                    }
                    return ExitCode::from(code);
                }
            }
        }
    };

    let stop_reason = wait_for_stop(
        &engine,
        northbound.as_ref(),
        terminate,
        args.duration,
        args.status_every,
    )
    .await;
    eprintln!("{} {stop_reason}: stopping", clock());
    // A report being made is finished; the next one is made at the next start (caught up).
    if let Some(reports) = reports {
        reports.stop();
    }
    // The API first: no request reads a stopping engine, and its hold on the engine ends.
    if let Some(api) = api {
        api.stop().await;
    }
    // The node first: its NDEATH and last acknowledgements, while the engine still runs.
    if let Some(node) = northbound {
        let status = node.stop().await;
        eprintln!("{} {}", clock(), status.line());
    }
    let Some(engine) = Engine::reclaim(engine, RECLAIM_WITHIN).await else {
        eprintln!("plantwatch collect: the engine is still in use after the northbound stopped");
        return ExitCode::from(1);
    };
    match engine.stop().await {
        Ok(stats) => {
            eprintln!("{} stopped: {}", clock(), summary(&stats));
            let mut lost = false;
            if stats.alarm_changes_unjournaled > 0 {
                let why = stats
                    .alarm_journal_error
                    .as_deref()
                    .map(|e| format!(" (last journal error: {e})"))
                    .unwrap_or_default();
                eprintln!(
                    "plantwatch collect: {} alarm changes could not be journaled{why}",
                    stats.alarm_changes_unjournaled
                );
                lost = true;
            }
            if stats.samples_dropped > 0 {
                let why = stats
                    .history_last_error
                    .as_deref()
                    .map(|e| format!(" (last history error: {e})"))
                    .unwrap_or_default();
                eprintln!(
                    "plantwatch collect: {} samples could not be stored{why}",
                    stats.samples_dropped
                );
                lost = true;
            }
            if lost {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("plantwatch collect: {e}");
            ExitCode::from(1)
        }
    }
}

/// The scheduler of the plant's `[[reports]]` (none without them), each report made or failed on a
/// line of its own.
fn start_reports(engine: &Engine) -> Option<plantwatch_report::schedule::ReportScheduler> {
    use plantwatch_report::schedule::{self, ScheduleEvent};
    let (plant, history) = (engine.plant(), engine.history_path());
    if plant.reports.is_empty() {
        return None;
    }
    let on_event = Box::new(|event: ScheduleEvent| match event {
        ScheduleEvent::Made { files, .. } => {
            for file in files {
                eprintln!("{} report: {}", clock(), file.display());
            }
        }
        ScheduleEvent::Failed { period, error, .. } => {
            eprintln!(
                "{} report failed: {} to {}: {error} (tried again in a minute)",
                clock(),
                period.from,
                period.to
            );
        }
    });
    // A failing schedule raises the system alarm "scheduled report failed" (journaled, listed by
    // `plantwatch alarms`), cleared when it makes its report.
    let on_failing = crate::report_alarm::on_failing(engine);
    match schedule::start_for_plant(plant, history, on_event, on_failing) {
        Ok(scheduler) => {
            eprintln!(
                "{} reports: {} scheduled ({})",
                clock(),
                plant.reports.len(),
                plant
                    .reports
                    .iter()
                    .map(|r| format!("{} every {} at {}", r.template.label(), r.every, r.at))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            Some(scheduler)
        }
        Err(e) => {
            eprintln!("plantwatch collect: reports: {e}; no scheduled reports this run");
            None
        }
    }
}

/// How long `collect` waits for the northbound node to let go of the engine (its last command).
const RECLAIM_WITHIN: Duration = Duration::from_secs(10);

/// Prints the status line until the duration ends or a signal arrives; returns why it stopped.
async fn wait_for_stop(
    engine: &Engine,
    northbound: Option<&Northbound>,
    mut terminate: Option<tokio::signal::unix::Signal>,
    duration: Option<Duration>,
    every: Duration,
) -> &'static str {
    let end = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(end);
    let mut status = tokio::time::interval_at(
        tokio::time::Instant::now() + every,
        every.max(Duration::from_millis(100)),
    );
    status.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = &mut end => return "duration reached",
            _ = tokio::signal::ctrl_c() => return "SIGINT",
            Some(_) = async { match terminate.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => return "SIGTERM",
            _ = status.tick() => {
                let mut line = summary(&engine.stats());
                if let Some(node) = northbound {
                    line.push_str(", ");
                    line.push_str(&node.status().line());
                }
                eprintln!("{} {line}", clock());
            }
        }
    }
}

fn summary(stats: &EngineStats) -> String {
    let mut line = format!(
        "devices {}/{} online, {} samples stored, {} errors",
        stats.devices_online, stats.devices_total, stats.samples_stored, stats.errors
    );
    if stats.missed_cycles > 0 {
        line.push_str(&format!(", {} missed cycles", stats.missed_cycles));
    }
    line.push_str(&format!(
        ", history {} waiting, {} dropped, {} write errors",
        stats.samples_pending, stats.samples_dropped, stats.history_errors
    ));
    // Why, while the file refuses commits.
    match &stats.history_last_error {
        Some(error) if stats.history_failing => line.push_str(&format!(" (failing: {error})")),
        _ => {}
    }
    // The disk guard (see `plantwatch_history::writer`): only while the disk is low, and once it has
    // dropped anything.
    if stats.history_disk_low {
        let free = stats
            .history_disk_free
            .map(|f| format!(" ({:.1} MB free)", f as f64 / 1e6))
            .unwrap_or_default();
        line.push_str(&format!(", disk low{free}"));
    }
    if stats.samples_shed > 0 {
        let until = stats
            .shed_until
            .map(|t| format!(" (up to {t})"))
            .unwrap_or_default();
        line.push_str(&format!(
            ", {} old samples dropped for disk space{until}",
            stats.samples_shed
        ));
    }
    // Alarm changes the operator has seen and the journal does not have yet: only while there are any.
    if stats.alarm_changes_unjournaled > 0 {
        line.push_str(&format!(
            ", alarms {} waiting for the journal",
            stats.alarm_changes_unjournaled
        ));
        if let Some(error) = &stats.alarm_journal_error {
            line.push_str(&format!(" ({error})"));
        }
    }
    line
}

/// The UTC time of day, `HH:MM:SS`.
fn clock() -> String {
    let text = Timestamp::now().to_string();
    text.get(11..19).unwrap_or(&text).to_string()
}

/// The browser screens when the plant asks for them (`[api] browser = true`) and this binary can serve
/// them; why not goes to stderr, and the API runs without them.
#[cfg(feature = "desktop")]
fn browser_screens(engine: &Arc<Engine>) -> Option<Arc<dyn plantwatch_api::ScreensBackend>> {
    match crate::desktop::browser::for_plant(engine, false) {
        Ok(screens) => screens,
        Err(why) => {
            eprintln!("plantwatch collect: api: browser = true, but {why}");
            None
        }
    }
}

#[cfg(not(feature = "desktop"))]
fn browser_screens(engine: &Arc<Engine>) -> Option<Arc<dyn plantwatch_api::ScreensBackend>> {
    if engine.plant().api.as_ref().is_some_and(|api| api.browser) {
        eprintln!(
            "plantwatch collect: api: browser = true, but this build has no screens (built without \
             the `desktop` feature); the API is served without them"
        );
    }
    None
}
