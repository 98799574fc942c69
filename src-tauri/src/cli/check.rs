//! `plantwatch check CONFIG`: validate a plant config and its process pictures, and print its summary, or
//! every problem in them.

use std::path::PathBuf;
use std::process::ExitCode;

/// Check a plant config.
#[derive(clap::Args)]
pub struct Args {
    /// The plant config file (TOML).
    pub config: PathBuf,
}

/// Prints the one-line summary and, for each screen, its bound elements and what the sanitiser removed
/// (`PICTURE:LINE:COL: removed <script> (a script)`), and exits 0; or prints every problem on stderr as
/// `CONFIG:LINE:COL: message` or `PICTURE:LINE:COL: message` (or `FILE: cannot read: ...`) and exits 2.
pub fn run(args: Args) -> ExitCode {
    let plant = match plantwatch_config::load(&args.config) {
        Ok(plant) => plant,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    println!("{}", plantwatch_config::summary(&plant));
    if let Some(api) = plantwatch_config::api_summary(&plant) {
        println!("{api}");
    }
    let mut fine = true;
    for (screen, picture) in plantwatch_graphics::load_screens(&plant) {
        let file = screen.file.display().to_string();
        let file = plantwatch_core::echo::escape(&file);
        match picture {
            Ok(picture) => {
                println!(
                    "screen '{}' ({file}): {} bound elements",
                    screen.id,
                    picture.elements.len()
                );
                let mut metadata = 0;
                for removal in &picture.removed {
                    if removal.is_editor_metadata() {
                        metadata += 1;
                    } else {
                        println!("{file}:{removal}");
                    }
                }
                if metadata > 0 {
                    println!("{file}: removed {metadata} items of editor metadata (not SVG)");
                }
            }
            Err(errors) => {
                eprintln!("{errors}");
                fine = false;
            }
        }
    }
    if fine {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
