//! Scheduled reports (`[[reports]]`): which template, over which periods of local time, written where
//! and in which formats. The periods are pure arithmetic on the schedule and a time zone, so `collect`
//! and the desktop agree on them and a report missed while Plantwatch was not running is found again.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::Timestamp;

/// A report's file format, named by its file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportFormat {
    Pdf,
    Xlsx,
    Csv,
    Html,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 4] = [
        ReportFormat::Pdf,
        ReportFormat::Xlsx,
        ReportFormat::Csv,
        ReportFormat::Html,
    ];

    /// The extension and the name users type: `pdf`, `xlsx`, `csv`, `html`.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Pdf => "pdf",
            ReportFormat::Xlsx => "xlsx",
            ReportFormat::Csv => "csv",
            ReportFormat::Html => "html",
        }
    }

    /// The format a path's extension names (case-insensitive), if any.
    pub fn of_path(path: &Path) -> Option<ReportFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        ext.parse().ok()
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

impl FromStr for ReportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportFormat::ALL
            .into_iter()
            .find(|f| f.extension() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = ReportFormat::ALL.iter().map(|f| f.extension()).collect();
                format!("must be one of {}, not {s:?}", names.join(", "))
            })
    }
}

/// Which template a scheduled report uses: one built in by name, or a TOML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateRef {
    /// `shift` or `daily`, shipped with Plantwatch.
    Builtin(BuiltinTemplate),
    /// A template file, resolved against the config's folder.
    File(PathBuf),
}

/// The templates Plantwatch ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinTemplate {
    Shift,
    Daily,
}

impl BuiltinTemplate {
    pub const ALL: [BuiltinTemplate; 2] = [BuiltinTemplate::Shift, BuiltinTemplate::Daily];

    pub fn name(self) -> &'static str {
        match self {
            BuiltinTemplate::Shift => "shift",
            BuiltinTemplate::Daily => "daily",
        }
    }

    pub fn from_name(name: &str) -> Option<BuiltinTemplate> {
        BuiltinTemplate::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl TemplateRef {
    /// A short name for file names and logs: the built-in's name or the file's stem.
    pub fn label(&self) -> String {
        match self {
            TemplateRef::Builtin(b) => b.name().to_string(),
            TemplateRef::File(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "report".to_string()),
        }
    }
}

/// A time of day, `HH:MM` (local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    minutes: u16,
}

impl TimeOfDay {
    pub const MIDNIGHT: TimeOfDay = TimeOfDay { minutes: 0 };

    /// Minutes after midnight, 0..1440.
    pub fn minutes(self) -> u16 {
        self.minutes
    }

    pub fn from_minutes(minutes: u16) -> Option<TimeOfDay> {
        (minutes < MINUTES_A_DAY).then_some(TimeOfDay { minutes })
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

impl FromStr for TimeOfDay {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("must be a time of day as HH:MM (00:00 to 23:59), not {s:?}");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(TimeOfDay {
            minutes: h * 60 + m,
        })
    }
}

const MINUTES_A_DAY: u16 = 1440;

/// How long each period of a scheduled report is. Periods follow the wall clock: within a day they
/// start at `at` and every `every` after it (so `8h` at `06:00` is 06-14, 14-22, 22-06 every day, and a
/// day that changes to or from summer time has one period an hour shorter or longer); whole days start
/// at `at` on days counted from Monday 1970-01-05, so `7d` is a week from Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportEvery {
    /// Minutes that divide a day evenly (`1h`, `8h`, `12h`, `24h`, `30m`).
    WithinDay { minutes: u16 },
    /// A whole number of days, more than one (`7d`).
    Days(u16),
}

