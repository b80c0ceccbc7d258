use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number in E.164 form (`+` then 7–15 digits, no leading zero).
/// Built only by [`E164::parse`]; everything inside the system trusts it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct E164(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an E.164 phone number (expected + and 7 to 15 digits, like +15125550100)")]
pub struct PhoneError;

impl E164 {
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        let s = raw.trim();
        let digits = s.strip_prefix('+').ok_or(PhoneError)?;
        let ok = (7..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(PhoneError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: the last four digits only (enough to match a caller's complaint, not to call them).
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks any phone-like string for logs, valid or not.
pub fn mask(raw: &str) -> String {
    let n = raw.chars().count();
    if n <= 6 {
        return "*".repeat(n);
    }
    raw.chars()
        .enumerate()
        .map(|(i, c)| if i >= n - 4 { c } else { '*' })
        .collect()
}

/// A number as people read it: `(512) 555-0123` for the US and Canada (`+1` and ten digits),
/// anything else as stored (E.164 is what the rest of the world dials from abroad).
pub fn display(raw: &str) -> String {
    let n = raw.trim();
    match n.strip_prefix("+1") {
        Some(d) if d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit()) => {
            format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
        }
        _ => n.to_owned(),
    }
}

/// A caller as an alert names them: "Jane Doe (512) 555-0123", or the number alone.
pub fn named(name: Option<&str>, raw: &str) -> String {
    let number = display(raw);
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("{name} {number}"),
        None => number,
    }
}

impl TryFrom<String> for E164 {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, PhoneError> {
        Self::parse(&s)
    }
}

impl From<E164> for String {
    fn from(p: E164) -> String {
        p.0
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug never prints the full number: Debug output ends up in logs.
impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_numbers() {
        assert_eq!(
            E164::parse("+15125550100").unwrap().as_str(),
            "+15125550100"
        );
        assert_eq!(
            E164::parse(" +447911123456 ").unwrap().as_str(),
            "+447911123456"
        );
    }

    #[test]
    fn rejects_invalid_numbers() {
        for bad in [
            "",
            "5125550100",
            "+0125550100",
            "+1",
            "+1512555010012345",
            "+1 512 555",
            "anonymous",
            "+266696687a",
        ] {
            assert!(E164::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn reads_as_people_write_it() {
        assert_eq!(display("+15125550123"), "(512) 555-0123");
        assert_eq!(display(" +14165550199 "), "(416) 555-0199");
        assert_eq!(display("+447911123456"), "+447911123456");
        assert_eq!(display("+1512555"), "+1512555");
        assert_eq!(display("anonymous"), "anonymous");
    }

    #[test]
    fn masks_for_logs() {
        let p = E164::parse("+15125550100").unwrap();
        assert_eq!(p.masked(), "********0100");
        assert_eq!(mask("12"), "**");
        assert!(!format!("{p:?}").contains("5550100"));
    }
}
