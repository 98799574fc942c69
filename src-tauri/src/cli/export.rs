//! `plantwatch export`: stored samples (or aggregates of them) as CSV or JSON lines.
//!
//! CSV has the header `time,tag,value,quality`; time is RFC 3339 UTC with milliseconds, numbers are plain,
//! booleans 0/1, text values always quoted (RFC 4180), anything else quoted when it holds a comma, quote or
//! line break; quality is `good`, `bad:CAUSE` or `uncertain:CAUSE`. JSON lines carry the same fields, one
//! object per line, with booleans as `true`/`false` and a missing value as `null`.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::span::parse_span;
use plantwatch_core::{parse_duration, Quality, Timestamp, Value};
use plantwatch_history::{Aggregate, HistoryError, HistoryReader, SampleQuery};

use crate::csv;

/// Export stored samples.
#[derive(clap::Args)]
pub struct Args {
    /// The history file (the plant's .db). It is only read, never created.
    #[arg(long, value_name = "FILE")]
    pub db: PathBuf,
    /// Only this tag (DEVICE/TAG); repeat for several. Default: every tag.
    #[arg(long = "tag", value_name = "DEVICE/TAG")]
    pub tags: Vec<String>,
    /// Start of the range, inclusive: RFC 3339, `now`, or relative such as `-1h`.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: Option<String>,
    /// End of the range, exclusive: RFC 3339, `now`, or relative such as `-10m`.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Aggregate per interval of this length (such as 1m, 1h, 1d), aligned to the Unix epoch in UTC.
    #[arg(long, value_name = "DURATION", requires = "agg")]
    pub every: Option<String>,
    /// The aggregate for --every: avg (time-weighted), min, max, first, last, count (of good samples).
    #[arg(long, value_name = "AGG", requires = "every")]
    pub agg: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Write to this file (atomically: a temporary file beside it, renamed when complete). Default: stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `time,tag,value,quality` with a header line.
    Csv,
    /// One JSON object per line: {"time","tag","value","quality"}.
    Jsonl,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    History(#[from] HistoryError),
    #[error("writing {target}: {source}")]
    Write { target: String, source: io::Error },
}

/// Exports and returns 0, or prints the problem: 2 for bad arguments or an unknown tag, 1 for a missing
/// or unreadable history file or a failed write.
pub fn run(args: Args) -> ExitCode {
    match export(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("plantwatch export: {error}");
            match error {
                ExportError::BadInput(_)
                | ExportError::History(HistoryError::UnknownTag { .. }) => ExitCode::from(2),
                _ => ExitCode::from(1),
            }
        }
    }
}

/// What to export, parsed from the arguments.
struct Request {
    query: SampleQuery,
    aggregation: Option<(Duration, Aggregate)>,
}

fn parse_request(args: &Args) -> Result<Request, ExportError> {
    let (from, to) =
        parse_span(args.from.as_deref(), args.to.as_deref()).map_err(ExportError::BadInput)?;
    let aggregation = match (&args.every, &args.agg) {
        (Some(every), Some(agg)) => {
            let every = parse_duration(every).map_err(|e| ExportError::BadInput(e.to_string()))?;
            if every.as_millis() == 0 {
                return Err(ExportError::BadInput("--every must be at least 1ms".into()));
            }
            let names: Vec<&str> = Aggregate::ALL.iter().map(|a| a.name()).collect();
            let agg = Aggregate::from_name(agg).ok_or_else(|| {
                ExportError::BadInput(format!(
                    "unknown aggregate '{agg}': expected one of {}",
                    names.join(", ")
                ))
            })?;
            Some((every, agg))
        }
        (None, None) => None,
        // clap's `requires` makes these unreachable; say so plainly if it ever changes.
        _ => {
            return Err(ExportError::BadInput(
                "--every and --agg go together".into(),
            ))
        }
    };
    Ok(Request {
        query: SampleQuery {
            tags: args.tags.clone(),
            from,
            to,
        },
        aggregation,
    })
}

