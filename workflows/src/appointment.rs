//! One workflow per appointment (`appointment-{id}`): pushes every change to the connected
//! calendars (retried with backoff; the booking stands whatever they do), sends the reminders,
//! and tells the caller when the owner moves or cancels. It reads the appointment from the
//! database at each step, so a signal only says "look again".

use std::time::Duration;

use chrono::{DateTime, Utc};
use nmc_activity_defs::booking::{
    AppointmentRef, AppointmentState, AppointmentTold, BookingActivities, SyncRequest,
};
use nmc_activity_defs::conversation::ConversationActivities;
use nmc_domain::{E164, OutboundSms, SmsKind};
use serde::{Deserialize, Serialize};
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, ChildWorkflowOptions, ParentClosePolicy,
    SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult,
};
use uuid::Uuid;

use crate::conversation::Step;
use crate::review::{ReviewStart, ReviewWorkflow, review_workflow_id};

pub fn appointment_workflow_id(appointment_id: Uuid) -> String {
    format!("appointment-{appointment_id}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppointmentStart {
    pub business_id: Uuid,
    pub appointment_id: Uuid,
}

/// "The appointment changed: look again." `notify_caller` when the owner changed it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AppointmentChanged {
    pub notify_caller: bool,
}

#[workflow]
pub struct AppointmentWorkflow {
    start: AppointmentStart,
    changes: u64,
    /// The change count at which the owner asked for the caller to be told: a state read that
    /// started before that signal must not consume it.
    notify_at: Option<u64>,
    synced_version: i32,
    notified_version: i32,
    /// (minutes before, start) of reminders sent or skipped: a moved appointment re-arms them.
    reminders_done: Vec<(i32, i64)>,
    /// When each start time was first seen: reminders due before it are skipped (the caller just
    /// got a confirmation).
    armed: Vec<(i64, DateTime<Utc>)>,
    told_version: i32,
    sync_retry_at: Option<DateTime<Utc>>,
    sync_backoff_secs: i64,
    /// A notice that fell in quiet hours goes out at this time.
    notice_deferred_to: Option<DateTime<Utc>>,
}

#[workflow_methods]
impl AppointmentWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, start: AppointmentStart) -> Self {
        Self {
            start,
            changes: 0,
            notify_at: None,
            synced_version: 0,
            notified_version: 1,
            reminders_done: vec![],
            armed: vec![],
            told_version: 0,
            sync_retry_at: None,
            sync_backoff_secs: 0,
            notice_deferred_to: None,
        }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<String> {
        let r = ctx.state(|s| AppointmentRef {
            business_id: s.start.business_id,
            appointment_id: s.start.appointment_id,
        });
        loop {
            let seen = ctx.state(|s| s.changes);
            let st = ctx
                .execute_activity(
                    BookingActivities::appointment_state,
                    r.clone(),
                    Step::Record.options(),
                )
                .await?;
            let now = crate::now(ctx);

            let notice_sent = send_change_notice(ctx, &r, &st, seen, now).await;
            mark_told(ctx, &r, &st, notice_sent).await;
            push_to_calendars(ctx, &r, &st, now).await;

            let finished = matches!(st.status.as_str(), "cancelled" | "completed" | "no_show")
                || now >= st.end;
            let synced = ctx.state(|s| s.synced_version == st.version);
            // A finished appointment still waits for its last change to reach the calendars (for a day at most).
            // An owner's notice asked for after this read started is answered by another read first.
            // (A notice waiting out quiet hours keeps its request: the timer below brings it back.)
            if ctx.state(|s| s.notify_at.is_some_and(|n| n > seen)) {
                continue;
            }
            let deferred = ctx.state(|s| s.notice_deferred_to);
            if finished
                && deferred.is_none()
                && (synced || now >= st.end + chrono::Duration::days(1))
            {
                if st.status == "completed" && ctx.patched(REVIEW_REQUEST) {
                    ask_for_a_review(ctx, &r).await;
                }
                return Ok(st.status);
            }
            wait_for_next_due(ctx, &st, now, seen, finished, deferred).await;
        }
    }

    #[signal]
    pub fn changed(&mut self, _ctx: &mut SyncWorkflowContext<Self>, c: AppointmentChanged) {
        self.changes += 1;
        if c.notify_caller {
            self.notify_at.get_or_insert(self.changes);
        }
    }
}

/// Patch id: a completed job starts its review request (issue 19, added 2026-12-05).
const REVIEW_REQUEST: &str = "review-request";

