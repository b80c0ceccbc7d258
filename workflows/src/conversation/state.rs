//! What a conversation remembers, what its query shows, and what the owner sends it.

use chrono::{DateTime, Utc};
use nmc_domain::lead::{Field, LeadFields};
use nmc_domain::line::LineVerdict;
use nmc_domain::{BusinessProfile, ConversationStatus, Mode, Waiting};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::booking::PendingOffer;

/// The conversation's memory beyond the inbox, carried across continue-as-new.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Memory {
    pub mode: Mode,
    pub fields: LeadFields,
    pub asked: Option<Field>,
    pub replied_once: bool,
    pub emergency: bool,
    pub needs_owner: bool,
    pub qualified_notified: bool,
    /// Our last message before the caller went quiet: follow-ups count from here.
    pub follow_up_anchor: Option<DateTime<Utc>>,
    pub follow_ups_sent: usize,
    pub last_activity: Option<DateTime<Utc>>,
    /// The caller's latest text and whether anyone answered it.
    pub last_caller_text: Option<PendingText>,
    pub profile: Option<BusinessProfile>,
    /// Slots offered and not yet picked.
    pub offer: Option<PendingOffer>,
    /// The appointment this conversation booked.
    pub booked: Option<Uuid>,
    /// Follow-ups sent in this conversation, across the caller's replies (at most three).
    pub follow_ups_total: usize,
    /// The caller is done (wrong number, declined) or the owner has the qualified lead.
    pub follow_ups_over: bool,
    /// Lookup's verdict on the caller's line, from before the first text.
    #[serde(default)]
    pub line: Option<LineVerdict>,
    /// The caller went to voicemail: the first text waits for the message until then.
    #[serde(default)]
    pub voicemail_wait: Option<VoicemailWait>,
    /// The AI voice agent booked `booked` during the call (its confirmation is texted).
    #[serde(default)]
    pub booked_by_agent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VoicemailWait {
    pub call_sid: String,
    pub until: DateTime<Utc>,
}

impl Memory {
    /// We sent the caller something: follow-ups (if the caller stays quiet) count from here.
    pub fn note_outbound(&mut self, at: DateTime<Utc>) {
        self.follow_up_anchor = Some(at);
        self.follow_ups_sent = 0;
        self.last_activity = Some(at);
    }

    /// Our reply went out: the caller's last text is answered.
    pub fn note_answered(&mut self, at: DateTime<Utc>) {
        self.replied_once = true;
        if let Some(t) = self.last_caller_text.as_mut() {
            t.answered = true;
        }
        self.note_outbound(at);
    }

    /// Texts can reach the caller (Lookup found no landline or pumping risk).
    pub fn textable(&self) -> bool {
        self.line.is_none_or(|l| l == LineVerdict::Textable)
    }

    /// The business as the latest event described it (a safe fallback before any event).
    pub fn profile(&self) -> BusinessProfile {
        self.profile.clone().unwrap_or_else(fallback_profile)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingText {
    pub message_sid: String,
    pub text: String,
    pub answered: bool,
}

/// The live state a query returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationView {
    pub business_id: Uuid,
    pub conversation_id: Uuid,
    pub status: ConversationStatus,
    pub mode: Mode,
    pub greeted: bool,
    pub missed_calls: u32,
    pub texts_received: u32,
    pub fields: LeadFields,
    pub emergency: bool,
    pub needs_owner: bool,
    pub follow_ups_sent: usize,
    pub waiting_for: Waiting,
    pub until: Option<DateTime<Utc>>,
}

/// A message the owner sends from the app (the `owner_message` update).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OwnerMessage {
    pub body: String,
    /// The app's idempotency key: the text's key, so a repeated send goes out once.
    #[serde(default)]
    pub key: Option<String>,
}

/// A profile is recorded with the first event of every run; this is only a safe fallback.
fn fallback_profile() -> BusinessProfile {
    BusinessProfile {
        name: String::new(),
        owner_name: String::new(),
        business_phone: String::new(),
        timezone: "UTC".into(),
        business_hours: nmc_domain::BusinessHours::default(),
        greeting: None,
        after_hours_greeting: None,
        settings: nmc_domain::ConversationSettings::default(),
    }
}
