//! `plantwatch audit`: the plant's audit trail as CSV or JSON lines, or its chain verified.
//!
//! CSV has the header `time,user,role,action,target,old,requested,readback,result,comment` (time RFC 3339
//! UTC with milliseconds, entries in the order they were appended). JSON lines carry the same fields with
//! absent values as `null`, plus the entry's `id`. `--verify` walks the whole chain: it prints
//! `audit chain intact: N entries` and the last entry's hash (to be noted elsewhere) and exits 0, or prints
//! the first broken entry and exits 1. The database is only read, never created.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use super::span::parse_span;
use plantwatch_access::{AccessError, AuditEntry, AuditTrail, ChainBroken};

use crate::csv::field;

/// Print or verify the audit trail.
#[derive(clap::Args)]
pub struct Args {
    /// The plant's database. Only read.
    #[arg(long, value_name = "FILE")]
    pub db: PathBuf,
    /// Start of the range, inclusive: RFC 3339, `now`, or relative such as `-1h`.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: Option<String>,
    /// End of the range, exclusive: RFC 3339, `now`, or relative such as `-10m`.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Check the whole hash chain instead of printing entries.
    #[arg(long, conflicts_with_all = ["from", "to", "format"])]
    pub verify: bool,
}

/// Output formats.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `time,user,role,action,target,old,requested,readback,result,comment` with a header line.
    Csv,
    /// One JSON object per line, with the entry's id.
    Jsonl,
}

/// Why the command stopped.
#[derive(Debug, thiserror::Error)]
enum AuditError {
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("writing the output: {0}")]
    Output(#[from] io::Error),
}

/// Runs `plantwatch audit`: 0 printed (or the chain is intact), 1 the chain is broken or the database
/// cannot be read, 2 bad arguments.
pub fn run(args: Args) -> ExitCode {
    if args.verify {
        return verify(&args);
    }
    match print(&args) {
        Ok(()) => ExitCode::SUCCESS,
        // Whoever read the output (`| head`) has seen enough.
        Err(AuditError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e @ AuditError::BadInput(_)) => {
            eprintln!("plantwatch audit: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("plantwatch audit: {e}");
            ExitCode::from(1)
        }
    }
}

fn verify(args: &Args) -> ExitCode {
    let verdict = AuditTrail::open_read_only(&args.db)
        .map_err(ChainBroken::from)
        .and_then(|trail| trail.verify_with_head());
    match verdict {
        Ok((count, head)) => {
            println!("audit chain intact: {count} entries");
            if let Some((id, hash)) = head {
                println!("last entry {id}, sha256 {hash}");
            }
            ExitCode::SUCCESS
        }
        Err(ChainBroken::Unreadable(e)) => {
            eprintln!("plantwatch audit: {e}");
            ExitCode::from(1)
        }
        Err(broken) => {
            println!("audit chain broken: {broken}");
            ExitCode::from(1)
        }
    }
}

fn print(args: &Args) -> Result<(), AuditError> {
    let (from, to) =
        parse_span(args.from.as_deref(), args.to.as_deref()).map_err(AuditError::BadInput)?;
    let trail = AuditTrail::open_read_only(&args.db)?;
    let mut out = BufWriter::new(io::stdout().lock());
    if args.format == Format::Csv {
        writeln!(
            out,
            "time,user,role,action,target,old,requested,readback,result,comment"
        )?;
    }
    let mut failed = None;
    trail.for_each(from, to, |id, entry| {
        if failed.is_some() {
            return;
        }
        let written = match args.format {
            Format::Csv => entry_csv(&mut out, &entry),
            Format::Jsonl => entry_json(&mut out, id, &entry),
        };
        failed = written.err();
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    out.flush()?;
    Ok(())
}

fn entry_csv(out: &mut impl Write, e: &AuditEntry) -> io::Result<()> {
    let optional = |v: &Option<String>| field(v.as_deref().unwrap_or("")).to_string();
    writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{}",
        e.time,
        field(&e.user),
        e.role,
        e.action,
        field(&e.target),
        optional(&e.old),
        optional(&e.requested),
        optional(&e.readback),
        field(&e.result),
        optional(&e.comment),
    )
}

fn entry_json(out: &mut impl Write, id: i64, e: &AuditEntry) -> io::Result<()> {
    let object = serde_json::json!({
        "id": id,
        "time": e.time.to_string(),
        "user": e.user,
        "role": e.role.name(),
        "action": e.action.name(),
        "target": e.target,
        "old": e.old,
        "requested": e.requested,
        "readback": e.readback,
        "result": e.result,
        "comment": e.comment,
    });
    serde_json::to_writer(&mut *out, &object).map_err(io::Error::other)?;
    writeln!(out)
}
