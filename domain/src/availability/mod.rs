//! Which slots can be offered: pure (no IO, no clock), so it is fast, testable and usable from
//! anywhere. A slot is offered only if the *whole* job plus the buffer fits inside one shift of a
//! technician and clear of every booking and busy block. Wall-clock rules (shifts, closures) are read
//! in the business's timezone and converted per day, so daylight-saving changes are respected.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Shifts per weekday (Monday first); several per day for split shifts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekSchedule(pub [Vec<(NaiveTime, NaiveTime)>; 7]);

impl WeekSchedule {
    pub fn shifts(&self, day: Weekday) -> &[(NaiveTime, NaiveTime)] {
        &self.0[day.num_days_from_monday() as usize]
    }

    /// One shift per open day, from the business hours the greeting uses.
    pub fn from_business_hours(h: &crate::BusinessHours) -> Self {
        let mut w: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        for (i, d) in w.iter_mut().enumerate() {
            if let Some(day) = h.day(Weekday::try_from(i as u8).unwrap_or(Weekday::Mon)) {
                d.push((day.open, day.close));
            }
        }
        Self(w)
    }

    /// Names of the weekdays whose shifts are empty, reversed or overlapping.
    pub fn invalid_days(&self) -> Vec<&'static str> {
        const NAMES: [&str; 7] = [
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
        ];
        self.0
            .iter()
            .enumerate()
            .filter(|(_, shifts)| {
                let mut sorted = (*shifts).clone();
                sorted.sort_unstable();
                sorted.iter().any(|(o, c)| c <= o) || sorted.windows(2).any(|w| w[1].0 < w[0].1)
            })
            .map(|(i, _)| NAMES[i])
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRules {
    pub hours: WeekSchedule,
    /// Closed days (holidays, vacations), in the business's calendar.
    pub closures: Vec<NaiveDate>,
    /// Free time kept before and after every job (travel, clean-up).
    pub buffer_minutes: i64,
    /// Per technician per day.
    pub max_jobs_per_day: usize,
    /// How far ahead callers may book.
    pub booking_window_days: i64,
    /// No slot starts sooner than this from now.
    pub min_lead_minutes: i64,
    /// Candidate starts are this far apart within a shift.
    pub step_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technician {
    pub id: Uuid,
    /// Their own hours, when they differ from the business's.
    pub hours: Option<WeekSchedule>,
}

/// Time a technician cannot take a job: an appointment, or a block from a connected calendar.
/// `technician: None` blocks everyone (a business-wide busy block).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Busy {
    pub technician: Option<Uuid>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub technician: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

pub struct Request<'a> {
    pub tz: Tz,
    pub rules: &'a ScheduleRules,
    pub technicians: &'a [Technician],
    pub busy: &'a [Busy],
    pub now: DateTime<Utc>,
    /// First and last local calendar days to search (inclusive).
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub duration_minutes: i64,
}

fn local_instant(tz: Tz, day: NaiveDate, t: NaiveTime) -> Option<DateTime<Utc>> {
    // A wall time skipped by spring-forward does not exist; an ambiguous one takes the earlier.
    tz.from_local_datetime(&day.and_time(t))
        .earliest()
        .map(|d| d.with_timezone(&Utc))
}

/// Every slot that fits, ordered by start, then technician.
pub fn available_slots(r: &Request) -> Vec<Slot> {
    let rules = r.rules;
    let duration = Duration::minutes(r.duration_minutes.max(1));
    let buffer = Duration::minutes(rules.buffer_minutes.max(0));
    let step = Duration::minutes(rules.step_minutes.max(5));
    let earliest = r.now + Duration::minutes(rules.min_lead_minutes.max(0));
    let today = r.tz.from_utc_datetime(&r.now.naive_utc()).date_naive();
    let last_day =
        r.to.min(today + Duration::days(rules.booking_window_days.max(0)));
    let mut out = Vec::new();
    for tech in r.technicians {
        // This technician's blocks (and business-wide ones), sorted: one forward pass per day.
        let mut blocks: Vec<(DateTime<Utc>, DateTime<Utc>)> = r
            .busy
            .iter()
            .filter(|b| b.technician.is_none_or(|t| t == tech.id))
            .map(|b| (b.start, b.end))
            .collect();
        blocks.sort_unstable();
        let hours = tech.hours.as_ref().unwrap_or(&rules.hours);
        let mut day = r.from.max(today);
        while day <= last_day {
            if !rules.closures.contains(&day) {
                let day_start = local_instant(r.tz, day, NaiveTime::MIN);
                let day_end = local_instant(r.tz, day + Duration::days(1), NaiveTime::MIN);
                let mut jobs_today = match (day_start, day_end) {
                    (Some(s), Some(e)) => r
                        .busy
                        .iter()
                        .filter(|b| b.technician == Some(tech.id) && b.start >= s && b.start < e)
                        .count(),
                    _ => 0,
                };
                let mut i = blocks.partition_point(|b| day_start.is_some_and(|s| b.1 <= s));
                for &(open, close) in hours.shifts(day.weekday()) {
                    let (Some(open), Some(close)) = (
                        local_instant(r.tz, day, open),
                        local_instant(r.tz, day, close),
                    ) else {
                        continue;
                    };
                    let mut start = open;
                    while start + duration <= close && jobs_today < rules.max_jobs_per_day {
                        if start < earliest {
                            start += step;
                            continue;
                        }
                        let (need_from, need_to) = (start - buffer, start + duration + buffer);
                        while i < blocks.len() && blocks[i].1 <= need_from {
                            i += 1;
                        }
                        // The first block that could touch the window: clear if it starts after it.
                        match blocks[i..].iter().find(|b| b.1 > need_from) {
                            Some(&(b_start, b_end)) if b_start < need_to => {
                                // Jump past the block (keeping the buffer), aligned to the step grid.
                                // Rounded up in seconds: a block ending off the minute (a
                                // booking made at 10:00:56) must not round back onto itself.
                                let resume = b_end + buffer;
                                let step_secs = step.num_seconds();
                                let steps =
                                    ((resume - open).num_seconds() + step_secs - 1) / step_secs;
                                start = (open + step * steps.max(1) as i32).max(start + step);
                            }
                            _ => {
                                out.push(Slot {
                                    technician: tech.id,
                                    start,
                                    end: start + duration,
                                });
                                jobs_today += 1;
                                start += duration + buffer;
                                let steps = ((start - open).num_minutes() + step.num_minutes() - 1)
                                    / step.num_minutes();
                                start = open + step * steps as i32;
                            }
                        }
                    }
                }
            }
            day += Duration::days(1);
        }
    }
    out.sort_unstable_by_key(|s| (s.start, s.technician));
    out
}

/// What the caller picked from numbered offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "choice", content = "index")]
pub enum Choice {
    /// 0-based index into the offers.
    Picked(usize),
    NoneOfThese,
    Unclear,
}

/// "8am", "9:30pm".
pub fn clock(t: NaiveTime) -> String {
    let (h, m) = (t.hour(), t.minute());
    let h12 = if h % 12 == 0 { 12 } else { h % 12 };
    let ampm = if h < 12 { "am" } else { "pm" };
    if m == 0 {
        format!("{h12}{ampm}")
    } else {
        format!("{h12}:{m:02}{ampm}")
    }
}

/// "Tue Dec 1, 8am–9:30am" in the business's time.
pub fn slot_text(tz: Tz, s: &Slot) -> String {
    let (a, b) = (
        tz.from_utc_datetime(&s.start.naive_utc()),
        tz.from_utc_datetime(&s.end.naive_utc()),
    );
    format!(
        "{}, {}–{}",
        a.format("%a %b %-d"),
        clock(a.time()),
        clock(b.time())
    )
}

/// Up to `n` offers that give the caller a real choice: one start time per slot (whichever
/// technician), spread over different days and mornings/afternoons before doubling up.
pub fn pick_offers(tz: Tz, slots: &[Slot], n: usize) -> Vec<Slot> {
    let mut distinct: Vec<Slot> = Vec::new();
    for s in slots {
        if !distinct.iter().any(|d| d.start == s.start) {
            distinct.push(*s);
        }
    }
    let bucket = |s: &Slot| {
        let l = tz.from_utc_datetime(&s.start.naive_utc());
        (l.date_naive(), l.hour() < 12)
    };
    let mut picked: Vec<Slot> = Vec::new();
    for s in &distinct {
        if picked.len() < n && !picked.iter().any(|p| bucket(p) == bucket(s)) {
            picked.push(*s);
        }
    }
    for s in &distinct {
        if picked.len() < n && !picked.contains(s) {
            picked.push(*s);
        }
    }
    picked.sort_unstable_by_key(|s| s.start);
    picked
}

/// Numbered offers, one per line, in the business's time: "1) Tue Dec 1, 8am–9:30am".
pub fn offer_lines(tz: Tz, slots: &[Slot]) -> String {
    slots
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}) {}", i + 1, slot_text(tz, s)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Words that turn all the offers down.
const REFUSALS: [&str; 9] = [
    "none",
    "neither",
    "nope",
    "no",
    "other",
    "different",
    "later",
    "ninguno",
    "ninguna",
];

