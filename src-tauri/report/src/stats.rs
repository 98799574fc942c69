//! Per-tag statistics over a window `[from, to)`, with the gaps shown rather than hidden. Pure: the
//! samples come in as plain points, the window and the gap rule as numbers.
//!
//! The rules (also in README "Reports"):
//! - A stored sample's state holds until the tag's next stored sample (history's stepped rule, as in
//!   `Aggregate::Avg`): a good value is the tag's value, a bad or uncertain sample is a gap with the
//!   sample's cause (`bad:comm_lost`, `bad:exception_0B`, ...).
//! - While the collector does not run nothing is stored. Any stretch longer than the template's
//!   `max_gap` in which none of the report's tags stored a sample is "no data (collector not running)";
//!   it cuts every tag's held state (see [`silences`]).
//! - Before a tag's first sample there is nothing to hold: no data.
//! - Min, max and the plain average are over the good samples stored inside the window; the
//!   time-weighted average and the time in each state are over the good stretches only; coverage is the
//!   good share of the window, and a window covered less than half is "mostly gap".

use plantwatch_core::{Cause, Quality};

/// Milliseconds since the Unix epoch (the history's time).
pub type Millis = i64;

/// One stored sample: booleans as 0/1, text as no number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub time: Millis,
    pub number: Option<f64>,
    pub quality: Quality,
}

/// Why a stretch of a tag has no usable value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapCause {
    /// Nothing was stored: the collector was not running (or the tag had not been stored yet).
    NoData,
    /// A sample of this quality (never `Good`) was stored.
    Quality(Quality),
}

impl GapCause {
    /// True when the device did not answer (or nobody asked): link down, a gateway saying its device
    /// is silent (exceptions 0A, 0B), a reply that was not one, a stale value, no data at all. A device
    /// that refused a request (other exceptions) or sent NaN did answer.
    pub fn is_silence(self) -> bool {
        match self {
            GapCause::NoData => true,
            GapCause::Quality(Quality::Good) => false,
            GapCause::Quality(Quality::Bad(c) | Quality::Uncertain(c)) => matches!(
                c,
                Cause::NoConnectionYet
                    | Cause::CommLost
                    | Cause::BadReply
                    | Cause::Stale
                    | Cause::Exception(0x0A | 0x0B)
            ),
        }
    }

    /// The machine name: `no_data`, or the quality as history writes it (`bad:comm_lost`).
    pub fn code(self) -> String {
        match self {
            GapCause::NoData => "no_data".to_string(),
            GapCause::Quality(q) => q.to_string(),
        }
    }
}

/// The state a stored sample leaves a tag in, until its next sample.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// A good sample holds (its number, if it has one: text has none).
    Good(Option<f64>),
    Gap(GapCause),
}

/// A stretch of the window in which a tag had a usable value (`gap` is `None`) or was in a gap. A
/// tag's stretches cover the window in order, adjacent ones differing (values are not kept: the
/// stretches say where the tag had data, for the availability and the charts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stretch {
    pub from: Millis,
    pub to: Millis,
    pub gap: Option<GapCause>,
}

/// A gap of one tag, clipped to the window; adjacent stretches of one cause are one gap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gap {
    pub from: Millis,
    pub to: Millis,
    pub cause: GapCause,
}

impl Gap {
    pub fn duration_ms(&self) -> i64 {
        self.to - self.from
    }
}

/// The statistics of one tag over the window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TagStats {
    /// Samples stored inside the window.
    pub samples: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Plain mean of the good numbers stored inside the window.
    pub avg: Option<f64>,
    /// Time-weighted average over the good stretches.
    pub twa: Option<f64>,
    /// Good time over the window's length, 0 to 1.
    pub coverage: f64,
    /// Booleans: milliseconds true and false (good stretches only).
    pub time_true_ms: i64,
    pub time_false_ms: i64,
    /// Booleans: good `true` samples whose previous good value was `false`, stored inside the window.
    pub starts: u64,
    pub gaps: Vec<Gap>,
    /// The whole window as stretches with and without data.
    pub stretches: Vec<Stretch>,
}

