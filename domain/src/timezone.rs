//! A business's timezone: an IANA name, checked once where it comes in.

use std::fmt;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A valid IANA timezone ("America/Chicago"). Built only by [`Timezone::parse`]; (de)serialized
/// as its name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timezone(Tz);

/// The name that is not a timezone, for the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IANA timezone")]
pub struct TimezoneError(pub String);

impl Timezone {
    /// The name exactly as IANA spells it: no trimming, no case folding.
    pub fn parse(name: &str) -> Result<Self, TimezoneError> {
        name.parse::<Tz>()
            .map(Self)
            .map_err(|_| TimezoneError(name.to_owned()))
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl From<Tz> for Timezone {
    fn from(tz: Tz) -> Self {
        Self(tz)
    }
}

impl TryFrom<String> for Timezone {
    type Error = TimezoneError;
    fn try_from(s: String) -> Result<Self, TimezoneError> {
        Self::parse(&s)
    }
}

impl From<Timezone> for String {
    fn from(t: Timezone) -> String {
        t.name().to_owned()
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timezone({})", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iana_names_and_says_which_is_not_one() {
        let chicago = Timezone::parse("America/Chicago").unwrap();
        assert_eq!(chicago.tz(), chrono_tz::America::Chicago);
        assert_eq!(chicago.to_string(), "America/Chicago");
        let e = Timezone::parse("Europe/Nowhere").unwrap_err();
        assert_eq!(e.to_string(), "`Europe/Nowhere` is not an IANA timezone");
        assert!(Timezone::parse(" America/Chicago").is_err());
    }

    #[test]
    fn serializes_as_its_name() {
        let tz: Timezone = serde_json::from_str("\"Europe/London\"").unwrap();
        assert_eq!(serde_json::to_string(&tz).unwrap(), "\"Europe/London\"");
        assert!(serde_json::from_str::<Timezone>("\"Mars/Olympus\"").is_err());
    }
}
