//! The desktop's IPC contract: the TypeScript types the UI compiles against
//! (`ui/src/bindings/ipc.ts`, committed) are exactly what the Rust wire types generate.
//!
//! The wire types live in the desktop layer (`src-tauri/src/desktop/wire.rs`), which builds only with
//! the `desktop` feature; that file depends on no Tauri item, so it is compiled here on its own and the
//! check runs in the ordinary test suite without GTK or WebKit.

#[path = "../../src-tauri/src/desktop/wire.rs"]
#[allow(dead_code)]
mod wire;

use plantwatch_system_tests::workspace_root;

#[test]
fn the_committed_typescript_bindings_match_the_rust_wire_types() {
    let generated = wire::render_typescript();
    let path = workspace_root().join("ui/src/bindings/ipc.ts");
    if std::env::var_os("PLANTWATCH_WRITE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("write the bindings");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with src-tauri/src/desktop/wire.rs: regenerate it with \
         `PLANTWATCH_WRITE_BINDINGS=1 cargo test -p plantwatch-system-tests --test desktop_bindings` \
         and commit it",
        path.display()
    );
}
