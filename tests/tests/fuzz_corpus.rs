//! Fuzz corpora: every input AFL kept in `tests/data/fuzz/<target>/` (minimised with `afl-cmin`, so
//! together they cover what the fuzzer reached) goes once more through its target's code, without AFL.
//! A change that makes any of them panic fails here; `bash tests/fuzz/run.sh` fuzzes for real.

use std::fs;

use plantwatch_system_tests::workspace_root;

/// Feeds each kept input of `target` to it, naming the input when it panics.
fn replay(target: &str) {
    let (_, run) = plantwatch_fuzz_targets::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a known fuzz target");
    let dir = workspace_root().join("tests/data/fuzz").join(target);
    let mut inputs: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable folder entry").path())
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 5,
        "{} holds only {} inputs; run `bash tests/fuzz/run.sh {target}`",
        dir.display(),
        inputs.len()
    );
    for input in inputs {
        let bytes = fs::read(&input).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        let outcome = std::panic::catch_unwind(|| run(&bytes));
        assert!(outcome.is_ok(), "{} panics {target}", input.display());
    }
}

#[test]
fn modbus_replies_in_the_corpus_never_panic_the_reader() {
    replay("modbus_reply");
}

#[test]
fn history_bytes_in_the_corpus_decode_or_fail_cleanly() {
    replay("history_codec");
}

#[test]
fn configs_in_the_corpus_parse_or_fail_with_errors() {
    replay("config_text");
}
