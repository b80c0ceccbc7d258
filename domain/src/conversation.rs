//! What flows between the webhooks, the conversation workflow and its activities.
//! Everything here is serialised into Temporal histories: add fields with `#[serde(default)]`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{BusinessHours, E164, Keyword};

/// One conversation workflow per (business, caller). The id is deterministic so that a second
/// missed call or a text from the same caller lands in the same open conversation; it is a
/// name-based UUID so the caller's number never shows in Temporal, its UI or the SDK's logs.
pub fn conversation_workflow_id(business_id: Uuid, caller: &E164) -> String {
    format!(
        "conversation-{}",
        Uuid::new_v5(&business_id, caller.as_str().as_bytes())
    )
}

/// Search attributes ops filter on in the Temporal UI.
pub const SA_BUSINESS_ID: &str = "NmcBusinessId";
pub const SA_CONVERSATION_STATUS: &str = "NmcConversationStatus";

/// What the workflow needs to know about the business to word its texts, captured by the
/// webhook at the moment of the event so the workflow never reads the database itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BusinessProfile {
    pub name: String,
    pub owner_name: String,
    pub business_phone: String,
    pub timezone: String,
    pub business_hours: BusinessHours,
    #[serde(default)]
    pub greeting: Option<String>,
    #[serde(default)]
    pub after_hours_greeting: Option<String>,
    #[serde(default)]
    pub settings: ConversationSettings,
}

/// How a business wants its conversations run. Defaults are the product's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationSettings {
    /// The owner's head start before the assistant answers a caller (0–600 s).
    pub owner_window_secs: u64,
    /// Tell callers they are texting a virtual assistant (California's bot disclosure law).
    pub disclose_assistant: bool,
    /// Follow-ups after the caller goes quiet, measured from our last message before that.
    pub follow_up_secs: Vec<u64>,
    /// No follow-ups between these local times (the morning is early enough).
    #[serde(with = "crate::hours::hhmm")]
    pub quiet_start: chrono::NaiveTime,
    #[serde(with = "crate::hours::hhmm")]
    pub quiet_end: chrono::NaiveTime,
}

impl Default for ConversationSettings {
    fn default() -> Self {
        Self {
            owner_window_secs: 60,
            disclose_assistant: true,
            follow_up_secs: vec![2 * 3600, 24 * 3600, 72 * 3600],
            quiet_start: chrono::NaiveTime::from_hms_opt(21, 0, 0).unwrap(),
            quiet_end: chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        }
    }
}

/// Start input of a conversation workflow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationStart {
    pub business_id: Uuid,
    pub caller: E164,
    /// Close the conversation after this long without any event.
    pub idle_timeout_secs: u64,
    /// State handed over by continue-as-new; `None` for a run started by a webhook.
    #[serde(default)]
    pub carried: Option<Carried>,
}

/// What a run hands to the next one when it continues as new.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Carried {
    /// `Some`: the same conversation goes on (its history grew long). `None`: a new
    /// conversation, for events that arrived while the previous one was closing.
    pub conversation_id: Option<Uuid>,
    pub greeted: bool,
    pub missed_calls: u32,
    pub texts_received: u32,
    /// Newest last; bounded so a long-lived caller does not grow the state forever.
    pub seen_sids: Vec<String>,
    pub pending: Vec<CallerEvent>,
    /// The workflow's own memory of the conversation (opaque here).
    #[serde(default)]
    pub memory: Option<serde_json::Value>,
}

/// Something that happened to the caller, queued by a signal handler for the run loop.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CallerEvent {
    Missed(MissedCall),
    Texted(InboundSms),
    /// The caller's voicemail is recorded (or they hung up without leaving one).
    Voicemail(VoicemailLeft),
    /// A call the AI voice agent took has ended; its report is on record.
    AgentCall(crate::voice_agent::AgentCallEnded),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MissedCall {
    pub call_sid: String,
    pub profile: BusinessProfile,
    /// The caller was sent to voicemail: the first text waits for the message (it picks up
    /// from what they said) instead of going at once.
    #[serde(default)]
    pub voicemail: bool,
    /// The AI voice agent is taking the call: the first text waits for its report (it picks
    /// up from what they said), as for a voicemail.
    #[serde(default)]
    pub agent: bool,
    /// A caller who has been here before: greeted by name (issue 18).
    #[serde(default)]
    pub known: Option<crate::greeting::KnownCaller>,
}

