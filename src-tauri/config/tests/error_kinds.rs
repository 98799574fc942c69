//! Every problem carries a kind, so a caller (the desktop's config screen) can act on it without
//! reading message text; and every problem of a file comes back, in file order.

use std::path::Path;

use plantwatch_config::{ConfigErrorKind, Position};

const PLANT: &str = "[plant]\nname = \"P\"\n";
const TCP_DEVICE: &str = "[[devices]]\nid = \"plc\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\n";

/// Parses `text` and returns the kinds of its problems, in file order.
fn kinds(text: &str) -> Vec<ConfigErrorKind> {
    match plantwatch_config::parse(text, Path::new("p.toml")) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.iter().map(|e| e.kind).collect(),
    }
}

#[test]
fn each_problem_has_the_kind_of_its_cause() {
    use ConfigErrorKind::*;
    let tag = "[[devices.tags]]\nid = \"t\"\ntable = \"input\"\naddress = 0\n";
    let cases: Vec<(String, ConfigErrorKind)> = vec![
        ("[plant\n".to_string(), Syntax),
        (format!("{PLANT}colour = 1\n"), UnknownKey),
        (format!("{PLANT}{TCP_DEVICE}port = \"502\"\n"), WrongType),
        ("[plant]\n".to_string(), MissingKey),
        (format!("{PLANT}{TCP_DEVICE}unit = 248\n"), BadValue),
        (
            format!("{PLANT}{TCP_DEVICE}{tag}type = \"u16\"\nheartbeat_s = 5000000\n"),
            BadValue,
        ),
        (format!("{PLANT}{TCP_DEVICE}{TCP_DEVICE}"), Duplicate),
        (format!("{PLANT}{TCP_DEVICE}baud = 9600\n"), Conflict),
        (
            format!("{PLANT}{TCP_DEVICE}{tag}type = \"u16\"\norder = \"CDAB\"\n"),
            Conflict,
        ),
    ];
    for (text, kind) in cases {
        assert_eq!(kinds(&text), vec![kind], "config:\n{text}");
    }
}

#[test]
fn a_valid_plant_has_no_problems() {
    assert_eq!(kinds(&format!("{PLANT}{TCP_DEVICE}")), Vec::new());
}

#[test]
fn every_problem_is_reported_with_its_position() {
    let text = format!("{PLANT}{TCP_DEVICE}unit = 300\npoll_ms = 1\n\n{TCP_DEVICE}");
    let errors = plantwatch_config::parse(&text, Path::new("p.toml")).expect_err("three problems");
    let positions: Vec<Option<Position>> = errors.iter().map(|e| e.position).collect();
    assert_eq!(
        positions,
        vec![
            Some(Position { line: 7, column: 8 }),
            Some(Position {
                line: 8,
                column: 11
            }),
            Some(Position {
                line: 11,
                column: 6
            }),
        ],
        "{errors}"
    );
}
