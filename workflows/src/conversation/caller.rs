//! What the conversation does with each thing the caller does: a missed call gets the greeting
//! (once), a carrier keyword its compliance answer, and any other text alerts the owner at once
//! and is answered by the assistant when the owner's head start runs out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use nmc_activity_defs::conversation::{
    ConversationActivities, RepeatCall, Triage, TriageRequest, TurnRequest, TurnResult,
};
use nmc_domain::decisions::status_after_greeting;
use nmc_domain::{
    ConversationStatus, InboundSms, Keyword, MissedCall, Mode, NoticeKind, SendOutcome, SmsKind,
    Waiting, greeting_for, help_reply, opt_in_confirmation, opt_out_confirmation,
};
use temporalio_sdk::WorkflowContext;

use super::follow_ups::caller_is_done;
use super::state::PendingText;
use super::steps::{Step, attach_text, notify, outbound, owner_notice, send, set_flags, step};
use super::{ConversationWorkflow, agent, booking, voice};
use crate::now;

type Ctx = WorkflowContext<ConversationWorkflow>;

pub(crate) async fn on_missed_call(ctx: &mut Ctx, call: MissedCall) {
    if ctx.state(|s| s.greeted) {
        // The caller tried again while we are already talking: no second text.
        let repeat = RepeatCall {
            business_id: ctx.state(|s| s.start.business_id),
            call_sid: call.call_sid,
        };
        let _ = step(
            ctx,
            ConversationActivities::mark_repeat_call,
            repeat,
            Step::Record,
        )
        .await;
        return;
    }
    let at = now(ctx);
    ctx.state_mut(|s| {
        s.greeted = true;
        s.memory.profile = Some(call.profile.clone());
        s.memory.last_activity = Some(at);
    });
    let (clock, after_hours) = local_clock(&call.profile, at);
    if !voice::line_ok(ctx, &call, &clock).await {
        if call.voicemail && ctx.patched(voice::VOICEMAIL) {
            // Their message is still kept, transcribed and alerted; nothing is texted.
            voice::await_voicemail(ctx, &call, at);
        } else if call.agent && ctx.patched(agent::AI_VOICE) {
            // The agent's report still fills the lead and reaches the owner.
            agent::await_agent(ctx, &call, at);
        }
        return;
    }
    if call.agent && ctx.patched(agent::AI_VOICE) {
        let body = format!(
            "Missed call from {{caller}} at {clock}{after_hours}. Your AI voice agent is taking it."
        );
        notify(
            ctx,
            NoticeKind::MissedCall,
            body,
            format!("missed:{}", call.call_sid),
        )
        .await;
        agent::await_agent(ctx, &call, at);
        return;
    }
    if call.voicemail && ctx.patched(voice::VOICEMAIL) {
        let body = format!(
            "Missed call from {{caller}} at {clock}{after_hours}. They're leaving a voicemail."
        );
        notify(
            ctx,
            NoticeKind::MissedCall,
            body,
            format!("missed:{}", call.call_sid),
        )
        .await;
        voice::await_voicemail(ctx, &call, at);
        return;
    }
    let body = greeting(ctx, &call, at);
    let key = format!("greeting:{}", call.call_sid);
    let call_sid = call.call_sid.clone();
    let sms = outbound(ctx, SmsKind::Greeting, key, body, Some(call_sid.clone()));
    // The owner hears of the call itself, not only of a text back (docs/WORKFLOWS.md ledger),
    // at the same moment as the greeting goes: neither waits for the other (or for a carrier
    // that is down).
    let outcome = if ctx.patched(MISSED_CALL_ALERT) {
        let body = missed_call_alert(&call.profile, at);
        let notice = owner_notice(
            ctx,
            NoticeKind::MissedCall,
            body,
            format!("missed:{call_sid}"),
        );
        let (greeted, _alerted) = temporalio_sdk::workflows::join!(
            step(ctx, ConversationActivities::send_sms, sms, Step::Send),
            step(
                ctx,
                ConversationActivities::notify_owner,
                notice,
                Step::Send
            ),
        );
        greeted.ok()
    } else {
        step(ctx, ConversationActivities::send_sms, sms, Step::Send)
            .await
            .ok()
    };
    let sent_at = now(ctx);
    // Held because texting is not approved yet: the conversation stays open and the greeting
    // goes once it is, if the call is still fresh (docs/WORKFLOWS.md ledger).
    let held = matches!(outcome, Some(SendOutcome::Rejected { code: HELD, .. }));
    if held && ctx.patched(HELD_GREETING_WAITS) {
        ctx.state_mut(|s| s.held_greeting = Some((call, at)));
    } else {
        ctx.state_mut(|s| {
            if matches!(outcome, Some(SendOutcome::Sent { .. })) {
                s.memory.note_outbound(sent_at);
            }
            if let Some(closed) = status_after_greeting(outcome.as_ref()) {
                s.status = closed;
            }
        });
    }
}

