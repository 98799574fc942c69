//! A plant's own texts in Simplified Chinese: `name_zh` on a tag and `message_zh` on an alarm rule are
//! optional, carried on the validated plant, and checked like every other key.

use std::path::Path;

use plantwatch_config::{ConfigErrorKind, Position};

const FILE: &str = include_str!("data/chinese_names.toml");

#[test]
fn name_zh_and_message_zh_are_carried_on_the_plant() {
    let plant = plantwatch_config::parse(FILE, Path::new("chinese_names.toml")).expect("valid");
    let tags = &plant.devices[0].tags;
    let level = &tags[0];
    assert_eq!(
        level.name(),
        Some("Wet well level"),
        "the English name stays the name"
    );
    assert_eq!(level.name_zh(), Some("集水井液位"));
    let messages: Vec<(Option<&str>, Option<&str>)> = level
        .alarms()
        .iter()
        .map(|rule| (rule.message.as_deref(), rule.message_zh.as_deref()))
        .collect();
    assert_eq!(
        messages,
        vec![
            (Some("Wet well high"), Some("集水井液位高")),
            (Some("Wet well low"), None),
        ],
        "a rule without message_zh has none"
    );
    assert_eq!(tags[1].name_zh(), None, "a tag without name_zh has none");
}

#[test]
fn a_name_zh_that_is_not_text_is_located() {
    let text = FILE.replace("name_zh = \"集水井液位\"", "name_zh = 4");
    let errors = plantwatch_config::parse(&text, Path::new("p.toml")).expect_err("wrong type");
    let errors = errors.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, ConfigErrorKind::WrongType);
    assert_eq!(
        errors[0].position,
        Some(Position {
            line: 13,
            column: 11
        })
    );
    let shown = errors[0].to_string();
    assert!(
        shown.contains("p.toml:13:11") && shown.contains("name_zh"),
        "{shown}"
    );
}

#[test]
fn a_message_zh_that_is_not_text_is_located() {
    let text = FILE.replace("message_zh = \"集水井液位高\"", "message_zh = true");
    let errors = plantwatch_config::parse(&text, Path::new("p.toml")).expect_err("wrong type");
    let errors = errors.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, ConfigErrorKind::WrongType);
    let shown = errors[0].to_string();
    assert!(
        shown.contains("p.toml:19:") && shown.contains("message_zh"),
        "{shown}"
    );
}

#[test]
fn a_misspelt_localized_key_is_an_unknown_key() {
    let text = FILE.replace("name_zh =", "name_cn =");
    let errors = plantwatch_config::parse(&text, Path::new("p.toml")).expect_err("unknown key");
    let errors = errors.errors();
    assert_eq!(errors[0].kind, ConfigErrorKind::UnknownKey);
    assert!(errors[0].to_string().contains("name_cn"), "{}", errors[0]);
}
