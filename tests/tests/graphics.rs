//! Process pictures (issue 16): `plantwatch check` reads each `[[screens]]` SVG, names what the sanitiser
//! removed and reports broken bindings as `PICTURE:LINE:COL: message` with exit code 2; the sanitised
//! picture that would reach the webview keeps nothing that runs or fetches.

use std::path::Path;
use std::process::{Command, Output};

use plantwatch_system_tests::{data, plantwatch_bin, workspace_root};

/// Runs `plantwatch check FILE` inside `dir`, so paths in messages are as the user typed them.
fn check(dir: &Path, file: &str) -> Output {
    Command::new(plantwatch_bin())
        .arg("check")
        .arg(file)
        .current_dir(dir)
        .output()
        .expect("run plantwatch check")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(data("graphics").join(name)).expect("read an expected file")
}

#[test]
fn the_demo_plant_and_its_lift_station_picture_check_clean() {
    let out = check(&workspace_root(), "assets/demo-plant.toml");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(
        stdout.contains("screen 'station' (assets/screens/station.svg): "),
        "the demo plant's home screen is checked: {stdout}"
    );
    assert!(
        !stdout.contains("removed"),
        "the shipped picture needs no sanitising: {stdout}"
    );
}

#[test]
fn a_good_picture_checks_with_its_bound_elements_counted() {
    let out = check(&data("graphics"), "plant.toml");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("screen 'good' (good.svg): 3 bound elements"),
        "{stdout}"
    );
    // Inkscape's own attributes are bookkeeping, counted on one line rather than listed.
    assert!(
        stdout.contains("good.svg: removed 1 items of editor metadata (not SVG)"),
        "{stdout}"
    );
}

#[test]
fn every_broken_binding_is_reported_with_its_line_and_column() {
    let out = check(&data("graphics"), "broken.toml");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a broken binding is bad input: {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stderr), expected("broken.expected"));
}

#[test]
fn the_hostile_picture_check_names_each_removal() {
    let out = check(&data("graphics"), "hostile.toml");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let listed: String = stdout.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert_eq!(listed, expected("hostile.expected"));
}

#[test]
fn nothing_that_runs_or_fetches_survives_in_the_sanitised_hostile_picture() {
    let plant = plantwatch_config::load(&data("graphics/hostile.toml")).expect("the test plant");
    let picture = plantwatch_graphics::load(&plant.screens[0].file, &plant).expect("sanitised");
    let svg = picture.svg.to_ascii_lowercase();
    for banned in [
        "<script",
        "onload",
        "onclick",
        "foreignobject",
        "javascript:",
        "@import",
        "evil.example",
        "xhtml",
        "<set",
    ] {
        assert!(
            !svg.contains(banned),
            "'{banned}' reached the webview: {}",
            picture.svg
        );
    }
    // What is harmless stays: the bound rectangle (without its handler) and the styled circle.
    assert!(svg.contains("data-pw-id=\"0\""), "{}", picture.svg);
    assert!(svg.contains("style=\"fill: #f00\""), "{}", picture.svg);
    // The sanitised text is well-formed XML, as the webview's parser will read it.
    let plant_again = plantwatch_graphics::parse(&picture.svg, Path::new("again.svg"), &plant)
        .expect("the sanitised picture parses again");
    assert!(
        plant_again.removed.is_empty(),
        "sanitising is complete in one pass: {:?}",
        plant_again.removed
    );
}

#[test]
fn a_picture_that_is_not_xml_or_not_there_is_bad_input_with_a_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plant = std::fs::read_to_string(data("graphics/plant.toml")).expect("test plant");
    std::fs::write(dir.path().join("plant.toml"), &plant).expect("write plant");
    std::fs::write(
        dir.path().join("good.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\">\n  <rect>\n</svg>\n",
    )
    .expect("write picture");
    let out = check(dir.path(), "plant.toml");
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("good.svg:3:1: not well-formed XML: expected 'rect' tag"),
        "{stderr}"
    );

    std::fs::remove_file(dir.path().join("good.svg")).expect("remove picture");
    let out = check(dir.path(), "plant.toml");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("good.svg: cannot read the picture:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_picture_embedded_for_the_desktop_checks_against_the_demo_plant() {
    let plant = plantwatch_sim::demo_plant_as_shipped();
    let home = plant
        .screens
        .first()
        .expect("the demo plant has a home screen");
    let text = plantwatch_sim::demo_picture(&home.file).expect("embedded");
    let picture = plantwatch_graphics::parse(text, &home.file, &plant).expect("a clean picture");
    assert!(picture.removed.is_empty(), "{:?}", picture.removed);
    // The well's level is the picture's first bound element (the e2e test reads it by its id).
    assert!(
        picture.svg.contains("id=\"well-water\"") && picture.elements.len() >= 20,
        "{} bound elements",
        picture.elements.len()
    );
}
