//! Shared support for the system tests: where the binary and the peers are, temporary plants.
//!
//! Test modules live in `tests/tests/`, one file per area. Peers (pymodbus scripts, libmodbus C sources)
//! live in `tests/peers/`, test data in `tests/data/`.

pub mod alarm_support;
pub mod engine_support;
pub mod history_support;
pub mod mqtt_support;
pub mod peers;
pub mod scan_support;
pub mod sim_support;
pub mod write_support;

use std::path::PathBuf;

/// The workspace root (the folder holding the top-level Cargo.toml).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent folder")
        .to_path_buf()
}

/// The `plantwatch` binary under test: `$PLANTWATCH_BIN`, or `target/debug/plantwatch` (which
/// `.ci/setup test` builds before the tests run).
pub fn plantwatch_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("PLANTWATCH_BIN") {
        return PathBuf::from(path);
    }
    let path = workspace_root().join("target/debug/plantwatch");
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build -p plantwatch` or set PLANTWATCH_BIN",
        path.display()
    );
    path
}

/// The Python interpreter that has pymodbus: `$PLANTWATCH_PYTHON`, the project's venv
/// (`target/pyenv`, made by `.ci/setup`), or `python3`.
pub fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("PLANTWATCH_PYTHON") {
        return PathBuf::from(path);
    }
    let venv = workspace_root().join("target/pyenv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// A file under `tests/peers/`.
pub fn peer(name: &str) -> PathBuf {
    workspace_root().join("tests/peers").join(name)
}

/// A file under `tests/data/`.
pub fn data(name: &str) -> PathBuf {
    workspace_root().join("tests/data").join(name)
}

/// A folder under `tests/out/` for artefacts a person may want to look at (screenshots, exports).
pub fn out_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("tests/out").join(name);
    std::fs::create_dir_all(&dir).expect("create tests/out folder");
    dir
}

/// A counter of this process's `/proc/self/io` (`write_bytes`, `read_bytes`, ...), 0 when the kernel
/// does not keep it: what the benchmarks measure disk writes with.
pub fn proc_io(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix(field)?
                    .strip_prefix(':')?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}
