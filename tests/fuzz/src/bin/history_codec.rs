//! AFL entry point of the `history_codec` target (see `plantwatch_fuzz_targets::history_codec`).

fn main() {
    afl::fuzz!(|data: &[u8]| plantwatch_fuzz_targets::history_codec::run(data));
}
