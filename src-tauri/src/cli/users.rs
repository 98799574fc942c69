//! `plantwatch users`: the plant's local users and the idle lock, in its database.
//!
//! While a plant has no users, `add` makes the first one, who must be an admin. After that every change
//! needs `--as ADMIN` (a user may change their own password with `passwd NAME`), and the acting user signs
//! in with a password: `PLANTWATCH_PASSWORD` when it is set, else asked on the terminal, else the first
//! line of standard input. A new password is asked on the terminal (twice), or read from the next line of
//! standard input when it is not a terminal; it is never taken from the environment. Passwords are never
//! printed. Every attempt, refused or not, goes into the audit trail (`plantwatch audit`).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use plantwatch_access::{format_idle_lock, AccessError, User, Users};
use plantwatch_core::{parse_duration, Role};

use super::csv::field;
use super::password::Passwords;

/// Manage the plant's users.
#[derive(clap::Args)]
pub struct Args {
    /// The plant's database (its history file). `add` creates it when missing; the others need it.
    #[arg(long, value_name = "FILE")]
    pub db: PathBuf,
    /// Act as this user (an admin, or yourself for `passwd`), signing in with their password.
    #[arg(long = "as", value_name = "USER", global = true)]
    pub as_user: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do with users.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Add a user; the first one must be an admin.
    Add {
        name: String,
        /// viewer, operator, engineer or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Change a user's password (your own, or anyone's as an admin).
    Passwd { name: String },
    /// Remove a user (not the last admin).
    Remove { name: String },
    /// Change a user's role (not the last admin's).
    Role {
        name: String,
        /// viewer, operator, engineer or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// List the users as CSV: name,role,created,password_changed.
    List,
    /// Print the idle lock (how long the desktop waits before signing out), or set it (1m to 24h).
    IdleLock {
        /// Such as 15m or 1h; omit to print the current one.
        duration: Option<String>,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse::<Role>().map_err(|e| e.to_string())
}

/// Why the command stopped.
#[derive(Debug, thiserror::Error)]
enum UsersError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    Access(#[from] AccessError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Runs `plantwatch users`: 0 done, 2 refused or bad input (wrong password, not allowed, bad name), 1
/// a failure of the database or the terminal.
pub fn run(args: Args) -> ExitCode {
    match users(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("plantwatch users: {e}");
            let hint = matches!(e, UsersError::Access(AccessError::Denied { .. }))
                && args.as_user.is_none();
            if hint {
                eprintln!("plantwatch users: sign in with --as USER (PLANTWATCH_PASSWORD or the terminal gives the password)");
            }
            match e {
                UsersError::BadInput(_) => ExitCode::from(2),
                UsersError::Access(e) if e.is_refusal() => ExitCode::from(2),
                _ => ExitCode::from(1),
            }
        }
    }
}

fn users(args: &Args) -> Result<(), UsersError> {
    let creates = matches!(args.command, Command::Add { .. });
    if !creates && !args.db.is_file() {
        return Err(AccessError::Missing {
            path: args.db.clone(),
        }
        .into());
    }
    // Bad durations are refused before anyone is asked for a password.
    let idle_lock = match &args.command {
        Command::IdleLock {
            duration: Some(text),
        } => Some(parse_duration(text).map_err(|e| UsersError::BadInput(e.to_string()))?),
        _ => None,
    };
    let users = Users::open(&args.db)?;
    let mut passwords = Passwords::new();
    let mut out = io::stdout().lock();
    match &args.command {
        Command::List => {
            writeln!(out, "name,role,created,password_changed")?;
            for u in users.list()? {
                writeln!(
                    out,
                    "{},{},{},{}",
                    field(&u.name),
                    u.role,
                    u.created,
                    u.password_changed
                )?;
            }
        }
        Command::IdleLock { duration: None } => {
            writeln!(out, "{}", format_idle_lock(users.idle_lock()?))?;
        }
        Command::IdleLock { duration: Some(_) } => {
            let time = idle_lock.unwrap_or_default();
            let by = sign_in(&users, args.as_user.as_deref(), &mut passwords)?;
            finish(&users, by.as_ref(), |by| users.set_idle_lock(time, by))?;
            writeln!(out, "idle lock set to {}", format_idle_lock(time))?;
        }
        Command::Add { name, role } => {
            let by = sign_in(&users, args.as_user.as_deref(), &mut passwords)?;
            let password = passwords.new_password(name);
            finish(&users, by.as_ref(), |by| {
                users.add(name, *role, &password?, by)
            })?;
            writeln!(out, "added user '{name}' ({role})")?;
        }
        Command::Passwd { name } => {
            // Without --as, a user changes their own password.
            let who = args.as_user.as_deref().unwrap_or(name);
            let by = sign_in(&users, Some(who), &mut passwords)?;
            let password = passwords.new_password(name);
            finish(&users, by.as_ref(), |by| users.passwd(name, &password?, by))?;
            writeln!(out, "changed the password of '{name}'")?;
        }
        Command::Remove { name } => {
            let by = sign_in(&users, args.as_user.as_deref(), &mut passwords)?;
            finish(&users, by.as_ref(), |by| users.remove(name, by))?;
            writeln!(out, "removed user '{name}'")?;
        }
        Command::Role { name, role } => {
            let by = sign_in(&users, args.as_user.as_deref(), &mut passwords)?;
            finish(&users, by.as_ref(), |by| users.set_role(name, *role, by))?;
            writeln!(out, "'{name}' is now {role}")?;
        }
    }
    Ok(())
}

/// Signs `who` in (when given), with the password from the environment, the terminal or standard input.
/// The sign-in, or the failed attempt, goes into the audit trail.
fn sign_in(
    users: &Users,
    who: Option<&str>,
    passwords: &mut Passwords,
) -> Result<Option<User>, UsersError> {
    let Some(name) = who else {
        return Ok(None);
    };
    let password = passwords.sign_in_password(name)?;
    Ok(Some(users.sign_in(name, &password)?))
}

/// Runs `change` as `by` and signs `by` out again, so the trail shows who was signed in when the change
/// was made and when they left.
fn finish(
    users: &Users,
    by: Option<&User>,
    change: impl FnOnce(Option<&User>) -> Result<(), AccessError>,
) -> Result<(), UsersError> {
    let result = change(by);
    if let Some(user) = by {
        users.sign_out_with(user, Some("end of plantwatch users"))?;
    }
    Ok(result?)
}
