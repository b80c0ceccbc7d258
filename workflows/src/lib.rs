//! The conversation workflow: one per (business, caller), started only by Signal-With-Start.
//! It owns the conversation's state; the webhooks only record events and signal it, and every
//! side effect happens in an activity.

use std::collections::VecDeque;
use std::time::{Duration, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use nmc_activities::{InboundToAttach, ConversationClosing, ConversationActivities, RepeatCall};
use nmc_domain::{
    CallerEvent, Carried, ConversationStart, ConversationStatus, InboundSms, Keyword, MissedCall, SA_BUSINESS_ID, SA_CONVERSATION_STATUS,
    SendOutcome, OutboundSms, SmsKind, greeting_for, help_reply, opt_in_confirmation, opt_out_confirmation,
};
use serde::{Deserialize, Serialize};
use temporalio_common::RetryPolicy;
use temporalio_common::search_attributes::SearchAttributeKey;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, ContinueAsNewOptions, SyncWorkflowContext, WorkflowContext, WorkflowContextView,
    WorkflowResult,
};
use uuid::Uuid;

pub const BUSINESS_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword(SA_BUSINESS_ID);
pub const CONVERSATION_STATUS: SearchAttributeKey<String> = SearchAttributeKey::keyword(SA_CONVERSATION_STATUS);

/// How many recent call/message sids a conversation remembers for deduplication.
const SEEN_SIDS_KEPT: usize = 500;

/// The live state a query returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationView {
    pub business_id: Uuid,
    pub status: ConversationStatus,
    pub greeted: bool,
    pub missed_calls: u32,
    pub texts_received: u32,
}

#[workflow]
pub struct ConversationWorkflow {
    start: ConversationStart,
    inbox: VecDeque<CallerEvent>,
    /// Call and message sids already taken in, newest last: a retried webhook is handled once.
    seen_sids: VecDeque<String>,
    greeted: bool,
    missed_calls: u32,
    texts_received: u32,
    status: ConversationStatus,
    close_requested: bool,
    /// Set when an earlier run of the same conversation continued as new into this one.
    carried_conversation_id: Option<Uuid>,
}

#[workflow_methods]
impl ConversationWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, mut start: ConversationStart) -> Self {
        let carried = start.carried.take().unwrap_or_default();
        Self {
            start,
            inbox: carried.pending.into(),
            seen_sids: carried.seen_sids.into(),
            greeted: carried.greeted,
            missed_calls: carried.missed_calls,
            texts_received: carried.texts_received,
            status: ConversationStatus::Active,
            close_requested: false,
            carried_conversation_id: carried.conversation_id,
        }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<ConversationStatus> {
        // The first run's id is a UUID: it names the conversation row, so replays and retries agree on it.
        let conversation_id = match ctx.state(|s| s.carried_conversation_id) {
            Some(id) => id,
            None => Uuid::parse_str(ctx.run_id()).unwrap_or_else(|_| Uuid::nil()),
        };
        let idle = Duration::from_secs(ctx.state(|s| s.start.idle_timeout_secs).max(1));
        ctx.upsert_search_attributes([CONVERSATION_STATUS.value_set(ConversationStatus::Active.as_str().to_owned())]);

        loop {
            // Bound the history: hand the same conversation to a fresh run (rule 6, house style).
            if ctx.continue_as_new_suggested() && ctx.state(|s| s.inbox.is_empty()) {
                let next = ctx.state(|s| s.handover(Some(conversation_id), true));
                ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
            }
            temporalio_sdk::workflows::select! {
                _ = ctx.wait_condition(|s: &Self| !s.inbox.is_empty() || s.close_requested) => {}
                _ = ctx.timer(idle) => {
                    if ctx.state(|s| s.inbox.is_empty()) {
                        ctx.state_mut(|s| s.status = ConversationStatus::ClosedIdle);
                    }
                }
            }
            while let Some(event) = ctx.state_mut(|s| s.inbox.pop_front()) {
                match event {
                    CallerEvent::Missed(call) => on_missed_call(ctx, conversation_id, call).await,
                    CallerEvent::Texted(sms) => on_text(ctx, conversation_id, sms).await,
                }
            }
            if ctx.state(|s| s.close_requested && s.status == ConversationStatus::Active) {
                ctx.state_mut(|s| s.status = ConversationStatus::ClosedManual);
            }
            if ctx.state(|s| s.status != ConversationStatus::Active) {
                break;
            }
        }

        let (business_id, status) = ctx.state(|s| (s.start.business_id, s.status));
        ctx.upsert_search_attributes([CONVERSATION_STATUS.value_set(status.as_str().to_owned())]);
        let close = ConversationClosing { business_id, conversation_id, status };
        // Best effort: the outcome is already in the workflow history even if the row update fails.
        let _ = ctx.execute_activity(ConversationActivities::close_conversation, close, record_options()).await;

        // A call or text that arrived while we were closing starts the next conversation.
        if ctx.state(|s| !s.inbox.is_empty()) {
            let next = ctx.state(|s| s.handover(None, false));
            ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
        }
        Ok(status)
    }

