//! Headless subcommands. Each module parses its own arguments (`Args`) and returns the exit code:
//! 0 success, 1 a runtime failure (I/O, database, link), 2 bad input (usage, config, arguments).

pub mod alarms;
pub mod audit;
pub mod check;
pub mod collect;
pub mod export;
mod link_args;
mod password;
pub mod read;
pub mod report;
pub mod scan;
pub mod simulate;
mod span;
pub mod sparkplug;
pub mod tags;
pub mod tokens;
pub mod users;
pub mod write;