fn export(args: &Args) -> Result<(), ExportError> {
    let request = parse_request(args)?;
    if let Some(out) = &args.out {
        refuse_out_onto_db(out, &args.db)?;
    }
    let reader = HistoryReader::open(&args.db)?;
    check_tags(&reader, &args.db, &request.query.tags)?;
    match &args.out {
        None => {
            let stdout = io::stdout().lock();
            let mut out = BufWriter::with_capacity(1 << 16, stdout);
            let result = write_export(&reader, &request, args.format, &mut out)
                .and_then(|()| out.flush().map_err(Failure::Io));
            match result {
                Ok(()) => Ok(()),
                // The reader of our stdout went away (`| head`): that is their choice, not a failure.
                Err(Failure::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                Err(Failure::Io(source)) => Err(ExportError::Write {
                    target: "stdout".into(),
                    source,
                }),
                Err(Failure::History(e)) => Err(e.into()),
            }
        }
        Some(path) => write_atomically(path, |out| {
            write_export(&reader, &request, args.format, out)
        }),
    }
}

/// Refuses an `--out` that is the history file itself, by any name (a symlink, a hard link, `./`): the
/// export would be renamed over the history and the samples lost. Compared by file identity (device and
/// inode), so every spelling of the path is caught; an `--out` that does not exist yet cannot be it.
fn refuse_out_onto_db(out: &Path, db: &Path) -> Result<(), ExportError> {
    use std::os::unix::fs::MetadataExt;
    let (Ok(out_meta), Ok(db_meta)) = (std::fs::metadata(out), std::fs::metadata(db)) else {
        return Ok(());
    };
    if (out_meta.dev(), out_meta.ino()) == (db_meta.dev(), db_meta.ino()) {
        return Err(ExportError::BadInput(format!(
            "--out {} is the history file --db {} itself: the export would replace the history; write to another file",
            out.display(),
            db.display()
        )));
    }
    Ok(())
}

/// What can stop writing an export midway.
enum Failure {
    Io(io::Error),
    History(HistoryError),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// Refuses tags the file does not know, naming a few it does.
fn check_tags(reader: &HistoryReader, db: &Path, wanted: &[String]) -> Result<(), ExportError> {
    if wanted.is_empty() {
        return Ok(());
    }
    let known = reader.tags()?;
    let unknown: Vec<&String> = wanted
        .iter()
        .filter(|w| !known.iter().any(|k| &k.full_id == *w))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = unknown.iter().map(|u| format!("'{u}'")).collect();
    let listing = if known.is_empty() {
        "the history file has no tags yet".to_string()
    } else {
        let few: Vec<&str> = known.iter().take(8).map(|k| k.full_id.as_str()).collect();
        let more = if known.len() > few.len() {
            format!(", ... ({} in all)", known.len())
        } else {
            String::new()
        };
        format!("known tags: {}{more}", few.join(", "))
    };
    let noun = if unknown.len() == 1 { "tag" } else { "tags" };
    Err(ExportError::BadInput(format!(
        "unknown {noun} {} in {}; {listing}",
        names.join(", "),
        db.display()
    )))
}

/// Writes into a temporary file beside `path` and renames it over `path` only once complete, so no
/// reader ever sees a half-written export.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<(), Failure>,
) -> Result<(), ExportError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut out = BufWriter::with_capacity(1 << 16, File::create(&temp)?);
        write(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        Ok(())
    })();
    if result.is_err() {
        // Best effort: the temporary file is ours and worthless now.
        let _ = std::fs::remove_file(&temp);
    }
    result.map_err(|failure| match failure {
        Failure::Io(source) => ExportError::Write {
            target: path.display().to_string(),
            source,
        },
        Failure::History(e) => e.into(),
    })
}

/// Writes the header (CSV) and every row of the export to `out`.
fn write_export(
    reader: &HistoryReader,
    request: &Request,
    format: Format,
    out: &mut impl Write,
) -> Result<(), Failure> {
    if format == Format::Csv {
        out.write_all(b"time,tag,value,quality\n")?;
    }
    let mut progress = Progress::new();
    match request.aggregation {
        None => {
            let mut failure = None;
            let result = reader.for_each_sample_while(&request.query, |sample| {
                let cell = match &sample.value {
                    None => Cell::Empty,
                    Some(Value::Number(n)) => Cell::Number(*n),
                    Some(Value::Bool(b)) => Cell::Bool(*b),
                    Some(Value::Text(t)) => Cell::Text(t),
                };
                if let Err(e) =
                    write_row(out, format, sample.time, &sample.tag, cell, sample.quality)
                {
                    failure = Some(e);
                    return false;
                }
                progress.tick();
                true
            });
            if let Some(e) = failure {
                return Err(Failure::Io(e));
            }
            result.map_err(Failure::History)?;
        }
        Some((every, agg)) => {
            for interval in reader
                .aggregate(&request.query, every, agg)
                .map_err(Failure::History)?
            {
                let cell = interval.value.map_or(Cell::Empty, Cell::Number);
                write_row(
                    out,
                    format,
                    interval.start,
                    &interval.tag,
                    cell,
                    interval.quality,
                )?;
                progress.tick();
            }
        }
    }
    progress.finish();
    Ok(())
}