/// The end of a voicemail: Twilio's recording (on record in `recordings`), or none when the
/// caller hung up before saying anything.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VoicemailLeft {
    pub call_sid: String,
    /// `recordings.id`; `None`: no message was left.
    pub recording_id: Option<Uuid>,
    pub duration_secs: u32,
    pub profile: BusinessProfile,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboundSms {
    pub message_sid: String,
    /// Our stored copy of the text (messages.id).
    pub message_id: Uuid,
    pub keyword: Option<Keyword>,
    /// For STOP: true only when this text created the opt-out, so a repeated STOP
    /// does not earn a second confirmation.
    #[serde(default)]
    pub newly_opted_out: bool,
    pub profile: BusinessProfile,
    /// The caller's words (absent in histories recorded before the assistant).
    #[serde(default)]
    pub message_text: Option<String>,
}

/// Why a text is sent; part of its idempotency key and stored on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsKind {
    Greeting,
    OptOutConfirmation,
    OptInConfirmation,
    HelpReply,
    AssistantReply,
    OwnerMessage,
    FollowUp,
    /// To the owner's phone, about a conversation.
    OwnerAlert,
    /// Numbered slot offers and the booking confirmation.
    Booking,
    /// 24 h / 1 h before an appointment.
    Reminder,
    /// The owner moved or cancelled the appointment.
    AppointmentNotice,
    /// After a completed job: the review link, and its one reminder.
    ReviewRequest,
}

impl SmsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsKind::Greeting => "greeting",
            SmsKind::OptOutConfirmation => "opt_out_confirmation",
            SmsKind::OptInConfirmation => "opt_in_confirmation",
            SmsKind::HelpReply => "help_reply",
            SmsKind::AssistantReply => "assistant_reply",
            SmsKind::OwnerMessage => "owner_message",
            SmsKind::FollowUp => "follow_up",
            SmsKind::OwnerAlert => "owner_alert",
            SmsKind::Booking => "booking",
            SmsKind::Reminder => "reminder",
            SmsKind::AppointmentNotice => "appointment_notice",
            SmsKind::ReviewRequest => "review_request",
        }
    }

    /// Texts the product sends on its own (not the owner's words, not compliance answers): a
    /// business whose plan has lapsed stops sending these.
    pub fn is_automated(self) -> bool {
        matches!(
            self,
            SmsKind::Greeting
                | SmsKind::AssistantReply
                | SmsKind::FollowUp
                | SmsKind::Booking
                | SmsKind::Reminder
                | SmsKind::ReviewRequest
        )
    }

    /// Who the thread shows as the author.
    pub fn sender(self) -> &'static str {
        match self {
            SmsKind::AssistantReply | SmsKind::FollowUp | SmsKind::Booking => "assistant",
            SmsKind::OwnerMessage => "owner",
            _ => "system",
        }
    }

    /// Compliance replies go to a caller who just opted out or asked for help, and alerts go to
    /// the owner; every other text to a caller is suppressed once they opted out.
    pub fn respects_opt_out(self) -> bool {
        !matches!(
            self,
            SmsKind::OptOutConfirmation
                | SmsKind::OptInConfirmation
                | SmsKind::HelpReply
                | SmsKind::OwnerAlert
        )
    }
}

/// Input of the `send_sms` activity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboundSms {
    /// Unique per intended text; a retried or re-run activity with the same key never sends twice.
    pub idempotency_key: String,
    pub business_id: Uuid,
    pub conversation_id: Uuid,
    pub workflow_id: String,
    pub to: E164,
    pub body: String,
    pub kind: SmsKind,
    /// The missed call that opened the conversation, if any.
    #[serde(default)]
    pub call_sid: Option<String>,
    /// What the owner should know about this text, shown beside it ("From your FAQ: …").
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum SendOutcome {
    /// Accepted by the carrier (now or by an earlier attempt).
    Sent {
        message_sid: String,
        /// Our messages.id (absent in histories recorded before it was added).
        #[serde(default)]
        message_id: Option<Uuid>,
    },
    /// Not sent: the caller opted out.
    Suppressed,
    /// The carrier refused for good (invalid number, unsubscribed, landline…); not retried.
    Rejected { code: i64, message: String },
}

/// How a conversation ended, stored on the conversation row and shown in the Temporal UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Active,
    ClosedIdle,
    ClosedOptedOut,
    ClosedUndeliverable,
    ClosedManual,
    ClosedNoResponse,
    ClosedStale,
    /// The caller booked (or moved, or confirmed) an appointment.
    ClosedBooked,
    /// The caller cancelled their appointment by text.
    ClosedCancelled,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Active => "active",
            ConversationStatus::ClosedIdle => "closed_idle",
            ConversationStatus::ClosedOptedOut => "closed_opted_out",
            ConversationStatus::ClosedUndeliverable => "closed_undeliverable",
            ConversationStatus::ClosedManual => "closed_manual",
            ConversationStatus::ClosedNoResponse => "closed_no_response",
            ConversationStatus::ClosedStale => "closed_stale",
            ConversationStatus::ClosedBooked => "closed_booked",
            ConversationStatus::ClosedCancelled => "closed_cancelled",
        }
    }
}

