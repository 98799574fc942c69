//! History in SQLite: schema and migrations, the batching writer, deadband/heartbeat filter, range and
//! aggregate queries.

mod error;
pub mod schema;

pub use error::HistoryError;
