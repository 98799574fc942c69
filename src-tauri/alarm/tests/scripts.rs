//! The alarm state machine against scripts in `tests/data/alarms/*.alarms`: a small plant, then readings,
//! device states and operator actions with their times, each followed by the journal entries it must
//! produce (`=>` lines, exactly and in order), the errors it must raise (`!`) and the states the operator
//! must see (`?`). The format is described in `tests/data/alarms/README.md`.

mod script;

macro_rules! scripts {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            script::run(stringify!($name));
        }
    )*};
}

scripts!(
    limit_trips_and_clears,
    on_and_off_delays,
    deadband_holds_until_back_inside,
    bad_quality_is_not_evidence,
    state_alarms,
    comm_alarms,
    acknowledge_one_several_all,
    shelving_expiry_and_cap,
    out_of_service,
    operator_mistakes,
    restart_restores_states,
);
