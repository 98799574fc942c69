//! Timing of one device's polls: absolute deadlines that never drift, and the growing back-off after
//! failures. Pure (the caller passes the clock in), so both are tested without sleeping.

use std::time::Duration;

use tokio::time::Instant;

/// The poll deadlines of one device: `start + k * period`. A cycle that overruns does not make the next
/// ones come in a burst: the deadlines the device could not keep are skipped and counted as missed.
#[derive(Debug, Clone)]
pub struct Schedule {
    period: Duration,
    next: Instant,
}

impl Schedule {
    /// The first poll is due at `start`.
    pub fn new(period: Duration, start: Instant) -> Schedule {
        Schedule {
            period,
            next: start,
        }
    }

    /// When the next poll is due.
    pub fn due(&self) -> Instant {
        self.next
    }

    /// Moves to the deadline after the one just served and returns how many deadlines were skipped
    /// because `now` is already past them. A zero period means "as fast as the link allows" and never
    /// counts a miss.
    pub fn advance(&mut self, now: Instant) -> u64 {
        if self.period.is_zero() {
            self.next = now;
            return 0;
        }
        self.next += self.period;
        if self.next > now {
            return 0;
        }
        // Skip every deadline already in the past; the next one is the first after `now`.
        let behind = now.duration_since(self.next);
        let skipped = (behind.as_nanos() / self.period.as_nanos()) as u64 + 1;
        self.next += self.period * (skipped as u32);
        skipped
    }

    /// Puts the next poll no earlier than `at` (after a failure, while backing off), keeping to the
    /// grid of deadlines so that recovery does not shift the phase of the device's cycle.
    pub fn not_before(&mut self, at: Instant) {
        if self.next >= at || self.period.is_zero() {
            self.next = self.next.max(at);
            return;
        }
        let behind = at.duration_since(self.next);
        let steps = behind.as_nanos().div_ceil(self.period.as_nanos()) as u32;
        self.next += self.period * steps;
    }
}

/// Growing delay between attempts to reach a link or a device that failed: starts at `first`, doubles
/// after each failure up to `max`, and starts over after a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    current: Option<Duration>,
}

impl Backoff {
    /// 100 ms doubling to 10 s: quick to notice a restarted device, yet a dead one costs its link-mates
    /// at most one timeout every 10 s.
    pub fn standard() -> Backoff {
        Backoff::new(Duration::from_millis(100), Duration::from_secs(10))
    }

    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            current: None,
        }
    }

    /// Records a failure and returns how long to wait before the next attempt.
    pub fn fail(&mut self) -> Duration {
        let next = match self.current {
            None => self.first,
            Some(d) => (d * 2).min(self.max),
        };
        self.current = Some(next);
        next
    }

    /// Records a success: the next failure waits `first` again.
    pub fn succeed(&mut self) {
        self.current = None;
    }

    /// True after a failure and before the next success.
    pub fn is_failing(&self) -> bool {
        self.current.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn deadlines_stay_on_the_grid_when_polls_take_time() {
        let t0 = Instant::now();
        let mut s = Schedule::new(ms(100), t0);
        // Each poll finishes 30 ms after its deadline; the next deadline is still t0 + k * 100 ms.
        for k in 1..=5u32 {
            let finished = s.due() + ms(30);
            assert_eq!(
                s.advance(finished),
                0,
                "no deadline is missed by a 30 ms poll"
            );
            assert_eq!(s.due(), t0 + ms(100) * k, "deadline {k} keeps to the grid");
        }
    }

    #[test]
    fn an_overrun_skips_and_counts_deadlines_instead_of_bursting() {
        let t0 = Instant::now();
        let mut s = Schedule::new(ms(100), t0);
        // The first poll took 350 ms: deadlines at 100, 200 and 300 ms are gone.
        assert_eq!(s.advance(t0 + ms(350)), 3);
        assert_eq!(
            s.due(),
            t0 + ms(400),
            "the next poll is on the grid, after now"
        );
    }

    #[test]
    fn finishing_exactly_on_the_next_deadline_counts_it_missed() {
        let t0 = Instant::now();
        let mut s = Schedule::new(ms(100), t0);
        assert_eq!(s.advance(t0 + ms(100)), 1);
        assert_eq!(s.due(), t0 + ms(200));
    }

    #[test]
    fn zero_period_polls_back_to_back_without_misses() {
        let t0 = Instant::now();
        let mut s = Schedule::new(Duration::ZERO, t0);
        assert_eq!(s.advance(t0 + ms(5)), 0);
        assert_eq!(s.due(), t0 + ms(5));
    }

    #[test]
    fn waiting_out_a_backoff_keeps_the_phase() {
        let t0 = Instant::now();
        let mut s = Schedule::new(ms(100), t0);
        s.not_before(t0 + ms(250));
        assert_eq!(s.due(), t0 + ms(300));
        s.not_before(t0 + ms(50));
        assert_eq!(s.due(), t0 + ms(300), "an earlier bound changes nothing");
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets_on_success() {
        let mut b = Backoff::new(ms(100), ms(1000));
        let waits: Vec<_> = (0..6).map(|_| b.fail()).collect();
        assert_eq!(
            waits,
            vec![ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert!(b.is_failing());
        b.succeed();
        assert!(!b.is_failing());
        assert_eq!(b.fail(), ms(100));
    }
}
