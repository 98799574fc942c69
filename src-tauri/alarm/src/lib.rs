//! Alarms after ISA-18.2: rule evaluation, the alarm state machine, the journal, alarm health
