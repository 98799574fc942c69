//! `plantwatch write CONFIG TAG VALUE --user NAME [--comment TEXT]`: the technician's one-shot write,
//! through the engine's one write path (`plantwatch_engine::write::write_once`): the user signs in, the
//! tag's role, range and type are checked before anything is sent, the device is written over a
//! connection of its own, the tag is read back and compared, and every attempt, refused or not, goes
//! into the plant's audit trail.
//!
//! Exit codes: 0 done; 1 refused by the device, failed (timeout, link) or a read-back mismatch; 2 bad
//! input (config, tag, value) or denied (no users, unknown user, wrong password, role, out of range).

use std::path::PathBuf;
use std::process::ExitCode;

use plantwatch_access::{AccessError, AuditAction, AuditEntry, AuditTrail, User, Users};
use plantwatch_core::{Plant, Role, Tag, Timestamp, Value};
use plantwatch_engine::write::{write_once, Actor, WriteOutcome, WriteReport};

use super::password::Passwords;

/// Write one tag of a plant.
#[derive(clap::Args)]
pub struct Args {
    /// The plant config.
    pub config: PathBuf,
    /// The tag, as DEVICE/TAG.
    pub tag: String,
    /// The value in engineering units: a number, true/false (or 1/0, on/off) for booleans, text for
    /// strings.
    pub value: String,
    /// Who writes; the password comes from PLANTWATCH_PASSWORD, the terminal, or a line of stdin.
    #[arg(long, value_name = "NAME")]
    pub user: String,
    /// Why, for the audit trail.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
    /// The plant's database (users and audit trail); default: the config's [history] path.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let plant = match plantwatch_config::load(&args.config) {
        Ok(plant) => plant,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(2);
        }
    };
    let Some(index) = plant.find_tag(&args.tag) else {
        eprintln!(
            "plantwatch write: no tag '{}' in {}; tags are named DEVICE/TAG, e.g. {}",
            args.tag.escape_debug(),
            args.config.display(),
            example_tag(&plant)
        );
        return ExitCode::from(2);
    };
    let Some((_, tag)) = plant.tag(index) else {
        return ExitCode::from(2);
    };
    let value = match value_for(tag, &args.value) {
        Ok(value) => value,
        Err(message) => {
            eprintln!("plantwatch write: {}: {message}", args.tag);
            return ExitCode::from(2);
        }
    };
    let db = args.db.clone().unwrap_or_else(|| plant.history.clone());
    let (users, trail) = match (Users::open(&db), AuditTrail::open(&db)) {
        (Ok(users), Ok(trail)) => (users, trail),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("plantwatch write: {e}");
            return ExitCode::from(1);
        }
    };

    let user = match sign_in(&users, &args.user) {
        Ok(user) => user,
        Err(e) => {
            // The failed sign-in is in the trail already; the write attempt goes there too.
            let mut entry = AuditEntry::new(
                Timestamp::now(),
                &args.user,
                Role::Viewer,
                AuditAction::Write,
                &args.tag,
                WriteOutcome::Denied {
                    needed: Role::Operator,
                }
                .word(),
            );
            entry.requested = Some(value.to_string());
            entry.comment = Some(match &args.comment {
                Some(c) => format!("{c} ({e})"),
                None => e.to_string(),
            });
            if let Err(audit) = trail.append(&entry) {
                eprintln!(
                    "plantwatch write: the audit trail could not record this attempt: {audit}"
                );
            }
            eprintln!("plantwatch write: denied: {e}");
            return if e.is_refusal() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            };
        }
    };

    let actor = Actor {
        user: user.name.clone(),
        role: user.role,
    };
    let report = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(write_once(
            &plant,
            index,
            value,
            &actor,
            args.comment.as_deref(),
            Some(&trail),
        )),
        Err(e) => {
            eprintln!("plantwatch write: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = users.sign_out_with(&user, Some("end of plantwatch write")) {
        eprintln!("plantwatch write: {e}");
    }
    print_report(&report);
    exit_code(&report.outcome)
}

fn sign_in(users: &Users, name: &str) -> Result<User, AccessError> {
    if users.is_empty()? {
        // Sign-in audits this too; a plant without users allows no writes.
        return users.sign_in(name, &plantwatch_access::Password::new(String::new()));
    }
    let password = Passwords::new().sign_in_password(name)?;
    users.sign_in(name, &password)
}

/// The result line, then the read-back when there is one.
fn print_report(report: &WriteReport) {
    println!("{}", report.message());
    if let Some(readback) = &report.readback {
        println!("read-back: {readback}");
    }
}

fn exit_code(outcome: &WriteOutcome) -> ExitCode {
    match outcome {
        WriteOutcome::Done => ExitCode::SUCCESS,
        WriteOutcome::Mismatch | WriteOutcome::Refused { .. } | WriteOutcome::Failed { .. } => {
            ExitCode::from(1)
        }
        WriteOutcome::Denied { .. }
        | WriteOutcome::OutOfRange { .. }
        | WriteOutcome::Invalid { .. } => ExitCode::from(2),
    }
}

/// The typed value as the tag's kind of value: booleans for coils and bits, text for strings, numbers
/// for the rest. The write path checks range and type again; this only reads the words.
fn value_for(tag: &Tag, text: &str) -> Result<Value, String> {
    if tag.table.is_bits() || tag.value_type.is_boolean() {
        return match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "on" => Ok(Value::Bool(true)),
            "false" | "0" | "off" => Ok(Value::Bool(false)),
            _ => Err(format!(
                "'{}' is not a boolean; allowed: true, false, 1, 0, on, off",
                text.escape_debug()
            )),
        };
    }
    if matches!(tag.value_type, plantwatch_core::ValueType::String { .. }) {
        return Ok(Value::Text(text.into()));
    }
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(Value::Number(n)),
        _ => Err(format!(
            "'{}' is not a finite number (the value is in engineering units, e.g. 2.5)",
            text.escape_debug()
        )),
    }
}

fn example_tag(plant: &Plant) -> String {
    plant
        .tags()
        .find(|(_, _, tag)| tag.write_spec().is_some())
        .or_else(|| plant.tags().next())
        .map(|(_, device, tag)| format!("{}/{}", device.id, tag.id()))
        .unwrap_or_else(|| "plc/start_level".into())
}
