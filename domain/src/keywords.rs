/// Carrier keywords, matched on the whole message, any case, surrounding whitespace ignored
/// (the CTIA / Twilio rule; "stop texting me about the sink" is *not* an opt-out keyword).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
}

impl Keyword {
    pub fn classify(body: &str) -> Option<Keyword> {
        let word = body.trim().to_ascii_uppercase();
        match word.as_str() {
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "OPTOUT" | "REVOKE" => {
                Some(Keyword::OptOut)
            }
            "START" | "YES" | "UNSTOP" => Some(Keyword::OptIn),
            "HELP" | "INFO" => Some(Keyword::Help),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_message_any_case() {
        assert_eq!(Keyword::classify("  stop \n"), Some(Keyword::OptOut));
        assert_eq!(Keyword::classify("Unsubscribe"), Some(Keyword::OptOut));
        assert_eq!(Keyword::classify("revoke"), Some(Keyword::OptOut));
        assert_eq!(Keyword::classify("START"), Some(Keyword::OptIn));
        assert_eq!(Keyword::classify("unstop"), Some(Keyword::OptIn));
        assert_eq!(Keyword::classify("info"), Some(Keyword::Help));
        assert_eq!(Keyword::classify("stop by tomorrow?"), None);
        assert_eq!(Keyword::classify("my sink is leaking"), None);
        assert_eq!(Keyword::classify(""), None);
    }
}
