//! Proving the number works (seed 004 VTCR 1.3–1.5): the platform rings the business's own
//! phone, the business lets it ring out, and the carrier's no-answer forwarding should deliver
//! the call to the business's NeverMissCall number. What the test call's outcome means, and
//! what to do about a failure on the owner's carrier, in plain words.

use crate::E164;

/// How long a test call may take before it counts as failed.
pub const TEST_WINDOW_SECS: i32 = 45;
/// How long the platform lets the business phone ring. Carriers forward an unanswered call
/// after 20–30 s, so this must outlast that and still end inside the window.
pub const RING_SECS: u32 = 40;

/// The business phone's carrier: each turns no-answer forwarding on with its own dial code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    Att,
    TMobile,
    Verizon,
    /// A landline or VoIP service: forwarding is set in the provider's settings.
    Other,
}

impl Carrier {
    pub const ALL: [Self; 4] = [Self::Att, Self::TMobile, Self::Verizon, Self::Other];

    pub fn code(self) -> &'static str {
        match self {
            Self::Att => "att",
            Self::TMobile => "tmobile",
            Self::Verizon => "verizon",
            Self::Other => "other",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Att => "AT&T",
            Self::TMobile => "T-Mobile",
            Self::Verizon => "Verizon",
            Self::Other => "Landline or VoIP",
        }
    }

    /// What to dial on the business phone so unanswered calls forward to `to`.
    pub fn turn_on(self, to: &E164) -> Option<String> {
        let n = to.as_str();
        match self {
            // GSM "all conditional" forwarding: no answer, busy and unreachable at once.
            Self::Att | Self::TMobile => Some(format!("**004*{n}#")),
            Self::Verizon => Some(format!("*71{}", n.trim_start_matches("+1"))),
            Self::Other => None,
        }
    }

    pub fn turn_off(self) -> Option<&'static str> {
        match self {
            Self::Att | Self::TMobile => Some("##004#"),
            Self::Verizon => Some("*73"),
            Self::Other => None,
        }
    }

    /// One sentence: how to turn forwarding on for this carrier.
    fn how_to_turn_on(self, to: &E164) -> String {
        match self.turn_on(to) {
            Some(code) => {
                format!("From your business phone, dial {code} and wait for the confirmation tone.")
            }
            None => format!(
                "In your phone provider's settings, forward calls that are busy or unanswered to {}.",
                crate::phone::display(to.as_str())
            ),
        }
    }
}

/// How a test call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The forwarded call reached the business's number: forwarding works.
    Verified,
    /// The phone rang out and nothing forwarded it.
    RangOut,
    /// Someone, or the phone's voicemail, picked up before forwarding could.
    Answered,
    /// The line was busy or the call was declined.
    Busy,
    /// The business phone could not be reached at all.
    Unreachable,
    /// Nothing came back inside the window.
    TimedOut,
}

impl Outcome {
    pub const ALL: [Self; 6] = [
        Self::Verified,
        Self::RangOut,
        Self::Answered,
        Self::Busy,
        Self::Unreachable,
        Self::TimedOut,
    ];

    /// The outcome a final Twilio `CallStatus` of the platform's outgoing call means when the
    /// forwarded call never arrived; `None` while the call is still going (or for unknown words).
    pub fn from_call_status(status: &str) -> Option<Self> {
        match status {
            "no-answer" => Some(Self::RangOut),
            "completed" => Some(Self::Answered),
            "busy" => Some(Self::Busy),
            "failed" | "canceled" => Some(Self::Unreachable),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::RangOut => "rang_out",
            Self::Answered => "answered",
            Self::Busy => "busy",
            Self::Unreachable => "unreachable",
            Self::TimedOut => "timed_out",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.code() == code)
    }

    /// What happened, in one line.
    pub fn headline(self) -> &'static str {
        match self {
            Self::Verified => "Forwarding works: unanswered calls reach your NeverMissCall number.",
            Self::RangOut => "Your phone rang out, but the call was not forwarded.",
            Self::Answered => "The call was answered before it could forward.",
            Self::Busy => "Your line was busy, or the call was declined.",
            Self::Unreachable => "We could not reach your business phone.",
            Self::TimedOut => "No answer from the phone network within 45 seconds.",
        }
    }

    /// What to do next on this carrier, forwarding to `to` (the NeverMissCall number).
    pub fn advice(self, carrier: Carrier, to: &E164) -> Vec<String> {
        let on = carrier.how_to_turn_on(to);
        match self {
            Self::Verified => vec![],
            Self::RangOut => vec![
                "Forwarding on no answer is not on yet.".into(),
                on,
                "Then test again and let it ring without answering.".into(),
            ],
            Self::Answered => {
                let mut v = vec!["If you did not pick up, your voicemail answered first, so callers reach voicemail instead of us.".into()];
                v.push(match carrier {
                    Carrier::Att | Carrier::TMobile => format!("{on} This forwarding replaces voicemail on unanswered calls."),
                    Carrier::Verizon => format!("{on} If voicemail still answers, ask Verizon to turn off \"voicemail on no answer\"."),
                    Carrier::Other => format!("{on} Turn voicemail off, or make forwarding happen before it."),
                });
                v.push("Test again and do not answer.".into());
                v
            }
            Self::Busy => vec![
                "Let the test ring: declining it sends it to busy, not to forwarding.".into(),
                on,
            ],
            Self::Unreachable => vec![
                "Check that your business phone in Settings is the number your customers call today.".into(),
                "If it is, the phone may be off or out of coverage: try again in a minute.".into(),
            ],
            Self::TimedOut => vec![
                "Carriers can take a few minutes to turn forwarding on after you dial the code. Wait a minute and test again.".into(),
                on,
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n() -> E164 {
        E164::parse("+15125550100").unwrap()
    }

    #[test]
    fn each_carrier_has_its_code() {
        assert_eq!(
            Carrier::Att.turn_on(&n()).as_deref(),
            Some("**004*+15125550100#")
        );
        assert_eq!(
            Carrier::Verizon.turn_on(&n()).as_deref(),
            Some("*715125550100")
        );
        assert_eq!(Carrier::Other.turn_on(&n()), None);
        for c in Carrier::ALL {
            assert_eq!(Carrier::parse(c.code()), Some(c));
        }
    }

    #[test]
    fn final_call_statuses_map_to_outcomes() {
        assert_eq!(
            Outcome::from_call_status("no-answer"),
            Some(Outcome::RangOut)
        );
        assert_eq!(
            Outcome::from_call_status("completed"),
            Some(Outcome::Answered)
        );
        assert_eq!(Outcome::from_call_status("ringing"), None);
        assert_eq!(Outcome::from_call_status("in-progress"), None);
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.code()), Some(o));
        }
    }

    #[test]
    fn advice_names_the_carriers_code() {
        let a = Outcome::RangOut.advice(Carrier::Verizon, &n());
        assert!(a.iter().any(|l| l.contains("*715125550100")), "{a:?}");
        let a = Outcome::Answered.advice(Carrier::Other, &n());
        assert!(a.iter().any(|l| l.contains("(512) 555-0100")), "{a:?}");
        assert!(Outcome::Verified.advice(Carrier::Att, &n()).is_empty());
    }
}
