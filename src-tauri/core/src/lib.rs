//! Plantwatch's shared vocabulary.
//!
//! Every other crate speaks in these types: the validated [`Plant`] (what the config parser produces and
//! everything else trusts), the [`Value`] and [`Quality`] of a reading, the [`Sample`] that history stores,
//! and the UTC millisecond [`Timestamp`]. This crate has no I/O and knows nothing of Modbus links, SQLite,
//! Tauri or the terminal.

pub mod api;
pub mod control;
pub mod echo;
pub mod northbound;
pub mod plant;
pub mod report;
pub mod sample;
pub mod short_id;
pub mod size;
pub mod time;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use api::{ApiSecurity, ApiSettings};
pub use control::{Role, WriteSpec};
pub use northbound::{BrokerAddress, SparkplugId, SparkplugSettings, TlsFiles};
pub use plant::*;
pub use report::{
    BuiltinTemplate, ReportEvery, ReportFormat, ReportLanguage, ReportPeriod, ReportSchedule,
    TemplateRef, TimeOfDay,
};
pub use sample::*;
pub use short_id::ShortId;
pub use size::{ByteSize, ParseSizeError};
pub use time::{
    parse_duration, parse_time, ParseTimeError, Timestamp, MAX_DURATION, MAX_TIME, MIN_TIME,
};
