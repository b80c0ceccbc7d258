use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::BusinessProfile;

/// The texts a conversation sends on its own, before any assistant is involved.
pub const OPT_OUT_LINE: &str = "Reply STOP to opt out.";

pub fn default_greeting(business: &str) -> String {
    format!("Hi, this is {business}. Sorry we missed your call! How can we help? {OPT_OUT_LINE}")
}

pub fn default_after_hours_greeting(business: &str) -> String {
    format!(
        "Hi, this is {business}. Sorry we missed your call, we're closed right now. \
         Tell us what you need and we'll get back to you first thing. {OPT_OUT_LINE}"
    )
}

/// Fills a greeting template. `{business}` and `{owner}` are replaced; a template that does not
/// tell the caller how to opt out gets the opt-out line appended (the first text must carry it).
pub fn render_greeting(template: &str, business: &str, owner: &str) -> String {
    with_opt_out_line(
        &template
            .replace("{business}", business)
            .replace("{owner}", owner),
    )
}

/// The text with our opt-out line, unless it already carries an explicit instruction ("Reply
/// STOP to opt out"); the word alone ("One Stop Plumbing") is not one.
pub fn with_opt_out_line(text: &str) -> String {
    if crate::keywords::has_opt_out_instruction(text) {
        text.to_owned()
    } else {
        format!("{} {OPT_OUT_LINE}", text.trim_end())
    }
}

/// Picks the business-hours or after-hours greeting for a missed call at `at`.
pub fn greeting_for(profile: &BusinessProfile, at: DateTime<Utc>) -> String {
    let open = match crate::hours::parse_timezone(&profile.timezone) {
        Some(tz) => profile.business_hours.is_open(tz, at),
        None => false,
    };
    let custom = if open {
        &profile.greeting
    } else {
        &profile.after_hours_greeting
    };
    match (custom, open) {
        (Some(t), _) => render_greeting(t, &profile.name, &profile.owner_name),
        (None, true) => default_greeting(&profile.name),
        (None, false) => default_after_hours_greeting(&profile.name),
    }
}

/// What we know of a caller who has been here before, for their greeting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownCaller {
    pub name: Option<String>,
    /// The job they had us for last time.
    pub last_service: Option<String>,
    /// A missed call from them earlier today (its conversation is over).
    pub called_today: bool,
}

/// The greeting for a caller we know: by name, asking about the last job ("Welcome back, Sam! …
/// Is this about the water heater again?"), or owning up to the earlier missed call today.
/// `None` when we know too little to say more than the usual greeting.
pub fn returning_greeting(
    profile: &BusinessProfile,
    at: DateTime<Utc>,
    known: &KnownCaller,
) -> Option<String> {
    let open = crate::hours::parse_timezone(&profile.timezone)
        .is_some_and(|tz| profile.business_hours.is_open(tz, at));
    let first = known
        .name
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
        .map(str::to_owned);
    let business = &profile.name;
    let sorry = if open {
        "sorry we missed your call"
    } else {
        "we're closed right now, but we'll get back to you first thing"
    };
    if known.called_today {
        let hi = first.map_or_else(|| "Hi".to_owned(), |n| format!("Hi {n}"));
        return Some(with_opt_out_line(&format!(
            "{hi}, this is {business}. I see you called earlier today too; {sorry}. How can we help?"
        )));
    }
    // By name, or, for a caller we know only by their last job, by that job.
    let job = known.last_service.as_deref().and_then(job_phrase);
    if first.is_none() && job.is_none() {
        return None;
    }
    let welcome = first.map_or_else(
        || "Welcome back!".to_owned(),
        |n| format!("Welcome back, {n}!"),
    );
    let custom = if open {
        &profile.greeting
    } else {
        &profile.after_hours_greeting
    };
    if let Some(template) = custom {
        // The owner's own words stay; the caller is still welcomed by name.
        let text = render_greeting(template, business, &profile.owner_name);
        return Some(format!("{welcome} {text}"));
    }
    let ask = job.map_or_else(
        || "How can we help?".to_owned(),
        |job| format!("Is this about {job} again?"),
    );
    Some(with_opt_out_line(&format!(
        "{welcome} This is {business}, {sorry}. {ask}"
    )))
}

