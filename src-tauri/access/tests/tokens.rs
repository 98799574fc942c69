//! API tokens on real database files: who may make and revoke them, what the trail records, that only a
//! hash is stored, and which presented tokens the API's check accepts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use plantwatch_access::{
    outcome, AccessError, AuditAction, AuditTrail, Password, TokenGrant, TokenRefusal, TokenScope,
    Tokens, User, Users,
};
use plantwatch_core::{Role, Timestamp};

fn db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("plant.db");
    (dir, path)
}

/// (action, target, result) of every trail entry about tokens.
fn token_entries(path: &Path) -> Vec<(AuditAction, String, String)> {
    AuditTrail::open_read_only(path)
        .expect("trail")
        .entries(None, None)
        .expect("entries")
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| {
            matches!(
                e.action,
                AuditAction::TokenAdded | AuditAction::TokenRevoked
            )
        })
        .map(|e| (e.action, e.target, e.result))
        .collect()
}

#[test]
fn a_token_is_shown_once_and_only_its_hash_is_stored() {
    let (_dir, path) = db();
    let users = Users::open(&path).expect("open");
    let secret = users
        .add_token("dashboard", &TokenGrant::Read, None, None)
        .expect("a plant without users lets anyone who can write its file make tokens");
    let text = secret.reveal().to_string();
    assert!(text.starts_with("pwt_") && text.len() == 68, "{text}");
    drop(users);

    let bytes = std::fs::read(&path).expect("read the database");
    let found = bytes.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(!found, "the token's text is nowhere in the database file");

    let tokens = Tokens::open(&path).expect("tokens");
    let listed = tokens.list().expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), listed[0].scope, listed[0].expires),
        ("dashboard", TokenScope::Read, None)
    );
    let info = tokens
        .check(&text, Timestamp::now())
        .expect("check")
        .expect("the token is valid");
    assert_eq!(info.name, "dashboard");
    assert_eq!(
        token_entries(&path),
        vec![(
            AuditAction::TokenAdded,
            "dashboard".into(),
            outcome::OK.into()
        )]
    );
}

#[test]
fn unknown_malformed_revoked_and_expired_tokens_are_refused() {
    let (_dir, path) = db();
    let users = Users::open(&path).expect("open");
    let kept = users
        .add_token("kept", &TokenGrant::Read, None, None)
        .expect("add");
    let short = users
        .add_token(
            "short",
            &TokenGrant::Read,
            Some(Duration::from_secs(3600)),
            None,
        )
        .expect("add");
    let revoked = users
        .add_token("gone", &TokenGrant::Read, None, None)
        .expect("add");
    users.revoke_token("gone", None).expect("revoke");
    let tokens = Tokens::open(&path).expect("tokens");
    let now = Timestamp::now();
    let check = |text: &str, at: Timestamp| tokens.check(text, at).expect("check").map(|i| i.name);

    assert_eq!(check(kept.reveal(), now), Ok("kept".to_string()));
    assert_eq!(check(revoked.reveal(), now), Err(TokenRefusal::Unknown));
    assert_eq!(check("pwt_123", now), Err(TokenRefusal::Malformed));
    assert_eq!(check("Bearer nonsense", now), Err(TokenRefusal::Malformed));
    let forged = format!("pwt_{}", "0".repeat(64));
    assert_eq!(check(&forged, now), Err(TokenRefusal::Unknown));
    assert_eq!(check(short.reveal(), now), Ok("short".to_string()));
    let later = Timestamp(now.0 + 3_600_001);
    assert_eq!(check(short.reveal(), later), Err(TokenRefusal::Expired));
}

#[test]
fn once_the_plant_has_users_only_an_admin_manages_tokens_and_refusals_are_audited() {
    let (_dir, path) = db();
    let users = Users::open(&path).expect("open");
    users
        .add("ada", Role::Admin, &Password::new("ada-password"), None)
        .expect("first user");
    let ada = users
        .sign_in("ada", &Password::new("ada-password"))
        .expect("admin signs in");
    users
        .add(
            "olga",
            Role::Operator,
            &Password::new("olga-password"),
            Some(&ada),
        )
        .expect("add operator");
    let olga: User = users
        .sign_in("olga", &Password::new("olga-password"))
        .expect("operator signs in");

    let nobody = users.add_token("t", &TokenGrant::Read, None, None);
    assert!(
        matches!(nobody, Err(AccessError::Denied { .. })),
        "{nobody:?}"
    );
    let operator = users.add_token("t", &TokenGrant::Read, None, Some(&olga));
    assert!(
        matches!(operator, Err(AccessError::Denied { .. })),
        "{operator:?}"
    );
    users
        .add_token("t", &TokenGrant::Read, None, Some(&ada))
        .expect("an admin may");
    let twice = users.add_token(
        "t",
        &TokenGrant::Write {
            user: "olga".into(),
        },
        None,
        Some(&ada),
    );
    assert!(
        matches!(twice, Err(AccessError::TokenExists(_))),
        "{twice:?}"
    );
    let revoke = users.revoke_token("t", Some(&olga));
    assert!(
        matches!(revoke, Err(AccessError::Denied { .. })),
        "{revoke:?}"
    );
    users.revoke_token("t", Some(&ada)).expect("an admin may");
    let unknown = users.revoke_token("t", Some(&ada));
    assert!(
        matches!(unknown, Err(AccessError::UnknownToken(_))),
        "{unknown:?}"
    );
    let bad = users.add_token("no spaces", &TokenGrant::Read, None, Some(&ada));
    assert!(matches!(bad, Err(AccessError::BadTokenName(_))), "{bad:?}");

    let added = |r: &str| (AuditAction::TokenAdded, "t".to_string(), r.to_string());
    let revoked = |r: &str| (AuditAction::TokenRevoked, "t".to_string(), r.to_string());
    assert_eq!(
        token_entries(&path),
        vec![
            added(outcome::DENIED),
            added(outcome::DENIED),
            added(outcome::OK),
            added(outcome::REFUSED),
            revoked(outcome::DENIED),
            revoked(outcome::OK),
            revoked(outcome::REFUSED),
        ],
        "every attempt is in the trail (a bad name is refused before it is attempted)"
    );
    AuditTrail::open_read_only(&path)
        .expect("trail")
        .verify()
        .expect("the chain holds");
}
