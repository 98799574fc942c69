//! Scheduled reports (`[[reports]]`): a thread that makes each report once its period has ended, in
//! `collect` and in the desktop alike.
//!
//! What was made is remembered per schedule in a small state file in the report folder
//! (`.plantwatch-<template>-<every>-<at>.last`, the end of the last period made, written atomically), so a
//! report that fell due while Plantwatch was not running is made when it starts again, oldest first
//! (at most [`CATCH_UP`] periods, the newest). A schedule seen for the first time starts from now: it
//! does not fill the folder with reports of the past. A report is made [`SETTLE`] after its period ends,
//! so the history writer (which commits within half a second) and the alarm journal hold its last
//! samples. A report that fails (a broken template, a full disk) is retried every [`RETRY`] and the state
//! does not move past it, so nothing is skipped silently; every outcome is handed to the caller's
//! `on_event`, which logs it.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use jiff::tz::TimeZone;
use plantwatch_core::{ReportPeriod, ReportSchedule, Timestamp};

/// How long after its period ends a report is made.
pub const SETTLE: Duration = Duration::from_secs(10);
/// How often a failed report is tried again (and how often the thread looks at the clock when nothing
/// is due sooner).
pub const RETRY: Duration = Duration::from_secs(60);
/// At most this many missed periods per schedule are made after a long stop (the newest).
pub const CATCH_UP: usize = 60;

/// What the scheduler did, for the caller to log or show.
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleEvent {
    Made {
        schedule: usize,
        period: ReportPeriod,
        files: Vec<PathBuf>,
    },
    Failed {
        schedule: usize,
        period: ReportPeriod,
        error: String,
    },
}

/// Which schedules are failing, from their outcomes: a schedule fails from a report it could not make
/// until it makes one again (it retries each minute). The system alarm "scheduled report failed" is
/// active while any schedule fails, so a window user and a collector's operator see what the log says.
#[derive(Debug, Default)]
pub struct Failing(Vec<bool>);

impl Failing {
    /// Notes an outcome; returns whether any schedule is failing now.
    pub fn note(&mut self, event: &ScheduleEvent) -> bool {
        let (schedule, failed) = match event {
            ScheduleEvent::Made { schedule, .. } => (*schedule, false),
            ScheduleEvent::Failed { schedule, .. } => (*schedule, true),
        };
        if self.0.len() <= schedule {
            self.0.resize(schedule + 1, false);
        }
        self.0[schedule] = failed;
        self.0.contains(&true)
    }
}

/// Makes one scheduled report's files for a period; returns the files written.
pub type MakeReport =
    dyn Fn(&ReportSchedule, ReportPeriod, &TimeZone) -> Result<Vec<PathBuf>, String> + Send;