/// The first text: by name for a caller we know (patch `returning-caller`), else the usual one.
fn greeting(ctx: &Ctx, call: &MissedCall, at: DateTime<Utc>) -> String {
    call.known
        .as_ref()
        .filter(|_| ctx.patched(RETURNING_CALLER))
        .and_then(|k| nmc_domain::returning_greeting(&call.profile, at, k))
        .unwrap_or_else(|| greeting_for(&call.profile, at))
}

/// Patch id: the alert at the missed call (added 2026-12-05).
const MISSED_CALL_ALERT: &str = "missed-call-alert";
/// Patch id: a caller we know is greeted by name (added 2026-12-05).
const RETURNING_CALLER: &str = "returning-caller";
/// Replies carry their note (an FAQ answered) and a question passed on reaches the owner (issue 18).
pub(crate) const ASSISTANT_KNOWS: &str = "assistant-knows";

/// Patch id: a greeting held for registration keeps the conversation open (added 2026-12-05).
const HELD_GREETING_WAITS: &str = "held-greeting-waits";

/// Twilio's code for a message from an unregistered 10DLC number; ours for a held text.
pub(crate) const HELD: i64 = 30034;

/// A greeting older than this when texting is approved is stale: the owner texts by hand.
const FRESH_FOR: chrono::Duration = chrono::Duration::minutes(30);

/// Texting was approved: the held greeting goes now if its call is fresh (with the same key, so
/// the held row itself is sent); an older one stays for the owner, who was told by email.
pub(crate) async fn greet_after_approval(ctx: &mut Ctx) {
    let held = ctx.state_mut(|s| {
        s.texting_approved = false;
        s.held_greeting.take()
    });
    let Some((call, at)) = held else {
        return;
    };
    if now(ctx) - at > FRESH_FOR {
        return;
    }
    let body = greeting_for(&call.profile, at);
    let key = format!("greeting:{}", call.call_sid);
    let sid = call.call_sid.clone();
    let outcome = send(ctx, SmsKind::Greeting, key, body, Some(sid)).await;
    let sent_at = now(ctx);
    ctx.state_mut(|s| {
        if matches!(outcome, Some(SendOutcome::Sent { .. })) {
            s.memory.note_outbound(sent_at);
        } else if matches!(outcome, Some(SendOutcome::Rejected { code: HELD, .. })) {
            // Held again (the approval was withdrawn): keep waiting.
            s.held_greeting = Some((call, at));
        } else if let Some(closed) = status_after_greeting(outcome.as_ref()) {
            s.status = closed;
        }
    });
}

/// `Missed call from {caller} at 4:12 PM, after hours.` The activity puts in the caller's name
/// and number for `{caller}` (a name needs the earlier conversations, which is IO).
fn missed_call_alert(profile: &nmc_domain::BusinessProfile, at: DateTime<Utc>) -> String {
    let (clock, when) = local_clock(profile, at);
    format!("Missed call from {{caller}} at {clock}{when}.")
}

