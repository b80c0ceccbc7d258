use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Opening hours for one day, in the business's own timezone (`"08:00"` to `"17:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayHours {
    #[serde(with = "hhmm")]
    pub open: NaiveTime,
    #[serde(with = "hhmm")]
    pub close: NaiveTime,
}

/// Weekly opening hours; a missing or `null` day is closed. Seed 003 §5 shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    #[serde(default)]
    pub monday: Option<DayHours>,
    #[serde(default)]
    pub tuesday: Option<DayHours>,
    #[serde(default)]
    pub wednesday: Option<DayHours>,
    #[serde(default)]
    pub thursday: Option<DayHours>,
    #[serde(default)]
    pub friday: Option<DayHours>,
    #[serde(default)]
    pub saturday: Option<DayHours>,
    #[serde(default)]
    pub sunday: Option<DayHours>,
}

impl Default for BusinessHours {
    /// Monday to Friday, 08:00–17:00: what most trades keep.
    fn default() -> Self {
        let day = Some(DayHours {
            open: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            close: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        });
        Self {
            monday: day,
            tuesday: day,
            wednesday: day,
            thursday: day,
            friday: day,
            saturday: None,
            sunday: None,
        }
    }
}

impl BusinessHours {
    pub fn day(&self, weekday: Weekday) -> Option<DayHours> {
        match weekday {
            Weekday::Mon => self.monday,
            Weekday::Tue => self.tuesday,
            Weekday::Wed => self.wednesday,
            Weekday::Thu => self.thursday,
            Weekday::Fri => self.friday,
            Weekday::Sat => self.saturday,
            Weekday::Sun => self.sunday,
        }
    }

    /// Names of the days whose close is not after their open.
    pub fn invalid_days(&self) -> Vec<&'static str> {
        let days = [
            ("monday", self.monday),
            ("tuesday", self.tuesday),
            ("wednesday", self.wednesday),
            ("thursday", self.thursday),
            ("friday", self.friday),
            ("saturday", self.saturday),
            ("sunday", self.sunday),
        ];
        days.iter()
            .filter(|(_, d)| d.is_some_and(|d| d.close <= d.open))
            .map(|(n, _)| *n)
            .collect()
    }

    /// The week in words, runs of days with the same hours together: "Mon–Fri 8am–5pm; Sat
    /// 9am–1pm" (closed days left out; "closed all week" when every day is).
    pub fn describe(&self) -> String {
        use crate::availability::clock;
        let days = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        let mut runs: Vec<(Weekday, Weekday, DayHours)> = Vec::new();
        for d in days {
            let Some(h) = self.day(d) else { continue };
            match runs.last_mut() {
                Some(run) if run.2 == h && run.1.succ() == d => run.1 = d,
                _ => runs.push((d, d, h)),
            }
        }
        if runs.is_empty() {
            return "closed all week".into();
        }
        runs.iter()
            .map(|(a, b, h)| {
                let span = if a == b {
                    format!("{a}")
                } else {
                    format!("{a}–{b}")
                };
                format!("{span} {}–{}", clock(h.open), clock(h.close))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Is the business open at `at`, read on the wall clock of `tz`?
    /// Daylight-saving changes are handled by converting the instant, never the wall time.
    pub fn is_open(&self, tz: Tz, at: DateTime<Utc>) -> bool {
        let local = tz.from_utc_datetime(&at.naive_utc());
        let time = local.time();
        self.day(local.weekday())
            .is_some_and(|d| d.open <= time && time < d.close)
    }
}

/// Parses an IANA timezone name ("America/Chicago").
pub fn parse_timezone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// When `at`'s local day began in `tz`: midnight, or the first minute that exists on a day a
/// clock change skips it.
pub fn local_midnight(tz: Tz, at: DateTime<Utc>) -> DateTime<Utc> {
    let day = at.with_timezone(&tz).date_naive();
    (0..180)
        .find_map(|minute| {
            let local = day.and_hms_opt(0, 0, 0)? + chrono::Duration::minutes(minute);
            tz.from_local_datetime(&local).earliest()
        })
        .map_or(at - chrono::Duration::hours(24), |t| t.with_timezone(&Utc))
}

/// Wall-clock times as "HH:MM" (seconds, "HH:MM:SS", are accepted and kept when not zero).
pub mod hhmm {
    use chrono::{NaiveTime, Timelike};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    #[allow(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's `with` passes a reference"
    )]
    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        let f = if t.second() == 0 { "%H:%M" } else { "%H:%M:%S" };
        s.serialize_str(&t.format(f).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        NaiveTime::parse_from_str(&s, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(&s, "%H:%M:%S"))
            .map_err(|_| D::Error::custom(format!("`{s}` is not a HH:MM time")))
    }
}

