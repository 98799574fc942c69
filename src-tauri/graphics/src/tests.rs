//! The binding language as specifications: an element's attributes in, its bindings or the first
//! problem (`LINE:COL: message`) out.

use std::path::Path;

use plantwatch_core::testing::{plant, tag};
use plantwatch_core::{Plant, Role, ValueType, WriteSpec};

use crate::*;

fn test_plant() -> Plant {
    plant(
        "test",
        Path::new("test.db"),
        vec![(
            "plc",
            vec![
                tag("level", ValueType::U16).with_unit("m"),
                tag("running", ValueType::Bool),
                tag("name", ValueType::String { registers: 4 }),
                tag("manual", ValueType::Bool).with_write(WriteSpec {
                    role: Role::Operator,
                    min: None,
                    max: None,
                    confirm: None,
                    pulse_ms: None,
                }),
            ],
        )],
    )
}

/// The bindings of one element written with `attributes`, or its first problem as `LINE:COL: message`.
fn check(attributes: &str) -> Result<Vec<Binding>, String> {
    let svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\">\n<rect {attributes}/>\n</svg>");
    match parse(&svg, Path::new("t.svg"), &test_plant()) {
        Ok(picture) => Ok(picture
            .elements
            .into_iter()
            .flat_map(|e| e.bindings)
            .collect()),
        Err(errors) => {
            let e = &errors.errors[0];
            let p = e.position.expect("a located problem");
            Err(format!("{}:{}: {}", p.line, p.column, e.message))
        }
    }
}

fn level() -> TagRef {
    TagRef {
        index: 0,
        id: "plc/level".into(),
    }
}

fn running() -> TagRef {
    TagRef {
        index: 1,
        id: "plc/running".into(),
    }
}

fn colour(text: &str) -> Colour {
    Colour::parse(text).expect("a colour")
}

#[test]
fn text_shows_the_value_with_its_unit_and_format() {
    assert_eq!(
        check(r#"data-pw-text="plc/level" data-pw-format="0.00""#),
        Ok(vec![Binding::Text {
            tag: level(),
            decimals: Some(2),
            unit: Some("m".into())
        }])
    );
    assert_eq!(
        check(r#"data-pw-text="plc/name""#),
        Ok(vec![Binding::Text {
            tag: TagRef {
                index: 2,
                id: "plc/name".into()
            },
            decimals: None,
            unit: None
        }])
    );
}

#[test]
fn fill_rules_keep_their_order_per_tag_and_expand_short_colours() {
    assert_eq!(
        check(
            r#"data-pw-fill="plc/running: true=#2a2, false=#777; plc/level: ..1=#D22, 3.2..=none""#
        ),
        Ok(vec![Binding::Fill {
            rules: vec![
                ColourRule {
                    tag: running(),
                    when: Match::Is { value: true },
                    colour: colour("#22aa22")
                },
                ColourRule {
                    tag: running(),
                    when: Match::Is { value: false },
                    colour: colour("#777777")
                },
                ColourRule {
                    tag: level(),
                    when: Match::Within {
                        from: None,
                        to: Some(1.0)
                    },
                    colour: colour("#dd2222")
                },
                ColourRule {
                    tag: level(),
                    when: Match::Within {
                        from: Some(3.2),
                        to: None
                    },
                    colour: colour("none")
                },
            ]
        }])
    );
}

#[test]
fn level_visible_rotate_and_click_read_their_short_forms() {
    assert_eq!(
        check(r#"data-pw-level="plc/level 0..4" data-pw-level-axis="x" data-pw-click="trend""#),
        Ok(vec![
            Binding::Level {
                tag: level(),
                span: Span { from: 0.0, to: 4.0 },
                axis: Axis::X
            },
            Binding::Click {
                tag: level(),
                action: ClickAction::Trend
            }
        ])
    );
    assert_eq!(
        check(r#"data-pw-visible="!plc/running""#),
        Ok(vec![Binding::Visible {
            tag: running(),
            condition: Condition::Is { value: false }
        }])
    );
    assert_eq!(
        check(r#"data-pw-visible="plc/level >= 2.5""#),
        Ok(vec![Binding::Visible {
            tag: level(),
            condition: Condition::Compare {
                op: Compare::AtLeast,
                value: 2.5
            }
        }])
    );
    assert_eq!(
        check(r#"data-pw-rotate="plc/level 0..4 -45..45""#),
        Ok(vec![Binding::Rotate {
            tag: level(),
            values: Span { from: 0.0, to: 4.0 },
            angles: Span {
                from: -45.0,
                to: 45.0
            }
        }])
    );
    assert_eq!(
        check(r#"data-pw-click="write plc/manual""#),
        Ok(vec![Binding::Click {
            tag: TagRef {
                index: 3,
                id: "plc/manual".into()
            },
            action: ClickAction::Write
        }])
    );
}

#[test]
fn problems_point_at_the_word_that_is_wrong() {
    // Each column is that of the offending word in `<rect ATTRIBUTES/>` on line 2.
    assert_eq!(
        check(r#"data-pw-text="plc/nothing""#),
        Err("2:21: unknown tag 'plc/nothing' (expected device/tag)".into())
    );
    assert_eq!(
        check(r#"data-pw-fill="plc/running: true=#2a2, false=#77""#),
        Err("2:51: '#77' is not a colour; write #rgb, #rrggbb, #rrggbbaa or none".into())
    );
    assert_eq!(
        check(r#"data-pw-fill="plc/running: true=#2a2, 3=#777""#),
        Err("2:45: a tag's conditions are either true/false or numbers, not both".into())
    );
    assert_eq!(
        check(r#"data-pw-level="plc/running 0..1""#),
        Err("2:22: tag 'plc/running' is not numeric; use true or false".into())
    );
    assert_eq!(
        check(r#"data-pw-visible="plc/level""#),
        Err("2:24: tag 'plc/level' is not a boolean; compare it with a number or a range".into())
    );
    assert_eq!(
        check(r#"data-pw-click="write plc/level""#),
        Err("2:28: tag 'plc/level' is read-only (no write = { ... } in the plant config), so it has no write control".into())
    );
    assert_eq!(
        check(r#"data-pw-text="plc/level" data-pw-fill="plc/running: true=#2a2" data-pw-click="trend""#),
        Err("2:85: name the tag to open ('trend device/tag'): the element is bound to none or to several".into())
    );
    assert_eq!(
        check(r#"data-pw-format="0.0""#),
        Err("2:7: data-pw-format needs a data-pw-text on the same element".into())
    );
    assert_eq!(
        check(r#"data-pw-rotate="plc/level 0..4""#),
        Err(
            "2:23: expected 'device/tag FROM..TO ANGLE..ANGLE', like drive1/speed 0..1500 0..360"
                .into()
        )
    );
}

#[test]
fn bound_elements_are_numbered_in_document_order_in_the_sanitised_svg() {
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="20">
<rect data-pw-level="plc/level 0..4"/><rect/><text data-pw-text="plc/level" data-pw-id="7">a &amp; b</text>
</svg>"##;
    let picture = parse(svg, Path::new("t.svg"), &test_plant()).expect("a good picture");
    assert_eq!(
        picture.svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
         viewBox=\"0 0 10 20\" width=\"10\" height=\"20\">\n<rect data-pw-id=\"0\"></rect><rect></rect>\
         <text data-pw-id=\"1\">a &amp; b</text>\n</svg>"
    );
    let ids: Vec<u32> = picture.elements.iter().map(|e| e.id).collect();
    assert_eq!(ids, [0, 1]);
}
