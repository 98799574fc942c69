//! Tag lists as CSV (`plantwatch tags export|import`, `plantwatch_config::tag_list`) and promoting a
//! register to a tag (`plantwatch_config::add_tag`), on copies of the demo plant.
//!
//! The rules under test: an export and an import give back the same tags; an import adds and changes
//! tags by (device, id), keeps what the CSV does not carry and never deletes; a CSV with bad rows names
//! every one as `tags.csv:LINE: message` and leaves the plant file byte for byte as it was; adding a tag
//! keeps every comment of the file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use plantwatch_config::tag_list;
use plantwatch_config::{add_tag, EditError, TagDraft};
use plantwatch_core::{Plant, Table, ValueKind, WordOrder};
use plantwatch_system_tests::{data, plantwatch_bin, workspace_root};

fn demo_text() -> String {
    std::fs::read_to_string(workspace_root().join("assets/demo-plant.toml")).expect("read demo")
}

/// A folder holding `plant.toml` with `text`.
fn plant_with(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.toml");
    std::fs::write(&path, text).expect("write plant");
    (dir, path)
}

/// The demo plant with every device's tags taken out (comments elsewhere kept).
fn demo_without_tags() -> String {
    let mut document: toml_edit::DocumentMut = demo_text().parse().expect("demo is TOML");
    let devices = document["devices"]
        .as_array_of_tables_mut()
        .expect("[[devices]]");
    for device in devices.iter_mut() {
        device.remove("tags");
    }
    document.to_string()
}

fn load(path: &Path) -> Plant {
    plantwatch_config::load(path).unwrap_or_else(|e| panic!("{e}"))
}

/// What a tag list carries of each tag, device by device, in order.
fn listed(plant: &Plant) -> Vec<(String, Vec<TagDraft>)> {
    plant
        .devices
        .iter()
        .map(|d| {
            (
                d.id.clone(),
                d.tags.iter().map(TagDraft::from_tag).collect(),
            )
        })
        .collect()
}

fn tags_cli(args: &[&str], dir: &Path) -> Output {
    Command::new(plantwatch_bin())
        .arg("tags")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run plantwatch tags")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_round_trip_through_the_binary_gives_the_demo_plants_tags() {
    let (dir, demo) = plant_with(&demo_text());
    let export = tags_cli(&["export", "plant.toml"], dir.path());
    assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
    let csv = text(&export.stdout);
    assert!(csv.starts_with(&format!("{}\n", tag_list::HEADER)), "{csv}");
    assert_eq!(csv.lines().count(), 1 + load(&demo).tag_count());
    std::fs::write(dir.path().join("tags.csv"), &csv).expect("write csv");

    std::fs::write(dir.path().join("bare.toml"), demo_without_tags()).expect("write bare");
    assert_eq!(load(&dir.path().join("bare.toml")).tag_count(), 0);
    let import = tags_cli(&["import", "bare.toml", "tags.csv"], dir.path());
    assert_eq!(import.status.code(), Some(0), "{}", text(&import.stderr));
    assert_eq!(
        text(&import.stdout),
        "bare.toml: 66 tags added, 0 changed, 0 unchanged\n"
    );

    let original = load(&demo);
    let imported = load(&dir.path().join("bare.toml"));
    let (want, got) = (listed(&original), listed(&imported));
    assert_eq!(want.len(), got.len());
    for ((device, want), (_, got)) in want.iter().zip(&got) {
        assert_eq!(want.len(), got.len(), "{device}: tag count");
        for (w, g) in want.iter().zip(got) {
            assert_eq!(w, g, "{device}/{}", w.id);
        }
    }
    // And the imported plant exports the same list, byte for byte.
    let again = tags_cli(&["export", "bare.toml"], dir.path());
    assert_eq!(text(&again.stdout), csv);
}

#[test]
fn importing_its_own_list_changes_nothing_and_an_edit_changes_one_line() {
    let (dir, demo) = plant_with(&demo_text());
    let export = tags_cli(&["export", "plant.toml"], dir.path());
    let csv = dir.path().join("tags.csv");
    std::fs::write(&csv, &export.stdout).expect("write csv");
    let done = tag_list::import(&demo, &csv, None).expect("import");
    assert_eq!((done.added, done.changed, done.unchanged), (0, 0, 66));
    assert_eq!(std::fs::read_to_string(&demo).expect("read"), demo_text());

    // The level's scale changes; its alarms, name_zh and the file's comments stay.
    let list = text(&export.stdout);
    let level = "plc,level,Wet-well level,input,0,u16,,,,0.001,,m,0.005,\n";
    assert!(list.contains(level), "{list}");
    let edited = list.replace(level, &level.replace("0.001", "0.0001"));
    std::fs::write(&csv, edited).expect("write csv");
    let done = tag_list::import(&demo, &csv, None).expect("import");
    assert_eq!((done.added, done.changed, done.unchanged), (0, 1, 65));
    let before = demo_text();
    let after = std::fs::read_to_string(&demo).expect("read");
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .collect();
    assert_eq!(changed, [("scale = 0.001", "scale = 0.0001")]);
    assert_eq!(before.lines().count(), after.lines().count());
    let (_, level) = done
        .plant
        .find_tag("plc/level")
        .and_then(|i| done.plant.tag(i))
        .expect("level");
    assert_eq!(level.alarms().len(), 3);
    assert_eq!(level.name_zh(), Some("集水井液位"));
}