    /// A missed call from this caller (Signal-With-Start from the voice webhook).
    #[signal]
    pub fn missed_call(&mut self, _ctx: &mut SyncWorkflowContext<Self>, call: MissedCall) {
        if self.first_sighting(&call.call_sid) {
            self.missed_calls += 1;
            self.inbox.push_back(CallerEvent::Missed(call));
        }
    }

    /// A text from this caller (Signal-With-Start from the SMS webhook).
    #[signal]
    pub fn inbound_sms(&mut self, _ctx: &mut SyncWorkflowContext<Self>, sms: InboundSms) {
        if self.first_sighting(&sms.message_sid) {
            self.texts_received += 1;
            self.inbox.push_back(CallerEvent::Texted(sms));
        }
    }

    #[signal]
    pub fn close(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _reason: String) {
        self.close_requested = true;
    }

    #[query]
    pub fn state(&self, _ctx: &WorkflowContextView) -> ConversationView {
        ConversationView {
            business_id: self.start.business_id,
            status: self.status,
            greeted: self.greeted,
            missed_calls: self.missed_calls,
            texts_received: self.texts_received,
        }
    }
}

impl ConversationWorkflow {
    fn first_sighting(&mut self, sid: &str) -> bool {
        if self.seen_sids.iter().any(|s| s == sid) {
            return false;
        }
        if self.seen_sids.len() >= SEEN_SIDS_KEPT {
            self.seen_sids.pop_front();
        }
        self.seen_sids.push_back(sid.to_owned());
        true
    }

    /// The start input of the next run. `same_conversation` keeps the greeting state; a new
    /// conversation starts ungreeted. Pending events move over either way.
    fn handover(&self, conversation_id: Option<Uuid>, same_conversation: bool) -> ConversationStart {
        let pending_missed = self.inbox.iter().filter(|e| matches!(e, CallerEvent::Missed(_))).count() as u32;
        let pending_texts = self.inbox.len() as u32 - pending_missed;
        ConversationStart {
            carried: Some(Carried {
                conversation_id,
                greeted: same_conversation && self.greeted,
                missed_calls: if same_conversation { self.missed_calls } else { pending_missed },
                texts_received: if same_conversation { self.texts_received } else { pending_texts },
                seen_sids: self.seen_sids.iter().cloned().collect(),
                pending: self.inbox.iter().cloned().collect(),
            }),
            ..self.start.clone()
        }
    }
}

/// Texts go out with backoff on carrier trouble (429/5xx/timeouts) for up to 30 minutes;
/// permanent refusals come back as `SendOutcome::Rejected`, not as errors.
fn send_options() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: Duration::from_secs(30 * 60),
        start_to_close: Duration::from_secs(10),
    })
    .retry_policy(
        RetryPolicy::builder()
            .initial_interval(Duration::from_millis(500))
            .backoff_coefficient(2.0)
            .maximum_interval(Duration::from_secs(60))
            .build(),
    )
    .build()
}

