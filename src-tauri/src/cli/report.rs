//! `plantwatch report`: a shift, daily or custom report over a window of the history and the alarm
//! journal, as PDF, XLSX, CSV or HTML (the format from the output's extension). Thin over
//! `plantwatch-report`; the file is written atomically.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use plantwatch_alarm::JournalReader;
use plantwatch_history::HistoryReader;
use plantwatch_report::{Format, Language, Report, ReportError, Template};

use super::span::parse_span;

/// Make a report of a window of the history and the alarm journal.
#[derive(clap::Args)]
pub struct Args {
    /// The history file (the plant's .db). It is only read.
    #[arg(long, value_name = "FILE")]
    pub db: PathBuf,
    /// `shift` or `daily` (built in), or a template file (TOML).
    #[arg(long, value_name = "NAME|FILE")]
    pub template: String,
    /// Start of the window, inclusive: RFC 3339, `now`, or relative such as `-8h`.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub from: String,
    /// End of the window, exclusive: RFC 3339, `now`, or relative such as `-10m`.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub to: String,
    /// The report file: .pdf, .xlsx, .csv or .html (written atomically).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The language of titles, headings and chart labels: en or zh-CN.
    #[arg(long, value_name = "LANG", default_value = "en")]
    pub lang: String,
}

/// Why the command stopped: bad input exits 2, the rest 1.
enum Failure {
    BadInput(String),
    Report(ReportError),
}

impl From<ReportError> for Failure {
    fn from(e: ReportError) -> Self {
        Failure::Report(e)
    }
}

/// Writes the report and prints where, or the problem: 2 for bad arguments, a bad template or a tag
/// the history lacks; 1 for a missing or unreadable history file or a failed write.
pub fn run(args: Args) -> ExitCode {
    match report(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(message)) => {
            eprintln!("plantwatch report: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Report(error)) => {
            eprintln!("plantwatch report: {error}");
            ExitCode::from(if error.is_bad_input() { 2 } else { 1 })
        }
    }
}

fn report(args: &Args) -> Result<(), Failure> {
    let (from, to) =
        match parse_span(Some(&args.from), Some(&args.to)).map_err(Failure::BadInput)? {
            (Some(from), Some(to)) => (from, to),
            _ => return Err(Failure::BadInput("--from and --to are both needed".into())),
        };
    let language: Language = args
        .lang
        .parse()
        .map_err(|why| Failure::BadInput(format!("--lang {why}")))?;
    let format = Format::of_path(&args.out).ok_or_else(|| {
        Failure::BadInput(format!(
            "--out {}: the file name must end in .pdf, .xlsx, .csv or .html",
            args.out.display()
        ))
    })?;
    refuse_out_onto_db(&args.out, &args.db)?;
    let template = Template::load(&args.template)?;
    let history = HistoryReader::open(&args.db).map_err(ReportError::from)?;
    let journal = JournalReader::open(&args.db).map_err(ReportError::from)?;
    let report = Report::build(&history, &args.db, &journal, &template, from, to, language)?;
    report.write(&args.out, format)?;
    eprintln!(
        "plantwatch report: {} ({} tags, {} gaps) -> {}",
        report.title,
        report.tags.len(),
        report
            .tags
            .iter()
            .map(|t| t.stats.gaps.len())
            .sum::<usize>(),
        args.out.display()
    );
    Ok(())
}

/// An `--out` that is the history file itself (by any name) would replace the history.
fn refuse_out_onto_db(out: &Path, db: &Path) -> Result<(), Failure> {
    use std::os::unix::fs::MetadataExt;
    let (Ok(out_meta), Ok(db_meta)) = (std::fs::metadata(out), std::fs::metadata(db)) else {
        return Ok(());
    };
    if (out_meta.dev(), out_meta.ino()) == (db_meta.dev(), db_meta.ino()) {
        return Err(Failure::BadInput(format!(
            "--out {} is the history file --db {} itself; write the report to another file",
            out.display(),
            db.display()
        )));
    }
    Ok(())
}
