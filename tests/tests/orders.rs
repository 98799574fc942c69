//! The all-orders view (`plantwatch_modbus::orders`) against vectors from an independent encoder:
//! tests/peers/order_vectors.py packs values with Python's `struct` and lays the bytes out as each
//! order's pattern spells them. Every vector is decoded in every order; the one its pattern names must
//! give back the packed bytes exactly, with the plausibility the script expects.

use std::process::Command;

use plantwatch_modbus::orders::{decode_window, RegisterDecodings};
use plantwatch_system_tests::{data, peer, python};

struct Vector {
    line: usize,
    kind: String,
    pattern: String,
    registers: Vec<u16>,
    bits: String,
    plausible: bool,
}

fn vectors() -> Vec<Vector> {
    let text = std::fs::read_to_string(data("orders/vectors.csv")).expect("read vectors.csv");
    text.lines()
        .enumerate()
        .skip(1)
        .map(|(i, line)| {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells.len(), 6, "vectors.csv:{}: {line}", i + 1);
            Vector {
                line: i + 1,
                kind: cells[0].to_string(),
                pattern: cells[1].to_string(),
                registers: cells[3]
                    .split(' ')
                    .map(|r| u16::from_str_radix(r, 16).expect("hex register"))
                    .collect(),
                bits: cells[4].to_string(),
                plausible: cells[5] == "1",
            }
        })
        .collect()
}

/// The decoding of `v` in the order its pattern names, as big-endian hex bytes and its plausibility.
fn decoded(v: &Vector, at: &RegisterDecodings) -> (String, bool) {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02X}")).collect::<String>();
    if v.registers.len() == 2 {
        let pair = at
            .pairs
            .iter()
            .find(|p| p.order.name() == v.pattern)
            .unwrap_or_else(|| panic!("line {}: no pair in order {}", v.line, v.pattern));
        match v.kind.as_str() {
            "u32" => (hex(&pair.u32.value.to_be_bytes()), pair.u32.plausible),
            "i32" => (hex(&pair.i32.value.to_be_bytes()), pair.i32.plausible),
            _ => (hex(&pair.f32.value.to_be_bytes()), pair.f32.plausible),
        }
    } else {
        let quad = at
            .quads
            .iter()
            .find(|q| q.order.pattern() == v.pattern)
            .unwrap_or_else(|| panic!("line {}: no quad in order {}", v.line, v.pattern));
        match v.kind.as_str() {
            "u64" => (hex(&quad.u64.value.to_be_bytes()), quad.u64.plausible),
            "i64" => (hex(&quad.i64.value.to_be_bytes()), quad.i64.plausible),
            _ => (hex(&quad.f64.value.to_be_bytes()), quad.f64.plausible),
        }
    }
}

#[test]
fn every_order_decodes_the_independent_encoders_vectors() {
    let vectors = vectors();
    assert!(vectors.len() > 200, "{} vectors", vectors.len());
    for kind in ["u32", "i32", "f32", "u64", "i64", "f64"] {
        let patterns: std::collections::BTreeSet<&str> = vectors
            .iter()
            .filter(|v| v.kind == kind)
            .map(|v| v.pattern.as_str())
            .collect();
        let expected = if kind.ends_with("32") { 4 } else { 8 };
        assert_eq!(patterns.len(), expected, "{kind} covers every order");
    }
    let mut failures = Vec::new();
    for v in &vectors {
        // The window starts at 40001 - 1 and holds just this value's registers.
        let window = decode_window(40000, &v.registers);
        assert_eq!(window.len(), v.registers.len());
        assert_eq!(window[0].address, 40000);
        let (bits, plausible) = decoded(v, &window[0]);
        if bits != v.bits || plausible != v.plausible {
            failures.push(format!(
                "vectors.csv:{}: {} {}: got {bits} plausible={plausible}, expected {} plausible={}",
                v.line, v.kind, v.pattern, v.bits, v.plausible
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A value shows as plausible in its own order and is not hidden among junk in the others: for the
/// float 123456.0, only ABCD of the four orders is plausible when it is sent big-endian.
#[test]
fn the_right_order_stands_out() {
    let window = decode_window(0, &[0x47F1, 0x2000]);
    let plausible: Vec<&str> = window[0]
        .pairs
        .iter()
        .filter(|p| p.f32.plausible)
        .map(|p| p.order.name())
        .collect();
    assert_eq!(plausible, ["ABCD"]);
}

/// The committed vectors are what the script writes today.
#[test]
fn the_committed_vectors_are_the_scripts_output() {
    let output = Command::new(python())
        .arg(peer("order_vectors.py"))
        .output()
        .expect("run order_vectors.py");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let committed = std::fs::read(data("orders/vectors.csv")).expect("read vectors.csv");
    assert!(
        output.stdout == committed,
        "regenerate tests/data/orders/vectors.csv with tests/peers/order_vectors.py"
    );
}
