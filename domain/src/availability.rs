//! Which slots can be offered: pure (no IO, no clock), so it is fast, testable and usable from
//! anywhere. A slot is offered only if the *whole* job plus the buffer fits inside one shift of a
//! technician and clear of every booking and busy block. Wall-clock rules (shifts, closures) are read
//! in the business's timezone and converted per day, so daylight-saving changes are respected.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
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
                let mut sorted = shifts.to_vec();
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
                                let resume = b_end + buffer;
                                let steps = ((resume - open).num_minutes() + step.num_minutes()
                                    - 1)
                                    / step.num_minutes();
                                start = open + step * steps.max(1) as i32;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn weekdays(shifts: Vec<(NaiveTime, NaiveTime)>) -> WeekSchedule {
        let mut w: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        for d in w.iter_mut().take(5) {
            *d = shifts.clone();
        }
        WeekSchedule(w)
    }
    fn rules() -> ScheduleRules {
        ScheduleRules {
            hours: weekdays(vec![(t(8, 0), t(12, 0)), (t(13, 0), t(17, 0))]),
            closures: vec![],
            buffer_minutes: 30,
            max_jobs_per_day: 10,
            booking_window_days: 14,
            min_lead_minutes: 60,
            step_minutes: 30,
        }
    }
    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn whole_job_plus_buffer_fits_inside_shifts_and_around_bookings() {
        let tech = Technician {
            id: Uuid::from_u128(1),
            hours: None,
        };
        let tz: Tz = "America/Chicago".parse().unwrap();
        // Tue 2026-12-01; a booking 10:00–11:00 local (16:00–17:00Z).
        let busy = [Busy {
            technician: Some(tech.id),
            start: utc("2026-12-01T16:00:00Z"),
            end: utc("2026-12-01T17:00:00Z"),
        }];
        let rules = rules();
        let req = Request {
            tz,
            rules: &rules,
            technicians: std::slice::from_ref(&tech),
            busy: &busy,
            now: utc("2026-11-30T12:00:00Z"),
            from: day("2026-12-01"),
            to: day("2026-12-01"),
            duration_minutes: 90,
        };
        let slots = available_slots(&req);
        let local: Vec<String> = slots
            .iter()
            .map(|s| {
                tz.from_utc_datetime(&s.start.naive_utc())
                    .format("%H:%M")
                    .to_string()
            })
            .collect();
        // 08:00 fits (ends 09:30, buffer to 10:00); the morning shift has no other 90-minute gap clear
        // of 10:00–11:00 ± 30 min; afternoon: 13:00, then 15:00 (13:00 + 90 + 30 = 15:00).
        assert_eq!(local, vec!["08:00", "13:00", "15:00"]);
        for s in &slots {
            assert_eq!(s.end - s.start, Duration::minutes(90));
        }
    }

    #[test]
    fn lead_time_window_closures_and_daily_cap() {
        let tech = Technician {
            id: Uuid::from_u128(1),
            hours: None,
        };
        let tz: Tz = "America/Chicago".parse().unwrap();
        let mut rules = rules();
        rules.closures = vec![day("2026-12-02")];
        rules.max_jobs_per_day = 2;
        rules.booking_window_days = 3;
        let req = Request {
            tz,
            rules: &rules,
            technicians: std::slice::from_ref(&tech),
            busy: &[],
            // 2026-12-01 10:30 local: lead time pushes the first slot to 11:30 or later.
            now: utc("2026-12-01T16:30:00Z"),
            from: day("2026-12-01"),
            to: day("2026-12-31"),
            duration_minutes: 60,
        };
        let slots = available_slots(&req);
        let days: Vec<NaiveDate> = slots
            .iter()
            .map(|s| tz.from_utc_datetime(&s.start.naive_utc()).date_naive())
            .collect();
        assert!(slots[0].start >= utc("2026-12-01T17:30:00Z"), "lead time");
        assert!(!days.contains(&day("2026-12-02")), "closed day");
        assert!(
            days.iter().all(|d| *d <= day("2026-12-04")),
            "booking window"
        );
        for d in [day("2026-12-01"), day("2026-12-03"), day("2026-12-04")] {
            assert!(
                days.iter().filter(|x| **x == d).count() <= 2,
                "daily cap on {d}"
            );
        }
    }

    #[test]
    fn technicians_with_their_own_hours_and_dst() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let early = Technician {
            id: Uuid::from_u128(1),
            hours: Some(weekdays(vec![(t(6, 0), t(8, 0))])),
        };
        let rules = ScheduleRules {
            hours: weekdays(vec![(t(9, 0), t(10, 0))]),
            buffer_minutes: 0,
            min_lead_minutes: 0,
            ..rules()
        };
        let regular = Technician {
            id: Uuid::from_u128(2),
            hours: None,
        };
        // Monday 2026-03-09 is the first weekday after spring-forward (UTC-4).
        let req = Request {
            tz,
            rules: &rules,
            technicians: &[early.clone(), regular.clone()],
            busy: &[],
            now: utc("2026-03-01T00:00:00Z"),
            from: day("2026-03-09"),
            to: day("2026-03-09"),
            duration_minutes: 60,
        };
        let slots = available_slots(&req);
        // The early technician: 06:00 and 07:00 EDT; the regular one: 09:00 EDT (13:00Z, not EST's 14:00Z).
        assert_eq!(slots.len(), 3, "{slots:?}");
        assert_eq!(
            slots[0],
            Slot {
                technician: early.id,
                start: utc("2026-03-09T10:00:00Z"),
                end: utc("2026-03-09T11:00:00Z")
            }
        );
        assert_eq!(
            slots[2],
            Slot {
                technician: regular.id,
                start: utc("2026-03-09T13:00:00Z"),
                end: utc("2026-03-09T14:00:00Z")
            }
        );
    }

    /// Over many generated schedules, no offered slot overlaps a booking (with buffer) or leaves its shift.
    #[test]
    fn offered_slots_always_fit() {
        let tz: Tz = "America/Chicago".parse().unwrap();
        let rules = rules();
        let techs: Vec<Technician> = (1..=3)
            .map(|i| Technician {
                id: Uuid::from_u128(i),
                hours: None,
            })
            .collect();
        let mut seed: u64 = 42;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let base = utc("2026-12-01T14:00:00Z");
        for _ in 0..200 {
            let busy: Vec<Busy> = (0..next(40))
                .map(|_| {
                    let start = base + Duration::minutes((next(14 * 24 * 4) * 15) as i64);
                    Busy {
                        technician: Some(techs[next(3) as usize].id),
                        start,
                        end: start + Duration::minutes(15 + (next(12) * 15) as i64),
                    }
                })
                .collect();
            let duration = 30 + (next(6) * 30) as i64;
            let req = Request {
                tz,
                rules: &rules,
                technicians: &techs,
                busy: &busy,
                now: base,
                from: day("2026-12-01"),
                to: day("2026-12-14"),
                duration_minutes: duration,
            };
            for slot in available_slots(&req) {
                let buffer = Duration::minutes(rules.buffer_minutes);
                assert!(
                    busy.iter()
                        .filter(|b| b.technician == Some(slot.technician))
                        .all(|b| b.end <= slot.start - buffer || b.start >= slot.end + buffer),
                    "{slot:?} overlaps"
                );
                let local_start = tz.from_utc_datetime(&slot.start.naive_utc());
                let local_end = tz.from_utc_datetime(&slot.end.naive_utc());
                let inside = rules
                    .hours
                    .shifts(local_start.weekday())
                    .iter()
                    .any(|(o, c)| {
                        local_start.time() >= *o
                            && local_end.time() <= *c
                            && local_start.date_naive() == local_end.date_naive()
                    });
                assert!(inside, "{slot:?} leaves its shift");
                assert!(slot.start >= base + Duration::minutes(rules.min_lead_minutes));
            }
        }
    }
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