/// 21:00–08:00: no automated text to a caller in the evening or before the working day.
pub fn default_quiet_hours() -> (NaiveTime, NaiveTime) {
    (
        NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
        NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
    )
}

/// A business's quiet hours in its timezone: automated texts (follow-ups, reminders, notices,
/// review requests) wait for the end; emergencies and direct answers to a caller do not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuietHours {
    pub timezone: String,
    #[serde(with = "hhmm")]
    pub start: NaiveTime,
    #[serde(with = "hhmm")]
    pub end: NaiveTime,
}

impl QuietHours {
    /// `at`, or the end of the quiet hours it falls in.
    pub fn defer(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        match parse_timezone(&self.timezone) {
            Some(tz) => defer_out_of_quiet(tz, at, self.start, self.end),
            None => at,
        }
    }
}

/// Moves `at` out of the quiet hours [start, end) of `tz` (which may span midnight): a time
/// inside them becomes the next `end`. Computed on the wall clock, so DST changes are respected.
pub fn defer_out_of_quiet(
    tz: Tz,
    at: DateTime<Utc>,
    start: NaiveTime,
    end: NaiveTime,
) -> DateTime<Utc> {
    // An empty window is refused by the settings; one stored earlier gets the default, never none.
    let (start, end) = if start == end {
        default_quiet_hours()
    } else {
        (start, end)
    };
    let local = tz.from_utc_datetime(&at.naive_utc());
    let t = local.time();
    let quiet = if start < end {
        start <= t && t < end
    } else {
        t >= start || t < end
    };
    if !quiet {
        return at;
    }
    let mut day = local.date_naive();
    if start > end && t >= start {
        day = day.succ_opt().unwrap_or(day);
    }
    let wake = day.and_time(end);
    // The first instant showing `wake` on the local clock that is not before `at`: a DST gap
    // moves it forward, and in the repeated hour of a fall-back the first showing may already
    // be past (found by the `times` fuzz target).
    (0..4)
        .flat_map(|h| {
            let r = tz.from_local_datetime(&(wake + chrono::Duration::hours(h)));
            [r.earliest(), r.latest()]
        })
        .flatten()
        .map(|d| d.with_timezone(&Utc))
        .find(|d| *d >= at)
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_week_in_words() {
        let mut h = BusinessHours::default();
        assert_eq!(h.describe(), "Mon–Fri 8am–5pm");
        h.saturday = Some(DayHours {
            open: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            close: NaiveTime::from_hms_opt(13, 30, 0).unwrap(),
        });
        h.wednesday = None;
        assert_eq!(
            h.describe(),
            "Mon–Tue 8am–5pm; Thu–Fri 8am–5pm; Sat 9am–1:30pm"
        );
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn quiet_hours_ending_in_the_repeated_fall_back_hour_never_move_a_text_earlier() {
        // 2025-11-02 in New York: 01:00–02:00 happens twice. At 01:10 EST (the second time),
        // quiet until 01:30 means 01:30 EST, not the 01:30 EDT that has already passed.
        let tz: Tz = "America/New_York".parse().unwrap();
        let at = utc("2025-11-02T06:10:00Z");
        let end = NaiveTime::from_hms_opt(1, 30, 0).unwrap();
        let deferred = defer_out_of_quiet(tz, at, NaiveTime::from_hms_opt(21, 0, 0).unwrap(), end);
        assert_eq!(deferred, utc("2025-11-02T06:30:00Z"));
    }

    #[test]
    fn open_in_business_timezone() {
        let h = BusinessHours::default();
        let tz: Tz = "America/Chicago".parse().unwrap();
        // Tuesday 2026-11-24 09:00 in Chicago is 15:00 UTC.
        assert!(h.is_open(tz, utc("2026-11-24T15:00:00Z")));
        // 18:00 Chicago is after hours.
        assert!(!h.is_open(tz, utc("2026-11-25T00:00:00Z")));
        // Saturday is closed.
        assert!(!h.is_open(tz, utc("2026-11-28T16:00:00Z")));
    }

    #[test]
    fn daylight_saving_change_is_respected() {
        let h = BusinessHours::default();
        let tz: Tz = "America/New_York".parse().unwrap();
        // Monday 2026-03-09 (after spring forward, UTC-4): 12:30 UTC is 08:30 local → open.
        assert!(h.is_open(tz, utc("2026-03-09T12:30:00Z")));
        // Monday 2026-03-02 (UTC-5): 12:30 UTC is 07:30 local → closed.
        assert!(!h.is_open(tz, utc("2026-03-02T12:30:00Z")));
    }

    #[test]
    fn quiet_hours_defer_to_the_morning() {
        let tz: Tz = "America/Chicago".parse().unwrap();
        let (start, end) = (
            NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        );
        // 22:30 local (04:30Z next day, CST = UTC-6) → 08:00 local next day = 14:00Z.
        assert_eq!(
            defer_out_of_quiet(tz, utc("2026-11-25T04:30:00Z"), start, end),
            utc("2026-11-25T14:00:00Z")
        );
        // 06:00 local → 08:00 the same day.
        assert_eq!(
            defer_out_of_quiet(tz, utc("2026-11-25T12:00:00Z"), start, end),
            utc("2026-11-25T14:00:00Z")
        );
        // 10:00 local is not quiet.
        assert_eq!(
            defer_out_of_quiet(tz, utc("2026-11-25T16:00:00Z"), start, end),
            utc("2026-11-25T16:00:00Z")
        );
        // A daytime quiet window works too.
        let (s2, e2) = (
            NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(13, 0, 0).unwrap(),
        );
        assert_eq!(
            defer_out_of_quiet(tz, utc("2026-11-25T18:30:00Z"), s2, e2),
            utc("2026-11-25T19:00:00Z")
        );
        // Across the spring-forward night (2026-03-08, Chicago): 08:00 CDT is 13:00Z.
        assert_eq!(
            defer_out_of_quiet(tz, utc("2026-03-08T07:00:00Z"), start, end),
            utc("2026-03-08T13:00:00Z")
        );
    }

    #[test]
    fn parses_seed_shape_and_rejects_bad_times() {
        let h: BusinessHours =
            serde_json::from_str(r#"{"monday":{"open":"07:30","close":"16:00"},"saturday":null}"#)
                .unwrap();
        assert_eq!(
            h.monday.unwrap().open,
            NaiveTime::from_hms_opt(7, 30, 0).unwrap()
        );
        assert!(h.tuesday.is_none());
        assert!(
            serde_json::from_str::<BusinessHours>(r#"{"monday":{"open":"7am","close":"16:00"}}"#)
                .is_err()
        );
        let backwards: BusinessHours =
            serde_json::from_str(r#"{"friday":{"open":"17:00","close":"08:00"}}"#).unwrap();
        assert_eq!(backwards.invalid_days(), vec!["friday"]);
        assert!(parse_timezone("Europe/Nowhere").is_none());
    }
}
