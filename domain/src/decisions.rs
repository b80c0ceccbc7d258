//! The conversation workflow's decisions as pure functions: when the next follow-up is due and
//! whether it is the last, and what a greeting's outcome does to the conversation. The workflow
//! holds the state and calls these; the unit tests below pin the rules without Temporal.

use chrono::{DateTime, Duration, Utc};

use crate::{BusinessProfile, ConversationStatus, Mode, SendOutcome};

/// Whatever the settings say: more than three unanswered follow-ups is pestering.
pub const MAX_FOLLOW_UPS: usize = 3;

/// What the follow-up decision reads from the conversation.
#[derive(Debug, Clone, Copy)]
pub struct FollowUpState<'a> {
    pub profile: &'a BusinessProfile,
    pub mode: Mode,
    pub emergency: bool,
    pub needs_owner: bool,
    /// The caller's last text is unanswered: they are waiting on us, not we on them.
    pub caller_waiting: bool,
    /// Our last message before the caller went quiet.
    pub anchor: Option<DateTime<Utc>>,
    /// Follow-ups sent since that message.
    pub sent: usize,
    /// Follow-ups sent in the whole conversation.
    pub sent_in_total: usize,
    /// The caller is done, or the owner has the qualified lead.
    pub over: bool,
}

/// The next follow-up (its number and when it is due, out of quiet hours), or `None` when no
/// follow-up is owed: the owner has it, an emergency or hand-off, the caller is waiting on us,
/// the configured ones or the cap of three are used up, or the caller is done.
pub fn next_follow_up(s: &FollowUpState) -> Option<(usize, DateTime<Utc>)> {
    let delays = &s.profile.settings.follow_up_secs;
    let owed = s.mode == Mode::Assistant
        && !s.emergency
        && !s.needs_owner
        && !s.caller_waiting
        && !s.over
        && s.sent < delays.len()
        && s.sent_in_total < MAX_FOLLOW_UPS;
    let anchor = s.anchor.filter(|_| owed)?;
    let due = anchor + Duration::seconds(delays[s.sent] as i64);
    let settings = &s.profile.settings;
    let due = match crate::hours::parse_timezone(&s.profile.timezone) {
        Some(tz) => {
            crate::hours::defer_out_of_quiet(tz, due, settings.quiet_start, settings.quiet_end)
        }
        None => due,
    };
    Some((s.sent, due))
}

/// Follow-up `n` is the last: the configured ones end, or it reaches the cap of three.
pub fn is_last_follow_up(n: usize, configured: usize, sent_before: usize) -> bool {
    n + 1 >= configured || sent_before + 1 >= MAX_FOLLOW_UPS
}

/// What the greeting's outcome does to the conversation: an opted-out caller (ours or the
/// carrier's 21610) closes it as opted out, any other refusal as undeliverable.
pub fn status_after_greeting(outcome: Option<&SendOutcome>) -> Option<ConversationStatus> {
    match outcome? {
        SendOutcome::Suppressed | SendOutcome::Rejected { code: 21610, .. } => {
            Some(ConversationStatus::ClosedOptedOut)
        }
        SendOutcome::Rejected { .. } => Some(ConversationStatus::ClosedUndeliverable),
        SendOutcome::Sent { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BusinessHours, ConversationSettings};

    fn profile(timezone: &str) -> BusinessProfile {
        BusinessProfile {
            name: "Acme Plumbing".into(),
            owner_name: "Dana".into(),
            business_phone: "+15125550100".into(),
            timezone: timezone.into(),
            business_hours: BusinessHours::default(),
            greeting: None,
            after_hours_greeting: None,
            settings: ConversationSettings::default(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn quiet_caller(profile: &BusinessProfile) -> FollowUpState<'_> {
        FollowUpState {
            profile,
            mode: Mode::Assistant,
            emergency: false,
            needs_owner: false,
            caller_waiting: false,
            // Noon in Chicago: the first follow-up (2 h) falls outside quiet hours.
            anchor: Some(at("2026-12-01T18:00:00Z")),
            sent: 0,
            sent_in_total: 0,
            over: false,
        }
    }

    #[test]
    fn the_first_follow_up_counts_from_our_last_message() {
        let p = profile("America/Chicago");
        let next = next_follow_up(&quiet_caller(&p));
        assert_eq!(next, Some((0, at("2026-12-01T20:00:00Z"))));
    }

    #[test]
    fn a_follow_up_due_in_quiet_hours_waits_for_the_morning() {
        let p = profile("America/Chicago");
        // 8 pm Chicago + 2 h = 10 pm, inside 21:00–08:00: deferred to 8 am.
        let s = FollowUpState {
            anchor: Some(at("2026-12-02T02:00:00Z")),
            ..quiet_caller(&p)
        };
        assert_eq!(next_follow_up(&s), Some((0, at("2026-12-02T14:00:00Z"))));
    }

    #[test]
    fn no_follow_up_when_someone_else_has_the_conversation_or_the_caller_is_done() {
        let p = profile("America/Chicago");
        let base = quiet_caller(&p);
        for s in [
            FollowUpState {
                mode: Mode::Owner,
                ..base
            },
            FollowUpState {
                emergency: true,
                ..base
            },
            FollowUpState {
                needs_owner: true,
                ..base
            },
            FollowUpState {
                caller_waiting: true,
                ..base
            },
            FollowUpState { over: true, ..base },
            FollowUpState {
                anchor: None,
                ..base
            },
            FollowUpState { sent: 3, ..base },
            FollowUpState {
                sent_in_total: 3,
                ..base
            },
        ] {
            assert_eq!(next_follow_up(&s), None, "{s:?}");
        }
    }

    #[test]
    fn the_third_follow_up_is_the_last_whatever_the_settings() {
        assert!(!is_last_follow_up(0, 3, 0));
        assert!(is_last_follow_up(2, 3, 2));
        assert!(is_last_follow_up(0, 1, 0));
        assert!(is_last_follow_up(1, 5, 2), "three sent in the conversation");
    }

    #[test]
    fn a_refused_greeting_closes_the_conversation() {
        let refused = |code| SendOutcome::Rejected {
            code,
            message: String::new(),
        };
        assert_eq!(
            status_after_greeting(Some(&SendOutcome::Suppressed)),
            Some(ConversationStatus::ClosedOptedOut)
        );
        assert_eq!(
            status_after_greeting(Some(&refused(21610))),
            Some(ConversationStatus::ClosedOptedOut)
        );
        assert_eq!(
            status_after_greeting(Some(&refused(21614))),
            Some(ConversationStatus::ClosedUndeliverable)
        );
        assert_eq!(status_after_greeting(None), None);
    }
}
