//! What a missed call gets, by the local time it came in (seed 004, VTCR 2.1–2.5): a weekly grid
//! of half-hour cells, each naming a method, with whole-day holiday overrides on top.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::BusinessHours;

/// Half-hour cells in a week, Monday 00:00 first.
pub const CELLS: usize = 7 * 48;

/// How a missed call is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The caller is texted (the product's default).
    Text,
    /// The caller hears the voicemail greeting and can leave a message.
    Voicemail,
    /// The business's AI voice agent answers.
    AiVoice,
    /// The AI voice agent answers, and the caller is texted as well.
    Both,
}

impl Method {
    pub const ALL: [Method; 4] = [
        Method::Text,
        Method::Voicemail,
        Method::AiVoice,
        Method::Both,
    ];

    /// One letter per cell in storage.
    pub fn code(self) -> char {
        match self {
            Method::Text => 't',
            Method::Voicemail => 'v',
            Method::AiVoice => 'a',
            Method::Both => 'b',
        }
    }

    pub fn from_code(c: char) -> Option<Self> {
        Method::ALL.into_iter().find(|m| m.code() == c)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Text => "text",
            Method::Voicemail => "voicemail",
            Method::AiVoice => "ai_voice",
            Method::Both => "both",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Method::Text => "Text",
            Method::Voicemail => "Voicemail",
            Method::AiVoice => "AI voice",
            Method::Both => "AI voice + text",
        }
    }

    /// Needs the business's voice agent to be connected.
    pub fn needs_voice_agent(self) -> bool {
        matches!(self, Method::AiVoice | Method::Both)
    }
}

/// A week of cells; always complete (every cell has a method), which is what saving checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid(Vec<Method>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    #[error(
        "the week has {0} half-hour cells; it needs all {CELLS} (every half hour needs a method)"
    )]
    Incomplete(usize),
    #[error("cell {0} has no method (use text, voicemail, ai_voice or both)")]
    Unknown(usize),
}

impl Grid {
    /// Every half hour the same.
    pub fn uniform(method: Method) -> Self {
        Grid(vec![method; CELLS])
    }

    /// A preset: `open` inside business hours, `closed` outside them.
    pub fn preset(hours: &BusinessHours, open: Method, closed: Method) -> Self {
        let mut cells = Vec::with_capacity(CELLS);
        for day in 0..7 {
            let weekday = chrono::Weekday::try_from(day as u8).unwrap_or(chrono::Weekday::Mon);
            let today = hours.day(weekday);
            for half in 0..48u32 {
                let t = chrono::NaiveTime::from_hms_opt(half / 2, (half % 2) * 30, 0)
                    .unwrap_or_default();
                let is_open = today.is_some_and(|d| d.open <= t && t < d.close);
                cells.push(if is_open { open } else { closed });
            }
        }
        Grid(cells)
    }

    /// From stored letters (`t`, `v`, `a`, `b`).
    pub fn from_codes(codes: &str) -> Result<Self, GridError> {
        let cells: Vec<Method> = codes
            .chars()
            .enumerate()
            .map(|(i, c)| Method::from_code(c).ok_or(GridError::Unknown(i)))
            .collect::<Result<_, _>>()?;
        Self::from_cells(cells)
    }

    /// From the API's cell names, checking the week is covered.
    pub fn from_names(names: &[String]) -> Result<Self, GridError> {
        let cells: Vec<Method> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Method::parse(n).ok_or(GridError::Unknown(i)))
            .collect::<Result<_, _>>()?;
        Self::from_cells(cells)
    }

    fn from_cells(cells: Vec<Method>) -> Result<Self, GridError> {
        if cells.len() == CELLS {
            Ok(Grid(cells))
        } else {
            Err(GridError::Incomplete(cells.len()))
        }
    }

    pub fn codes(&self) -> String {
        self.0.iter().map(|m| m.code()).collect()
    }

    pub fn cells(&self) -> &[Method] {
        &self.0
    }

    /// The cell a local weekday and time fall in.
    pub fn cell(weekday: chrono::Weekday, hour: u32, minute: u32) -> usize {
        weekday.num_days_from_monday() as usize * 48 + hour as usize * 2 + usize::from(minute >= 30)
    }

    /// Sets `method` on the given weekdays (0 = Monday) from `from` up to `to` (local times on
    /// the half hour; `to` before `from` runs past midnight into the next day).
    pub fn set_range(
        &mut self,
        days: &[u8],
        from: chrono::NaiveTime,
        to: chrono::NaiveTime,
        method: Method,
    ) {
        let half = |t: chrono::NaiveTime| (t.hour() * 2 + u32::from(t.minute() >= 30)) as usize;
        let (start, mut end) = (half(from), half(to));
        if end <= start {
            end += 48;
        }
        for &day in days.iter().filter(|d| **d < 7) {
            for cell in start..end {
                self.0[(usize::from(day) * 48 + cell) % CELLS] = method;
            }
        }
    }

    pub fn uses(&self, pred: impl Fn(Method) -> bool) -> bool {
        self.0.iter().any(|m| pred(*m))
    }
}

