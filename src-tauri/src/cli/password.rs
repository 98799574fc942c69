//! Passwords from the person at the command line: `PLANTWATCH_PASSWORD`, the terminal without echo, or
//! a line of standard input when it is not a terminal. Shared by `users` and `write`; a password is
//! never printed or logged.

use std::io::{self, BufRead, IsTerminal};

use plantwatch_access::{AccessError, Password};

/// The terminal, standard input, or `PLANTWATCH_PASSWORD` for signing in.
pub struct Passwords {
    terminal: bool,
    /// Lines already read from standard input are consumed in order: the acting user's, then the new one.
    stdin: io::StdinLock<'static>,
}

impl Passwords {
    pub fn new() -> Passwords {
        Passwords {
            terminal: io::stdin().is_terminal(),
            stdin: io::stdin().lock(),
        }
    }

    /// One line of standard input without its line ending.
    fn line(&mut self, what: &str) -> Result<Password, AccessError> {
        let mut text = String::new();
        let read = self.stdin.read_line(&mut text);
        match read {
            Ok(0) | Err(_) => Err(AccessError::BadPassword(match what {
                "sign-in" => "to sign in is missing: standard input ended (give it on a line, or set PLANTWATCH_PASSWORD)",
                _ => "to set is missing: standard input ended (give it on a line of its own)",
            })),
            Ok(_) => {
                let end = text.trim_end_matches(['\n', '\r']).len();
                text.truncate(end);
                Ok(Password::new(text))
            }
        }
    }

    fn ask(prompt: &str) -> Result<Password, AccessError> {
        rpassword::prompt_password(prompt)
            .map(Password::new)
            .map_err(|_| AccessError::BadPassword("could not be read from the terminal"))
    }

    /// A new password: asked twice on the terminal, or the next line of standard input.
    pub fn new_password(&mut self, name: &str) -> Result<Password, AccessError> {
        if !self.terminal {
            return self.line("new");
        }
        let first = Self::ask(&format!("New password for '{name}': "))?;
        let again = Self::ask(&format!("New password for '{name}' again: "))?;
        if first != again {
            return Err(AccessError::BadPassword(
                "was not typed the same twice; nothing changed",
            ));
        }
        Ok(first)
    }
}

impl Passwords {
    /// The acting user's password: `PLANTWATCH_PASSWORD`, else the terminal, else a line of standard input.
    pub fn sign_in_password(&mut self, name: &str) -> Result<Password, AccessError> {
        if let Ok(text) = std::env::var("PLANTWATCH_PASSWORD") {
            return Ok(Password::new(text));
        }
        if self.terminal {
            return Self::ask(&format!("Password for '{name}': "));
        }
        self.line("sign-in")
    }
}
