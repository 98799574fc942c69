//! `[history] keep`, `keep_summaries` and a tag's own `keep`: how long history is kept.

use std::path::Path;
use std::time::Duration;

const DEVICE: &str = "[[devices]]\nid = \"plc\"\ntransport = \"tcp\"\nhost = \"127.0.0.1\"\n\
    [[devices.tags]]\nid = \"flow\"\ntable = \"input\"\naddress = 0\ntype = \"u16\"\n";

fn plant_with(history: &str, tag_extra: &str) -> String {
    format!(
        "[plant]\nname = \"P\"\n\n[history]\n{history}\n{DEVICE}{tag_extra}\n\
        [[devices.tags]]\nid = \"level\"\ntable = \"input\"\naddress = 1\ntype = \"u16\"\n"
    )
}

const DAY: u64 = 86_400;

#[test]
fn keep_keep_summaries_and_a_tags_own_keep_are_read() {
    let text = plant_with(
        "keep = \"400d\"\nkeep_summaries = \"10y\"",
        "keep = \"30d\"\n",
    );
    let errors = plantwatch_config::parse(&text, Path::new("p.toml")).expect_err("no 'y' unit");
    assert_eq!(errors.len(), 1, "{errors}");
    let text = plant_with(
        "keep = \"400d\"\nkeep_summaries = \"3650d\"",
        "keep = \"30d\"\n",
    );
    let plant = plantwatch_config::parse(&text, Path::new("p.toml")).expect("valid");
    assert_eq!(plant.retention.keep, Some(Duration::from_secs(400 * DAY)));
    assert_eq!(
        plant.retention.keep_summaries,
        Some(Duration::from_secs(3650 * DAY))
    );
    let keeps: Vec<Option<Duration>> = plant.tags().map(|(_, _, tag)| tag.keep()).collect();
    assert_eq!(keeps, vec![Some(Duration::from_secs(30 * DAY)), None]);
}

#[test]
fn without_keys_history_is_kept_for_ever() {
    let plant = plantwatch_config::parse(&plant_with("path = \"p.db\"", ""), Path::new("p.toml"))
        .expect("valid");
    assert_eq!(plant.retention, plantwatch_core::Retention::default());
    assert_eq!(plant.retention.keep, None);
}

#[test]
fn a_bad_duration_is_an_error_at_its_file_line_and_column() {
    let cases = [
        (
            plant_with("keep = \"400 days\"", ""),
            "p.toml:5:8: 'keep': invalid duration '400 days': expected a duration from 0ms to 36500d, such as 500ms, 90s, 10m, 1h30m or 7d",
        ),
        (
            plant_with("keep = \"0d\"", ""),
            "p.toml:5:8: 'keep' must be more than 0",
        ),
        (
            plant_with("keep_summaries = 3650", ""),
            "p.toml:5:18: 'keep_summaries' must be a string, not an integer (3650)",
        ),
        (
            plant_with("keep = \"30d\"\nkeep_summaries = \"7d\"", ""),
            "p.toml:6:18: 'keep_summaries' must be at least 'keep' (summaries draw the trends of raw samples already gone)",
        ),
        (
            plant_with("", "keep = \"-30d\"\n"),
            "p.toml:15:8: 'keep': invalid duration '-30d': expected a duration from 0ms to 36500d, such as 500ms, 90s, 10m, 1h30m or 7d",
        ),
    ];
    for (text, expected) in cases {
        let errors = plantwatch_config::parse(&text, Path::new("p.toml")).expect_err(expected);
        assert_eq!(errors.to_string().trim_end(), expected, "config:\n{text}");
    }
}

#[test]
fn min_free_is_read_as_bytes_in_decimal_or_binary_units() {
    for (typed, bytes) in [
        ("2GB", 2_000_000_000),
        ("500MB", 500_000_000),
        ("64MiB", 64 << 20),
    ] {
        let text = plant_with(&format!("min_free = \"{typed}\""), "");
        let plant = plantwatch_config::parse(&text, Path::new("p.toml")).expect("valid");
        assert_eq!(
            plant.retention.min_free,
            Some(plantwatch_core::ByteSize(bytes)),
            "{typed}"
        );
    }
    let plant = plantwatch_config::parse(&plant_with("", ""), Path::new("p.toml")).expect("valid");
    assert_eq!(
        plant.retention.min_free, None,
        "absent: the writer's default"
    );
}

#[test]
fn a_bad_min_free_is_an_error_at_its_file_line_and_column_with_the_forms() {
    let forms = "expected a whole number of bytes with a unit, such as 2GB, 500MB, 64MiB or 0B \
        (units B, kB, MB, GB, TB in powers of 1000, KiB, MiB, GiB, TiB in powers of 1024), at most 16EiB";
    let cases = [
        (
            plant_with("min_free = \"2 gigabytes\"", ""),
            format!("p.toml:5:12: 'min_free': invalid size '2 gigabytes': {forms}"),
        ),
        (
            plant_with("min_free = \"1.5GB\"", ""),
            format!("p.toml:5:12: 'min_free': invalid size '1.5GB': {forms}"),
        ),
        (
            plant_with("min_free = 2000000000", ""),
            "p.toml:5:12: 'min_free' must be a string, not an integer (2000000000)".to_string(),
        ),
    ];
    for (text, expected) in cases {
        let errors = plantwatch_config::parse(&text, Path::new("p.toml")).expect_err(&expected);
        assert_eq!(errors.to_string().trim_end(), expected, "config:\n{text}");
    }
}
