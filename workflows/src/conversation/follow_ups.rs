//! When the conversation texts a quiet caller again, and when it stops: follow-ups count from our
//! last message, wait out quiet hours, and end when the caller is done (wrong number, decline,
//! an opt-out the assistant read, a qualified lead the owner now has), three at most.

use std::time::Duration;

use chrono::{DateTime, Utc};
use nmc_activity_defs::conversation::{ConversationActivities, TurnResult};
use nmc_domain::decisions::{FollowUpState, is_last_follow_up, next_follow_up};
use nmc_domain::{
    ConversationStatus, SendOutcome, SmsKind, Waiting, follow_up_text, opt_out_confirmation,
};
use temporalio_sdk::WorkflowContext;

use super::ConversationWorkflow;
use super::steps::{Step, send, step};
use crate::now;

/// When the next timed step is due: a follow-up while the caller is quiet and the assistant is in
/// charge (`nmc_domain::decisions`), otherwise the stale close. `None` for the kind means "stale".
pub(crate) fn next_deadline(s: &ConversationWorkflow) -> (DateTime<Utc>, Option<usize>) {
    let m = &s.memory;
    let last = m.last_activity.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let stale = last + chrono::Duration::seconds(s.start.idle_timeout_secs as i64);
    let Some(profile) = &m.profile else {
        return (stale, None);
    };
    let state = FollowUpState {
        profile,
        mode: m.mode,
        emergency: m.emergency,
        needs_owner: m.needs_owner,
        caller_waiting: m.last_caller_text.as_ref().is_some_and(|t| !t.answered),
        anchor: m.follow_up_anchor,
        sent: m.follow_ups_sent,
        sent_in_total: m.follow_ups_total,
        over: m.follow_ups_over,
    };
    match next_follow_up(&state) {
        Some((n, due)) => (due, Some(n)),
        None => (stale, None),
    }
}

/// Waits for the next event, or runs the follow-up / stale close that falls due first.
pub(crate) async fn wait_for_next(ctx: &mut WorkflowContext<ConversationWorkflow>) {
    // A takeover or hand-back changes what is due next (no follow-ups while the owner has it).
    let mode = ctx.state(|s| s.memory.mode);
    let woken = move |s: &ConversationWorkflow| {
        !s.inbox.is_empty()
            || s.close_requested
            || s.resume_requested
            || s.texting_approved
            || s.memory.mode != mode
    };
    // Something to do already (a new run starts with the missed call in its inbox): no timer, which
    // would fire into a workflow task of its own for nothing.
    if ctx.state(woken) {
        return;
    }
    let (mut due, follow_up) = ctx.state(next_deadline);
    // A caller leaving a voicemail: their first text is due by then at the latest.
    let voicemail_due = ctx.state(|s| s.memory.voicemail_wait.as_ref().map(|w| w.until));
    let voicemail_first = voicemail_due.is_some_and(|v| v <= due);
    if let Some(v) = voicemail_due.filter(|_| voicemail_first) {
        due = v;
    }
    let wait = (due - now(ctx))
        .to_std()
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_millis(1));
    let what = if voicemail_first {
        Waiting::Voicemail
    } else if follow_up.is_some() {
        Waiting::CallerReply
    } else {
        Waiting::Nothing
    };
    ctx.state_mut(|s| s.waiting = Some((what, due)));
    let mut fired = false;
    temporalio_sdk::workflows::select! {
        _ = ctx.wait_condition(woken) => {}
        _ = ctx.timer(wait) => { fired = true; }
    }
    ctx.state_mut(|s| s.waiting = None);
    if !fired || ctx.state(|s| !s.inbox.is_empty()) {
        return;
    }
    if voicemail_first {
        return super::voice::voicemail_timed_out(ctx).await;
    }
    match follow_up {
        Some(n) => send_follow_up(ctx, n).await,
        None => ctx.state_mut(|s| s.status = ConversationStatus::ClosedStale),
    }
}

async fn send_follow_up(ctx: &mut WorkflowContext<ConversationWorkflow>, n: usize) {
    let (conversation_id, profile, fields, total, sent_before) = ctx.state(|s| {
        let p = s.memory.profile();
        let total = p.settings.follow_up_secs.len();
        (
            s.conversation_id,
            p,
            s.memory.fields.clone(),
            total,
            s.memory.follow_ups_total,
        )
    });
    let last = is_last_follow_up(n, total, sent_before);
    let job = fields.trade.as_deref().and_then(nmc_domain::trade_phrase);
    let body = follow_up_text(n, last, &profile.name, fields.name.as_deref(), job);
    let outcome = send(
        ctx,
        SmsKind::FollowUp,
        format!("followup:{conversation_id}:{n}"),
        body,
        None,
    )
    .await;
    ctx.state_mut(|s| {
        s.memory.follow_ups_sent = n + 1;
        s.memory.follow_ups_total += 1;
        if matches!(outcome, Some(SendOutcome::Suppressed)) {
            s.status = ConversationStatus::ClosedOptedOut;
        } else if last {
            s.status = ConversationStatus::ClosedNoResponse;
        }
    });
}

/// What the assistant read that ends things: a revocation (recorded as an opt-out, confirmed
/// once, nothing else sent: returns true), or a caller who is done (follow-ups end).
pub(crate) async fn caller_is_done(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    message_sid: &str,
    turn: &TurnResult,
) -> bool {
    if turn.outcome.wrong_number || turn.outcome.declined {
        ctx.state_mut(|s| s.memory.follow_ups_over = true);
    }
    if !turn.outcome.opt_out {
        return false;
    }
    let (business_id, caller, name) = ctx.state(|s| {
        (
            s.start.business_id,
            s.start.caller.clone(),
            s.memory.profile().name,
        )
    });
    let revocation = nmc_activity_defs::conversation::Revocation {
        business_id,
        caller,
        message_sid: message_sid.to_owned(),
    };
    let newly = step(
        ctx,
        ConversationActivities::record_opt_out,
        revocation,
        Step::Record,
    )
    .await
    .unwrap_or(false);
    ctx.state_mut(|s| {
        s.status = ConversationStatus::ClosedOptedOut;
        if let Some(t) = s.memory.last_caller_text.as_mut() {
            t.answered = true;
        }
    });
    if newly {
        let key = format!("{}:{message_sid}", SmsKind::OptOutConfirmation.as_str());
        send(
            ctx,
            SmsKind::OptOutConfirmation,
            key,
            opt_out_confirmation(&name),
            None,
        )
        .await;
    }
    true
}
