//! Asking a customer for a review once the job is done (seed 003 §11): the same link for
//! everyone (review gating is against Google's policy and the FTC's rule on reviews), in the
//! business's words, with one reminder if the link was not opened.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::hours::QuietHours;

/// Everything one job's review request needs, recorded once per appointment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Our short link to the review form (`{PUBLIC_BASE_URL}/r/{token}`); none when the
    /// business has no Place ID, and then nothing is sent.
    pub link: Option<String>,
    pub phone: String,
    pub name: Option<String>,
    pub conversation_id: Option<Uuid>,
    pub business_name: String,
    pub message: Option<String>,
    pub delay_secs: i64,
    pub reminder_secs: i64,
    /// When the job was marked completed (its last change).
    pub completed_at: DateTime<Utc>,
    pub quiet: QuietHours,
    /// An earlier run already sent it (and the reminder).
    pub sent: bool,
    pub reminded: bool,
}

/// Google's own review form for a place: where every customer is sent.
pub fn google_review_url(place_id: &str) -> String {
    format!("https://search.google.com/local/writereview?placeid={place_id}")
}

/// Is this a Place ID as Google issues them (letters, digits, `_` and `-`)?
pub fn is_place_id(id: &str) -> bool {
    (10..=200).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The request: the owner's wording with `{name}`, `{business}` and `{link}` filled in (the
/// link added at the end if their words leave it out), or ours.
pub fn request_text(
    template: Option<&str>,
    name: Option<&str>,
    business: &str,
    link: &str,
) -> String {
    let first = name.and_then(|n| n.split_whitespace().next()).unwrap_or("");
    let Some(t) = template else {
        let hi = if first.is_empty() {
            "Hi!".to_owned()
        } else {
            format!("Hi {first}!")
        };
        return format!(
            "{hi} Thanks for choosing {business}. If you have a minute, a review helps a small business like ours a lot: {link}"
        );
    };
    let text = t
        .replace("{name}", first)
        .replace("{business}", business)
        .replace("{link}", link)
        .replace(" ,", ",")
        .replace("  ", " ");
    if t.contains("{link}") {
        text
    } else {
        format!("{} {link}", text.trim_end())
    }
}

/// The one reminder.
pub fn reminder_text(business: &str, link: &str) -> String {
    format!("A quick reminder from {business}: we'd love to hear how the job went. {link}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_in_our_words_or_the_owners() {
        let ours = request_text(None, Some("Sam Lee"), "Acme Plumbing", "https://x/r/abc");
        assert_eq!(
            ours,
            "Hi Sam! Thanks for choosing Acme Plumbing. If you have a minute, a review helps a small business like ours a lot: https://x/r/abc"
        );
        let theirs = request_text(
            Some("Thanks {name}, from all of us at {business}!"),
            None,
            "Acme",
            "L",
        );
        assert_eq!(theirs, "Thanks, from all of us at Acme! L");
        assert!(is_place_id("ChIJN1t_tDeuEmsRUsoyG83frY4"));
        assert!(!is_place_id("https://evil.example/"));
    }
}