impl ReportEvery {
    /// From a duration as the config reads it; `Err` says which lengths are allowed.
    pub fn from_duration(d: std::time::Duration) -> Result<ReportEvery, String> {
        let allowed =
            "a whole number of minutes that divides a day (such as 1h, 8h, 12h, 24h) or of days (such as 7d)";
        let secs = d.as_secs();
        if d.subsec_nanos() != 0 || !secs.is_multiple_of(60) || secs < 60 {
            return Err(format!("must be {allowed}"));
        }
        let minutes = secs / 60;
        let day = u64::from(MINUTES_A_DAY);
        if minutes <= day {
            if day.is_multiple_of(minutes) {
                return Ok(ReportEvery::WithinDay {
                    minutes: minutes as u16,
                });
            }
            return Err(format!("must be {allowed}"));
        }
        if minutes.is_multiple_of(day) && minutes / day <= 366 {
            return Ok(ReportEvery::Days((minutes / day) as u16));
        }
        Err(format!("must be {allowed}, at most 366d"))
    }
}

impl fmt::Display for ReportEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ReportEvery::WithinDay { minutes } if minutes % 60 == 0 => {
                write!(f, "{}h", minutes / 60)
            }
            ReportEvery::WithinDay { minutes } => write!(f, "{minutes}m"),
            ReportEvery::Days(d) => write!(f, "{d}d"),
        }
    }
}

/// The language of a report's titles, labels and chart texts (the plant's own texts are the plant's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReportLanguage {
    #[default]
    English,
    SimplifiedChinese,
}

impl ReportLanguage {
    pub const ALL: [ReportLanguage; 2] =
        [ReportLanguage::English, ReportLanguage::SimplifiedChinese];

    /// The tag users type and the window's catalogs are named by: `en`, `zh-CN`.
    pub fn tag(self) -> &'static str {
        match self {
            ReportLanguage::English => "en",
            ReportLanguage::SimplifiedChinese => "zh-CN",
        }
    }
}

impl fmt::Display for ReportLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for ReportLanguage {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportLanguage::ALL
            .into_iter()
            .find(|l| l.tag() == s)
            .ok_or_else(|| format!("must be en or zh-CN, not {s:?}"))
    }
}

/// One `[[reports]]` entry of the plant config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSchedule {
    pub template: TemplateRef,
    pub every: ReportEvery,
    /// Where the periods are anchored in local time (default midnight).
    pub at: TimeOfDay,
    /// The folder the reports are written into, resolved against the config's folder.
    pub out: PathBuf,
    /// At least one; `pdf` unless the config says otherwise.
    pub formats: Vec<ReportFormat>,
    pub language: ReportLanguage,
}

/// A period a report covers: `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReportPeriod {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// The first day of the whole-day count: a Monday, so weekly reports start on Mondays.
const DAY_ZERO: Date = jiff::civil::date(1970, 1, 5);

impl ReportSchedule {
    /// The periods that ended in `(after, until]`, oldest first, at most `limit` of them (the newest).
    /// `tz` is the plant PC's time zone (`TimeZone::system()` outside tests).
    pub fn periods_ended(
        &self,
        after: Timestamp,
        until: Timestamp,
        tz: &TimeZone,
        limit: usize,
    ) -> Vec<ReportPeriod> {
        let mut ends = Vec::new();
        if until <= after || limit == 0 {
            return ends;
        }
        // Walk boundaries backwards from the last one at or before `until`.
        let mut end = self.boundary_at_or_before(until, tz);
        while let Some(e) = end {
            if e <= after || ends.len() == limit {
                break;
            }
            let start = self.boundary_before(e, tz);
            match start {
                Some(s) => ends.push(ReportPeriod { from: s, to: e }),
                None => break,
            }
            end = start;
        }
        ends.reverse();
        ends
    }

    /// The period that contains `t`.
    pub fn period_containing(&self, t: Timestamp, tz: &TimeZone) -> Option<ReportPeriod> {
        let from = self.boundary_at_or_before(t, tz)?;
        let to = self.boundary_after(from, tz)?;
        Some(ReportPeriod { from, to })
    }

