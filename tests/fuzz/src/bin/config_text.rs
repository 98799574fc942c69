//! AFL entry point of the `config_text` target (see `plantwatch_fuzz_targets::config_text`).

fn main() {
    afl::fuzz!(|data: &[u8]| plantwatch_fuzz_targets::config_text::run(data));
}