/// The running scheduler; [`ReportScheduler::stop`] (or drop) ends its thread.
pub struct ReportScheduler {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ReportScheduler {
    /// Starts the thread for `schedules` (none: no thread). `make` writes a report's files;
    /// `on_event` hears every outcome.
    pub fn start(
        schedules: Vec<ReportSchedule>,
        tz: TimeZone,
        make: Box<MakeReport>,
        on_event: Box<dyn Fn(ScheduleEvent) + Send>,
    ) -> std::io::Result<ReportScheduler> {
        if schedules.is_empty() {
            return Ok(ReportScheduler {
                stop: None,
                thread: None,
            });
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let started = Timestamp::now();
        let thread = std::thread::Builder::new()
            .name("plantwatch-reports".into())
            .spawn(move || {
                let mut made: Vec<Timestamp> = schedules
                    .iter()
                    .map(|s| read_state(&state_file(s)).unwrap_or(started))
                    .collect();
                loop {
                    let now = Timestamp::now();
                    let mut failed = false;
                    for (index, schedule) in schedules.iter().enumerate() {
                        for period in due(schedule, made[index], now, &tz) {
                            match make(schedule, period, &tz) {
                                Ok(files) => {
                                    made[index] = period.to;
                                    if let Err(e) = write_state(&state_file(schedule), period.to) {
                                        on_event(ScheduleEvent::Failed {
                                            schedule: index,
                                            period,
                                            error: format!(
                                                "made, but cannot record it in {}: {e}",
                                                state_file(schedule).display()
                                            ),
                                        });
                                    }
                                    on_event(ScheduleEvent::Made {
                                        schedule: index,
                                        period,
                                        files,
                                    });
                                }
                                Err(error) => {
                                    failed = true;
                                    on_event(ScheduleEvent::Failed {
                                        schedule: index,
                                        period,
                                        error,
                                    });
                                    // Later periods wait for this one: reports stay in order.
                                    break;
                                }
                            }
                        }
                    }
                    let wait = if failed {
                        RETRY
                    } else {
                        next_wake(&schedules, Timestamp::now(), &tz).min(RETRY)
                    };
                    match stopped.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            })?;
        Ok(ReportScheduler {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Ends the thread; a report being made is finished first.
    pub fn stop(mut self) {
        self.end();
    }

    fn end(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ReportScheduler {
    fn drop(&mut self) {
        self.end();
    }
}

/// Starts the scheduler for a plant's `[[reports]]` over its history file (read-only), after reading
/// every schedule's template: a template that does not read is an error now, not at the first report.
/// `on_event` hears every outcome, then `on_failing` whether any schedule is failing ([`Failing`]).
pub fn start_for_plant(
    plant: &plantwatch_core::Plant,
    history: &Path,
    on_event: Box<dyn Fn(ScheduleEvent) + Send>,
    on_failing: Box<dyn Fn(bool) + Send>,
) -> Result<ReportScheduler, crate::ReportError> {
    for schedule in &plant.reports {
        crate::Template::of(&schedule.template)?;
    }
    let history = history.to_path_buf();
    let make = Box::new(
        move |schedule: &ReportSchedule, period: ReportPeriod, tz: &TimeZone| {
            make_files(&history, schedule, period, tz).map_err(|e| e.to_string())
        },
    );
    let failing = std::sync::Mutex::new(Failing::default());
    let on_event = Box::new(move |event: ScheduleEvent| {
        // A poisoned lock (a panic in another outcome's handler) says "failing": shown, not hidden.
        let any = failing.lock().map_or(true, |mut f| f.note(&event));
        on_event(event);
        on_failing(any);
    });
    ReportScheduler::start(plant.reports.clone(), TimeZone::system(), make, on_event)
        .map_err(crate::ReportError::Scheduler)
}

/// Makes one period's report in each of the schedule's formats, in its folder (created when missing).
pub fn make_files(
    history: &Path,
    schedule: &ReportSchedule,
    period: ReportPeriod,
    tz: &TimeZone,
) -> Result<Vec<PathBuf>, crate::ReportError> {
    let template = crate::Template::of(&schedule.template)?;
    let reader = plantwatch_history::HistoryReader::open(history)?;
    let journal = plantwatch_alarm::JournalReader::open(history)?;
    let report = crate::Report::build(
        &reader,
        history,
        &journal,
        &template,
        period.from,
        period.to,
        schedule.language,
    )?;
    std::fs::create_dir_all(&schedule.out).map_err(|e| crate::ReportError::Write {
        path: schedule.out.clone(),
        message: e.to_string(),
    })?;
    let stem = file_stem(schedule, period, tz);
    let mut files = Vec::with_capacity(schedule.formats.len());
    for &format in &schedule.formats {
        let path = schedule.out.join(format!("{stem}.{}", format.extension()));
        report.write(&path, format)?;
        files.push(path);
    }
    Ok(files)
}

/// The periods of `schedule` to make now: those that ended after `after` and at least [`SETTLE`]
/// before `now`, oldest first, at most [`CATCH_UP`].
pub fn due(
    schedule: &ReportSchedule,
    after: Timestamp,
    now: Timestamp,
    tz: &TimeZone,
) -> Vec<ReportPeriod> {
    let settled = now.add_millis(-(SETTLE.as_millis() as i64));
    schedule.periods_ended(after, settled, tz, CATCH_UP)
}

/// How long until the next report of any schedule settles.
fn next_wake(schedules: &[ReportSchedule], now: Timestamp, tz: &TimeZone) -> Duration {
    schedules
        .iter()
        .filter_map(|s| s.period_containing(now, tz))
        .map(|p| {
            let at = p.to.add_millis(SETTLE.as_millis() as i64);
            Duration::from_millis(at.millis_since(now).max(1_000) as u64)
        })
        .min()
        .unwrap_or(RETRY)
}

/// The state file of a schedule: in its folder, named by template, period and anchor, so two
/// schedules never share one and changing a schedule starts a fresh record.
pub fn state_file(schedule: &ReportSchedule) -> PathBuf {
    let at = schedule.at.to_string().replace(':', "");
    schedule.out.join(format!(
        ".plantwatch-{}-{}-{at}.last",
        schedule.template.label(),
        schedule.every
    ))
}

/// The base name of a period's report files: the template and the period's start in local time,
/// such as `shift-2026-12-04_0600` (the format's extension is added per file).
pub fn file_stem(schedule: &ReportSchedule, period: ReportPeriod, tz: &TimeZone) -> String {
    let start = jiff::Timestamp::from_millisecond(period.from.0)
        .map(|t| {
            t.to_zoned_datetime(tz.clone())
                .strftime("%Y-%m-%d_%H%M")
                .to_string()
        })
        .unwrap_or_else(|_| period.from.0.to_string());
    format!("{}-{start}", schedule.template.label())
}

fn read_state(path: &Path) -> Option<Timestamp> {
    let text = std::fs::read_to_string(path).ok()?;
    text.trim().parse::<i64>().ok().map(Timestamp)
}

fn write_state(path: &Path, made_until: Timestamp) -> std::io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let mut file = tempfile::NamedTempFile::new_in(folder)?;
    std::io::Write::write_all(&mut file, format!("{}\n", made_until.0).as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plantwatch_core::{
        BuiltinTemplate, ReportEvery, ReportFormat, ReportLanguage, TemplateRef, TimeOfDay,
    };

    fn ts(text: &str) -> Timestamp {
        let t: jiff::Timestamp = text.parse().expect("test time");
        Timestamp(t.as_millisecond())
    }

    fn shift(out: &Path) -> ReportSchedule {
        ReportSchedule {
            template: TemplateRef::Builtin(BuiltinTemplate::Shift),
            every: ReportEvery::WithinDay { minutes: 480 },
            at: TimeOfDay::from_minutes(360).expect("06:00"),
            out: out.to_path_buf(),
            formats: vec![ReportFormat::Pdf],
            language: ReportLanguage::English,
        }
    }

    #[test]
    fn a_period_is_due_only_once_it_has_settled() {
        let s = shift(Path::new("reports"));
        let after = ts("2026-12-04T05:00:00Z");
        let utc = TimeZone::UTC;
        assert!(due(&s, after, ts("2026-12-04T06:00:05Z"), &utc).is_empty());
        let made = due(&s, after, ts("2026-12-04T06:00:10Z"), &utc);
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].from, ts("2026-12-03T22:00:00Z"));
        assert_eq!(made[0].to, ts("2026-12-04T06:00:00Z"));
    }

    #[test]
    fn the_state_survives_a_restart_and_names_the_schedule() {
        let dir = tempfile::tempdir().expect("temp dir");
        let s = shift(&dir.path().join("reports"));
        let file = state_file(&s);
        assert_eq!(
            file.file_name().and_then(|n| n.to_str()),
            Some(".plantwatch-shift-8h-0600.last")
        );
        assert_eq!(read_state(&file), None);
        write_state(&file, ts("2026-12-04T06:00:00Z")).expect("written");
        assert_eq!(read_state(&file), Some(ts("2026-12-04T06:00:00Z")));
    }

    #[test]
    fn report_files_are_named_by_the_local_start_of_their_period() {
        let s = shift(Path::new("reports"));
        let shanghai = TimeZone::get("Asia/Shanghai").expect("tzdb");
        let period = ReportPeriod {
            from: ts("2026-12-03T22:00:00Z"),
            to: ts("2026-12-04T06:00:00Z"),
        };
        assert_eq!(file_stem(&s, period, &shanghai), "shift-2026-12-04_0600");
    }

    #[test]
    fn missed_periods_are_made_in_order_after_a_restart_and_a_failure_holds_the_later_ones() {
        use std::sync::{Arc, Mutex};
        let dir = tempfile::tempdir().expect("temp dir");
        let s = ReportSchedule {
            every: ReportEvery::WithinDay { minutes: 60 },
            at: TimeOfDay::MIDNIGHT,
            ..shift(&dir.path().join("reports"))
        };
        // Made up to three hours ago: the three hours since are due at start.
        let now = Timestamp::now();
        let hour = 3_600_000;
        let three_ago = Timestamp(now.0 / hour * hour - 3 * hour);
        write_state(&state_file(&s), three_ago).expect("state");
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let calls = Arc::new(Mutex::new(0));
        let counted = calls.clone();
        let scheduler = ReportScheduler::start(
            vec![s.clone()],
            TimeZone::UTC,
            Box::new(move |_s, period, _tz| {
                let mut n = counted.lock().expect("lock");
                *n += 1;
                // The second period fails once: it is tried again before the third.
                if *n == 2 {
                    Err("disk full".to_string())
                } else {
                    Ok(vec![PathBuf::from(format!("{}", period.from))])
                }
            }),
            Box::new(move |e| seen.lock().expect("lock").push(e)),
        )
        .expect("started");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while events.lock().expect("lock").len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        scheduler.stop();
        let events = events.lock().expect("lock").clone();
        assert!(
            matches!(&events[0], ScheduleEvent::Made { period, .. } if period.from == three_ago)
        );
        assert!(
            matches!(&events[1], ScheduleEvent::Failed { period, error, .. } if period.from.0 == three_ago.0 + hour && error == "disk full")
        );
        // The failure held the third period back, and the state stays at the last one made.
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(
            read_state(&state_file(&s)),
            Some(Timestamp(three_ago.0 + hour))
        );
    }

    #[test]
    fn a_schedule_fails_from_a_failed_report_until_it_makes_one_and_any_failing_counts() {
        let period = ReportPeriod {
            from: Timestamp(0),
            to: Timestamp(60_000),
        };
        let made = |schedule| ScheduleEvent::Made {
            schedule,
            period,
            files: Vec::new(),
        };
        let failed = |schedule| ScheduleEvent::Failed {
            schedule,
            period,
            error: "disk full".into(),
        };
        let mut failing = Failing::default();
        assert!(!failing.note(&made(0)));
        assert!(failing.note(&failed(1)), "schedule 1 fails");
        assert!(
            failing.note(&made(0)),
            "schedule 0 making its report does not mend 1"
        );
        assert!(failing.note(&failed(0)));
        assert!(failing.note(&made(1)), "0 still fails");
        assert!(!failing.note(&made(0)), "both made their reports again");
    }
}
