//! Writes the starting corpora: `seeds <repository root> <output folder>` fills
//! `<output folder>/<target>/` for every target (see `plantwatch_fuzz_targets::seeds`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [repo, out] = args.as_slice() else {
        eprintln!("usage: seeds <repository root> <output folder>");
        return ExitCode::from(2);
    };
    match plantwatch_fuzz_targets::seeds::write_all(repo, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("cannot write the seeds into {}: {err}", out.display());
            ExitCode::from(1)
        }
    }
}