    /// The boundaries of one local day (for periods within a day) in order, as instants.
    fn boundaries_of_day(&self, day: Date, tz: &TimeZone) -> Vec<Timestamp> {
        let instant = |minutes: u32| -> Option<Timestamp> {
            let extra_days = (minutes / u32::from(MINUTES_A_DAY)) as i32;
            let m = minutes % u32::from(MINUTES_A_DAY);
            let date = day.checked_add(jiff::Span::new().days(extra_days)).ok()?;
            let time = Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).ok()?;
            // A wall time skipped by a change to summer time maps to the instant after the gap.
            let zoned = date.to_datetime(time).to_zoned_datetime(tz.clone()).ok()?;
            Some(Timestamp(zoned.timestamp().as_millisecond()))
        };
        match self.every {
            ReportEvery::WithinDay { minutes } => {
                let at = u32::from(self.at.minutes);
                (0..u32::from(MINUTES_A_DAY / minutes))
                    .filter_map(|k| instant(at + k * u32::from(minutes)))
                    .collect()
            }
            ReportEvery::Days(n) => {
                let since = (day - DAY_ZERO).get_days();
                if since.rem_euclid(i32::from(n)) == 0 {
                    instant(u32::from(self.at.minutes)).into_iter().collect()
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn local_date(t: Timestamp, tz: &TimeZone) -> Option<Date> {
        let ts = jiff::Timestamp::from_millisecond(t.0).ok()?;
        Some(ts.to_zoned_datetime(tz.clone()).date())
    }

    /// The last boundary at or before `t`.
    fn boundary_at_or_before(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let today = Self::local_date(t, tz)?;
        // A day's boundaries may run into the next day (at 22:00 + 8h); look back far enough for the
        // longest period, from the day of `t` itself.
        let lookback = match self.every {
            ReportEvery::WithinDay { .. } => 3,
            ReportEvery::Days(n) => i64::from(n) + 2,
        };
        let mut best: Option<Timestamp> = None;
        for back in 0..=lookback {
            let Ok(day) = today.checked_sub(jiff::Span::new().days(back)) else {
                break;
            };
            for b in self.boundaries_of_day(day, tz) {
                if b <= t && best.is_none_or(|x| b > x) {
                    best = Some(b);
                }
            }
        }
        best
    }

    /// The last boundary strictly before `t`.
    fn boundary_before(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        self.boundary_at_or_before(Timestamp(t.0 - 1), tz)
    }

    /// The first boundary strictly after `t`.
    fn boundary_after(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let mut day = Self::local_date(t, tz)?
            .checked_sub(jiff::Span::new().days(1))
            .ok()?;
        let horizon = match self.every {
            ReportEvery::WithinDay { .. } => 3,
            ReportEvery::Days(n) => i32::from(n) + 2,
        };
        for _ in 0..=horizon {
            let mut found: Option<Timestamp> = None;
            for b in self.boundaries_of_day(day, tz) {
                if b > t && found.is_none_or(|x| b < x) {
                    found = Some(b);
                }
            }
            if found.is_some() {
                return found;
            }
            day = day.checked_add(jiff::Span::new().days(1)).ok()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(text: &str) -> Timestamp {
        let t: jiff::Timestamp = text.parse().expect("test time");
        Timestamp(t.as_millisecond())
    }

    fn schedule(every: &str, at: &str) -> ReportSchedule {
        let every = crate::parse_duration(every).expect("duration");
        ReportSchedule {
            template: TemplateRef::Builtin(BuiltinTemplate::Shift),
            every: ReportEvery::from_duration(every).expect("every"),
            at: at.parse().expect("at"),
            out: PathBuf::from("reports"),
            formats: vec![ReportFormat::Pdf],
            language: ReportLanguage::English,
        }
    }

    fn shown(periods: &[ReportPeriod]) -> Vec<String> {
        periods
            .iter()
            .map(|p| format!("{} {}", p.from, p.to))
            .collect()
    }

    #[test]
    fn shifts_of_eight_hours_from_six_follow_the_local_clock() {
        let shanghai = TimeZone::get("Asia/Shanghai").expect("tzdb");
        let s = schedule("8h", "06:00");
        // 06:00 Shanghai is 22:00 UTC the day before.
        let periods = s.periods_ended(
            ts("2026-12-03T21:00:00Z"),
            ts("2026-12-04T15:00:00Z"),
            &shanghai,
            10,
        );
        assert_eq!(
            shown(&periods),
            [
                "2026-12-03T14:00:00.000Z 2026-12-03T22:00:00.000Z",
                "2026-12-03T22:00:00.000Z 2026-12-04T06:00:00.000Z",
                "2026-12-04T06:00:00.000Z 2026-12-04T14:00:00.000Z",
            ]
        );
    }

    #[test]
    fn a_period_ending_exactly_at_the_start_of_the_search_is_not_due_again() {
        let utc = TimeZone::UTC;
        let s = schedule("24h", "00:00");
        let after = ts("2026-12-04T00:00:00Z");
        assert!(s
            .periods_ended(after, ts("2026-12-04T23:59:59Z"), &utc, 10)
            .is_empty());
        let due = s.periods_ended(after, ts("2026-12-05T00:00:00Z"), &utc, 10);
        assert_eq!(
            shown(&due),
            ["2026-12-04T00:00:00.000Z 2026-12-05T00:00:00.000Z"]
        );
    }

    #[test]
    fn a_long_absence_gives_only_the_newest_periods_up_to_the_limit() {
        let utc = TimeZone::UTC;
        let s = schedule("8h", "06:00");
        let due = s.periods_ended(
            ts("2026-01-01T00:00:00Z"),
            ts("2026-12-04T07:00:00Z"),
            &utc,
            2,
        );
        assert_eq!(
            shown(&due),
            [
                "2026-12-03T14:00:00.000Z 2026-12-03T22:00:00.000Z",
                "2026-12-03T22:00:00.000Z 2026-12-04T06:00:00.000Z",
            ]
        );
    }

    #[test]
    fn a_day_that_changes_to_summer_time_has_a_shorter_night_shift() {
        let berlin = TimeZone::get("Europe/Berlin").expect("tzdb");
        let s = schedule("8h", "06:00");
        // 2026-03-29: 02:00 local jumps to 03:00; the shift 22:00-06:00 lasts 7 hours.
        let p = s
            .period_containing(ts("2026-03-29T01:30:00Z"), &berlin)
            .expect("period");
        assert_eq!(p.from, ts("2026-03-28T21:00:00Z"));
        assert_eq!(p.to, ts("2026-03-29T04:00:00Z"));
    }

    #[test]
    fn weekly_reports_start_on_mondays() {
        let utc = TimeZone::UTC;
        let s = schedule("7d", "06:00");
        let p = s
            .period_containing(ts("2026-12-04T12:00:00Z"), &utc)
            .expect("period");
        // 2026-11-30 is a Monday.
        assert_eq!(p.from, ts("2026-11-30T06:00:00Z"));
        assert_eq!(p.to, ts("2026-12-07T06:00:00Z"));
    }

    #[test]
    fn lengths_that_do_not_tile_a_day_are_refused() {
        for ok in ["30m", "1h", "8h", "12h", "24h", "7d"] {
            let d = crate::parse_duration(ok).expect("duration");
            assert!(ReportEvery::from_duration(d).is_ok(), "{ok}");
        }
        for bad in ["7h", "90s", "25h", "36h", "367d"] {
            let d = crate::parse_duration(bad).expect("duration");
            assert!(ReportEvery::from_duration(d).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_of_day_and_formats_parse_and_print_alike() {
        let t: TimeOfDay = "06:30".parse().expect("time");
        assert_eq!(t.to_string(), "06:30");
        for bad in ["6:30", "24:00", "06:60", "0630", ""] {
            assert!(bad.parse::<TimeOfDay>().is_err(), "{bad:?}");
        }
        for f in ReportFormat::ALL {
            assert_eq!(f.to_string().parse::<ReportFormat>(), Ok(f));
        }
        assert_eq!(
            ReportFormat::of_path(Path::new("out/shift.PDF")),
            Some(ReportFormat::Pdf)
        );
        assert_eq!(ReportFormat::of_path(Path::new("out/shift.txt")), None);
    }
}