/// Database bookkeeping: quick, retried until the database is back.
fn record_options() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: Duration::from_secs(60 * 60),
        start_to_close: Duration::from_secs(10),
    })
    .retry_policy(RetryPolicy::builder().initial_interval(Duration::from_millis(500)).maximum_interval(Duration::from_secs(30)).build())
    .build()
}

fn now(ctx: &WorkflowContext<ConversationWorkflow>) -> DateTime<Utc> {
    let t = ctx.workflow_time().unwrap_or(UNIX_EPOCH);
    DateTime::<Utc>::from(t)
}

async fn send(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    kind: SmsKind,
    key: String,
    body: String,
    call_sid: Option<String>,
) -> Option<SendOutcome> {
    let (business_id, to) = ctx.state(|s| (s.start.business_id, s.start.caller.clone()));
    let sms = OutboundSms {
        idempotency_key: key,
        business_id,
        conversation_id,
        workflow_id: ctx.workflow_id().to_owned(),
        to,
        body,
        kind,
        call_sid,
    };
    ctx.execute_activity(ConversationActivities::send_sms, sms, send_options()).await.ok()
}

async fn on_missed_call(ctx: &mut WorkflowContext<ConversationWorkflow>, conversation_id: Uuid, call: MissedCall) {
    if ctx.state(|s| s.greeted) {
        // The caller tried again while we are already talking: no second text.
        let repeat = RepeatCall { business_id: ctx.state(|s| s.start.business_id), call_sid: call.call_sid };
        let _ = ctx.execute_activity(ConversationActivities::mark_repeat_call, repeat, record_options()).await;
        return;
    }
    ctx.state_mut(|s| s.greeted = true);
    let body = greeting_for(&call.profile, now(ctx));
    let key = format!("greeting:{}", call.call_sid);
    let outcome = send(ctx, conversation_id, SmsKind::Greeting, key, body, Some(call.call_sid)).await;
    match outcome {
        Some(SendOutcome::Suppressed) => ctx.state_mut(|s| s.status = ConversationStatus::ClosedOptedOut),
        Some(SendOutcome::Rejected { code, .. }) => ctx.state_mut(|s| {
            s.status = if code == 21610 { ConversationStatus::ClosedOptedOut } else { ConversationStatus::ClosedUndeliverable }
        }),
        _ => {}
    }
}

async fn on_text(ctx: &mut WorkflowContext<ConversationWorkflow>, conversation_id: Uuid, sms: InboundSms) {
    let attach = InboundToAttach {
        business_id: ctx.state(|s| s.start.business_id),
        conversation_id,
        workflow_id: ctx.workflow_id().to_owned(),
        message_id: sms.message_id,
    };
    let _ = ctx.execute_activity(ConversationActivities::attach_inbound, attach, record_options()).await;
    let name = sms.profile.name.clone();
    let reply = match sms.keyword {
        Some(Keyword::OptOut) => {
            ctx.state_mut(|s| s.status = ConversationStatus::ClosedOptedOut);
            sms.newly_opted_out.then(|| (SmsKind::OptOutConfirmation, opt_out_confirmation(&name)))
        }
        Some(Keyword::OptIn) => Some((SmsKind::OptInConfirmation, opt_in_confirmation(&name))),
        Some(Keyword::Help) => Some((SmsKind::HelpReply, help_reply(&name, &sms.profile.business_phone))),
        // Ordinary texts are kept on the conversation; the assistant that answers them comes next.
        None => None,
    };
    if let Some((kind, body)) = reply {
        let key = format!("{}:{}", kind.as_str(), sms.message_sid);
        send(ctx, conversation_id, kind, key, body, None).await;
    }
}

/// The workflow's definition type (generated by the macro), for code generic over its signals.
pub use conversation_workflow::Run as ConversationRun;
