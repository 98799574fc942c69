//! A device that answers with malformed frames (wrong transaction id, unit, function code or byte
//! count) gives its tags the cause `bad_reply`, not `no_connection` (issue 17, "input edges"). The peer
//! is a plain-socket Python server (`tests/peers/bad_reply_server.py`); the engine runs as the real
//! `plantwatch collect`.

use plantwatch_core::{Cause, Quality};
use plantwatch_system_tests::engine_support::{run_collect, stored, write_config};
use plantwatch_system_tests::peers::BadReplyServer;

#[test]
fn every_kind_of_malformed_reply_is_stored_as_bad_reply() {
    let mut wrong = Vec::new();
    for mode in ["tid", "unit", "function", "length"] {
        let server = BadReplyServer::start(mode);
        let dir = tempfile::tempdir().expect("temp dir");
        let config = write_config(
            dir.path(),
            "bad_reply.toml",
            &[("port", server.port().to_string())],
        );
        let db = dir.path().join("plant.db");
        let output = run_collect(&config, &db, "1s");
        assert!(
            output.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let samples = stored(&db);
        for tag in ["garbled/level", "garbled/flow"] {
            let qualities: Vec<Quality> = samples
                .get(tag)
                .map(|s| s.iter().map(|s| s.quality).collect())
                .unwrap_or_default();
            if qualities != [Quality::Bad(Cause::BadReply)] {
                wrong.push(format!("{mode}: {tag} stored {qualities:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
