//! The northbound link's status as the Devices screen shows it (the wire type is in `wire.rs`).

use plantwatch_northbound::{LinkState, NorthboundStatus};

use super::wire::{NorthboundStateName, NorthboundView};

/// The view of a running link, or of one that could not start (`why`).
pub fn view(status: Result<NorthboundStatus, String>) -> NorthboundView {
    match status {
        Ok(s) => NorthboundView {
            state: match s.state {
                LinkState::Connecting => NorthboundStateName::Connecting,
                LinkState::Online => NorthboundStateName::Online,
                LinkState::WaitingForPrimaryHost => NorthboundStateName::WaitingForPrimaryHost,
                LinkState::Offline => NorthboundStateName::Offline,
                LinkState::Stopped => NorthboundStateName::Stopped,
            },
            broker: s.broker,
            messages_per_s: s.messages_per_s,
            metrics_per_s: s.metrics_per_s,
            metrics_published: s.metrics_published,
            metrics_replayed: s.metrics_replayed,
            backlog_s: s.backlog_s,
            commands_done: s.commands_done,
            commands_ignored: s.commands_ignored,
            last_error_at: s.last_error.as_ref().map(|(at, _)| at.as_millis()),
            last_error: s.last_error.map(|(_, e)| e),
        },
        Err(why) => NorthboundView {
            state: NorthboundStateName::NotStarted,
            broker: None,
            messages_per_s: 0.0,
            metrics_per_s: 0.0,
            metrics_published: 0,
            metrics_replayed: 0,
            backlog_s: 0.0,
            commands_done: 0,
            commands_ignored: 0,
            last_error: Some(why),
            last_error_at: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_that_did_not_start_shows_why() {
        let v = view(Err(
            "password_env names X, which is not set in the environment".into(),
        ));
        assert_eq!(v.state, NorthboundStateName::NotStarted);
        assert_eq!(
            v.last_error.as_deref(),
            Some("password_env names X, which is not set in the environment")
        );
    }

    #[test]
    fn a_running_link_carries_its_rates_and_last_error() {
        let status = NorthboundStatus {
            state: LinkState::Online,
            broker: Some("mqtt://127.0.0.1:1883".into()),
            messages_per_s: 12.0,
            backlog_s: 3.5,
            last_error: Some((
                plantwatch_core::Timestamp::from_millis(1_000),
                "refused".into(),
            )),
            ..NorthboundStatus::default()
        };
        let v = view(Ok(status));
        assert_eq!(v.state, NorthboundStateName::Online);
        assert_eq!(v.broker.as_deref(), Some("mqtt://127.0.0.1:1883"));
        assert_eq!((v.messages_per_s, v.backlog_s), (12.0, 3.5));
        assert_eq!(
            (v.last_error.as_deref(), v.last_error_at),
            (Some("refused"), Some(1_000))
        );
    }
}
