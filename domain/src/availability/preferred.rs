//! The caller's preferred time ("tomorrow morning", "after 3", "Saturday", "next week") as a
//! window of days and hours in the business's time, and the open slots it narrows the offer to:
//! those inside it, or, when none are, the nearest ones (and the caller is told).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::{Slot, hour_of, part_of_day, weekday};

/// Days (inclusive) and hours (`from..to`, local) the caller asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub hours: (u32, u32),
    /// The window in words, for the reply: "tomorrow morning", "Saturday", "after 3pm".
    pub said: String,
}

/// How the offered slots relate to the preference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "fit")]
pub enum Fit {
    /// No preference we could read: the usual spread of slots.
    Any,
    /// Every slot offered is inside the window.
    Inside { said: String },
    /// Nothing is open inside it: these are the nearest.
    Nearest { said: String },
}

fn words_of(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != ':')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn clock_word(h: u32) -> String {
    match h {
        0 | 24 => "midnight".into(),
        12 => "noon".into(),
        h if h > 12 => format!("{}pm", h - 12),
        h => format!("{h}am"),
    }
}

/// Days named by the words, from `today`: (first, last, how to say it).
fn days(words: &[String], today: NaiveDate) -> Option<(NaiveDate, NaiveDate, String)> {
    let has = |w: &str| words.iter().any(|x| x == w);
    let monday_next = today + Duration::days(7 - i64::from(today.weekday().num_days_from_monday()));
    let this_part = has("this") && (has("morning") || has("afternoon") || has("evening"));
    if has("today") || has("hoy") || has("tonight") || this_part {
        Some((today, today, "today".into()))
    } else if has("tomorrow") || has("mañana") || has("manana") {
        let d = today + Duration::days(1);
        Some((d, d, "tomorrow".into()))
    } else if has("next") && has("week") || has("semana") && has("próxima") {
        Some((
            monday_next,
            monday_next + Duration::days(6),
            "next week".into(),
        ))
    } else if has("weekend") {
        let sat =
            today + Duration::days((7 + 5 - i64::from(today.weekday().num_days_from_monday())) % 7);
        Some((sat, sat + Duration::days(1), "this weekend".into()))
    } else if has("week") {
        Some((today, monday_next - Duration::days(1), "this week".into()))
    } else {
        let d = words.iter().find_map(|w| weekday(w))?;
        let ahead = (7 + i64::from(d.num_days_from_monday())
            - i64::from(today.weekday().num_days_from_monday()))
            % 7;
        let ahead = if has("next") && ahead == 0 { 7 } else { ahead };
        let day = today + Duration::days(ahead);
        Some((day, day, weekday_name(d).into()))
    }
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// Hours named by the words: a part of the day, "after 3", "before noon".
fn hours(words: &[String]) -> Option<((u32, u32), String)> {
    let at = |i: usize| {
        words.get(i + 1).and_then(|w| {
            if w == "noon" {
                Some(12)
            } else {
                // "after 3" means 3pm: nobody books a job for 3 at night.
                hour_of(w).map(|h| if h < 7 { h + 12 } else { h })
            }
        })
    };
    for (i, w) in words.iter().enumerate() {
        match w.as_str() {
            "after" | "despues" | "después" => {
                if let Some(h) = at(i) {
                    return Some(((h, 24), format!("after {}", clock_word(h))));
                }
            }
            "before" | "antes" => {
                if let Some(h) = at(i) {
                    return Some(((0, h), format!("before {}", clock_word(h))));
                }
            }
            _ => {}
        }
    }
    // As a caller means them when booking (not the whole half-day a picked slot may be in).
    let (part, name) = match part_of_day(words)?.0 {
        0 => ((7, 12), "morning"),
        12 => ((12, 17), "afternoon"),
        _ => ((17, 21), "evening"),
    };
    Some((part, name.into()))
}

/// The window the caller's words name, or none (no day or hour in them, or "asap"/"anytime").
pub fn window(text: &str, tz: Tz, now: DateTime<Utc>) -> Option<Window> {
    let words = words_of(text);
    if ["asap", "anytime", "whenever", "flexible", "any"]
        .iter()
        .any(|w| words.iter().any(|x| x == w))
    {
        return None;
    }
    let today = tz.from_utc_datetime(&now.naive_utc()).date_naive();
    let day = days(&words, today);
    let hour = hours(&words);
    if day.is_none() && hour.is_none() {
        return None;
    }
    let (first_day, last_day, day_said) =
        day.unwrap_or((today, today + Duration::days(60), String::new()));
    let (hours, hour_said) = hour.unwrap_or(((0, 24), String::new()));
    let said = match (day_said.as_str(), hour_said.as_str()) {
        ("", h) => h.to_owned(),
        (d, "") => d.to_owned(),
        ("today", "morning") => "this morning".into(),
        ("today", "afternoon") => "this afternoon".into(),
        ("today", "evening") => "this evening".into(),
        (d, h) => format!("{d} {h}"),
    };
    Some(Window {
        first_day,
        last_day,
        hours,
        said,
    })
}

impl Window {
    fn contains(&self, tz: Tz, s: &Slot) -> bool {
        let local = tz.from_utc_datetime(&s.start.naive_utc());
        let day = local.date_naive();
        day >= self.first_day
            && day <= self.last_day
            && local.hour() >= self.hours.0
            && local.hour() < self.hours.1
    }

    /// Where the window begins, for "nearest".
    fn start(&self, tz: Tz) -> DateTime<Utc> {
        let naive = self
            .first_day
            .and_hms_opt(self.hours.0.min(23), 0, 0)
            .unwrap_or_default();
        tz.from_local_datetime(&naive)
            .earliest()
            .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
    }
}

/// How many slots the nearest to a window can be (the offer picks from them).
const NEAREST: usize = 4;

/// The open slots the preference keeps (in time order), and how they fit it.
pub fn narrow(
    tz: Tz,
    now: DateTime<Utc>,
    slots: &[Slot],
    preferred: Option<&str>,
) -> (Vec<Slot>, Fit) {
    let Some(w) = preferred.and_then(|p| window(p, tz, now)) else {
        return (slots.to_vec(), Fit::Any);
    };
    // Spread over the window (an hour apart), not four starts fifteen minutes apart.
    let mut inside: Vec<Slot> = Vec::new();
    for s in slots.iter().filter(|s| w.contains(tz, s)) {
        if inside
            .iter()
            .all(|k| (s.start - k.start).num_minutes().abs() >= 60)
        {
            inside.push(*s);
        }
    }
    if !inside.is_empty() {
        return (inside, Fit::Inside { said: w.said });
    }
    let from = w.start(tz);
    let mut nearest = slots.to_vec();
    nearest.sort_by_key(|s| (s.start - from).num_seconds().abs());
    nearest.truncate(NEAREST);
    nearest.sort_by_key(|s| s.start);
    (nearest, Fit::Nearest { said: w.said })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn tz() -> Tz {
        chrono_tz::America::Chicago
    }

    /// Tue Dec 1 2026, 9:00 in Chicago.
    fn now() -> DateTime<Utc> {
        tz().with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn slot(day: u32, hour: u32) -> Slot {
        let start = tz()
            .with_ymd_and_hms(2026, 12, day, hour, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        Slot {
            technician: Uuid::nil(),
            start,
            end: start + Duration::hours(1),
        }
    }

    fn local(s: &Slot) -> (u32, u32) {
        let l = tz().from_utc_datetime(&s.start.naive_utc());
        (l.day(), l.hour())
    }

    #[test]
    fn words_become_windows() {
        let w = |t: &str| {
            window(t, tz(), now()).map(|w| (w.first_day.day(), w.last_day.day(), w.hours, w.said))
        };
        assert_eq!(
            w("tomorrow morning"),
            Some((2, 2, (7, 12), "tomorrow morning".into()))
        );
        assert_eq!(w("after 3"), Some((1, 30, (15, 24), "after 3pm".into())));
        assert_eq!(w("Saturday"), Some((5, 5, (0, 24), "Saturday".into())));
        assert_eq!(w("next week"), Some((7, 13, (0, 24), "next week".into())));
        assert_eq!(
            w("friday before noon"),
            Some((4, 4, (0, 12), "Friday before noon".into()))
        );
        assert_eq!(
            w("this afternoon"),
            Some((1, 1, (12, 17), "this afternoon".into()))
        );
        assert_eq!(w("asap"), None);
        assert_eq!(w("whenever works"), None);
    }

    #[test]
    fn the_offer_keeps_the_window_or_says_what_is_nearest() {
        let slots = [
            slot(1, 14),
            slot(2, 8),
            slot(2, 10),
            slot(2, 14),
            slot(3, 9),
            slot(8, 9),
        ];
        let (kept, fit) = narrow(tz(), now(), &slots, Some("tomorrow morning"));
        assert_eq!(
            kept.iter().map(local).collect::<Vec<_>>(),
            [(2, 8), (2, 10)]
        );
        assert_eq!(
            fit,
            Fit::Inside {
                said: "tomorrow morning".into()
            }
        );
        let (_, fit) = narrow(tz(), now(), &slots, Some("after 3"));
        assert_eq!(
            fit,
            Fit::Nearest {
                said: "after 3pm".into()
            }
        );
        let (kept, _) = narrow(tz(), now(), &slots, Some("after 1"));
        assert_eq!(
            kept.iter().map(local).collect::<Vec<_>>(),
            [(1, 14), (2, 14)]
        );
        let (kept, fit) = narrow(tz(), now(), &slots, Some("Saturday"));
        assert_eq!(
            fit,
            Fit::Nearest {
                said: "Saturday".into()
            }
        );
        assert_eq!(
            kept.iter().map(local).collect::<Vec<_>>(),
            [(2, 8), (2, 10), (2, 14), (3, 9)],
            "the four nearest, in time order"
        );
        let (kept, fit) = narrow(tz(), now(), &slots, Some("next week"));
        assert_eq!(
            (kept.len(), fit),
            (
                1,
                Fit::Inside {
                    said: "next week".into()
                }
            )
        );
        let (kept, fit) = narrow(tz(), now(), &slots, Some("whenever"));
        assert_eq!((kept.len(), fit), (6, Fit::Any));
    }
}