/// A job in the caller's own words as a text can say it back: "your water heater", or quoted
/// when it does not read as a noun ("\"leaking under the sink\""). `None` when empty or long.
fn job_phrase(words: &str) -> Option<String> {
    let s = words.trim();
    if s.is_empty() || s.chars().count() > 60 {
        return None;
    }
    let s = s.trim_end_matches(['.', '!', '?']);
    // "the water heater", "my sink is clogged": the thing itself, up to its verb, reads as ours
    // to say back ("your sink"); anything else is quoted as they said it.
    const VERBS: [&str; 16] = [
        "is", "are", "was", "keeps", "keep", "won't", "wont", "isn't", "stopped", "broke", "leaks",
        "leaking", "needs", "has", "started", "doesn't",
    ];
    let words: Vec<&str> = s.split_whitespace().collect();
    let first = words.first()?.to_lowercase();
    if ["the", "my", "a"].contains(&first.as_str()) {
        let thing: Vec<&str> = words
            .iter()
            .take_while(|w| !VERBS.contains(&w.to_lowercase().as_str()))
            .copied()
            .collect();
        if (2..=4).contains(&thing.len()) {
            let lead = if first == "my" {
                "your"
            } else {
                first.as_str()
            };
            return Some(format!("{lead} {}", thing[1..].join(" ").to_lowercase()));
        }
    }
    Some(format!("\"{s}\""))
}

/// What a caller hears before the beep when the owner wrote no greeting of their own.
pub fn default_voicemail_greeting(business: &str) -> String {
    format!(
        "You've reached {business}. Sorry we can't take your call. Please leave your name, \
         your address and what you need after the tone, and we'll text you right back."
    )
}

/// The first text after a voicemail, instead of the generic greeting: it picks up from what the
/// caller said ("Got your voicemail about the leaking water heater") and goes on with the
/// assistant's next question.
pub fn voicemail_pickup(business: &str, fields: &crate::lead::LeadFields, next: &str) -> String {
    let about = fields
        .service_needed
        .as_deref()
        .and_then(job_phrase)
        .or_else(|| {
            fields
                .trade
                .as_deref()
                .and_then(trade_phrase)
                .map(str::to_owned)
        });
    let got = match about {
        Some(a) => format!("Got your voicemail about {a}."),
        None => "Got your voicemail, thanks.".to_owned(),
    };
    let hello = match fields.name.as_deref() {
        Some(n) => format!(
            "Hi {}, this is {business}.",
            n.split_whitespace().next().unwrap_or(n)
        ),
        None => format!("Hi, this is {business}."),
    };
    with_opt_out_line(&format!("{hello} {got} {}", next.trim()))
}

pub fn opt_out_confirmation(business: &str) -> String {
    format!(
        "{business}: you're unsubscribed and won't get more texts from us. Reply START to resubscribe."
    )
}

pub fn opt_in_confirmation(business: &str) -> String {
    format!("{business}: you're resubscribed. Reply STOP to opt out.")
}

pub fn help_reply(business: &str, business_phone: &str) -> String {
    format!("{business}: text us here or call {business_phone}. Reply STOP to opt out.")
}

/// How a follow-up names the job, by trade ("did you still need help with {this}?").
pub fn trade_phrase(trade: &str) -> Option<&'static str> {
    Some(match trade {
        "plumbing" => "your plumbing",
        "hvac" => "your heating or cooling",
        "electrical" => "the electrical work",
        "handyman" => "the repair",
        "cleaning" => "the cleaning",
        "auto" => "your vehicle",
        _ => return None,
    })
}

