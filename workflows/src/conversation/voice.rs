//! The voice side of a conversation: the caller's line is checked before the first text (a
//! landline gets the owner a call-back alert instead), and a voicemail is stored, transcribed,
//! read like a text, alerted, and answered by a first text that picks up from it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use nmc_activity_defs::conversation::{ConversationActivities, Triage, TriageRequest, TurnResult};
use nmc_activity_defs::voice::{LineCheckRequest, RecordingRef, Transcript, VoiceActivities};
use nmc_domain::line::LineVerdict;
use nmc_domain::{
    ConversationStatus, MissedCall, NoticeKind, SendOutcome, SmsKind, VoicemailLeft, greeting_for,
    voicemail_pickup,
};
use temporalio_sdk::{ActivityCloseTimeouts, ActivityOptions, WorkflowContext};

use super::ConversationWorkflow;
use super::caller::assistant_turn;
use super::state::{PendingText, VoicemailWait};
use super::steps::{Step, attach_text, notify, send, set_flags, step};
use crate::now;

type Ctx = WorkflowContext<ConversationWorkflow>;

/// Patch id: Lookup's line check before the first text (added 2026-12-05).
pub(crate) const LINE_CHECK: &str = "line-check";
/// Patch id: a caller sent to voicemail is texted from their message (added 2026-12-05).
pub(crate) const VOICEMAIL: &str = "voicemail";

/// How long past the greeting's maximum length the first text waits for the recording.
const RECORDING_GRACE: chrono::Duration = chrono::Duration::minutes(5);

/// Checks the caller's line before the first text. False when no text can go: a landline (the
/// owner is told to call back) or a number Lookup flags for SMS pumping (nothing is sent).
pub(crate) async fn line_ok(ctx: &mut Ctx, call: &MissedCall, clock: &str) -> bool {
    if !ctx.patched(LINE_CHECK) {
        return true;
    }
    let request = ctx.state(|s| LineCheckRequest {
        business_id: s.start.business_id,
        caller: s.start.caller.clone(),
    });
    let verdict = step(ctx, VoiceActivities::check_line, request, Step::Record)
        .await
        .unwrap_or(LineVerdict::Textable);
    ctx.state_mut(|s| s.memory.line = Some(verdict));
    match verdict {
        LineVerdict::Textable => true,
        LineVerdict::Landline => {
            let body = format!(
                "Missed call from {{caller}} at {clock}: a landline, so we can't text them. Call them back."
            );
            notify(
                ctx,
                NoticeKind::CallBack,
                body,
                format!("call_back:{}", call.call_sid),
            )
            .await;
            ctx.state_mut(|s| s.memory.needs_owner = true);
            set_flags(ctx).await;
            false
        }
        LineVerdict::PumpingRisk => {
            let body = format!(
                "Missed call from {{caller}} at {clock}. Not texted: Twilio Lookup flags the number as a likely SMS-fraud (pumping) number. Call back if you know them."
            );
            notify(
                ctx,
                NoticeKind::MissedCall,
                body,
                format!("missed:{}", call.call_sid),
            )
            .await;
            false
        }
    }
}

/// The caller is leaving a voicemail: the first text waits for it (or for the deadline).
pub(crate) fn await_voicemail(ctx: &mut Ctx, call: &MissedCall, at: DateTime<Utc>) {
    let longest = chrono::Duration::seconds(300);
    ctx.state_mut(|s| {
        s.memory.voicemail_wait = Some(VoicemailWait {
            call_sid: call.call_sid.clone(),
            until: at + longest + RECORDING_GRACE,
        });
    });
}

/// No recording came in time: the caller gets the usual greeting.
pub(crate) async fn voicemail_timed_out(ctx: &mut Ctx) {
    let Some(wait) = ctx.state_mut(|s| s.memory.voicemail_wait.take()) else {
        return;
    };
    if ctx.state(|s| s.memory.booked_by_agent) {
        // The AI voice agent booked the job and its confirmation was the first text.
        return;
    }
    greet_instead(ctx, &wait.call_sid).await;
    close_if_unreachable(ctx);
}