/// The business's wall-clock time ("4:12 PM") and ", after hours" when it is closed.
fn local_clock(profile: &nmc_domain::BusinessProfile, at: DateTime<Utc>) -> (String, &'static str) {
    let tz = nmc_domain::hours::parse_timezone(&profile.timezone);
    let (clock, open) = match tz {
        Some(tz) => (
            at.with_timezone(&tz).format("%-I:%M %p").to_string(),
            profile.business_hours.is_open(tz, at),
        ),
        None => (at.format("%H:%M UTC").to_string(), false),
    };
    (clock, if open { "" } else { ", after hours" })
}

/// A carrier keyword (STOP, START, HELP and their kin) keeps its compliance answer.
async fn on_keyword(ctx: &mut Ctx, sms: InboundSms, keyword: Keyword) {
    attach_text(ctx, sms.message_id).await;
    let name = sms.profile.name.clone();
    let (kind, body) = match keyword {
        Keyword::OptOut => {
            ctx.state_mut(|s| s.status = ConversationStatus::ClosedOptedOut);
            if !sms.newly_opted_out {
                return;
            }
            (SmsKind::OptOutConfirmation, opt_out_confirmation(&name))
        }
        Keyword::OptIn => (SmsKind::OptInConfirmation, opt_in_confirmation(&name)),
        Keyword::Help => (
            SmsKind::HelpReply,
            help_reply(&name, &sms.profile.business_phone),
        ),
    };
    let key = format!("{}:{}", kind.as_str(), sms.message_sid);
    send(ctx, kind, key, body, None).await;
}

/// A caller's text: the owner hears at once and gets a head start; emergencies and hand-offs
/// skip it. An owner who has taken over hears every text and the assistant stays silent.
pub(crate) async fn on_text(ctx: &mut Ctx, sms: InboundSms) {
    let at = now(ctx);
    ctx.state_mut(|s| {
        s.memory.profile = Some(sms.profile.clone());
        s.memory.last_activity = Some(at);
        // Any reply from the caller cancels the follow-ups.
        s.memory.follow_up_anchor = None;
        s.memory.follow_ups_sent = 0;
        // They text rather than leave a message: the conversation goes on by text.
        s.memory.voicemail_wait = None;
    });
    if let Some(keyword) = sms.keyword {
        return on_keyword(ctx, sms, keyword).await;
    }
    let text = sms.message_text.clone().unwrap_or_default();
    attach_text(ctx, sms.message_id).await;
    ctx.state_mut(|s| {
        s.memory.last_caller_text = Some(PendingText {
            message_sid: sms.message_sid.clone(),
            text: text.clone(),
            answered: false,
        });
    });
    let caller_line = caller_line(ctx, &text);
    if ctx.state(|s| s.memory.mode == Mode::Owner) {
        let body = format!("{caller_line} (you have this conversation)");
        let key = format!("caller_text:{}", sms.message_sid);
        notify(ctx, NoticeKind::CallerText, body, key).await;
        return;
    }
    let conversation_id = ctx.state(|s| s.conversation_id);
    if booking::on_text(ctx, conversation_id, &sms, &text).await {
        return;
    }
    alert_then_answer(ctx, &sms, &text, &caller_line).await;
}

/// `Text from +1…: "…"`, the start of every alert about a caller's text.
fn caller_line(ctx: &Ctx, text: &str) -> String {
    let caller = ctx.state(|s| s.start.caller.as_str().to_owned());
    let quoted: String = text.chars().take(300).collect();
    format!("Text from {caller}: \"{quoted}\"")
}

/// The owner's priority alert: an emergency, call them now.
async fn alert_emergency(ctx: &mut Ctx, sms: &InboundSms, caller_line: &str) {
    let body = format!(
        "EMERGENCY at {}: {caller_line} Call them now.",
        sms.profile.name
    );
    let key = format!("emergency:{}", sms.message_sid);
    notify(ctx, NoticeKind::Emergency, body, key).await;
}

