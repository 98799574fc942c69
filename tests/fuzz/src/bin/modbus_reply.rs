//! AFL entry point of the `modbus_reply` target (see `plantwatch_fuzz_targets::modbus_reply`).

fn main() {
    afl::fuzz!(|data: &[u8]| plantwatch_fuzz_targets::modbus_reply::run(data));
}