/// Follow-up `n` (0-based) after the caller went quiet, in seed 003 flow 2's words.
pub fn follow_up_text(
    n: usize,
    last: bool,
    business: &str,
    name: Option<&str>,
    service: Option<&str>,
) -> String {
    let service = service.map(|s| s.trim().trim_end_matches('.').to_owned());
    let body = if last {
        match &service {
            Some(s) => format!(
                "Last note from us: if you need help with {s} down the road, just text this number anytime. - {business}"
            ),
            None => format!(
                "Last note from us: if you need anything down the road, just text this number anytime. - {business}"
            ),
        }
    } else if n == 0 {
        match &service {
            Some(s) => format!(
                "Just checking in: did you still need help with {s}? Happy to get you scheduled. - {business}"
            ),
            None => format!(
                "Just checking in: did you still need help? Happy to get you scheduled. - {business}"
            ),
        }
    } else {
        let hey = name.map_or_else(
            || "Hey, ".into(),
            |n| format!("Hey {}, ", n.split_whitespace().next().unwrap_or(n)),
        );
        match &service {
            Some(s) => format!(
                "{hey}wanted to make sure you're taken care of. We have availability this week for {s}. Reply anytime! - {business}"
            ),
            None => format!(
                "{hey}wanted to make sure you're taken care of. We have availability this week. Reply anytime! - {business}"
            ),
        }
    };
    format!("{body} {OPT_OUT_LINE}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BusinessHours;

    fn profile() -> BusinessProfile {
        BusinessProfile {
            settings: Default::default(),
            name: "Acme Plumbing".into(),
            owner_name: "Dana".into(),
            business_phone: "+15125550100".into(),
            timezone: "America/Chicago".into(),
            business_hours: BusinessHours::default(),
            greeting: None,
            after_hours_greeting: None,
        }
    }

    #[test]
    fn default_greeting_names_business_and_ends_with_opt_out() {
        let g = default_greeting("Acme Plumbing");
        assert!(g.contains("Acme Plumbing"));
        assert!(g.ends_with("Reply STOP to opt out."));
    }

    #[test]
    fn picks_by_hours_in_business_timezone() {
        let p = profile();
        let open = DateTime::parse_from_rfc3339("2026-11-24T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let closed = DateTime::parse_from_rfc3339("2026-11-25T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(greeting_for(&p, open), default_greeting("Acme Plumbing"));
        assert_eq!(
            greeting_for(&p, closed),
            default_after_hours_greeting("Acme Plumbing")
        );
    }

    #[test]
    fn follow_ups_follow_flow_2_and_carry_opt_out() {
        let first = follow_up_text(0, false, "Acme", None, trade_phrase("plumbing"));
        assert!(
            first.starts_with("Just checking in")
                && first.contains("help with your plumbing?")
                && first.ends_with(OPT_OUT_LINE)
        );
        assert!(follow_up_text(1, false, "Acme", Some("Sam Lee"), None).starts_with("Hey Sam,"));
        assert!(follow_up_text(2, true, "Acme", None, None).starts_with("Last note from us"));
    }

    #[test]
    fn templates_are_filled_and_get_opt_out() {
        let mut p = profile();
        p.after_hours_greeting =
            Some("{owner} at {business} is off the clock, we'll text back at 8".into());
        let closed = DateTime::parse_from_rfc3339("2026-11-25T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            greeting_for(&p, closed),
            "Dana at Acme Plumbing is off the clock, we'll text back at 8 Reply STOP to opt out."
        );
        assert_eq!(
            render_greeting("Hi from {business}. Text STOP to quit", "A", "B"),
            "Hi from A. Text STOP to quit"
        );
        // The business's name is not an instruction: the line is still added.
        assert_eq!(
            render_greeting(
                "Hi, {business} here, sorry we missed you!",
                "One Stop Plumbing",
                "B"
            ),
            "Hi, One Stop Plumbing here, sorry we missed you! Reply STOP to opt out."
        );
    }
}

#[cfg(test)]
mod returning_tests {
    use super::*;

    fn profile() -> BusinessProfile {
        BusinessProfile {
            name: "Acme Plumbing".into(),
            owner_name: "Dana Rivera".into(),
            business_phone: "+15125550100".into(),
            timezone: "America/Chicago".into(),
            business_hours: serde_json::from_value(serde_json::json!({
                "monday": {"open": "00:00", "close": "23:59"}, "tuesday": {"open": "00:00", "close": "23:59"},
                "wednesday": {"open": "00:00", "close": "23:59"}, "thursday": {"open": "00:00", "close": "23:59"},
                "friday": {"open": "00:00", "close": "23:59"}, "saturday": {"open": "00:00", "close": "23:59"},
                "sunday": {"open": "00:00", "close": "23:59"}
            }))
            .unwrap(),
            greeting: None,
            after_hours_greeting: None,
            settings: crate::ConversationSettings::default(),
        }
    }

    #[test]
    fn a_known_caller_is_greeted_by_name_about_the_last_job() {
        let known = KnownCaller {
            name: Some("Sam Ortiz".into()),
            last_service: Some("My water heater is leaking".into()),
            called_today: false,
        };
        let text = returning_greeting(&profile(), Utc::now(), &known).unwrap();
        assert_eq!(
            text,
            "Welcome back, Sam! This is Acme Plumbing, sorry we missed your call. Is this about your water heater again? Reply STOP to opt out."
        );
        let earlier = KnownCaller {
            name: None,
            last_service: None,
            called_today: true,
        };
        let text = returning_greeting(&profile(), Utc::now(), &earlier).unwrap();
        assert!(
            text.starts_with("Hi, this is Acme Plumbing. I see you called earlier today too;"),
            "{text}"
        );
        let nameless = KnownCaller::default();
        assert_eq!(returning_greeting(&profile(), Utc::now(), &nameless), None);
    }
}