/// A value as it is written.
#[derive(Clone, Copy)]
pub(crate) enum Cell<'a> {
    Empty,
    Number(f64),
    Bool(bool),
    Text(&'a str),
}

pub(crate) fn write_row(
    out: &mut impl Write,
    format: Format,
    time: Timestamp,
    tag: &str,
    value: Cell<'_>,
    quality: Quality,
) -> io::Result<()> {
    match format {
        Format::Csv => {
            write!(out, "{time},{},", csv::field(tag))?;
            match value {
                Cell::Empty => {}
                Cell::Number(n) => write!(out, "{}", csv::sample(n))?,
                Cell::Bool(b) => out.write_all(if b { b"1" } else { b"0" })?,
                // Text is always quoted, so a value like 42 stays text for whoever reads the file.
                Cell::Text(t) => write!(out, "{}", csv::quoted(t))?,
            }
            writeln!(out, ",{quality}")
        }
        Format::Jsonl => {
            write!(out, "{{\"time\":\"{time}\",\"tag\":")?;
            write_json_string(out, tag)?;
            out.write_all(b",\"value\":")?;
            match value {
                Cell::Number(n) if n.is_finite() => write!(out, "{n}")?,
                // JSON has no NaN or infinity.
                Cell::Empty | Cell::Number(_) => out.write_all(b"null")?,
                Cell::Bool(b) => out.write_all(if b { b"true" } else { b"false" })?,
                Cell::Text(t) => write_json_string(out, t)?,
            }
            writeln!(out, ",\"quality\":\"{quality}\"}}")
        }
    }
}

fn write_json_string(out: &mut impl Write, text: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *out, text).map_err(io::Error::other)
}

/// A running count on stderr, only when stderr is a terminal and the export takes a while.
struct Progress {
    enabled: bool,
    started: Instant,
    last_shown: Instant,
    rows: u64,
    shown: bool,
}

impl Progress {
    const EVERY: Duration = Duration::from_millis(500);

    fn new() -> Progress {
        let now = Instant::now();
        Progress {
            enabled: io::stderr().is_terminal(),
            started: now,
            last_shown: now,
            rows: 0,
            shown: false,
        }
    }

    fn tick(&mut self) {
        self.rows += 1;
        // Looking at the clock for every row would cost more than writing it.
        if !self.enabled || self.rows & 8191 != 0 {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.last_shown) >= Self::EVERY {
            self.last_shown = now;
            self.shown = true;
            let rate = self.rows as f64 / now.duration_since(self.started).as_secs_f64().max(1e-9);
            eprint!("\rexported {} rows ({:.0} rows/s)   ", self.rows, rate);
        }
    }

    fn finish(&self) {
        if self.shown {
            eprintln!(
                "\rexported {} rows in {:.1} s          ",
                self.rows,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv_row(value: Cell<'_>, tag: &str) -> String {
        let mut out = Vec::new();
        write_row(
            &mut out,
            Format::Csv,
            Timestamp(1_764_079_200_123),
            tag,
            value,
            Quality::Good,
        )
        .expect("write");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn csv_fields_follow_rfc_4180() {
        assert_eq!(
            csv_row(Cell::Number(40.5), "plc/flow"),
            "2025-11-25T14:00:00.123Z,plc/flow,40.5,good\n"
        );
        assert_eq!(
            csv_row(Cell::Bool(true), "plc/run"),
            "2025-11-25T14:00:00.123Z,plc/run,1,good\n"
        );
        assert_eq!(
            csv_row(Cell::Text("42"), "plc/mode"),
            "2025-11-25T14:00:00.123Z,plc/mode,\"42\",good\n"
        );
        assert_eq!(
            csv_row(Cell::Text("a \"b\",\nc"), "p/t"),
            "2025-11-25T14:00:00.123Z,p/t,\"a \"\"b\"\",\nc\",good\n"
        );
        assert_eq!(
            csv_row(Cell::Empty, "p/t"),
            "2025-11-25T14:00:00.123Z,p/t,,good\n"
        );
    }
}
