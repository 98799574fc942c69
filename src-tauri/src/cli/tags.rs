//! `plantwatch tags export|import`: a plant's tag list as CSV (`plantwatch_config::tag_list`).
//!
//! `export` prints every tag (or one device's) as CSV through the one CSV writer (`crate::csv`), so a
//! name like `=SUM(A1)` is neutralised as in every other export; `import` reads such a file back, adding
//! and changing tags by (device, id) and never removing one. Exit codes: 0 done, 1 a file could not be
//! read or written, 2 a bad CSV or plant file (then nothing is written).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use plantwatch_config::tag_list::{self, Cell, TagRow};

use crate::csv::field;

/// Export or import a plant's tag list as CSV.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// Which way the tag list goes.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the tag list as CSV: device,id,name,table,address,type,order,bit,length,scale,offset,unit,deadband,heartbeat_s.
    Export {
        /// The plant config file (TOML).
        config: PathBuf,
        /// Only this device's tags.
        #[arg(long, value_name = "ID")]
        device: Option<String>,
    },
    /// Add and change tags from a CSV tag list (by device and id; tags not in the list are kept).
    Import {
        /// The plant config file (TOML), changed in place, comments kept.
        config: PathBuf,
        /// The tag list (CSV with the export's header).
        csv: PathBuf,
        /// Only rows of this device are allowed.
        #[arg(long, value_name = "ID")]
        device: Option<String>,
    },
}

pub fn run(args: Args) -> ExitCode {
    match args.command {
        Command::Export { config, device } => export(&config, device.as_deref()),
        Command::Import {
            config,
            csv,
            device,
        } => import(&config, &csv, device.as_deref()),
    }
}

fn export(config: &std::path::Path, device: Option<&str>) -> ExitCode {
    let plant = match plantwatch_config::load(config) {
        Ok(plant) => plant,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    let rows = match tag_list::export(&plant, device) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("{}: {e}", config.display());
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout().lock();
    match out
        .write_all(write_csv(&rows).as_bytes())
        .and_then(|()| out.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write the tag list: {e}");
            ExitCode::from(1)
        }
    }
}

fn import(config: &std::path::Path, csv: &std::path::Path, device: Option<&str>) -> ExitCode {
    match tag_list::import(config, csv, device) {
        Ok(done) => {
            println!(
                "{}: {} tags added, {} changed, {} unchanged",
                config.display(),
                done.added,
                done.changed,
                done.unchanged
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(if e.is_io() { 1 } else { 2 })
        }
    }
}

/// The tag list as CSV text, header first, one line per row (`\n` line ends, as the other exports).
pub fn write_csv(rows: &[TagRow]) -> String {
    let mut text = String::with_capacity(64 * (rows.len() + 1));
    text.push_str(tag_list::HEADER);
    text.push('\n');
    for row in rows {
        for (i, cell) in row.cells().iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            // Writing to a String cannot fail.
            let _ = match cell {
                Cell::Empty => Ok(()),
                Cell::Text(t) => write!(text, "{}", field(t)),
                Cell::Number(n) => write!(text, "{n}"),
            };
        }
        text.push('\n');
    }
    text
}
