//! `plantwatch alarms`: the alarm journal, the alarms active now, or alarm health, from a plant's database.
//!
//! The journal as CSV has the header `time,tag,kind,priority,state,value,limit,message,user,comment`
//! (time RFC 3339 UTC with milliseconds; `state` is the transition or operator action: active, cleared,
//! acknowledged, shelved, unshelved, shelve_expired, out_of_service, in_service). `--active` prints the
//! alarms that are not quietly normal, as the last collector left them, with the header
//! `since,tag,kind,priority,state,value,limit,message,acknowledged_by,shelved_until,shelved_by,out_of_service_by`.
//! `--health` prints alarm rates per 10 minutes, floods, chattering alarms and the most frequent alarms.
//! The database is only read, never created.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::span::parse_span;
use plantwatch_alarm::health::{self, HealthReport, CHATTER_TRIPS, FLOOD_ALARMS};
use plantwatch_alarm::{AlarmError, AlarmStatus, JournalEntry, JournalQuery, JournalReader};
use plantwatch_core::Timestamp;

use crate::csv::{field, number, tidy, JournalLine, JOURNAL_HEADER};

/// Print the alarm journal, the active alarms, or alarm health.
#[derive(clap::Args)]
pub struct Args {
    /// The plant's database (its history file, which holds the alarm journal). Only read.
    #[arg(long, value_name = "FILE")]
    pub db: PathBuf,
    /// Start of the range, inclusive: RFC 3339, `now`, or relative such as `-1h`.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: Option<String>,
    /// End of the range, exclusive: RFC 3339, `now`, or relative such as `-10m`.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Print the alarms active (or unacknowledged, shelved, out of service) now instead of the journal.
    #[arg(long, conflicts_with = "health")]
    pub active: bool,
    /// Print alarm health: alarms per 10 minutes, floods, chattering alarms, the 10 most frequent.
    #[arg(long)]
    pub health: bool,
    /// Output format: csv or jsonl (journal and --active; default csv), text or jsonl (--health; default text).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated with a header line (RFC 4180 quoting).
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// A report for people (--health only).
    Text,
}

