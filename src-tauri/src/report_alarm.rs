//! The system alarm "scheduled report failed", raised by `collect` and the window alike while a
//! schedule of the plant's `[[reports]]` is failing (`plantwatch_report::schedule::Failing`).

use plantwatch_alarm::SystemAlarm;
use plantwatch_engine::Engine;

/// What the report scheduler calls with "is any schedule failing": switches the engine's system alarm
/// (nothing when the engine runs without alarms).
pub fn on_failing(engine: &Engine) -> Box<dyn Fn(bool) + Send> {
    let switch = engine
        .alarms()
        .map(|a| a.system_switch(SystemAlarm::ReportFailed));
    Box::new(move |failing: bool| {
        if let Some(switch) = &switch {
            switch.set(failing);
        }
    })
}