/// The caller wants a person: the conversation is the owner's.
async fn alert_hand_off(ctx: &mut Ctx, sms: &InboundSms, caller_line: &str) {
    let body = format!("{caller_line} They want a person: the conversation is yours.");
    let key = format!("needs_owner:{}", sms.message_sid);
    notify(ctx, NoticeKind::NeedsOwner, body, key).await;
}

/// The owner hears at once (from a rules triage), then the engine answers; the head start counts
/// from the alert. Emergencies and hand-offs answer without waiting.
async fn alert_then_answer(ctx: &mut Ctx, sms: &InboundSms, text: &str, caller_line: &str) {
    let sid = sms.message_sid.clone();
    // Owner actions or caller texts from here on count, even while the engine is thinking.
    let (acted, texts) = ctx.state(|s| (s.owner_actions, s.texts_received));
    let (triage, head_start_until) = alert(ctx, sms, text, caller_line).await;

    let Some(turn) = assistant_turn(ctx, text).await else {
        let body = format!("{caller_line} The assistant could not answer; please reply.");
        notify(ctx, NoticeKind::NeedsOwner, body, format!("stuck:{sid}")).await;
        return;
    };
    if caller_is_done(ctx, &sid, &turn).await {
        return;
    }
    if turn.outcome.emergency || triage.emergency {
        ctx.state_mut(|s| s.memory.emergency = true);
        set_flags(ctx).await;
        if !triage.emergency {
            // The engine saw what the rules did not: alert now.
            alert_emergency(ctx, sms, caller_line).await;
        }
        return reply(ctx, &sid, &turn).await;
    }
    if turn.outcome.needs_human || triage.needs_human {
        ctx.state_mut(|s| {
            s.memory.mode = Mode::Owner;
            s.memory.needs_owner = true;
        });
        set_flags(ctx).await;
        if !triage.needs_human {
            alert_hand_off(ctx, sms, caller_line).await;
        }
        return reply(ctx, &sid, &turn).await;
    }
    if owner_head_start(ctx, head_start_until, acted, texts).await {
        reply(ctx, &sid, &turn).await;
    }
}

/// Triage by rules and the owner's alert: emergency, hand-off, or "the assistant answers in Ns".
/// Returns the triage and the end of the owner's head start, which counts from the alert.
async fn alert(
    ctx: &mut Ctx,
    sms: &InboundSms,
    text: &str,
    caller_line: &str,
) -> (Triage, DateTime<Utc>) {
    let sid = &sms.message_sid;
    let asked = ctx.state(|s| s.memory.asked);
    let request = TriageRequest {
        message: text.to_owned(),
        asked,
    };
    let triage = step(ctx, ConversationActivities::triage, request, Step::Record)
        .await
        .unwrap_or(Triage {
            emergency: false,
            needs_human: false,
        });
    let window = sms.profile.settings.owner_window_secs;
    let until = now(ctx) + chrono::Duration::seconds(window as i64);
    if triage.emergency {
        alert_emergency(ctx, sms, caller_line).await;
    } else if triage.needs_human {
        alert_hand_off(ctx, sms, caller_line).await;
    } else {
        // The head start runs from the alert, also while the alert is going out and the engine is
        // still thinking: anyone asking sees it from the moment the owner can.
        ctx.state_mut(|s| s.waiting = Some((Waiting::OwnerWindow, until)));
        let body = format!(
            "{caller_line} The assistant answers in {window}s unless you reply or take over."
        );
        notify(
            ctx,
            NoticeKind::CallerText,
            body,
            format!("caller_text:{sid}"),
        )
        .await;
    }
    (triage, until)
}

/// Waits out the owner's head start. True when the assistant should answer: neither the owner
/// (a message, a takeover, a close) nor the caller (a newer text, answered with full history
/// by the next turn) moved meanwhile.
async fn owner_head_start(ctx: &mut Ctx, until: DateTime<Utc>, acted: u64, texts: u32) -> bool {
    let owner_moved = move |s: &ConversationWorkflow| {
        s.owner_actions != acted || s.memory.mode == Mode::Owner || s.close_requested
    };
    let left = (until - now(ctx)).to_std().unwrap_or(Duration::ZERO);
    if !left.is_zero() {
        ctx.state_mut(|s| s.waiting = Some((Waiting::OwnerWindow, until)));
        temporalio_sdk::workflows::select! {
            _ = ctx.timer(left) => {}
            _ = ctx.wait_condition(move |s: &ConversationWorkflow| {
                owner_moved(s) || s.texts_received != texts
            }) => {}
        }
        ctx.state_mut(|s| s.waiting = None);
    }
    ctx.state(|s| !owner_moved(s) && s.texts_received == texts)
}