impl TagStats {
    /// Less than half of the window is covered by good values: its statistics say little.
    pub fn mostly_gap(&self) -> bool {
        self.coverage < 0.5
    }
}

/// Finds the plant's silences from every sample time of the report's tags, in time order: stretches
/// longer than `max_gap` in which no sample falls (the collector was not running). The times are read
/// from `from - max_gap` to `to + max_gap`, so a silence across an end of the window is seen; the
/// silences are clipped to `[from, to)`. Holds nothing but its result.
///
/// `now` bounds what can be known: a window ending now (or within `max_gap` of now) ends in silence only
/// when the collector has been silent for longer than `max_gap` by now, and the part of a window after
/// now is no data.
pub struct SilenceFinder {
    from: Millis,
    to: Millis,
    max_gap: Millis,
    /// The end of what the history can hold: `to + max_gap`, or now if sooner.
    known_until: Millis,
    last: Millis,
    found: Vec<(Millis, Millis)>,
}

impl SilenceFinder {
    pub fn new(from: Millis, to: Millis, max_gap: Millis, now: Millis) -> SilenceFinder {
        SilenceFinder {
            from,
            to,
            max_gap,
            known_until: to.saturating_add(max_gap).min(now),
            last: from - max_gap,
            found: Vec::new(),
        }
    }

    pub fn push(&mut self, t: Millis) {
        if t - self.last > self.max_gap {
            self.found_between(self.last, t);
        }
        self.last = self.last.max(t);
    }

    fn found_between(&mut self, a: Millis, b: Millis) {
        let (a, b) = (a.max(self.from), b.min(self.to));
        if b > a {
            self.found.push((a, b));
        }
    }

    pub fn finish(mut self) -> Vec<(Millis, Millis)> {
        if self.known_until - self.last > self.max_gap {
            self.found_between(self.last, self.to);
        } else if self.known_until < self.to {
            self.found_between(self.known_until, self.to);
        }
        self.found
    }
}

/// [`SilenceFinder`] over a list of times, for a window long past (`now` far after it).
pub fn silences(
    times: impl IntoIterator<Item = Millis>,
    from: Millis,
    to: Millis,
    max_gap: Millis,
) -> Vec<(Millis, Millis)> {
    let mut finder = SilenceFinder::new(from, to, max_gap, Millis::MAX);
    for t in times {
        finder.push(t);
    }
    finder.finish()
}

/// The statistics of one tag, built from its samples in time order (from before the window, whose last
/// carries in, to its end) as they stream out of the history: nothing is kept per sample.
pub struct TagAccumulator<'a> {
    from: Millis,
    to: Millis,
    boolean: bool,
    /// The plant's silences, in order; `next_silence` skips those already behind.
    silences: &'a [(Millis, Millis)],
    next_silence: usize,
    /// The held state, since when (before the first sample there is nothing to hold).
    state: State,
    since: Millis,
    previous_good: Option<f64>,
    sum: f64,
    count: u64,
    weighted: f64,
    numbered_ms: i64,
    good_ms: i64,
    stats: TagStats,
}