/// Starts the job's review workflow, which outlives this one; a second completion finds it
/// started and asks nothing twice.
async fn ask_for_a_review(ctx: &mut WorkflowContext<AppointmentWorkflow>, r: &AppointmentRef) {
    let opts = ChildWorkflowOptions::builder()
        .workflow_id(review_workflow_id(r.appointment_id))
        .parent_close_policy(ParentClosePolicy::Abandon)
        .build();
    let start = ReviewStart {
        business_id: r.business_id,
        appointment_id: r.appointment_id,
    };
    let _ = ctx
        .start_child_workflow(ReviewWorkflow::run, start, opts)
        .await;
}

/// Tells the caller the owner moved or cancelled the appointment, unless quiet hours defer the
/// notice (the workflow's timer brings it back). True when the notice went out.
async fn send_change_notice(
    ctx: &mut WorkflowContext<AppointmentWorkflow>,
    r: &AppointmentRef,
    st: &AppointmentState,
    seen: u64,
    now: DateTime<Utc>,
) -> bool {
    let mut notice_sent = false;
    let asked = ctx.state(|s| s.notify_at.is_some_and(|n| n <= seen));
    let quiet_until = quiet_until(st, now);
    let notice_due = ctx.state(|s| (asked || st.notice_pending) && st.version > s.notified_version);
    ctx.state_mut(|s| s.notice_deferred_to = quiet_until.filter(|_| notice_due));
    if notice_due && quiet_until.is_none() {
        text_caller(
            ctx,
            st,
            SmsKind::AppointmentNotice,
            format!("notice:{}:{}", r.appointment_id, st.version),
            change_notice_text(st),
        )
        .await;
        ctx.state_mut(|s| s.notified_version = st.version);
        notice_sent = true;
    }
    if asked && quiet_until.is_none() {
        ctx.state_mut(|s| s.notify_at = None);
    }
    notice_sent
}

/// What the caller reads when the owner cancels or moves their appointment.
fn change_notice_text(st: &AppointmentState) -> String {
    if st.status == "cancelled" {
        format!(
            "{} had to cancel your {} on {}. Sorry about that. Reply here to book another time.",
            st.business_name, st.service, st.when
        )
    } else {
        format!(
            "{} moved your {} to {}. {}",
            st.business_name,
            st.service,
            st.when,
            nmc_domain::appointment::REPLY_OPTIONS
        )
    }
}

/// Records that this version was seen (and the notice sent): the worker's catch-up leaves this
/// appointment alone.
async fn mark_told(
    ctx: &mut WorkflowContext<AppointmentWorkflow>,
    r: &AppointmentRef,
    st: &AppointmentState,
    notice_sent: bool,
) {
    if st.version > ctx.state(|s| s.told_version) || notice_sent {
        let told = AppointmentTold {
            business_id: r.business_id,
            appointment_id: r.appointment_id,
            version: st.version,
            notice_sent,
        };
        let _ = ctx
            .execute_activity(
                BookingActivities::appointment_told,
                told,
                Step::Record.options(),
            )
            .await;
        ctx.state_mut(|s| s.told_version = st.version);
    }
}

/// Pushes the appointment's latest version to each connected calendar, unless a calendar that
/// was down is still inside its backoff.
async fn push_to_calendars(
    ctx: &mut WorkflowContext<AppointmentWorkflow>,
    r: &AppointmentRef,
    st: &AppointmentState,
    now: DateTime<Utc>,
) {
    let sync_due =
        ctx.state(|s| s.synced_version != st.version && s.sync_retry_at.is_none_or(|t| t <= now));
    if sync_due {
        let mut all_done = true;
        for provider in &st.providers {
            let req = SyncRequest {
                business_id: r.business_id,
                appointment_id: r.appointment_id,
                provider: provider.clone(),
            };
            // Failures are recorded by the activity for the owner; the appointment stands either way.
            all_done &= ctx
                .execute_activity(BookingActivities::sync_calendar, req, sync_options())
                .await
                .is_ok();
        }
        ctx.state_mut(|s| {
            if all_done {
                s.synced_version = st.version;
                s.sync_retry_at = None;
                s.sync_backoff_secs = 0;
            } else {
                // A calendar still down after a few quick retries: try again later, without
                // holding up reminders or the caller's notices meanwhile.
                s.sync_backoff_secs = (s.sync_backoff_secs * 2).clamp(60, 3600);
                s.sync_retry_at = Some(now + chrono::Duration::seconds(s.sync_backoff_secs));
            }
        });
    }
}

