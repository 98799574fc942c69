//! `plantwatch tokens`: the bearer tokens of the local API (`add`, `list`, `revoke`), and `make-cert`, a
//! self-signed certificate and key for a first TLS setup.
//!
//! While a plant has no users, anyone who can write its database may manage tokens; after that it takes
//! `--as ADMIN`, signing in as `plantwatch users` does (`PLANTWATCH_PASSWORD`, the terminal, or the
//! first line of standard input). `add` prints the token once, on standard output; only its SHA-256 is
//! stored. Adding and revoking, and every refusal of either, go into the audit trail.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use plantwatch_access::{AccessError, TokenGrant, TokenScope, User, Users};
use plantwatch_core::parse_duration;

use super::password::Passwords;
use crate::csv::field;

/// Manage the local API's tokens.
#[derive(clap::Args)]
pub struct Args {
    /// The plant's database (its history file). `add` creates it when missing; `list` and `revoke`
    /// need it; `make-cert` does not use it.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Act as this admin, signing in with their password (needed once the plant has users).
    #[arg(long = "as", value_name = "USER", global = true)]
    pub as_user: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do with tokens.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a token and print it once.
    Add {
        name: String,
        /// read (the plant, values, history, alarms) or write (also tag writes and alarm actions).
        #[arg(long, value_parser = parse_scope)]
        scope: TokenScope,
        /// The user a write token acts as: their role applies to its writes, and the audit trail
        /// names them and the token. Required with --scope write.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// How long it is valid, such as 90d or 12h; without it, until revoked.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// List the tokens as CSV: name,scope,created,expires (never the token or its hash).
    List,
    /// Revoke a token: the API refuses it from the next request on.
    Revoke { name: String },
    /// Write a self-signed TLS certificate and key for HOSTNAME (PEM), for a first setup.
    MakeCert {
        /// The name (or IP address) clients use to reach this machine.
        hostname: String,
        /// Where to write the certificate.
        #[arg(long, default_value = "plantwatch.crt")]
        cert: PathBuf,
        /// Where to write the private key (readable by its owner only).
        #[arg(long, default_value = "plantwatch.key")]
        key: PathBuf,
    },
}

fn parse_scope(text: &str) -> Result<TokenScope, String> {
    text.parse::<TokenScope>().map_err(|e| e.to_string())
}

/// Why the command stopped.
#[derive(Debug, thiserror::Error)]
enum TokensError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Access(#[from] AccessError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Runs `plantwatch tokens`: 0 done, 2 refused or bad input, 1 a failure of the database, the
/// terminal or the file system.
pub fn run(args: Args) -> ExitCode {
    match tokens(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plantwatch tokens: {e}");
            if matches!(e, TokensError::Access(AccessError::Denied { .. }))
                && args.as_user.is_none()
            {
                eprintln!("plantwatch tokens: sign in as an admin with --as USER (PLANTWATCH_PASSWORD or the terminal gives the password)");
            }
            match e {
                TokensError::BadInput(_) => ExitCode::from(2),
                TokensError::Access(e) if e.is_refusal() => ExitCode::from(2),
                _ => ExitCode::from(1),
            }
        }
    }
}

fn tokens(args: &Args) -> Result<(), TokensError> {
    if let Command::MakeCert {
        hostname,
        cert,
        key,
    } = &args.command
    {
        return make_cert(hostname, cert, key);
    }
    let Some(db) = &args.db else {
        return Err(TokensError::BadInput(
            "--db FILE is needed: the plant's database, where tokens are kept".to_string(),
        ));
    };
    let creates = matches!(args.command, Command::Add { .. });
    if !creates && !db.is_file() {
        return Err(AccessError::Missing { path: db.clone() }.into());
    }
    // A bad duration is refused before anyone is asked for a password.
    let valid_for = match &args.command {
        Command::Add {
            expires: Some(text),
            ..
        } => Some(parse_duration(text).map_err(|e| TokensError::BadInput(e.to_string()))?),
        _ => None,
    };
    let users = Users::open(db)?;
    let mut out = io::stdout().lock();
    match &args.command {
        Command::List => {
            writeln!(out, "name,scope,created,expires")?;
            for t in users.tokens()? {
                let expires = t.expires.map(|e| e.to_string()).unwrap_or_default();
                writeln!(
                    out,
                    "{},{},{},{expires}",
                    field(&t.name),
                    t.scope,
                    t.created
                )?;
            }
        }
        Command::Add {
            name, scope, user, ..
        } => {
            let grant = TokenGrant::new(*scope, user.as_deref())?;
            let by = sign_in(&users, args.as_user.as_deref())?;
            let secret = finish(&users, by.as_ref(), |by| {
                users.add_token(name, &grant, valid_for, by)
            })?;
            // The token alone on standard output, so a script can capture it; the note on stderr.
            writeln!(out, "{}", secret.reveal())?;
            eprintln!(
                "plantwatch tokens: added token '{name}' ({scope}); it is shown only this once"
            );
        }
        Command::Revoke { name } => {
            let by = sign_in(&users, args.as_user.as_deref())?;
            finish(&users, by.as_ref(), |by| users.revoke_token(name, by))?;
            writeln!(out, "revoked token '{name}'")?;
        }
        Command::MakeCert { .. } => {}
    }
    Ok(())
}

fn sign_in(users: &Users, who: Option<&str>) -> Result<Option<User>, TokensError> {
    let Some(name) = who else {
        return Ok(None);
    };
    let password = Passwords::new().sign_in_password(name)?;
    Ok(Some(users.sign_in(name, &password)?))
}

/// Runs `change` as `by` and signs `by` out again (as `plantwatch users` does).
fn finish<T>(
    users: &Users,
    by: Option<&User>,
    change: impl FnOnce(Option<&User>) -> Result<T, AccessError>,
) -> Result<T, TokensError> {
    let result = change(by);
    if let Some(user) = by {
        users.sign_out_with(user, Some("end of plantwatch tokens"))?;
    }
    Ok(result?)
}

/// Writes a self-signed certificate for `hostname` and its key; never overwrites a file.
fn make_cert(hostname: &str, cert_path: &Path, key_path: &Path) -> Result<(), TokensError> {
    for path in [cert_path, key_path] {
        if path.exists() {
            return Err(TokensError::BadInput(format!(
                "{} exists already; remove it or choose another path (--cert/--key)",
                path.display()
            )));
        }
    }
    let made = rcgen::generate_simple_self_signed(vec![hostname.to_string()]).map_err(|e| {
        TokensError::BadInput(format!("cannot make a certificate for {hostname:?}: {e}"))
    })?;
    write_new(key_path, made.signing_key.serialize_pem().as_bytes(), 0o600)?;
    if let Err(e) = write_new(cert_path, made.cert.pem().as_bytes(), 0o644) {
        // No half-made pair left behind.
        let _ = std::fs::remove_file(key_path);
        return Err(e.into());
    }
    println!(
        "wrote {} and {} for {hostname} (self-signed: clients must be told to trust {})",
        cert_path.display(),
        key_path.display(),
        cert_path.display()
    );
    Ok(())
}

/// Creates `path` (refusing an existing one) with `mode`, writes `bytes` and syncs them.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
