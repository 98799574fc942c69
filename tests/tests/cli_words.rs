//! The words `plantwatch read` takes (`--table`, `--type`, `--order`) are core's one vocabulary, the
//! same as the config's: an unknown word exits 2 and lists every allowed one (issue 17, "one
//! vocabulary": `--type float` used to say only "unknown type").

use std::process::Command;

use plantwatch_system_tests::plantwatch_bin;

#[test]
fn an_unknown_table_type_or_order_exits_2_listing_the_allowed_words() {
    let cases = [
        (
            ["--table", "inputs"],
            "--table: unknown table 'inputs': expected one of coil, discrete, input, holding",
        ),
        (
            ["--type", "float"],
            "--type: unknown type 'float': expected one of bool, u16, i16, u32, i32, u64, i64, f32, f64, bit, string",
        ),
        (
            ["--order", "ACBD"],
            "--order: unknown order 'ACBD': expected one of ABCD, CDAB, BADC, DCBA (or all)",
        ),
    ];
    for (args, message) in cases {
        // Nothing listens on port 1: the words are checked before any connection is tried.
        let output = Command::new(plantwatch_bin())
            .args(["read", "tcp://127.0.0.1:1"])
            .args(args)
            .output()
            .expect("run plantwatch read");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr, format!("plantwatch read: {message}\n"), "{args:?}");
    }
}
