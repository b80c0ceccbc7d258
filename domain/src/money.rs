//! Money, in whole cents: prices are integers from the owner's catalog to the caller's text.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A non-negative amount of money in cents. Shown as `$12.50`, or `$12` for whole dollars (how
/// the assistant quotes prices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i32", into = "i32")]
pub struct Cents(i32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must not be negative")]
pub struct CentsError;

impl Cents {
    pub const ZERO: Self = Self(0);

    pub fn new(cents: i32) -> Result<Self, CentsError> {
        if cents >= 0 {
            Ok(Self(cents))
        } else {
            Err(CentsError)
        }
    }

    /// An optional amount as it arrives in a request: absent stays absent, negative is refused.
    pub fn new_optional(cents: Option<i32>) -> Result<Option<Self>, CentsError> {
        cents.map(Self::new).transpose()
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

impl TryFrom<i32> for Cents {
    type Error = CentsError;
    fn try_from(cents: i32) -> Result<Self, CentsError> {
        Self::new(cents)
    }
}

impl From<Cents> for i32 {
    fn from(c: Cents) -> i32 {
        c.0
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (dollars, cents) = (self.0 / 100, self.0 % 100);
        if cents == 0 {
            write!(f, "${dollars}")
        } else {
            write!(f, "${dollars}.{cents:02}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_dollars_and_cents() {
        assert_eq!(Cents::new(1250).unwrap().to_string(), "$12.50");
        assert_eq!(Cents::new(1205).unwrap().to_string(), "$12.05");
        assert_eq!(Cents::new(14900).unwrap().to_string(), "$149");
        assert_eq!(Cents::ZERO.to_string(), "$0");
    }

    #[test]
    fn refuses_negative_amounts() {
        assert_eq!(Cents::new(-1), Err(CentsError));
        assert_eq!(Cents::new_optional(None), Ok(None));
        assert_eq!(Cents::new_optional(Some(-5)), Err(CentsError));
        assert!(serde_json::from_str::<Cents>("-5").is_err());
        assert_eq!(serde_json::from_str::<Cents>("150").unwrap().get(), 150);
    }
}