impl<'a> TagAccumulator<'a> {
    /// `boolean` says the numbers are 0/1 states.
    pub fn new(
        from: Millis,
        to: Millis,
        silences: &'a [(Millis, Millis)],
        boolean: bool,
    ) -> TagAccumulator<'a> {
        TagAccumulator {
            from,
            to,
            boolean,
            silences,
            next_silence: 0,
            state: State::Gap(GapCause::NoData),
            since: from,
            previous_good: None,
            sum: 0.0,
            count: 0,
            weighted: 0.0,
            numbered_ms: 0,
            good_ms: 0,
            stats: TagStats::default(),
        }
    }

    /// The tag's next sample (samples at or after the window's end are ignored).
    pub fn push(&mut self, p: Point) {
        if p.time >= self.to {
            return;
        }
        let good_number = p.number.filter(|_| p.quality.is_good());
        if p.time >= self.from {
            self.stats.samples += 1;
            if p.time > self.since {
                self.held(self.since, p.time, self.state);
            }
            self.since = p.time;
            if let Some(v) = good_number {
                let s = &mut self.stats;
                s.min = Some(s.min.map_or(v, |m| m.min(v)));
                s.max = Some(s.max.map_or(v, |m| m.max(v)));
                self.sum += v;
                self.count += 1;
                if self.boolean && v != 0.0 && self.previous_good == Some(0.0) {
                    s.starts += 1;
                }
            }
        }
        if good_number.is_some() {
            self.previous_good = good_number;
        }
        self.state = if p.quality.is_good() {
            State::Good(p.number)
        } else {
            State::Gap(GapCause::Quality(p.quality))
        };
    }

    /// The last state holds to the window's end.
    pub fn finish(mut self) -> TagStats {
        if self.to > self.since {
            self.held(self.since, self.to, self.state);
        }
        let mut stats = self.stats;
        if self.count > 0 {
            stats.avg = Some(self.sum / self.count as f64);
        }
        if self.numbered_ms > 0 {
            stats.twa = Some(self.weighted / self.numbered_ms as f64);
        }
        if self.to > self.from {
            stats.coverage = self.good_ms as f64 / (self.to - self.from) as f64;
        }
        stats
    }

    /// `state` held over `[a, b)`, except where the plant was silent: that is no data.
    fn held(&mut self, a: Millis, b: Millis, state: State) {
        while self
            .silences
            .get(self.next_silence)
            .is_some_and(|&(_, end)| end <= a)
        {
            self.next_silence += 1;
        }
        let mut start = a;
        // A silence reaching past `b` stays next: it cuts the following stretch too.
        for &(quiet_from, quiet_to) in &self.silences[self.next_silence..] {
            if quiet_from >= b {
                break;
            }
            self.piece(start, quiet_from.max(start), state);
            self.piece(
                quiet_from.max(start),
                quiet_to.min(b),
                State::Gap(GapCause::NoData),
            );
            start = quiet_to.min(b);
        }
        self.piece(start, b, state);
    }

    fn piece(&mut self, a: Millis, b: Millis, state: State) {
        if b <= a {
            return;
        }
        let length = b - a;
        let gap = match state {
            State::Good(value) => {
                self.good_ms += length;
                if let Some(v) = value {
                    self.weighted += v * length as f64;
                    self.numbered_ms += length;
                    if self.boolean && v != 0.0 {
                        self.stats.time_true_ms += length;
                    } else if self.boolean {
                        self.stats.time_false_ms += length;
                    }
                }
                None
            }
            State::Gap(cause) => {
                match self.stats.gaps.last_mut() {
                    Some(gap) if gap.cause == cause && gap.to == a => gap.to = b,
                    _ => self.stats.gaps.push(Gap {
                        from: a,
                        to: b,
                        cause,
                    }),
                }
                Some(cause)
            }
        };
        match self.stats.stretches.last_mut() {
            Some(last) if last.gap == gap && last.to == a => last.to = b,
            _ => self.stats.stretches.push(Stretch {
                from: a,
                to: b,
                gap,
            }),
        }
    }
}

/// The statistics of one tag from a list of its samples (see [`TagAccumulator`]).
pub fn tag_stats(
    points: &[Point],
    from: Millis,
    to: Millis,
    silences: &[(Millis, Millis)],
    boolean: bool,
) -> TagStats {
    let mut tag = TagAccumulator::new(from, to, silences, boolean);
    for p in points {
        tag.push(*p);
    }
    tag.finish()
}