/// Why the command stopped.
#[derive(Debug, thiserror::Error)]
enum AlarmsError {
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Journal(#[from] AlarmError),
    #[error("writing the output: {0}")]
    Output(#[from] io::Error),
}

/// Runs `plantwatch alarms`.
pub fn run(args: Args) -> ExitCode {
    match print(&args) {
        Ok(()) => ExitCode::SUCCESS,
        // Whoever read the output (`| head`) has seen enough.
        Err(AlarmsError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e @ AlarmsError::BadInput(_)) => {
            eprintln!("plantwatch alarms: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("plantwatch alarms: {e}");
            ExitCode::from(1)
        }
    }
}

fn print(args: &Args) -> Result<(), AlarmsError> {
    let (from, to) =
        parse_span(args.from.as_deref(), args.to.as_deref()).map_err(AlarmsError::BadInput)?;
    let query = JournalQuery { from, to };
    let format = match (args.health, args.format) {
        (true, None) => Format::Text,
        (true, Some(Format::Csv)) => {
            return Err(AlarmsError::BadInput(
                "--health prints text or jsonl, not csv".into(),
            ))
        }
        (false, None) => Format::Csv,
        (false, Some(Format::Text)) => {
            return Err(AlarmsError::BadInput(
                "the journal prints csv or jsonl; text is for --health".into(),
            ))
        }
        (_, Some(f)) => f,
    };

    let reader = JournalReader::open(&args.db)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.health {
        let entries = reader.entries(query)?;
        let report = health::analyse(&entries, query.from, query.to);
        match format {
            Format::Jsonl => health_json(&mut out, &report)?,
            _ => health_text(&mut out, &report)?,
        }
    } else if args.active {
        let current = reader.current()?;
        if format == Format::Csv {
            writeln!(
                out,
                "since,tag,kind,priority,state,value,limit,message,acknowledged_by,shelved_until,shelved_by,out_of_service_by"
            )?;
        }
        for status in &current {
            match format {
                Format::Jsonl => active_json(&mut out, status)?,
                _ => active_csv(&mut out, status)?,
            }
        }
    } else {
        if format == Format::Csv {
            writeln!(out, "{JOURNAL_HEADER}")?;
        }
        let mut failed = None;
        reader.for_each(query, |entry| {
            if failed.is_some() {
                return;
            }
            let written = match format {
                Format::Jsonl => entry_json(&mut out, &entry),
                _ => entry_csv(&mut out, &entry),
            };
            failed = written.err();
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
    }
    out.flush()?;
    Ok(())
}

/// One journal row, written by the one journal CSV writer the desktop's export also uses.
pub(crate) fn entry_csv(out: &mut impl Write, e: &JournalEntry) -> io::Result<()> {
    writeln!(out, "{}", JournalLine::from(e))
}

fn entry_json(out: &mut impl Write, e: &JournalEntry) -> io::Result<()> {
    let mut object = serde_json::json!({
        "time": e.time.to_string(),
        "tag": e.tag,
        "kind": e.kind.name(),
        "priority": e.priority.name(),
        "state": e.state.name(),
        "value": e.value.map(tidy),
        "limit": e.limit.map(tidy),
        "message": e.message,
        "user": e.user,
        "comment": e.comment,
    });
    if let Some(until) = e.shelved_until {
        object["shelved_until"] = serde_json::Value::String(until.to_string());
    }
    serde_json::to_writer(&mut *out, &object).map_err(io::Error::other)?;
    writeln!(out)
}

fn time_text(t: Option<Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}

fn active_csv(out: &mut impl Write, s: &AlarmStatus) -> io::Result<()> {
    writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{},{}",
        time_text(
            s.activated
                .or(s.shelve.as_ref().map(|x| x.since))
                .or(s.out_of_service.as_ref().map(|x| x.since))
        ),
        field(&s.source),
        s.kind.name(),
        s.priority.name(),
        s.state.name(),
        number(s.value),
        number(s.limit),
        field(&s.message),
        field(s.acknowledged.as_ref().map_or("", |a| a.by.as_str())),
        time_text(s.shelve.as_ref().map(|x| x.until)),
        field(s.shelve.as_ref().map_or("", |x| x.by.as_str())),
        field(s.out_of_service.as_ref().map_or("", |x| x.by.as_str())),
    )
}

fn active_json(out: &mut impl Write, s: &AlarmStatus) -> io::Result<()> {
    let object = serde_json::json!({
        "key": s.key,
        "tag": s.source,
        "kind": s.kind.name(),
        "priority": s.priority.name(),
        "state": s.state.name(),
        "value": s.value.map(tidy),
        "limit": s.limit.map(tidy),
        "message": s.message,
        "activated": s.activated.map(|t| t.to_string()),
        "cleared": s.cleared.map(|t| t.to_string()),
        "acknowledged": s.acknowledged.as_ref().map(|a| serde_json::json!({
            "at": a.at.to_string(), "by": a.by, "comment": a.comment,
        })),
        "shelved": s.shelve.as_ref().map(|x| serde_json::json!({
            "since": x.since.to_string(), "until": x.until.to_string(), "by": x.by, "reason": x.reason,
        })),
        "out_of_service": s.out_of_service.as_ref().map(|x| serde_json::json!({
            "since": x.since.to_string(), "by": x.by, "comment": x.comment,
        })),
    });
    serde_json::to_writer(&mut *out, &object).map_err(io::Error::other)?;
    writeln!(out)
}

fn health_text(out: &mut impl Write, r: &HealthReport) -> io::Result<()> {
    let span = |t: Option<Timestamp>| t.map_or_else(|| "-".to_string(), |t| t.to_string());
    writeln!(
        out,
        "Alarm health from {} to {}",
        span(r.from.or(r.first_activation)),
        span(r.to.or(r.last_activation))
    )?;
    writeln!(
        out,
        "Alarms activated: {}, {:.2} per 10 minutes on average (about 1 is the target in steady operation)",
        r.activations, r.average_per_10_minutes
    )?;
    if let Some(b) = &r.busiest {
        writeln!(
            out,
            "Busiest 10 minutes: {} with {} alarms",
            b.start, b.alarms
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Alarms per 10 minutes (periods without alarms left out):"
    )?;
    for p in r.per_10_minutes.iter().filter(|p| p.alarms > 0) {
        writeln!(out, "  {}  {:>4}", p.start, p.alarms)?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Floods ({FLOOD_ALARMS} or more alarms in 10 minutes): {}",
        r.floods.len()
    )?;
    for f in &r.floods {
        writeln!(
            out,
            "  {} to {}  {} alarms, at most {} in 10 minutes",
            f.start, f.end, f.alarms, f.peak
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Chattering alarms ({CHATTER_TRIPS} or more trips in a minute): {}",
        r.chattering.len()
    )?;
    for c in &r.chattering {
        writeln!(
            out,
            "  {}  {} trips in a minute from {}, {} in all",
            c.alarm.key(),
            c.most_per_minute,
            c.first,
            c.activations
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Most frequent alarms:")?;
    for f in &r.most_frequent {
        writeln!(
            out,
            "  {:>5}  {}  ({})",
            f.activations,
            f.alarm.key(),
            f.priority.name()
        )?;
    }
    Ok(())
}

/// Health as JSON lines: one `summary` object, then one object per period, flood, chatter and frequent alarm.
fn health_json(out: &mut impl Write, r: &HealthReport) -> io::Result<()> {
    let mut line = |value: serde_json::Value| -> io::Result<()> {
        serde_json::to_writer(&mut *out, &value).map_err(io::Error::other)?;
        writeln!(out)
    };
    line(serde_json::json!({
        "type": "summary",
        "from": r.from.map(|t| t.to_string()),
        "to": r.to.map(|t| t.to_string()),
        "activations": r.activations,
        "average_per_10_minutes": r.average_per_10_minutes,
        "floods": r.floods.len(),
        "chattering": r.chattering.len(),
    }))?;
    for p in &r.per_10_minutes {
        line(
            serde_json::json!({"type": "period", "start": p.start.to_string(), "alarms": p.alarms}),
        )?;
    }
    for f in &r.floods {
        line(serde_json::json!({
            "type": "flood", "start": f.start.to_string(), "end": f.end.to_string(),
            "alarms": f.alarms, "peak": f.peak,
        }))?;
    }
    for c in &r.chattering {
        line(serde_json::json!({
            "type": "chattering", "alarm": c.alarm.key(), "tag": c.alarm.tag, "kind": c.alarm.kind.name(),
            "most_per_minute": c.most_per_minute, "activations": c.activations, "first": c.first.to_string(),
        }))?;
    }
    for f in &r.most_frequent {
        line(serde_json::json!({
            "type": "frequent", "alarm": f.alarm.key(), "tag": f.alarm.tag, "kind": f.alarm.kind.name(),
            "priority": f.priority.name(), "activations": f.activations,
        }))?;
    }
    Ok(())
}
