//! The owner's weekly email: last week's missed calls, how many came back, the rate, bookings,
//! the revenue recovered, and who is still waiting. Pure: the worker sends it, the reports page
//! previews the same words.

use chrono::{Datelike, Duration, NaiveDate};

/// Last week's numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WeekFigures {
    pub missed: i64,
    pub recovered: i64,
    pub booked: i64,
    pub revenue_cents: i64,
}

impl WeekFigures {
    /// Recovered per missed call, in whole percent (0 without missed calls).
    pub fn recovery_rate(&self) -> i64 {
        if self.missed > 0 {
            self.recovered * 100 / self.missed
        } else {
            0
        }
    }
}

/// A conversation still waiting on the owner, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StillWaiting {
    /// "Jane Doe (512) 555-0123", or the number alone.
    pub who: String,
    pub emergency: bool,
    pub link: String,
}

/// The links an email carries.
#[derive(Debug, Clone)]
pub struct DigestLinks {
    pub report: String,
    pub inbox: String,
    pub unsubscribe: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestMail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The Monday-to-Sunday week before the one `today` falls in.
pub fn last_week(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    (monday - Duration::days(7), monday - Duration::days(1))
}

/// `$1,234`: whole dollars, as owners read revenue.
pub fn dollars(cents: i64) -> String {
    let digits = (cents.abs() / 100).to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}${out}", if cents < 0 { "-" } else { "" })
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The email for `business` about the week `week` (first and last day).
pub fn weekly_digest(
    business: &str,
    week: (NaiveDate, NaiveDate),
    f: &WeekFigures,
    waiting: &[StillWaiting],
    links: &DigestLinks,
) -> DigestMail {
    let span = format!("{} – {}", week.0.format("%b %-d"), week.1.format("%b %-d"));
    // No phone number in a subject: it shows on lock screens and in previews.
    let subject = format!(
        "Your week at {business}: {}, {} recovered",
        plural(f.missed, "missed call", "missed calls"),
        f.recovered
    );
    let lines = [
        ("Missed calls", f.missed.to_string()),
        ("Recovered", f.recovered.to_string()),
        ("Recovery rate", format!("{}%", f.recovery_rate())),
        ("Booked", f.booked.to_string()),
        ("Revenue recovered", dollars(f.revenue_cents)),
    ];
    let mut text = format!("{business}, {span}\n\n");
    for (label, value) in &lines {
        text.push_str(&format!("{label}: {value}\n"));
    }
    let mut html = format!(
        "<h1 style=\"font-size:20px\">{}</h1><p>{span}</p><table>",
        escape(business)
    );
    for (label, value) in &lines {
        html.push_str(&format!(
            "<tr><th align=\"left\">{label}</th><td>{}</td></tr>",
            escape(value)
        ));
    }
    html.push_str("</table>");
    if waiting.is_empty() {
        text.push_str("\nNobody is waiting on you.\n");
        html.push_str("<p>Nobody is waiting on you.</p>");
    } else {
        text.push_str(&format!("\nStill waiting on you ({}):\n", waiting.len()));
        html.push_str(&format!(
            "<h2 style=\"font-size:16px\">Still waiting on you ({})</h2><ul>",
            waiting.len()
        ));
        for w in waiting {
            let flag = if w.emergency { " (emergency)" } else { "" };
            text.push_str(&format!("- {}{flag}: {}\n", w.who, w.link));
            html.push_str(&format!(
                "<li><a href=\"{}\">{}</a>{flag}</li>",
                escape(&w.link),
                escape(&w.who)
            ));
        }
        html.push_str("</ul>");
    }
    text.push_str(&format!(
        "\nThe week in full: {}\nThe inbox: {}\n\nStop these weekly emails: {}\n",
        links.report, links.inbox, links.unsubscribe
    ));
    html.push_str(&format!(
        "<p><a href=\"{}\">The week in full</a> · <a href=\"{}\">The inbox</a></p>\
         <p style=\"color:#555;font-size:13px\"><a href=\"{}\">Stop these weekly emails</a></p>",
        escape(&links.report),
        escape(&links.inbox),
        escape(&links.unsubscribe)
    ));
    DigestMail {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_week_runs_monday_to_sunday() {
        let monday = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let wednesday = NaiveDate::from_ymd_opt(2026, 12, 9).unwrap();
        let want = (
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
        );
        assert_eq!(last_week(monday), want);
        assert_eq!(last_week(wednesday), want);
    }

    #[test]
    fn the_digest_reads_in_figures_and_escapes_names() {
        let f = WeekFigures {
            missed: 4,
            recovered: 3,
            booked: 2,
            revenue_cents: 123_456,
        };
        let links = DigestLinks {
            report: "https://x/r".into(),
            inbox: "https://x/i".into(),
            unsubscribe: "https://x/u".into(),
        };
        let waiting = [StillWaiting {
            who: "<b>Jo</b> (512) 555-0123".into(),
            emergency: true,
            link: "https://x/n/1".into(),
        }];
        let week = last_week(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        let d = weekly_digest("Acme & Sons", week, &f, &waiting, &links);
        assert_eq!(
            d.subject,
            "Your week at Acme & Sons: 4 missed calls, 3 recovered"
        );
        assert!(
            d.text.contains("Recovery rate: 75%") && d.text.contains("Revenue recovered: $1,234")
        );
        assert!(d.html.contains("&lt;b&gt;Jo") && !d.html.contains("<b>Jo"));
        assert!(d.text.contains("Stop these weekly emails: https://x/u"));
        assert_eq!(dollars(-250_000), "-$2,500");
    }
}