/// Reads the caller's answer to numbered offers: a number ("2", "#2", "option 2"), a day and/or
/// hour ("tue 10", "thursday at 1pm"), a part of the day ("the morning one"), or a refusal.
pub fn parse_choice(reply: &str, tz: Tz, offers: &[Slot]) -> Choice {
    let text = reply.to_lowercase();
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != ':')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    if REFUSALS.iter().any(|n| words.iter().any(|w| w == n)) {
        return Choice::NoneOfThese;
    }
    let local: Vec<_> = offers
        .iter()
        .map(|s| tz.from_utc_datetime(&s.start.naive_utc()))
        .collect();
    if let Some(i) = numbered_pick(&words, offers.len()) {
        return Choice::Picked(i);
    }
    // Otherwise narrow by weekday, hour and part of day; a single survivor is the pick.
    let day = words.iter().find_map(|w| weekday(w));
    let hour = words.iter().find_map(|w| hour_of(w));
    let part = part_of_day(&words);
    if day.is_none() && hour.is_none() && part.is_none() {
        return Choice::Unclear;
    }
    let matches: Vec<usize> = local
        .iter()
        .enumerate()
        .filter(|(_, t)| day.is_none_or(|d| t.weekday() == d))
        .filter(|(_, t)| hour.is_none_or(|h| t.hour() == h || (h < 8 && t.hour() == h + 12)))
        .filter(|(_, t)| part.is_none_or(|(a, b)| (a..b).contains(&t.hour())))
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [one] => Choice::Picked(*one),
        _ => Choice::Unclear,
    }
}