/// A voicemail (or the end of a call that left none).
pub(crate) async fn on_voicemail(ctx: &mut Ctx, vm: VoicemailLeft) {
    let at = now(ctx);
    let waited = ctx.state_mut(|s| {
        s.memory.profile = Some(vm.profile.clone());
        s.memory.last_activity = Some(at);
        let ours = s
            .memory
            .voicemail_wait
            .as_ref()
            .is_some_and(|w| w.call_sid == vm.call_sid);
        if ours {
            s.memory.voicemail_wait = None;
        }
        ours
    });
    let Some(recording_id) = vm.recording_id else {
        if waited {
            greet_instead(ctx, &vm.call_sid).await;
        }
        return;
    };
    let recording = RecordingRef {
        business_id: ctx.state(|s| s.start.business_id),
        recording_id,
    };
    // Bounded, so the caller's first text waits minutes at most: a store or transcription that
    // gives up falls back to the usual greeting and an alert to listen.
    let stored = ctx
        .execute_activity(
            VoiceActivities::store_recording,
            recording.clone(),
            long_step(Duration::from_mins(2), Duration::from_mins(5)),
        )
        .await
        .is_ok();
    let heard = if stored {
        ctx.execute_activity(
            VoiceActivities::transcribe_recording,
            recording,
            long_step(Duration::from_mins(6), Duration::from_mins(10)),
        )
        .await
        .unwrap_or_default()
    } else {
        Transcript::default()
    };
    if let Some(id) = heard.message_id {
        attach_text(ctx, id).await;
    }
    answer_voicemail(ctx, &vm, heard.text.as_deref(), waited).await;
}

/// Reads the words like a text (emergency, what they need, who and where), alerts the owner,
/// and sends the first text that picks up from them.
async fn answer_voicemail(ctx: &mut Ctx, vm: &VoicemailLeft, words: Option<&str>, waited: bool) {
    let sid = vm.call_sid.clone();
    let duration = format!("{}:{:02}", vm.duration_secs / 60, vm.duration_secs % 60);
    let Some(words) = words else {
        let body = format!(
            "Voicemail from {{caller}} ({duration}). It could not be transcribed: open it to listen."
        );
        notify(ctx, NoticeKind::Voicemail, body, format!("voicemail:{sid}")).await;
        if waited {
            greet_instead(ctx, &sid).await;
        }
        return;
    };
    let (emergency, turn) = read_words(ctx, words).await;
    let quoted: String = words.chars().take(300).collect();
    let (kind, body) = if emergency {
        let name = vm.profile.name.clone();
        (
            NoticeKind::Emergency,
            format!(
                "EMERGENCY at {name}: voicemail from {{caller}} ({duration}): \"{quoted}\" Call them now."
            ),
        )
    } else {
        (
            NoticeKind::Voicemail,
            format!("Voicemail from {{caller}} ({duration}): \"{quoted}\" Open to listen."),
        )
    };
    notify(ctx, kind, body, format!("voicemail:{sid}")).await;
    ctx.state_mut(|s| {
        s.memory.last_caller_text = Some(PendingText {
            message_sid: format!("voicemail:{sid}"),
            text: words.to_owned(),
            answered: false,
        });
    });
    if !ctx.state(|s| s.memory.textable()) {
        return;
    }
    if !waited {
        // A voicemail in a conversation already under way: answered like a text.
        return answer_like_text(ctx, &format!("voicemail:{sid}"), turn).await;
    }
    let next = turn.map(|t| t.outcome.reply).unwrap_or_default();
    let (name, fields) = ctx.state(|s| (s.memory.profile().name, s.memory.fields.clone()));
    let body = voicemail_pickup(&name, &fields, &next);
    first_text(ctx, &sid, body).await;
}

