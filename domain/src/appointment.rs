//! What callers text back about a booked appointment, and the texts we send about it.

use serde::{Deserialize, Serialize};

/// A caller's answer to a confirmation or reminder: "Reply C to confirm, R to reschedule, X to cancel".
/// A bare CANCEL is a carrier opt-out keyword (it unsubscribes the caller), so we ask for X and also
/// accept "cancel my appointment" and the like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentReply {
    Confirm,
    Reschedule,
    Cancel,
}

impl AppointmentReply {
    pub fn classify(text: &str) -> Option<Self> {
        let t = text.trim().trim_end_matches(['.', '!']).to_lowercase();
        match t.as_str() {
            "c" | "confirm" | "confirmed" | "c please" => return Some(Self::Confirm),
            "r" | "reschedule" | "resched" | "move it" => return Some(Self::Reschedule),
            "x" => return Some(Self::Cancel),
            _ => {}
        }
        let words: Vec<&str> = t
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let about_it = words
            .iter()
            .any(|w| matches!(*w, "appointment" | "appt" | "booking" | "visit" | "it"));
        if about_it
            && words
                .iter()
                .any(|w| matches!(*w, "cancel" | "cancelled" | "canceled"))
        {
            return Some(Self::Cancel);
        }
        if about_it
            && words
                .iter()
                .any(|w| matches!(*w, "reschedule" | "move" | "change"))
        {
            return Some(Self::Reschedule);
        }
        None
    }
}

pub const REPLY_OPTIONS: &str = "Reply C to confirm, R to reschedule or X to cancel.";

/// The booking confirmation: service, day, date, window, price, address.
pub fn confirmation_text(
    business: &str,
    service: &str,
    when: &str,
    price: Option<&str>,
    address: Option<&str>,
) -> String {
    let price = price.map_or_else(
        || " The price will be confirmed by the owner.".into(),
        |p| format!(" Price: {p}."),
    );
    let address = address.map(|a| format!(" at {a}")).unwrap_or_default();
    format!("You're booked with {business}: {service}, {when}{address}.{price} {REPLY_OPTIONS}")
}

pub fn reminder_text(business: &str, service: &str, when: &str, minutes_before: i64) -> String {
    let lead = if minutes_before >= 1440 {
        "tomorrow"
    } else {
        "soon"
    };
    format!("Reminder from {business}: {service} {lead}, {when}. {REPLY_OPTIONS}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_to_a_reminder() {
        for (text, want) in [
            ("C", Some(AppointmentReply::Confirm)),
            (" c ", Some(AppointmentReply::Confirm)),
            ("Confirm!", Some(AppointmentReply::Confirm)),
            ("R", Some(AppointmentReply::Reschedule)),
            (
                "can we reschedule the appointment?",
                Some(AppointmentReply::Reschedule),
            ),
            ("x", Some(AppointmentReply::Cancel)),
            (
                "please cancel my appointment",
                Some(AppointmentReply::Cancel),
            ),
            ("cancel it", Some(AppointmentReply::Cancel)),
            // A bare CANCEL is the carrier's opt-out keyword, handled before this.
            ("cancel", None),
            ("the sink is worse", None),
            ("see you then", None),
        ] {
            assert_eq!(AppointmentReply::classify(text), want, "{text}");
        }
    }

    #[test]
    fn confirmation_names_everything() {
        let t = confirmation_text(
            "Ace Plumbing",
            "Sink Clog",
            "Tue Dec 1, 8am–9am",
            Some("$149–$249"),
            Some("12 Oak St"),
        );
        assert_eq!(
            t,
            "You're booked with Ace Plumbing: Sink Clog, Tue Dec 1, 8am–9am at 12 Oak St. Price: $149–$249. Reply C to confirm, R to reschedule or X to cancel."
        );
    }
}
