//! What the northbound link shows the outside (the collector's status line, the desktop's Devices
//! screen): a snapshot, cheap to copy.

use plantwatch_core::Timestamp;

/// The link's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkState {
    /// Trying a broker.
    #[default]
    Connecting,
    /// Connected and publishing.
    Online,
    /// Connected, but the primary host application is not online: nothing is published, the history
    /// keeps everything for the replay.
    WaitingForPrimaryHost,
    /// No broker could be reached; retrying after a pause.
    Offline,
    /// Stopped.
    Stopped,
}

impl LinkState {
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Online => "online",
            LinkState::WaitingForPrimaryHost => "waiting for primary host",
            LinkState::Offline => "offline",
            LinkState::Stopped => "stopped",
        }
    }
}

/// A snapshot of the northbound link.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NorthboundStatus {
    pub state: LinkState,
    /// The broker connected to (or last tried), as a URL.
    pub broker: Option<String>,
    /// Messages published per second, over the last second or so.
    pub messages_per_s: f64,
    /// Metrics published per second (live and replayed), over the same time.
    pub metrics_per_s: f64,
    /// Messages published since start (births, data, deaths).
    pub messages_published: u64,
    /// Metrics published since start (live and replayed).
    pub metrics_published: u64,
    /// Of those, replayed from the history.
    pub metrics_replayed: u64,
    /// How far behind the acknowledged cursor is, in seconds: the replay's backlog (0 when live and
    /// caught up).
    pub backlog_s: f64,
    /// The acknowledged cursor of the current broker.
    pub acked_through: Option<Timestamp>,
    /// Commands (NCMD/DCMD writes) carried out through the engine's write path.
    pub commands_done: u64,
    /// Commands refused (by the write path) or ignored (`commands = false`, unknown metric).
    pub commands_ignored: u64,
    /// Times the live stream fell behind and its span was replayed from the history instead.
    pub live_lags: u64,
    /// The last error (connect, TLS, refused credentials, cursor file), with when it happened.
    pub last_error: Option<(Timestamp, String)>,
}

impl NorthboundStatus {
    /// One line for the collector's status: broker, rate, backlog, last error.
    pub fn line(&self) -> String {
        let broker = self.broker.as_deref().unwrap_or("-");
        let mut line = format!(
            "sparkplug {} {broker} {:.0} msg/s {:.0} metrics/s backlog {:.0} s",
            self.state.name(),
            self.messages_per_s,
            self.metrics_per_s,
            self.backlog_s
        );
        if let Some((_, error)) = &self.last_error {
            line.push_str(&format!(" last error: {error}"));
        }
        line
    }
}