fn clock(t: NaiveTime) -> String {
    use chrono::Timelike;
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
    use chrono::Timelike;
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

/// Reads the caller's answer to numbered offers: a number ("2", "#2", "option 2"), a day and/or
/// hour ("tue 10", "thursday at 1pm"), a part of the day ("the morning one"), or a refusal.
pub fn parse_choice(reply: &str, tz: Tz, offers: &[Slot]) -> Choice {
    let text = reply.to_lowercase();
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != ':')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    if [
        "none",
        "neither",
        "nope",
        "no",
        "other",
        "different",
        "later",
        "ninguno",
        "ninguna",
    ]
    .iter()
    .any(|n| words.iter().any(|w| w == n))
    {
        return Choice::NoneOfThese;
    }
    let local: Vec<_> = offers
        .iter()
        .map(|s| tz.from_utc_datetime(&s.start.naive_utc()))
        .collect();
    // A bare number in range wins ("2", "#2", "option 2", "the 2nd one").
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
    if !has_time_words {
        let mut numbers: Vec<usize> = words
            .iter()
            .filter_map(|w| w.parse::<usize>().ok().or_else(|| ordinal(w)))
            .collect();
        // "the first one": the same number said twice is one answer.
        numbers.sort_unstable();
        numbers.dedup();
        if let [n] = numbers.as_slice()
            && (1..=offers.len()).contains(n)
            && !words.iter().any(|w| weekday(w).is_some())
        {
            return Choice::Picked(n - 1);
        }
    }
    // Otherwise narrow by weekday, hour and part of day; a single survivor is the pick.
    let day = words.iter().find_map(|w| weekday(w));
    let hour = words.iter().find_map(|w| {
        let pm = w.ends_with("pm");
        let digits = w.trim_end_matches("am").trim_end_matches("pm");
        let h: u32 = digits.split(':').next()?.parse().ok()?;
        if !(1..=23).contains(&h) {
            return None;
        }
        Some(if pm && h < 12 { h + 12 } else { h })
    });
    let part = if words.iter().any(|w| w == "morning") {
        Some((0, 12))
    } else if words.iter().any(|w| w == "afternoon") {
        Some((12, 17))
    } else if words.iter().any(|w| w == "evening") {
        Some((17, 24))
    } else {
        None
    };
    if day.is_none() && hour.is_none() && part.is_none() {
        return Choice::Unclear;
    }
    use chrono::Timelike;
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

fn weekday(w: &str) -> Option<Weekday> {
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

#[cfg(test)]
mod choice_tests {
    use super::*;

    fn offers(tz: Tz) -> Vec<Slot> {
        // Tue Dec 1 8:00 and 13:00, Wed Dec 2 10:00, Thu Dec 3 15:00 (Chicago).
        [(1, 8), (1, 13), (2, 10), (3, 15)]
            .iter()
            .map(|(d, h)| {
                let start = tz
                    .with_ymd_and_hms(2026, 12, *d, *h, 0, 0)
                    .unwrap()
                    .with_timezone(&Utc);
                Slot {
                    technician: Uuid::nil(),
                    start,
                    end: start + Duration::minutes(90),
                }
            })
            .collect()
    }

    #[test]
    fn offers_spread_over_days_and_halves_of_the_day() {
        let tz: Tz = "America/Chicago".parse().unwrap();
        let at = |d: u32, h: u32, tech: u128| {
            let start = tz
                .with_ymd_and_hms(2026, 12, d, h, 0, 0)
                .unwrap()
                .with_timezone(&Utc);
            Slot {
                technician: Uuid::from_u128(tech),
                start,
                end: start + Duration::minutes(60),
            }
        };
        // Two technicians free at the same times, several slots a morning.
        let slots = vec![
            at(1, 8, 1),
            at(1, 8, 2),
            at(1, 9, 1),
            at(1, 10, 1),
            at(1, 13, 1),
            at(1, 14, 2),
            at(2, 8, 1),
            at(2, 9, 2),
        ];
        let picked = pick_offers(tz, &slots, 4);
        let starts: Vec<_> = picked
            .iter()
            .map(|s| {
                tz.from_utc_datetime(&s.start.naive_utc())
                    .format("%d %H")
                    .to_string()
            })
            .collect();
        assert_eq!(starts, vec!["01 08", "01 09", "01 13", "02 08"]);
        assert_eq!(pick_offers(tz, &slots[..1], 4).len(), 1);
    }

    #[test]
    fn offers_read_like_a_text() {
        let tz: Tz = "America/Chicago".parse().unwrap();
        let text = offer_lines(tz, &offers(tz));
        assert_eq!(text.lines().next(), Some("1) Tue Dec 1, 8am–9:30am"));
        assert_eq!(text.lines().nth(3), Some("4) Thu Dec 3, 3pm–4:30pm"));
    }

    #[test]
    fn callers_pick_in_their_own_words() {
        let tz: Tz = "America/Chicago".parse().unwrap();
        let o = offers(tz);
        for (reply, want) in [
            ("2", Choice::Picked(1)),
            ("#3 please", Choice::Picked(2)),
            ("option 4", Choice::Picked(3)),
            ("the first one", Choice::Picked(0)),
            ("tue 1pm", Choice::Picked(1)),
            ("tue 8", Choice::Picked(0)),
            ("wed 10", Choice::Picked(2)),
            ("thursday at 3", Choice::Picked(3)),
            ("the morning one on tuesday", Choice::Picked(0)),
            ("wednesday works", Choice::Picked(2)),
            ("none of those", Choice::NoneOfThese),
            ("no, something later", Choice::NoneOfThese),
            ("tuesday", Choice::Unclear),
            ("7", Choice::Unclear),
            ("what?", Choice::Unclear),
        ] {
            assert_eq!(parse_choice(reply, tz, &o), want, "{reply}");
        }
    }
}
