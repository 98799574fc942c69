//! The alarm service: runs the alarm state machine (`plantwatch-alarm`) on its own thread, fed by
//! engine events, and answers the operator's actions and queries. (Owned by the alarm work.)