/// Reads spoken words like a text: the rules' triage and the assistant's turn (which fills the
/// lead). True when it is an emergency (flagged on the conversation at once).
pub(crate) async fn read_words(ctx: &mut Ctx, words: &str) -> (bool, Option<TurnResult>) {
    let request = TriageRequest {
        message: words.to_owned(),
        asked: ctx.state(|s| s.memory.asked),
    };
    let triage = step(ctx, ConversationActivities::triage, request, Step::Record)
        .await
        .unwrap_or(Triage {
            emergency: false,
            needs_human: false,
        });
    let turn = assistant_turn(ctx, words).await;
    let emergency = triage.emergency || turn.as_ref().is_some_and(|t| t.outcome.emergency);
    if emergency {
        ctx.state_mut(|s| s.memory.emergency = true);
        set_flags(ctx).await;
    }
    (emergency, turn)
}

/// The assistant's answer to words spoken while the conversation was already going (a later
/// voicemail, an AI call after the greeting), as to a text; nothing while the owner has it.
pub(crate) async fn answer_like_text(ctx: &mut Ctx, source: &str, turn: Option<TurnResult>) {
    let Some(turn) = turn else { return };
    if ctx.state(|s| s.memory.mode != nmc_domain::Mode::Assistant) {
        return;
    }
    let key = format!("reply:{source}");
    let outcome = send(ctx, SmsKind::AssistantReply, key, turn.outcome.reply, None).await;
    if matches!(outcome, Some(SendOutcome::Sent { .. })) {
        let at = now(ctx);
        ctx.state_mut(|s| s.memory.note_answered(at));
    }
}

/// The generic greeting, for a caller whose voicemail brought nothing to pick up from.
pub(crate) async fn greet_instead(ctx: &mut Ctx, call_sid: &str) {
    if !ctx.state(|s| s.memory.textable()) {
        return;
    }
    let at = now(ctx);
    let body = ctx.state(|s| greeting_for(&s.memory.profile(), at));
    first_text(ctx, call_sid, body).await;
}

/// The call's one first text (the greeting's key: never both a greeting and a pick-up).
pub(crate) async fn first_text(ctx: &mut Ctx, call_sid: &str, body: String) {
    let key = format!("greeting:{call_sid}");
    let outcome = send(ctx, SmsKind::Greeting, key, body, Some(call_sid.to_owned())).await;
    let at = now(ctx);
    let call_sid = call_sid.to_owned();
    ctx.state_mut(|s| match outcome {
        Some(SendOutcome::Sent { .. }) => {
            s.memory.note_outbound(at);
            if let Some(t) = s.memory.last_caller_text.as_mut() {
                t.answered = true;
            }
            s.memory.replied_once = true;
        }
        // Held until texting is approved: the usual greeting goes then, if still fresh.
        Some(SendOutcome::Rejected {
            code: super::caller::HELD,
            ..
        }) => {
            let call = MissedCall {
                call_sid,
                profile: s.memory.profile(),
                voicemail: false,
                agent: false,
                known: None,
            };
            s.held_greeting = Some((call, at));
        }
        ref other => {
            if let Some(closed) = nmc_domain::decisions::status_after_greeting(other.as_ref()) {
                s.status = closed;
            }
        }
    });
}

/// A voicemail step: scheduled (its own task, not a local one in the workflow's), retried with
/// backoff until `give_up_after`.
fn long_step(start_to_close: Duration, give_up_after: Duration) -> ActivityOptions {
    let timeouts = ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: give_up_after,
        start_to_close,
    };
    ActivityOptions::with_close_timeouts(timeouts)
        .retry_policy(
            temporalio_common::RetryPolicy::builder()
                .initial_interval(Duration::from_secs(2))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_mins(2))
                .build(),
        )
        .build()
}

/// A landline caller's conversation has nothing left to do once its voicemail is handled.
pub(crate) fn close_if_unreachable(ctx: &mut Ctx) {
    ctx.state_mut(|s| {
        if !s.memory.textable() && s.memory.voicemail_wait.is_none() {
            s.status = ConversationStatus::ClosedUndeliverable;
        }
    });
}
