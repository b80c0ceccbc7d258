//! Billing (seed 000: one plan, `standard`, through Stripe): what a subscription's status means
//! for the business. Automated texts go while trialing or active, and while past due for a
//! grace period (with a banner); a business that never subscribed, or whose subscription ended,
//! keeps every call, lead and message but its callers are not texted.

use chrono::{DateTime, Utc};

/// A Stripe subscription status, plus `none` (billing is on and the business has not checked
/// out yet). A business with no status at all is not billed (billing off, or made by operations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    None,
    Trialing,
    Active,
    PastDue,
    Unpaid,
    Incomplete,
    IncompleteExpired,
    Canceled,
    Paused,
}

impl Status {
    pub const ALL: [Self; 9] = [
        Self::None,
        Self::Trialing,
        Self::Active,
        Self::PastDue,
        Self::Unpaid,
        Self::Incomplete,
        Self::IncompleteExpired,
        Self::Canceled,
        Self::Paused,
    ];

    /// Stripe's word (and ours for `none`).
    pub fn code(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Unpaid => "unpaid",
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Canceled => "canceled",
            Self::Paused => "paused",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// What the business gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Texting as usual.
    Serve,
    /// Texting, with a banner: the card was declined and the grace period runs.
    Grace,
    /// Calls and leads are recorded and the owner alerted, but callers are not texted.
    Stop,
}

/// The gate for a status; `grace_until` is when a past-due subscription stops texting.
pub fn gate(
    status: Option<Status>,
    grace_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Gate {
    match status {
        None | Some(Status::Trialing | Status::Active) => Gate::Serve,
        Some(Status::PastDue) if grace_until.is_none_or(|g| now < g) => Gate::Grace,
        Some(_) => Gate::Stop,
    }
}

/// The owner's banner for a status, in plain words; `None` when all is well.
pub fn banner(status: Status, gate: Gate) -> Option<&'static str> {
    match (status, gate) {
        (Status::None, _) => Some("Start your free trial to text your callers."),
        (_, Gate::Grace) => Some("Your card was declined. Update it to keep texting your callers."),
        (Status::Canceled | Status::IncompleteExpired, _) => Some(
            "Your plan has ended: calls are still recorded, but callers are not texted. Start it again any time.",
        ),
        (_, Gate::Stop) => Some(
            "Payment is needed: calls are still recorded, but callers are not texted until the card is updated.",
        ),
        _ => None,
    }
}

/// Whether the owner fixes it in the Customer Portal (a card to update) rather than checking
/// out again (no subscription, or one that has ended for good).
pub fn needs_checkout(status: Status) -> bool {
    matches!(
        status,
        Status::None | Status::Canceled | Status::IncompleteExpired
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_due_serves_until_the_grace_ends() {
        let now = Utc::now();
        let later = now + chrono::Duration::days(3);
        assert_eq!(gate(Some(Status::PastDue), Some(later), now), Gate::Grace);
        assert_eq!(gate(Some(Status::PastDue), Some(now), later), Gate::Stop);
        assert_eq!(gate(None, None, now), Gate::Serve, "not billed");
        assert_eq!(gate(Some(Status::Trialing), None, now), Gate::Serve);
        for stopped in [
            Status::None,
            Status::Canceled,
            Status::Unpaid,
            Status::Paused,
        ] {
            assert_eq!(gate(Some(stopped), None, now), Gate::Stop);
        }
    }

    #[test]
    fn banners_and_fixes() {
        let now = Utc::now();
        for s in Status::ALL {
            assert_eq!(Status::parse(s.code()), Some(s));
            let g = gate(Some(s), Some(now + chrono::Duration::days(1)), now);
            assert_eq!(banner(s, g).is_none(), g == Gate::Serve, "{s:?}");
        }
        assert!(needs_checkout(Status::Canceled));
        assert!(!needs_checkout(Status::PastDue));
    }
}
