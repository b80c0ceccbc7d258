//! The team's side of the business number: what an owner's or technician's text means, which
//! alerts reach them on which channel, and when their phone is quiet. Texts from a member's
//! phone are never a caller's and never a lead.

use serde::{Deserialize, Serialize};

use crate::Keyword;

/// Every kind of alert a member can choose a channel for, as stored in `notifications.kind`.
pub const ALERT_KINDS: &[(&str, &str)] = &[
    ("missed_call", "Missed calls"),
    ("caller_text", "Caller texts"),
    ("voicemail", "Voicemails"),
    ("agent_call", "Calls the AI voice agent took"),
    ("call_back", "Landline callers to call back"),
    ("emergency", "Emergencies"),
    ("needs_owner", "Asks for you"),
    ("qualified", "Qualified leads"),
    ("no_slots", "No slot fits"),
    ("needs_quote", "Needs a quote"),
    ("booked", "Bookings"),
    ("confirmed", "Confirmations"),
    ("cancelled", "Cancellations"),
    ("registration_hold", "Texts held"),
];

/// True when `kind` is one of [`ALERT_KINDS`].
pub fn is_alert_kind(kind: &str) -> bool {
    ALERT_KINDS.iter().any(|(k, _)| *k == kind)
}

/// The end of every SMS alert, after its number.
pub const ALERT_ENDING: &str = "Reply to text them back. HELP for commands.";

/// The one-line help every unknown command gets.
pub const COMMANDS_LINE: &str = "Reply to text them. #n TEXT answers alert n, AI hands back, CALL gets their number, ? lists who waits.";

/// HELP's answer.
pub const HELP_TEXT: &str = "NeverMissCall team commands: reply to an alert to text that caller from the business number (you take over). #n TEXT answers alert #n. AI hands the latest back to the assistant. CALL sends a tap-to-call link to the caller. ? lists conversations waiting on you. STOP ends alert texts.";

/// What a member's text asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum TeamCommand {
    /// Text the caller of the latest alert sent to this phone.
    Reply {
        text: String,
    },
    /// Text the caller of alert #number.
    Answer {
        number: i32,
        text: String,
    },
    /// Hand the latest conversation back to the assistant.
    HandBack,
    /// Send the latest caller's number.
    Call,
    /// List the conversations waiting on the team.
    Waiting,
    Help,
    /// No more alert texts to this phone (the carrier stops them too).
    Stop,
    /// Alert texts to this phone again.
    Start,
    /// Looked like a command but is none: one line of help, never an assistant answer.
    Unknown,
}

impl TeamCommand {
    pub fn parse(body: &str) -> Self {
        let text = body.trim();
        match Keyword::classify(text) {
            Some(Keyword::OptOut) => return Self::Stop,
            Some(Keyword::Help) => return Self::Help,
            Some(Keyword::OptIn) => return Self::Start,
            None => {}
        }
        if let Some(rest) = text.strip_prefix('#') {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let words = rest[digits.len()..].trim();
            return match digits.parse::<i32>() {
                Ok(number) if !words.is_empty() => Self::Answer {
                    number,
                    text: words.to_owned(),
                },
                _ => Self::Unknown,
            };
        }
        match text.to_ascii_uppercase().as_str() {
            "AI" | "BOT" => Self::HandBack,
            "CALL" => Self::Call,
            "?" => Self::Waiting,
            "" => Self::Unknown,
            _ => Self::Reply {
                text: text.to_owned(),
            },
        }
    }
}

/// Quiet hours as minutes after local midnight; `start > end` spans midnight (21:00–07:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub start: u16,
    pub end: u16,
}

impl QuietHours {
    /// Whether `minute` (after local midnight) falls inside; an empty span is never quiet.
    pub fn contains(self, minute: u16) -> bool {
        if self.start <= self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }

    /// `"21:30"` → minutes; `None` for anything else.
    pub fn parse_clock(s: &str) -> Option<u16> {
        let (h, m) = s.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60 && s.trim().len() <= 5).then_some(h * 60 + m)
    }

    pub fn clock(minute: u16) -> String {
        format!("{:02}:{:02}", minute / 60, minute % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_in_the_trade_s_words() {
        use TeamCommand as C;
        assert_eq!(C::parse(" ai "), C::HandBack);
        assert_eq!(C::parse("CALL"), C::Call);
        assert_eq!(C::parse("?"), C::Waiting);
        assert_eq!(C::parse("help"), C::Help);
        assert_eq!(C::parse("Stop"), C::Stop);
        assert_eq!(
            C::parse("#12 on my way at 3"),
            C::Answer {
                number: 12,
                text: "on my way at 3".into()
            }
        );
        assert_eq!(C::parse("#12"), C::Unknown);
        assert_eq!(C::parse("#x hi"), C::Unknown);
        assert_eq!(C::parse("   "), C::Unknown);
        assert_eq!(
            C::parse("Be there at 3, call me"),
            C::Reply {
                text: "Be there at 3, call me".into()
            }
        );
    }

    #[test]
    fn quiet_hours_span_midnight() {
        let night = QuietHours {
            start: 21 * 60,
            end: 7 * 60,
        };
        assert!(night.contains(22 * 60));
        assert!(night.contains(6 * 60 + 59));
        assert!(!night.contains(7 * 60));
        assert!(!night.contains(12 * 60));
        let lunch = QuietHours {
            start: 12 * 60,
            end: 13 * 60,
        };
        assert!(lunch.contains(12 * 60 + 30) && !lunch.contains(13 * 60));
        assert_eq!(QuietHours::parse_clock("21:30"), Some(21 * 60 + 30));
        assert_eq!(QuietHours::parse_clock("24:00"), None);
        assert_eq!(QuietHours::clock(7 * 60 + 5), "07:05");
    }
}