/// The engine's turn on the caller's text (scheduled, not local: a model may think for seconds
/// and the workflow keeps taking signals and queries meanwhile).
pub(crate) async fn assistant_turn(ctx: &mut Ctx, text: &str) -> Option<TurnResult> {
    let request = ctx.state(|s| {
        let p = s.memory.profile();
        TurnRequest {
            business_id: s.start.business_id,
            conversation_id: s.conversation_id,
            business_name: p.name,
            owner_name: p.owner_name,
            disclose: p.settings.disclose_assistant,
            first_reply: !s.memory.replied_once,
            asked: s.memory.asked,
            message: text.to_owned(),
        }
    });
    let turn = ctx
        .execute_activity(
            ConversationActivities::assistant_turn,
            request,
            Step::turn_options(),
        )
        .await
        .ok()?;
    ctx.state_mut(|s| {
        s.memory.fields.merge_missing(&turn.outcome.learned);
        s.memory.asked = turn.outcome.asked;
    });
    Some(turn)
}

/// Sends the assistant's reply to the caller's text `message_sid` (or the slot offer that
/// replaces it), and the qualified summary to the owner.
pub(crate) async fn reply(ctx: &mut Ctx, message_sid: &str, turn: &TurnResult) {
    let conversation_id = ctx.state(|s| s.conversation_id);
    if booking::offer_instead_of_reply(ctx, conversation_id, message_sid, turn).await {
        return;
    }
    let key = format!("reply:{message_sid}");
    let body = turn.outcome.reply.clone();
    // What the assistant knows (issue 18): the reply carries its note for the thread, and a
    // question it passed on reaches the owner.
    let knows = ctx.patched(ASSISTANT_KNOWS);
    let mut sms = outbound(ctx, SmsKind::AssistantReply, key, body, None);
    if knows {
        sms.note.clone_from(&turn.outcome.note);
    }
    let outcome = step(ctx, ConversationActivities::send_sms, sms, Step::Send)
        .await
        .ok();
    if matches!(outcome, Some(SendOutcome::Sent { .. })) {
        let at = now(ctx);
        ctx.state_mut(|s| s.memory.note_answered(at));
    }
    if knows && let Some(body) = turn.outcome.for_owner.clone() {
        let key = format!("for_owner:{message_sid}");
        notify(ctx, NoticeKind::NeedsOwner, body, key).await;
    }
    let Some(summary) = turn.summary.clone() else {
        return;
    };
    if turn.newly_qualified && !ctx.state(|s| s.memory.qualified_notified) {
        ctx.state_mut(|s| {
            s.memory.qualified_notified = true;
            // The owner now has the lead: follow-ups would talk over them.
            s.memory.follow_ups_over = true;
        });
        let key = format!("qualified:{}", ctx.state(|s| s.conversation_id));
        notify(ctx, NoticeKind::Qualified, summary, key).await;
    }
}

/// The owner handed back with a caller text unanswered: answer it now, with the whole history
/// and no second head start.
pub(crate) async fn answer_after_release(ctx: &mut Ctx) {
    ctx.state_mut(|s| s.resume_requested = false);
    let pending = ctx
        .state(|s| s.memory.last_caller_text.clone())
        .filter(|t| !t.answered);
    let Some(text) = pending else {
        return;
    };
    if let Some(turn) = assistant_turn(ctx, &text.text).await
        && !caller_is_done(ctx, &text.message_sid, &turn).await
    {
        reply(ctx, &text.message_sid, &turn).await;
    }
}
