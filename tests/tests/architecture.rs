//! The map stays true: the crate graph `ARCHITECTURE.md` draws (its "Crate graph" table) is the graph
//! `cargo metadata` reports, edge for edge. Add a crate or a dependency between crates, and this test
//! fails until the page says so too.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use plantwatch_system_tests::workspace_root;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The table between the "Crate graph" heading and the next heading: `| crate | depends on |` rows, the
/// names without their `plantwatch-` prefix, `—` for none.
fn graph_on_the_page() -> Graph {
    let page = std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md is readable");
    let section = page
        .split("## Crate graph")
        .nth(1)
        .expect("ARCHITECTURE.md has a '## Crate graph' section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let mut graph = Graph::new();
    for row in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let [name, deps] = cells[..] else {
            panic!("a crate graph row has two cells: {row}")
        };
        let name = name.trim_matches('`');
        if name == "crate" || name.starts_with("--") {
            continue; // header and rule
        }
        let deps = deps
            .split(',')
            .map(|d| d.trim().trim_matches('`'))
            .filter(|d| !d.is_empty() && *d != "—")
            .map(String::from)
            .collect();
        assert!(
            graph.insert(name.to_string(), deps).is_none(),
            "{name} is listed twice"
        );
    }
    graph
}

/// Every workspace package and the workspace packages it depends on for building (not dev-only).
fn graph_of_cargo() -> Graph {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let short = |name: &str| name.strip_prefix("plantwatch-").unwrap_or(name).to_string();
    let packages = metadata["packages"].as_array().expect("a package list");
    let members: BTreeSet<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str())
        .map(String::from)
        .collect();
    let mut graph = Graph::new();
    for package in packages {
        let name = package["name"].as_str().expect("a package name");
        let deps = package["dependencies"]
            .as_array()
            .expect("a dependency list")
            .iter()
            .filter(|d| d["kind"].is_null()) // normal dependencies; dev and build ones are not the map
            .filter_map(|d| d["name"].as_str())
            .filter(|d| members.contains(*d))
            .map(short)
            .collect();
        graph.insert(short(name), deps);
    }
    graph
}

#[test]
fn the_crate_graph_in_architecture_md_is_the_one_cargo_builds() {
    let page = graph_on_the_page();
    let cargo = graph_of_cargo();
    let mut problems = Vec::new();
    for (name, deps) in &cargo {
        match page.get(name) {
            None => problems.push(format!("{name} is missing from the page")),
            Some(drawn) if drawn != deps => problems.push(format!(
                "{name}: the page says it depends on {drawn:?}, cargo says {deps:?}"
            )),
            Some(_) => {}
        }
    }
    for name in page.keys().filter(|n| !cargo.contains_key(*n)) {
        problems.push(format!("{name} is on the page but is no workspace crate"));
    }
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md's crate graph has drifted:\n{}",
        problems.join("\n")
    );
}
