//! The conversation's activities: texts, owner alerts, the assistant's turn and bookkeeping.

use nmc_domain::lead::Field;
use nmc_domain::turn::TurnOutcome;
use nmc_domain::{ConversationStatus, E164, Mode, NoticeKind, OutboundSms, SendOutcome};
use serde::{Deserialize, Serialize};
use temporalio_common::ActivityError;
use temporalio_macros::activity_definitions;
use uuid::Uuid;

/// The quick read of a caller's text that decides how the owner is alerted, before any model runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TriageRequest {
    pub message: String,
    pub asked: Option<Field>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Triage {
    pub emergency: bool,
    pub needs_human: bool,
}

/// One assistant turn on a caller's text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TurnRequest {
    pub business_id: Uuid,
    pub conversation_id: Uuid,
    pub business_name: String,
    pub owner_name: String,
    pub disclose: bool,
    pub first_reply: bool,
    pub asked: Option<Field>,
    pub message: String,
}

/// The outcome of a turn, plus whether it just made the lead qualified.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TurnResult {
    pub outcome: TurnOutcome,
    pub newly_qualified: bool,
    /// One-message summary for the owner when newly qualified.
    pub summary: Option<String>,
}

/// Something the owner must hear about: stored, and texted to the owner's phone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OwnerNotice {
    pub business_id: Uuid,
    pub conversation_id: Uuid,
    pub workflow_id: String,
    pub kind: NoticeKind,
    pub priority: bool,
    pub body: String,
    pub idempotency_key: String,
    /// The caller: an alert can come before any text opened the conversation's row (a landline,
    /// a voicemail), so the alert opens it. Absent in histories recorded before voicemail.
    #[serde(default)]
    pub caller: Option<E164>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationFlags {
    pub business_id: Uuid,
    pub conversation_id: Uuid,
    pub mode: Option<Mode>,
    pub emergency: bool,
    pub needs_owner: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepeatCall {
    pub business_id: Uuid,
    pub call_sid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboundToAttach {
    pub business_id: Uuid,
    pub conversation_id: Uuid,
    pub workflow_id: String,
    pub message_id: Uuid,
}

/// The caller revoked consent in words only the assistant read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Revocation {
    pub business_id: Uuid,
    pub caller: E164,
    pub message_sid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationClosing {
    pub business_id: Uuid,
    pub conversation_id: Uuid,
    pub status: ConversationStatus,
}

/// Implemented by `nmc_activities::ConversationActivities` (same names, inputs and outputs).
pub struct ConversationActivities;

#[activity_definitions]
impl ConversationActivities {
    /// Sends one text, at most once per idempotency key, even across crashes and retries.
    #[activity]
    pub fn send_sms(sms: OutboundSms) -> Result<SendOutcome, ActivityError> {
        unimplemented!()
    }

    /// Marks a call as a repeat inside an open conversation (no second greeting).
    #[activity]
    pub fn mark_repeat_call(call: RepeatCall) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// Puts the caller's stored text on this conversation's thread.
    #[activity]
    pub fn attach_inbound(inbound: InboundToAttach) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// Rules only, no IO: the owner hears at once whatever the engine.
    #[activity]
    pub fn triage(request: TriageRequest) -> Result<Triage, ActivityError> {
        unimplemented!()
    }

    /// The engine answers the caller's text; what it learned is stored at once.
    #[activity]
    pub fn assistant_turn(request: TurnRequest) -> Result<TurnResult, ActivityError> {
        unimplemented!()
    }

    /// Stores the notification and texts the owner, each at most once per key.
    #[activity]
    pub fn notify_owner(notice: OwnerNotice) -> Result<SendOutcome, ActivityError> {
        unimplemented!()
    }

    #[activity]
    pub fn set_flags(flags: ConversationFlags) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// Puts the caller on the opt-out list; true when this created it (confirm once).
    #[activity]
    pub fn record_opt_out(revocation: Revocation) -> Result<bool, ActivityError> {
        unimplemented!()
    }

    #[activity]
    pub fn close_conversation(closing: ConversationClosing) -> Result<(), ActivityError> {
        unimplemented!()
    }
}
