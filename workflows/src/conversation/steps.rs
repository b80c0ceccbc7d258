//! The conversation's side effects, each an activity: how it is retried, and the few shapes
//! every handler uses (text the caller, alert the owner, record the flags, attach a text).

use std::time::Duration;

use nmc_activity_defs::conversation::{
    ConversationActivities, ConversationFlags, InboundToAttach, OwnerNotice,
};
use nmc_domain::{NoticeKind, OutboundSms, SendOutcome, SmsKind};
use temporalio_common::data_converters::TemporalDeserializable;
use temporalio_common::{ActivityDefinition, RetryPolicy};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityExecutionError, ActivityOptions, LocalActivityOptions,
    WorkflowContext,
};
use uuid::Uuid;

use super::ConversationWorkflow;

/// How a step is retried. Texts go out with backoff on carrier trouble (429/5xx/timeouts) for up
/// to 30 minutes; permanent refusals come back as `SendOutcome::Rejected`, not as errors.
/// Database bookkeeping is quick and retried until the database is back.
#[derive(Clone, Copy)]
pub(crate) enum Step {
    Send,
    Record,
}

/// The longest an assistant turn may run (the worker fits the engine's bound inside it).
pub const TURN_LIMIT: Duration = Duration::from_secs(60);

impl Step {
    fn retry(self) -> RetryPolicy {
        let policy = RetryPolicy::builder().initial_interval(Duration::from_millis(500));
        match self {
            Step::Send => policy
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_mins(1))
                .build(),
            Step::Record => policy.maximum_interval(Duration::from_secs(30)).build(),
        }
    }

    fn schedule_to_close(self) -> Duration {
        match self {
            Step::Send => Duration::from_mins(30),
            Step::Record => Duration::from_hours(1),
        }
    }

    /// For the steps that stay scheduled activities (the model's turn, closing, appointments).
    pub fn options(self) -> ActivityOptions {
        let timeouts = ActivityCloseTimeouts::ScheduleAndStartToClose {
            schedule_to_close: self.schedule_to_close(),
            start_to_close: Duration::from_secs(10),
        };
        ActivityOptions::with_close_timeouts(timeouts)
            .retry_policy(self.retry())
            .build()
    }

    /// The assistant's turn: a model on a small CPU may take its time. The worker keeps the
    /// engine's own bound (attempts × timeout, then the rules answer) under this, so the rules
    /// fallback runs before Temporal would cut the attempt off and start it again.
    pub fn turn_options() -> ActivityOptions {
        let timeouts = ActivityCloseTimeouts::ScheduleAndStartToClose {
            schedule_to_close: Step::Record.schedule_to_close(),
            start_to_close: TURN_LIMIT,
        };
        ActivityOptions::with_close_timeouts(timeouts)
            .retry_policy(Step::Record.retry())
            .build()
    }

    fn local_options(self) -> LocalActivityOptions {
        LocalActivityOptions::builder()
            .retry_policy(self.retry())
            .schedule_to_close_timeout(self.schedule_to_close())
            .start_to_close_timeout(Duration::from_secs(10))
            .build()
    }
}

/// Runs one quick step as a local activity: one marker in the workflow task that asked for it,
/// instead of a scheduled activity with its own task round trip and about four writes on the
/// Temporal server, whose writes bound the first text under load (docs/PERFORMANCE.md).
pub(crate) async fn step<AD: ActivityDefinition>(
    ctx: &WorkflowContext<ConversationWorkflow>,
    activity: AD,
    input: impl Into<AD::Input>,
    how: Step,
) -> Result<AD::Output, ActivityExecutionError>
where
    AD::Output: TemporalDeserializable,
{
    ctx.execute_local_activity(activity, input, how.local_options())
        .await
}

/// Texts the caller, at most once per idempotency `key`.
pub(crate) async fn send(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    kind: SmsKind,
    key: String,
    body: String,
    call_sid: Option<String>,
) -> Option<SendOutcome> {
    let sms = outbound(ctx, kind, key, body, call_sid);
    step(ctx, ConversationActivities::send_sms, sms, Step::Send)
        .await
        .ok()
}

/// A text to the caller, as `send_sms` takes it.
pub(crate) fn outbound(
    ctx: &WorkflowContext<ConversationWorkflow>,
    kind: SmsKind,
    key: String,
    body: String,
    call_sid: Option<String>,
) -> OutboundSms {
    let workflow_id = ctx.workflow_id().to_owned();
    ctx.state(|s| OutboundSms {
        idempotency_key: key,
        business_id: s.start.business_id,
        conversation_id: s.conversation_id,
        workflow_id,
        to: s.start.caller.clone(),
        body,
        kind,
        call_sid,
        note: None,
    })
}

/// Alerts the owner (stored, and on each member's channels), at most once per `key`.
pub(crate) async fn notify(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    kind: NoticeKind,
    body: String,
    key: String,
) {
    let notice = owner_notice(ctx, kind, body, key);
    let _ = step(
        ctx,
        ConversationActivities::notify_owner,
        notice,
        Step::Send,
    )
    .await;
}

/// An alert, as `notify_owner` takes it.
pub(crate) fn owner_notice(
    ctx: &WorkflowContext<ConversationWorkflow>,
    kind: NoticeKind,
    body: String,
    key: String,
) -> OwnerNotice {
    OwnerNotice {
        business_id: ctx.state(|s| s.start.business_id),
        conversation_id: ctx.state(|s| s.conversation_id),
        workflow_id: ctx.workflow_id().to_owned(),
        kind,
        priority: kind == NoticeKind::Emergency,
        body,
        idempotency_key: key,
        caller: Some(ctx.state(|s| s.start.caller.clone())),
    }
}

/// Records who answers and whether the owner is needed, for the inbox.
pub(crate) async fn set_flags(ctx: &mut WorkflowContext<ConversationWorkflow>) {
    let flags = ctx.state(|s| ConversationFlags {
        business_id: s.start.business_id,
        conversation_id: s.conversation_id,
        mode: Some(s.memory.mode),
        emergency: s.memory.emergency,
        needs_owner: s.memory.needs_owner,
    });
    let _ = step(ctx, ConversationActivities::set_flags, flags, Step::Record).await;
}

/// Puts the caller's stored text on this conversation's thread.
pub(crate) async fn attach_text(ctx: &mut WorkflowContext<ConversationWorkflow>, message_id: Uuid) {
    let attach = InboundToAttach {
        business_id: ctx.state(|s| s.start.business_id),
        conversation_id: ctx.state(|s| s.conversation_id),
        workflow_id: ctx.workflow_id().to_owned(),
        message_id,
    };
    let _ = step(
        ctx,
        ConversationActivities::attach_inbound,
        attach,
        Step::Record,
    )
    .await;
}