#[test]
fn a_broken_list_names_every_bad_row_and_leaves_the_plant_untouched() {
    let (dir, demo) = plant_with(&demo_text());
    std::fs::copy(data("tags/broken.csv"), dir.path().join("broken.csv")).expect("copy csv");
    let import = tags_cli(&["import", "plant.toml", "broken.csv"], dir.path());
    assert_eq!(import.status.code(), Some(2));
    assert_eq!(import.stdout, b"");
    let expected = std::fs::read_to_string(data("tags/broken.expected")).expect("expected");
    assert_eq!(text(&import.stderr), expected);
    assert_eq!(std::fs::read(&demo).expect("read"), demo_text().as_bytes());
}

#[test]
fn one_device_at_a_time() {
    let (dir, _demo) = plant_with(&demo_text());
    let export = tags_cli(&["export", "plant.toml", "--device", "meter"], dir.path());
    assert_eq!(export.status.code(), Some(0), "{}", text(&export.stderr));
    let csv = text(&export.stdout);
    assert!(
        csv.lines().skip(1).all(|l| l.starts_with("meter,")),
        "{csv}"
    );
    assert!(csv.lines().count() > 1);

    let unknown = tags_cli(&["export", "plant.toml", "--device", "pump"], dir.path());
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(
        text(&unknown.stderr),
        "plant.toml: no device 'pump'; the plant has plc, drive1, drive2, meter\n"
    );

    // The whole list imported for one device: the other devices' rows are errors, nothing written.
    let all = tags_cli(&["export", "plant.toml"], dir.path());
    std::fs::write(dir.path().join("all.csv"), &all.stdout).expect("write csv");
    let import = tags_cli(
        &["import", "plant.toml", "all.csv", "--device", "meter"],
        dir.path(),
    );
    assert_eq!(import.status.code(), Some(2));
    let stderr = text(&import.stderr);
    assert!(
        stderr
            .starts_with("all.csv:2: device \"plc\" is not the device imported (--device meter)\n"),
        "{stderr}"
    );
    let other_rows = text(&all.stdout)
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("meter,"))
        .count();
    assert_eq!(
        stderr.lines().count(),
        other_rows,
        "one error per other row"
    );
}

#[test]
fn a_missing_list_is_an_io_failure() {
    let (dir, _demo) = plant_with(&demo_text());
    let import = tags_cli(&["import", "plant.toml", "nowhere.csv"], dir.path());
    assert_eq!(import.status.code(), Some(1));
    assert!(
        text(&import.stderr).starts_with("nowhere.csv: cannot read: "),
        "{}",
        text(&import.stderr)
    );
}

#[test]
fn a_formula_like_name_is_neutralised_on_export_and_restored_on_import() {
    let (dir, plant) = plant_with(&demo_without_tags());
    let mut tag = TagDraft::new("sum", Table::Holding, 100, ValueKind::I16);
    tag.name = Some("=SUM(A1:A9)".into());
    tag.offset = -5.0;
    add_tag(&plant, "plc", &tag).expect("added");
    let export = tags_cli(&["export", "plant.toml"], dir.path());
    let csv = text(&export.stdout);
    assert_eq!(
        csv.lines().nth(1),
        Some("plc,sum,\"'=SUM(A1:A9)\",holding,100,i16,,,,,-5,,,")
    );
    std::fs::write(dir.path().join("tags.csv"), &csv).expect("write csv");
    std::fs::write(dir.path().join("bare.toml"), demo_without_tags()).expect("write bare");
    let import = tags_cli(&["import", "bare.toml", "tags.csv"], dir.path());
    assert_eq!(import.status.code(), Some(0), "{}", text(&import.stderr));
    assert_eq!(listed(&load(&dir.path().join("bare.toml")))[0].1, [tag]);
}

#[test]
fn add_tag_keeps_every_comment_and_appends_one_table() {
    let before = demo_text();
    let (_dir, path) = plant_with(&before);
    let mut flow = TagDraft::new("mystery_flow", Table::Holding, 200, ValueKind::F32);
    flow.name = Some("Flow found with the workbench".into());
    flow.order = WordOrder::Cdab;
    flow.unit = Some("L/s".into());
    flow.scale = 0.1;
    let plant = add_tag(&path, "plc", &flow).expect("added");
    assert!(plant.find_tag("plc/mystery_flow").is_some());

    let after = std::fs::read_to_string(&path).expect("read");
    let table = "\n[[devices.tags]]\nid = \"mystery_flow\"\nname = \"Flow found with the workbench\"\ntable = \"holding\"\naddress = 200\ntype = \"f32\"\norder = \"CDAB\"\nscale = 0.1\nunit = \"L/s\"\n";
    let at = after.find(table).expect("the new table is in the file");
    assert_eq!(
        format!("{}{}", &after[..at], &after[at + table.len()..]),
        before
    );
    // It sits after the PLC's last tag, before the first drive's banner comment.
    let drive = after.find("id = \"drive1\"").expect("drive1");
    assert!(at < drive);
    assert!(after[at + table.len()..drive].trim_start().starts_with('#'));
}

#[test]
fn add_tag_refuses_a_duplicate_with_its_place_and_leaves_the_file() {
    let (_dir, path) = plant_with(&demo_text());
    let again = TagDraft::new("level", Table::Holding, 300, ValueKind::U16);
    let error = add_tag(&path, "plc", &again).expect_err("a duplicate id");
    let EditError::WouldBeInvalid(errors) = &error else {
        panic!("expected the config check to refuse it, got {error}");
    };
    let first = errors.iter().next().expect("one problem");
    assert!(first.position.is_some(), "{first}");
    assert!(first.message.contains("level"), "{first}");
    assert!(error.to_string().contains("nothing was written"), "{error}");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), demo_text());

    let error = add_tag(&path, "pump", &again).expect_err("no such device");
    assert!(
        error
            .to_string()
            .ends_with("no device 'pump'; the plant has plc, drive1, drive2, meter"),
        "{error}"
    );
}