/// Twilio's `DialCallStatus` after `<Dial>`: did a person pick up?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialOutcome {
    Answered,
    Missed,
}

impl DialOutcome {
    pub fn from_dial_status(s: &str) -> Option<Self> {
        match s {
            "completed" | "answered" => Some(Self::Answered),
            "no-answer" | "busy" | "failed" | "canceled" => Some(Self::Missed),
            _ => None,
        }
    }
}

/// Twilio error codes that will not succeed on retry (reference/twilio.md).
pub fn is_permanent_twilio_error(code: i64) -> bool {
    matches!(code, 21211 | 21408 | 21610 | 21614 | 21635 | 20003)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_id_is_deterministic_per_business_and_caller() {
        let b = Uuid::from_u128(7);
        let c = E164::parse("+15125550101").unwrap();
        let id = conversation_workflow_id(b, &c);
        assert_eq!(id, conversation_workflow_id(b, &c));
        assert!(!id.contains("5125550101"));
        assert_ne!(id, conversation_workflow_id(Uuid::from_u128(8), &c));
        assert_ne!(
            id,
            conversation_workflow_id(b, &E164::parse("+15125550102").unwrap())
        );
    }

    #[test]
    fn dial_status_mapping() {
        assert_eq!(
            DialOutcome::from_dial_status("completed"),
            Some(DialOutcome::Answered)
        );
        assert_eq!(
            DialOutcome::from_dial_status("answered"),
            Some(DialOutcome::Answered)
        );
        for s in ["no-answer", "busy", "failed", "canceled"] {
            assert_eq!(DialOutcome::from_dial_status(s), Some(DialOutcome::Missed));
        }
        assert_eq!(DialOutcome::from_dial_status("ringing"), None);
    }
}

/// Who answers the caller: the assistant, or the owner who took the conversation over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Assistant,
    Owner,
}

impl Mode {
    /// As stored in `conversations.mode`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Assistant => "assistant",
            Mode::Owner => "owner",
        }
    }
}

/// What an owner alert is about (stored as the notification's kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The call itself went unanswered (the alert goes out with the greeting).
    MissedCall,
    /// The caller texted; the owner's head start runs.
    CallerText,
    Emergency,
    /// The caller wants a person, or the assistant could not answer.
    NeedsOwner,
    Qualified,
    /// No slot fits: the owner schedules by hand.
    NoSlots,
    /// Nothing in the catalog matched: the owner quotes.
    NeedsQuote,
    Booked,
    /// The caller confirmed or cancelled their appointment by text.
    Confirmed,
    Cancelled,
    /// The caller left a voicemail: its transcript, and a link to play it.
    Voicemail,
    /// The caller is on a landline: call them back (no text can reach them).
    CallBack,
    /// The AI voice agent took a call: its summary and what the caller said.
    AgentCall,
}

impl NoticeKind {
    /// As stored in `notifications.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::MissedCall => "missed_call",
            NoticeKind::CallerText => "caller_text",
            NoticeKind::Emergency => "emergency",
            NoticeKind::NeedsOwner => "needs_owner",
            NoticeKind::Qualified => "qualified",
            NoticeKind::NoSlots => "no_slots",
            NoticeKind::NeedsQuote => "needs_quote",
            NoticeKind::Booked => "booked",
            NoticeKind::Confirmed => "confirmed",
            NoticeKind::Cancelled => "cancelled",
            NoticeKind::Voicemail => "voicemail",
            NoticeKind::CallBack => "call_back",
            NoticeKind::AgentCall => "agent_call",
        }
    }
}

/// What a conversation is waiting for, as its state query reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Waiting {
    /// The owner's head start before the assistant answers.
    OwnerWindow,
    /// A quiet caller: the next follow-up is due at `until`.
    CallerReply,
    /// The caller is leaving a voicemail; the first text picks up from it.
    Voicemail,
    #[default]
    Nothing,
}

/// The longest text the owner may send through us (Twilio's limit for one message body).
pub const OWNER_TEXT_MAX_CHARS: usize = 1600;

/// An owner's text is something to send: not blank, not over the carrier's limit.
pub fn check_owner_text(body: &str) -> Result<(), &'static str> {
    let body = body.trim();
    if body.is_empty() {
        return Err("message is empty");
    }
    if body.chars().count() > OWNER_TEXT_MAX_CHARS {
        return Err("message is longer than 1600 characters");
    }
    Ok(())
}