/// Sends the reminders now due, then sleeps until the next reminder, calendar retry or deferred
/// notice falls due, the appointment ends, or the owner changes it.
async fn wait_for_next_due(
    ctx: &mut WorkflowContext<AppointmentWorkflow>,
    st: &AppointmentState,
    now: DateTime<Utc>,
    seen: u64,
    finished: bool,
    deferred: Option<DateTime<Utc>>,
) {
    let next_due = if finished {
        None
    } else {
        reminders(ctx, st, now).await
    };
    let retry = ctx.state(|s| s.sync_retry_at.filter(|_| s.synced_version != st.version));
    let until = if finished {
        now + chrono::Duration::hours(1)
    } else {
        st.end
    };
    let wake = [next_due, retry, deferred]
        .into_iter()
        .flatten()
        .fold(until, Ord::min);
    let wait = (wake - now)
        .to_std()
        .unwrap_or(Duration::ZERO)
        .max(Duration::from_millis(1));
    temporalio_sdk::workflows::select! {
        _ = ctx.timer(wait) => {}
        _ = ctx.wait_condition(move |s: &AppointmentWorkflow| s.changes != seen) => {}
    }
}

/// Sends the reminders that are due; returns when the next one falls due.
async fn reminders(
    ctx: &mut WorkflowContext<AppointmentWorkflow>,
    st: &AppointmentState,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let start_ts = st.start.timestamp();
    let armed_at = ctx.state_mut(|s| {
        if let Some((_, at)) = s.armed.iter().find(|(t, _)| *t == start_ts) {
            *at
        } else {
            s.armed.push((start_ts, now));
            now
        }
    });
    let mut next: Option<DateTime<Utc>> = None;
    let appointment_id = ctx.state(|s| s.start.appointment_id);
    for &m in &st.reminder_minutes {
        let key = (m, start_ts);
        if ctx.state(|s| s.reminders_done.contains(&key)) {
            continue;
        }
        let mut due = st.start - chrono::Duration::minutes(i64::from(m));
        if let Some(quiet) = st.quiet.as_ref() {
            // Out of quiet hours; a reminder that would then come after the start is pointless.
            due = quiet.defer(due);
            if due >= st.start {
                ctx.state_mut(|s| s.reminders_done.push(key));
                continue;
            }
        }
        if due < armed_at {
            ctx.state_mut(|s| s.reminders_done.push(key));
        } else if due <= now {
            ctx.state_mut(|s| s.reminders_done.push(key));
            let body = nmc_domain::appointment::reminder_text(
                &st.business_name,
                &st.service,
                &st.when,
                i64::from(m),
            );
            text_caller(
                ctx,
                st,
                SmsKind::Reminder,
                format!("reminder:{appointment_id}:{m}:{start_ts}"),
                body,
            )
            .await;
        } else {
            next = Some(next.map_or(due, |n: DateTime<Utc>| n.min(due)));
        }
    }
    next
}

/// When the quiet hours that `now` falls in end (`None`: not quiet, or a run recorded before).
fn quiet_until(st: &AppointmentState, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let quiet = st.quiet.as_ref()?;
    let until = quiet.defer(now);
    (until > now).then_some(until)
}

async fn text_caller(
    ctx: &mut WorkflowContext<AppointmentWorkflow>,
    st: &AppointmentState,
    kind: SmsKind,
    key: String,
    body: String,
) {
    let (Some(conversation_id), Some(to)) = (
        st.conversation_id,
        st.caller.as_deref().and_then(|c| E164::parse(c).ok()),
    ) else {
        return;
    };
    let sms = OutboundSms {
        idempotency_key: key,
        business_id: ctx.state(|s| s.start.business_id),
        conversation_id,
        workflow_id: nmc_domain::conversation_workflow_id(ctx.state(|s| s.start.business_id), &to),
        to,
        body,
        kind,
        call_sid: None,
        note: None,
    };
    // Opted-out callers are suppressed by the activity.
    let _ = ctx
        .execute_activity(ConversationActivities::send_sms, sms, Step::Send.options())
        .await;
}

/// One calendar push: quick retries with backoff (2 s, 4 s, 8 s…) for two minutes; after that the
/// workflow itself retries later (1 min doubling to 1 h) so the rest of its work never waits.
fn sync_options() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: Duration::from_mins(2),
        start_to_close: Duration::from_secs(30),
    })
    .retry_policy(
        RetryPolicy::builder()
            .initial_interval(Duration::from_secs(2))
            .backoff_coefficient(2.0)
            .maximum_interval(Duration::from_mins(1))
            .build(),
    )
    .build()
}
