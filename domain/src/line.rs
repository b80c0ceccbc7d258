//! Whether a caller's line can be texted, from what Twilio Lookup said about it.

use serde::{Deserialize, Serialize};

/// Lookup's `sms_pumping_risk_score` bands are low (0–59), mild, moderate and high (90–100):
/// only "high" numbers, likely part of an SMS-pumping (artificially inflated traffic) scheme,
/// go untexted. Twilio advises caution with the score for US and Canadian numbers, so the bar
/// is the top band, never the middle ones.
pub const HIGH_PUMPING_RISK: i32 = 90;

/// What the conversation does with a caller's line before the first text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineVerdict {
    /// Mobile or VoIP (or Lookup could not tell): text as usual.
    Textable,
    /// A landline or similar cannot take texts: the owner gets a "call back" task instead.
    Landline,
    /// Lookup flags the number as likely SMS pumping: no text; the owner hears of the call.
    PumpingRisk,
}

/// Line types that cannot receive texts. VoIP numbers usually can, and an unknown type is given
/// the benefit of the doubt (a failed send is caught by the carrier's 21614 anyway).
const NOT_TEXTABLE: [&str; 5] = ["landline", "pager", "voicemail", "tollFree", "uan"];

pub fn verdict(line_type: Option<&str>, sms_pumping_risk: Option<i32>) -> LineVerdict {
    if sms_pumping_risk.is_some_and(|r| r >= HIGH_PUMPING_RISK) {
        return LineVerdict::PumpingRisk;
    }
    match line_type {
        Some(t) if NOT_TEXTABLE.contains(&t) => LineVerdict::Landline,
        _ => LineVerdict::Textable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landlines_and_pumping_risks_are_not_texted() {
        assert_eq!(verdict(Some("mobile"), Some(3)), LineVerdict::Textable);
        assert_eq!(verdict(Some("nonFixedVoip"), None), LineVerdict::Textable);
        assert_eq!(verdict(None, None), LineVerdict::Textable);
        assert_eq!(verdict(Some("landline"), Some(0)), LineVerdict::Landline);
        assert_eq!(verdict(Some("tollFree"), None), LineVerdict::Landline);
        assert_eq!(verdict(Some("mobile"), Some(92)), LineVerdict::PumpingRisk);
        assert_eq!(verdict(Some("mobile"), Some(80)), LineVerdict::Textable);
    }
}