/// Availability of a device: the share of the window in which it answered, from its tags' stretches.
///
/// The rule: at a moment the device answered when any of its tags held a good value or a gap whose
/// cause is not silence (an exception other than the gateway's 0A/0B, a NaN: the device did reply); it
/// was silent when all its tags were in gaps of silence (link down, stale, gateway 0A/0B). Stretches in
/// which the collector was not running (no data for every tag) are unknown and left out of the share.
/// Returns `(availability, known_ms)`; `None` when nothing of the window is known.
pub fn availability(tags: &[&[Stretch]], from: Millis, to: Millis) -> (Option<f64>, i64) {
    let mut edges: Vec<Millis> = tags
        .iter()
        .flat_map(|stretches| stretches.iter().flat_map(|s| [s.from, s.to]))
        .chain([from, to])
        .filter(|t| (from..=to).contains(t))
        .collect();
    edges.sort_unstable();
    edges.dedup();
    let mut cursors = vec![0usize; tags.len()];
    let (mut answered, mut known) = (0i64, 0i64);
    for pair in edges.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let mut any_answer = false;
        let mut all_no_data = true;
        for (stretches, cursor) in tags.iter().zip(cursors.iter_mut()) {
            while *cursor < stretches.len() && stretches[*cursor].to <= a {
                *cursor += 1;
            }
            let gap = stretches
                .get(*cursor)
                .filter(|s| s.from <= a)
                .map_or(Some(GapCause::NoData), |s| s.gap);
            match gap {
                None => {
                    any_answer = true;
                    all_no_data = false;
                }
                Some(GapCause::NoData) => {}
                Some(cause) => {
                    all_no_data = false;
                    any_answer |= !cause.is_silence();
                }
            }
        }
        if !all_no_data {
            known += b - a;
            if any_answer {
                answered += b - a;
            }
        }
    }
    let share = (known > 0).then(|| answered as f64 / known as f64);
    (share, known)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAD_LINK: Quality = Quality::Bad(Cause::CommLost);

    fn good(time: Millis, v: f64) -> Point {
        Point {
            time,
            number: Some(v),
            quality: Quality::Good,
        }
    }

    fn bad(time: Millis, quality: Quality) -> Point {
        Point {
            time,
            number: None,
            quality,
        }
    }

    #[test]
    fn a_gap_free_window_weights_each_value_by_how_long_it_held() {
        // 10 held for 2 s before the window and 1 s in it, 20 for 3 s, 30 for the last 6 s.
        let points = [good(-1000, 10.0), good(1000, 20.0), good(4000, 30.0)];
        let s = tag_stats(&points, 0, 10_000, &[], false);
        assert_eq!(
            s.samples, 2,
            "the carried-in sample is not one of the window's"
        );
        assert_eq!((s.min, s.max, s.avg), (Some(20.0), Some(30.0), Some(25.0)));
        assert_eq!(s.twa, Some((10.0 + 60.0 + 180.0) / 10.0));
        assert_eq!(s.coverage, 1.0);
        assert!(s.gaps.is_empty());
    }

    #[test]
    fn a_bad_sample_is_a_gap_with_its_cause_and_is_left_out_of_the_averages() {
        let points = [
            good(0, 10.0),
            bad(2000, BAD_LINK),
            bad(3000, BAD_LINK),
            good(6000, 30.0),
        ];
        let s = tag_stats(&points, 0, 10_000, &[], false);
        assert_eq!(
            s.gaps,
            vec![Gap {
                from: 2000,
                to: 6000,
                cause: GapCause::Quality(BAD_LINK)
            }],
            "two bad samples of one cause are one gap"
        );
        assert_eq!(s.twa, Some((10.0 * 2.0 + 30.0 * 4.0) / 6.0));
        assert_eq!(s.coverage, 0.6);
        assert!(!s.mostly_gap());
    }

    #[test]
    fn a_silence_of_the_whole_plant_is_no_data_even_where_a_value_was_held() {
        let times = [0, 1000, 2000, 9000, 10_000, 12_500];
        let silent = silences(times, 0, 12_000, 3000);
        assert_eq!(silent, vec![(2000, 9000)]);
        let points = [good(0, 1.0), good(2000, 2.0), good(9000, 3.0)];
        let s = tag_stats(&points, 0, 12_000, &silent, false);
        assert_eq!(
            s.gaps,
            vec![Gap {
                from: 2000,
                to: 9000,
                cause: GapCause::NoData
            }]
        );
        assert!(s.mostly_gap(), "7 of 12 seconds are gap");
        assert_eq!(s.twa, Some((2.0 + 3.0 * 3.0) / 5.0));
    }

    #[test]
    fn a_silence_across_several_samples_is_one_gap() {
        // A silence cuts every held state it meets and is one gap, however many states it cuts.
        let points = [good(0, 1.0), good(2000, 2.0), good(5000, 3.0)];
        let s = tag_stats(&points, 0, 6000, &[(1000, 5000)], false);
        assert_eq!(
            s.gaps,
            vec![Gap {
                from: 1000,
                to: 5000,
                cause: GapCause::NoData
            }]
        );
        assert_eq!(
            s.stretches,
            vec![
                Stretch {
                    from: 0,
                    to: 1000,
                    gap: None
                },
                Stretch {
                    from: 1000,
                    to: 5000,
                    gap: Some(GapCause::NoData)
                },
                Stretch {
                    from: 5000,
                    to: 6000,
                    gap: None
                },
            ]
        );
        assert_eq!(s.twa, Some(2.0), "1.0 for a second, 3.0 for a second");
    }

    #[test]
    fn a_window_ending_now_is_silent_only_once_the_collector_has_been_silent_for_max_gap() {
        let finder = |now| {
            let mut f = SilenceFinder::new(0, 10_000, 3000, now);
            for t in [0, 1000, 2000, 8000, 9500] {
                f.push(t);
            }
            f.finish()
        };
        assert_eq!(
            finder(10_000),
            vec![(2000, 8000)],
            "the last sample is half a second old"
        );
        assert_eq!(
            finder(13_000),
            vec![(2000, 8000), (9500, 10_000)],
            "nothing for 3.5 s"
        );
        assert_eq!(
            finder(9600),
            vec![(2000, 8000), (9600, 10_000)],
            "the window's part after now has no data yet"
        );
    }

    #[test]
    fn silences_at_the_ends_of_the_window_are_seen() {
        // Lookback from -3000: the first sample at 1000 leaves [0, 1000) unknown; the last at 5000 is
        // more than 3 s before the end and nothing follows.
        assert_eq!(
            silences([1000, 3000, 5000], 0, 10_000, 3000),
            vec![(0, 1000), (5000, 10_000)]
        );
        assert_eq!(
            silences([-2500, 2000, 5000, 9000, 12_000], 0, 10_000, 5000),
            vec![]
        );
    }

    #[test]
    fn a_boolean_counts_time_in_each_state_and_its_starts() {
        let points = [
            good(-500, 0.0),
            good(1000, 1.0),
            good(3000, 0.0),
            bad(4000, BAD_LINK),
            good(5000, 1.0),
        ];
        let s = tag_stats(&points, 0, 8000, &[], true);
        assert_eq!(s.time_true_ms, 2000 + 3000);
        assert_eq!(s.time_false_ms, 1000 + 1000);
        assert_eq!(
            s.starts, 2,
            "a start across a gap still counts: the pump went from off to on"
        );
    }

    #[test]
    fn a_device_answers_while_any_tag_is_good_or_refused_and_no_data_is_left_out() {
        let seg = |from, to, gap| Stretch { from, to, gap };
        let refused = Quality::Bad(Cause::Exception(2));
        let a = [
            seg(0, 2000, None),
            seg(2000, 4000, Some(GapCause::Quality(BAD_LINK))),
            seg(4000, 6000, Some(GapCause::NoData)),
            seg(6000, 10_000, None),
        ];
        let b = [
            seg(0, 3000, Some(GapCause::Quality(refused))),
            seg(3000, 4000, Some(GapCause::Quality(BAD_LINK))),
            seg(4000, 6000, Some(GapCause::NoData)),
            seg(6000, 10_000, None),
        ];
        let (share, known) = availability(&[&a, &b], 0, 10_000);
        assert_eq!(known, 8000, "the 2 s without data are unknown");
        assert_eq!(share, Some(7000.0 / 8000.0), "silent from 3 s to 4 s");
    }
}
