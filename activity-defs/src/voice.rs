//! The voice side of a conversation: the caller's line checked before the first text, and a
//! voicemail stored and transcribed.

use nmc_domain::E164;
use nmc_domain::line::LineVerdict;
use serde::{Deserialize, Serialize};
use temporalio_common::ActivityError;
use temporalio_macros::activity_definitions;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LineCheckRequest {
    pub business_id: Uuid,
    pub caller: E164,
}

/// One voicemail (`recordings.id`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordingRef {
    pub business_id: Uuid,
    pub recording_id: Uuid,
}

/// A voicemail's words, on the thread as the caller's message; `None` when transcription gave
/// up (the recording is still there to play).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transcript {
    pub text: Option<String>,
    pub message_id: Option<Uuid>,
    pub error: Option<String>,
}

/// What the caller told the AI voice agent about themselves, for their lead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallerDetails {
    pub business_id: Uuid,
    pub conversation_id: Uuid,
    pub said: nmc_domain::lead::LeadFields,
}

/// Implemented by `nmc_activities::voice::VoiceActivities`.
pub struct VoiceActivities;

#[activity_definitions]
impl VoiceActivities {
    /// Twilio Lookup v2 line type and SMS pumping risk, cached per caller; Lookup unreachable
    /// or refusing counts as textable (the carrier still refuses a landline with 21614).
    #[activity]
    pub fn check_line(request: LineCheckRequest) -> Result<LineVerdict, ActivityError> {
        unimplemented!()
    }

    /// Fetches the recording from Twilio, stores it, then deletes it from Twilio. Repeatable.
    #[activity]
    pub fn store_recording(recording: RecordingRef) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// Puts what the caller told the voice agent on their lead (only what is still unknown).
    #[activity]
    pub fn note_caller(details: CallerDetails) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// Transcribes the stored recording and puts the words on the thread.
    #[activity]
    pub fn transcribe_recording(recording: RecordingRef) -> Result<Transcript, ActivityError> {
        unimplemented!()
    }
}
