//! The iCalendar (RFC 5545) feed an owner's phone subscribes to: one VEVENT per appointment,
//! times in UTC, text escaped and lines folded at 75 octets.

use chrono::{DateTime, Utc};

use crate::CalendarEvent;

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace("\r\n", "\\n")
        .replace('\n', "\\n")
        .replace('\r', "")
}

/// Folds a content line: at most 75 octets per line, continuation lines start with a space,
/// never splitting a UTF-8 character.
fn fold(line: &str, out: &mut String) {
    let mut used = 0;
    for ch in line.chars() {
        let len = ch.len_utf8();
        if used + len > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(ch);
        used += len;
    }
    out.push_str("\r\n");
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The whole feed. `now` is the DTSTAMP (when the feed was generated).
pub fn feed(calendar_name: &str, events: &[CalendarEvent], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//NeverMissCall//Appointments//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        fold(l, &mut out);
    }
    fold(&format!("X-WR-CALNAME:{}", escape(calendar_name)), &mut out);
    // Ask subscribed calendars to refresh often (Apple and Outlook honour these).
    fold("REFRESH-INTERVAL;VALUE=DURATION:PT15M", &mut out);
    fold("X-PUBLISHED-TTL:PT15M", &mut out);
    for e in events {
        fold("BEGIN:VEVENT", &mut out);
        fold(&format!("UID:{}@nevermisscall", e.appointment_id), &mut out);
        fold(&format!("DTSTAMP:{}", stamp(now)), &mut out);
        fold(&format!("DTSTART:{}", stamp(e.start)), &mut out);
        fold(&format!("DTEND:{}", stamp(e.end)), &mut out);
        fold(&format!("SEQUENCE:{}", e.version.max(0)), &mut out);
        fold(&format!("SUMMARY:{}", escape(&e.title)), &mut out);
        if let Some(loc) = &e.location {
            fold(&format!("LOCATION:{}", escape(loc)), &mut out);
        }
        fold(&format!("DESCRIPTION:{}", escape(&e.description)), &mut out);
        fold(
            if e.cancelled {
                "STATUS:CANCELLED"
            } else {
                "STATUS:CONFIRMED"
            },
            &mut out,
        );
        fold("END:VEVENT", &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_long_lines_and_escapes_text() {
        let start = DateTime::parse_from_rfc3339("2026-12-01T14:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = CalendarEvent {
            appointment_id: uuid::Uuid::nil(),
            title: "Sink Clog; Dana, kitchen".into(),
            description: "ñ".repeat(60),
            location: Some("12 Oak St, Austin".into()),
            start,
            end: start + chrono::Duration::hours(1),
            timezone: "America/Chicago".into(),
            customer_name: None,
            customer_phone: None,
            cancelled: false,
            version: 2,
        };
        let f = feed("Ace", &[e], start);
        assert!(f.contains("SUMMARY:Sink Clog\\; Dana\\, kitchen\r\n"));
        assert!(f.contains("DTSTART:20261201T140000Z\r\n"));
        assert!(f.lines().all(|l| l.len() <= 75), "{f}");
        assert!(f.ends_with("END:VCALENDAR\r\n"));
    }
}