/// A bare number in range wins ("2", "#2", "option 2", "the 2nd one"): the 0-based index it picks
/// out of `offers` offers, unless the reply also names a time or a weekday.
fn numbered_pick(words: &[String], offers: usize) -> Option<usize> {
    let ordinal = |w: &str| match w {
        "first" | "1st" | "one" => Some(1),
        "second" | "2nd" | "two" => Some(2),
        "third" | "3rd" | "three" => Some(3),
        "fourth" | "4th" | "four" => Some(4),
        _ => None,
    };
    let has_time_words = words
        .iter()
        .any(|w| w.ends_with("am") || w.ends_with("pm") || w.contains(':') || w == "at");
    if has_time_words {
        return None;
    }
    let mut numbers: Vec<usize> = words
        .iter()
        .filter_map(|w| w.parse::<usize>().ok().or_else(|| ordinal(w)))
        .collect();
    // "the first one": the same number said twice is one answer.
    numbers.sort_unstable();
    numbers.dedup();
    if let [n] = numbers.as_slice()
        && (1..=offers).contains(n)
        && !words.iter().any(|w| weekday(w).is_some())
    {
        return Some(n - 1);
    }
    None
}

/// The hour a word names, on the 24-hour clock: "10", "1pm", "2:30pm".
pub(crate) fn hour_of(w: &str) -> Option<u32> {
    let pm = w.ends_with("pm");
    let digits = w.trim_end_matches("am").trim_end_matches("pm");
    let h: u32 = digits.split(':').next()?.parse().ok()?;
    if !(1..=23).contains(&h) {
        return None;
    }
    Some(if pm && h < 12 { h + 12 } else { h })
}

/// The hours (from, to) of a part of the day the reply names: morning, afternoon or evening.
pub(crate) fn part_of_day(words: &[String]) -> Option<(u32, u32)> {
    if words.iter().any(|w| w == "morning") {
        Some((0, 12))
    } else if words.iter().any(|w| w == "afternoon") {
        Some((12, 17))
    } else if words.iter().any(|w| w == "evening") {
        Some((17, 24))
    } else {
        None
    }
}

pub(crate) fn weekday(w: &str) -> Option<Weekday> {
    Some(match w {
        "mon" | "monday" | "lunes" => Weekday::Mon,
        "tue" | "tues" | "tuesday" | "martes" => Weekday::Tue,
        "wed" | "weds" | "wednesday" | "miercoles" | "miércoles" => Weekday::Wed,
        "thu" | "thur" | "thurs" | "thursday" | "jueves" => Weekday::Thu,
        "fri" | "friday" | "viernes" => Weekday::Fri,
        "sat" | "saturday" | "sabado" | "sábado" => Weekday::Sat,
        "sun" | "sunday" | "domingo" => Weekday::Sun,
        _ => return None,
    })
}

mod preferred;
pub use preferred::{Fit, Window, narrow, window};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod choice_tests;