/// A whole local day that follows one method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    pub day: NaiveDate,
    pub method: Method,
    #[serde(default)]
    pub label: Option<String>,
}

/// The method for a call at `at`, read on the business's wall clock: a holiday first, then the
/// grid's cell. Daylight-saving changes are handled by converting the instant.
pub fn method_at(grid: &Grid, holidays: &[Holiday], tz: Tz, at: DateTime<Utc>) -> Method {
    let local = tz.from_utc_datetime(&at.naive_utc());
    if let Some(h) = holidays.iter().find(|h| h.day == local.date_naive()) {
        return h.method;
    }
    grid.0[Grid::cell(local.weekday(), local.hour(), local.minute())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn preset_follows_business_hours_in_local_time() {
        let grid = Grid::preset(&BusinessHours::default(), Method::Text, Method::Voicemail);
        let tz: Tz = "America/Chicago".parse().unwrap();
        // Tuesday 2026-12-08 10:15 Chicago = 16:15 UTC: open.
        assert_eq!(
            method_at(&grid, &[], tz, at("2026-12-08T16:15:00Z")),
            Method::Text
        );
        // 17:00 Chicago: closed (the close is exclusive).
        assert_eq!(
            method_at(&grid, &[], tz, at("2026-12-08T23:00:00Z")),
            Method::Voicemail
        );
        // Saturday: closed all day.
        assert_eq!(
            method_at(&grid, &[], tz, at("2026-12-12T16:00:00Z")),
            Method::Voicemail
        );
    }

    #[test]
    fn holidays_win_over_the_grid() {
        let grid = Grid::uniform(Method::Text);
        let tz: Tz = "America/Chicago".parse().unwrap();
        let christmas = Holiday {
            day: NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
            method: Method::Voicemail,
            label: Some("Christmas".into()),
        };
        // 23:30 on the 25th in Chicago is already the 26th in UTC.
        let late = at("2026-12-26T05:30:00Z");
        assert_eq!(
            method_at(&grid, std::slice::from_ref(&christmas), tz, late),
            Method::Voicemail
        );
        assert_eq!(
            method_at(&grid, &[christmas], tz, at("2026-12-26T07:00:00Z")),
            Method::Text
        );
    }

    #[test]
    fn ranges_cover_their_half_hours_and_run_past_midnight() {
        let t = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let mut grid = Grid::uniform(Method::Text);
        grid.set_range(&[4], t(22, 0), t(6, 0), Method::Voicemail);
        assert_eq!(
            grid.cells()[Grid::cell(chrono::Weekday::Fri, 21, 59)],
            Method::Text
        );
        assert_eq!(
            grid.cells()[Grid::cell(chrono::Weekday::Fri, 22, 0)],
            Method::Voicemail
        );
        assert_eq!(
            grid.cells()[Grid::cell(chrono::Weekday::Sat, 5, 30)],
            Method::Voicemail
        );
        assert_eq!(
            grid.cells()[Grid::cell(chrono::Weekday::Sat, 6, 0)],
            Method::Text
        );
        // Sunday night wraps to Monday morning.
        grid.set_range(&[6], t(23, 0), t(1, 0), Method::Voicemail);
        assert_eq!(grid.cells()[0], Method::Voicemail);
    }

    #[test]
    fn saving_needs_every_cell() {
        assert_eq!(
            Grid::from_codes(&"t".repeat(CELLS - 1)),
            Err(GridError::Incomplete(CELLS - 1))
        );
        let mut codes = "t".repeat(CELLS);
        codes.replace_range(10..11, "x");
        assert_eq!(Grid::from_codes(&codes), Err(GridError::Unknown(10)));
        let grid = Grid::from_codes(&"tvab".repeat(CELLS / 4)).unwrap();
        assert_eq!(grid.codes().len(), CELLS);
        assert_eq!(Grid::cell(chrono::Weekday::Sun, 23, 45), CELLS - 1);
    }
}
