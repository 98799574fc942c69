//! Fuzz targets: each takes arbitrary bytes and drives one part of Plantwatch that reads bytes it did not
//! write, panicking only when that part breaks a promise (a panic inside it, or a round trip that does
//! not come back). The AFL binaries in `src/bin` call them; the system test `fuzz_corpus` replays the
//! kept corpora (`tests/data/fuzz/<target>/`) through them, so a regression fails without AFL.
//!
//! - [`modbus_reply`]: the bytes a Modbus server sends back, read by the client link and reader and
//!   decoded into tag values.
//! - [`history_codec`]: bytes decoded as a run and as a log blob, and runs built from bytes that must
//!   survive an encode and a decode.
//! - [`config_text`]: text parsed as a plant config, and its errors rendered.

pub mod config_text;
pub mod history_codec;
pub mod modbus_reply;
pub mod seeds;

/// A fuzz target: arbitrary bytes in, a panic only on a broken promise.
pub type Target = fn(&[u8]);

/// Every target by the name of its corpus folder and AFL binary.
pub const TARGETS: [(&str, Target); 3] = [
    ("modbus_reply", modbus_reply::run),
    ("history_codec", history_codec::run),
    ("config_text", config_text::run),
];
