//! An email address, as sign-up and invitations take it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An email address: trimmed, lower-cased, at most 254 bytes, one `@` with someone before it
/// and a dot in the domain after it, no whitespace. Built only by [`Email::parse`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an email address")]
pub struct EmailError;

impl Email {
    /// The longest address SMTP carries.
    pub const MAX_LEN: usize = 254;

    /// The form addresses are compared in: trimmed and lower-cased (valid or not).
    pub fn normalize(raw: &str) -> String {
        raw.trim().to_lowercase()
    }

    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let s = Self::normalize(raw);
        let shaped = s.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && !host.contains('@') && host.contains('.')
        });
        if s.len() <= Self::MAX_LEN && shaped && !s.contains(char::is_whitespace) {
            Ok(Self(s))
        } else {
            Err(EmailError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, EmailError> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lower_cases() {
        let e = Email::parse("  Owner@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "owner@example.com");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "owner",
            "@example.com",
            "owner@example",
            "owner@@example.com",
            "a@b@example.com",
            "own er@example.com",
            long.as_str(),
        ] {
            assert_eq!(
                Email::parse(bad),
                Err(EmailError),
                "{bad} should be rejected"
            );
        }
    }
}
