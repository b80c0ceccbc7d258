//! The conversation workflow: one per (business, caller), started only by Signal-With-Start.
//! It owns the conversation's state; the webhooks only record events and signal it, and every
//! side effect happens in an activity.

pub mod appointment;
mod booking;
pub mod connect;
mod follow_ups;
pub mod signal;

pub use appointment::{
    AppointmentChanged, AppointmentStart, AppointmentWorkflow, appointment_workflow_id,
};

use std::collections::VecDeque;
use std::time::{Duration, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use nmc_activities::{
    ConversationActivities, ConversationClosing, ConversationFlags, InboundToAttach, OwnerNotice,
    RepeatCall, TriageRequest, TurnRequest, TurnResult,
};
use nmc_assistant::{Field, LeadFields};
use nmc_domain::{
    BusinessProfile, CallerEvent, Carried, ConversationStart, ConversationStatus, InboundSms,
    Keyword, MissedCall, OutboundSms, SA_BUSINESS_ID, SA_CONVERSATION_STATUS, SendOutcome, SmsKind,
    greeting_for, help_reply, opt_in_confirmation, opt_out_confirmation,
};
use serde::{Deserialize, Serialize};
use temporalio_common::data_converters::TemporalDeserializable;
use temporalio_common::search_attributes::SearchAttributeKey;
use temporalio_common::{ActivityDefinition, RetryPolicy};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityExecutionError, ActivityOptions, ContinueAsNewOptions,
    LocalActivityOptions, SyncWorkflowContext, WorkflowContext, WorkflowContextView,
    WorkflowResult,
};
use uuid::Uuid;

pub const BUSINESS_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword(SA_BUSINESS_ID);
pub const CONVERSATION_STATUS: SearchAttributeKey<String> =
    SearchAttributeKey::keyword(SA_CONVERSATION_STATUS);

/// How many recent call/message sids a conversation remembers for deduplication.
const SEEN_SIDS_KEPT: usize = 500;

/// The assistant conversation (owner head start, takeover, follow-ups). Runs recorded before it
/// replay the earlier behaviour; new runs record the marker and take the new path.
const PATCH_ASSISTANT: &str = "conversation-v2";

/// The owner is alerted from a quick rules triage before the assistant's turn (an LLM may take
/// seconds), and the head start counts from that alert.
const PATCH_ALERT_FIRST: &str = "alert-before-turn";

/// New runs take their quick steps (texts, owner alerts, bookkeeping, booking) as local
/// activities: one marker in the workflow task that asked for it, instead of a scheduled activity
/// with its own task round trip and about four writes on the Temporal server, whose writes bound
/// the first text under load (docs/PERFORMANCE.md). The assistant's turn stays scheduled: a model
/// may think for seconds, and the workflow keeps taking signals and queries meanwhile. Under the
/// same patch a run that already has work waiting starts no timer for it.
const PATCH_LOCAL_STEPS: &str = "local-steps";

/// Who answers the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Assistant,
    Owner,
}

/// The conversation's memory beyond the inbox, carried across continue-as-new.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Memory {
    mode: Mode,
    fields: LeadFields,
    asked: Option<Field>,
    replied_once: bool,
    emergency: bool,
    needs_owner: bool,
    qualified_notified: bool,
    /// Our last message before the caller went quiet: follow-ups count from here.
    follow_up_anchor: Option<DateTime<Utc>>,
    follow_ups_sent: usize,
    last_activity: Option<DateTime<Utc>>,
    /// The caller's latest text and whether anyone answered it.
    last_caller_text: Option<PendingText>,
    profile: Option<BusinessProfile>,
    /// Slots offered and not yet picked.
    #[serde(default)]
    offer: Option<booking::PendingOffer>,
    /// The appointment this conversation booked.
    #[serde(default)]
    booked: Option<Uuid>,
    /// Follow-ups sent in this conversation, across the caller's replies (at most three).
    #[serde(default)]
    follow_ups_total: usize,
    /// The caller is done (wrong number, declined) or the owner has the qualified lead: no more follow-ups.
    #[serde(default)]
    follow_ups_over: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingText {
    message_sid: String,
    text: String,
    answered: bool,
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
    /// owner_window | caller_reply | follow_up | nothing
    pub waiting_for: String,
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
    /// The conversation row this run writes to (the first run's id, carried across continue-as-new).
    conversation_id: Uuid,
    memory: Memory,
    /// Bumped by every owner action (message, takeover); the head start ends when it moves.
    owner_actions: u64,
    owner_messages: u64,
    /// Mode changed by a signal; the run loop records it.
    mode_dirty: bool,
    /// Released by the owner with a caller text unanswered: the assistant picks it up.
    resume_requested: bool,
    waiting: Option<(String, DateTime<Utc>)>,
    /// This run takes the `trust-v1` path.
    trust: bool,
}

#[workflow_methods]
impl ConversationWorkflow {
    #[init]
    pub fn new(ctx: &WorkflowContextView, mut start: ConversationStart) -> Self {
        let carried = start.carried.take().unwrap_or_default();
        let conversation_id = carried
            .conversation_id
            .unwrap_or_else(|| Uuid::parse_str(ctx.run_id()).unwrap_or_else(|_| Uuid::nil()));
        let memory = match (&carried.memory, carried.conversation_id) {
            (Some(m), Some(_)) => serde_json::from_value(m.clone()).unwrap_or_default(),
            _ => Memory::default(),
        };
        Self {
            start,
            inbox: carried.pending.into(),
            seen_sids: carried.seen_sids.into(),
            greeted: carried.greeted,
            missed_calls: carried.missed_calls,
            texts_received: carried.texts_received,
            status: ConversationStatus::Active,
            close_requested: false,
            conversation_id,
            memory,
            owner_actions: 0,
            owner_messages: 0,
            mode_dirty: false,
            resume_requested: false,
            waiting: None,
            trust: false,
        }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<ConversationStatus> {
        // The first run's id is a UUID: it names the conversation row, so replays and retries agree on it.
        let conversation_id = ctx.state(|s| s.conversation_id);
        let idle = Duration::from_secs(ctx.state(|s| s.start.idle_timeout_secs).max(1));
        let v2 = ctx.patched(PATCH_ASSISTANT);
        let trust = v2 && ctx.patched(follow_ups::PATCH_TRUST);
        ctx.state_mut(|s| s.trust = trust);
        ctx.upsert_search_attributes([
            CONVERSATION_STATUS.value_set(ConversationStatus::Active.as_str().to_owned())
        ]);

        loop {
            // Bound the history: hand the same conversation to a fresh run (rule 6, house style).
            if ctx.continue_as_new_suggested()
                && ctx.state(|s| s.inbox.is_empty())
                && ctx.all_handlers_finished()
            {
                let next = ctx.state(|s| s.handover(Some(conversation_id), true));
                ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
            }
            if v2 {
                wait_for_next_v2(ctx, conversation_id).await;
            } else {
                temporalio_sdk::workflows::select! {
                    _ = ctx.wait_condition(|s: &Self| !s.inbox.is_empty() || s.close_requested) => {}
                    _ = ctx.timer(idle) => {
                        if ctx.state(|s| s.inbox.is_empty()) {
                            ctx.state_mut(|s| s.status = ConversationStatus::ClosedIdle);
                        }
                    }
                }
            }
            while let Some(event) = ctx.state_mut(|s| s.inbox.pop_front()) {
                match event {
                    CallerEvent::Missed(call) => on_missed_call(ctx, conversation_id, call).await,
                    CallerEvent::Texted(sms) if v2 => on_text_v2(ctx, conversation_id, sms).await,
                    CallerEvent::Texted(sms) => on_text(ctx, conversation_id, sms).await,
                }
            }
            if v2 {
                after_events_v2(ctx, conversation_id).await;
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
        let close = ConversationClosing {
            business_id,
            conversation_id,
            status,
        };
        // Best effort: the outcome is already in the workflow history even if the row update fails.
        // Scheduled, never a local step: the decision to close is then committed before the run
        // ends, so a call arriving meanwhile is seen after it and starts the next conversation
        // (as a local step the server would refuse the ending task and replay the call first).
        let _ = ctx
            .execute_activity(
                ConversationActivities::close_conversation,
                close,
                record_options(),
            )
            .await;

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

    /// The owner takes the conversation: the assistant stays silent until released.
    #[signal]
    pub fn owner_takeover(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _by: String) {
        self.owner_actions += 1;
        if self.memory.mode != Mode::Owner {
            self.memory.mode = Mode::Owner;
            self.mode_dirty = true;
        }
    }

    /// The owner hands back to the assistant, which answers anything left unanswered.
    #[signal]
    pub fn owner_release(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _by: String) {
        if self.memory.mode != Mode::Assistant {
            self.memory.mode = Mode::Assistant;
            self.memory.needs_owner = false;
            self.mode_dirty = true;
            self.resume_requested = self
                .memory
                .last_caller_text
                .as_ref()
                .is_some_and(|t| !t.answered);
        }
    }

    #[update_validator(owner_message)]
    fn validate_owner_message(
        &self,
        _ctx: &WorkflowContextView,
        msg: &OwnerMessage,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let body = msg.body.trim();
        if body.is_empty() {
            return Err("message is empty".into());
        }
        if body.chars().count() > 1600 {
            return Err("message is longer than 1600 characters".into());
        }
        if self.status != ConversationStatus::Active {
            return Err("conversation is closed".into());
        }
        Ok(())
    }

    /// The owner texts the caller from the app. Returns the stored message's id once the carrier
    /// has accepted it, so the app knows it went out.
    #[update]
    pub async fn owner_message(
        ctx: &mut WorkflowContext<Self>,
        msg: OwnerMessage,
    ) -> Result<Uuid, Box<dyn std::error::Error + Send + Sync>> {
        let n = ctx.state_mut(|s| {
            s.owner_actions += 1;
            s.owner_messages += 1;
            if let Some(t) = s.memory.last_caller_text.as_mut() {
                t.answered = true;
            }
            s.owner_messages
        });
        let conversation_id = ctx.state(|s| s.conversation_id);
        let key = match &msg.key {
            Some(k) => format!("owner:{conversation_id}:key:{k}"),
            None => format!("owner:{conversation_id}:{n}"),
        };
        match send(
            ctx,
            conversation_id,
            SmsKind::OwnerMessage,
            key,
            msg.body.trim().to_owned(),
            None,
        )
        .await
        {
            Some(SendOutcome::Sent {
                message_id: Some(id),
                ..
            }) => {
                let now = now(ctx);
                ctx.state_mut(|s| note_outbound(&mut s.memory, now));
                Ok(id)
            }
            Some(SendOutcome::Suppressed) => Err("the caller has opted out of texts".into()),
            Some(SendOutcome::Rejected { code, message }) => {
                Err(format!("the carrier refused the text ({code}): {message}").into())
            }
            _ => Err("the text could not be sent".into()),
        }
    }

    #[query]
    pub fn state(&self, _ctx: &WorkflowContextView) -> ConversationView {
        let (waiting_for, until) = match &self.waiting {
            Some((what, until)) => (what.clone(), Some(*until)),
            None => ("nothing".to_owned(), None),
        };
        ConversationView {
            business_id: self.start.business_id,
            conversation_id: self.conversation_id,
            status: self.status,
            mode: self.memory.mode,
            greeted: self.greeted,
            missed_calls: self.missed_calls,
            texts_received: self.texts_received,
            fields: self.memory.fields.clone(),
            emergency: self.memory.emergency,
            needs_owner: self.memory.needs_owner,
            follow_ups_sent: self.memory.follow_ups_sent,
            waiting_for,
            until,
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
    fn handover(
        &self,
        conversation_id: Option<Uuid>,
        same_conversation: bool,
    ) -> ConversationStart {
        let pending_missed = self
            .inbox
            .iter()
            .filter(|e| matches!(e, CallerEvent::Missed(_)))
            .count() as u32;
        let pending_texts = self.inbox.len() as u32 - pending_missed;
        ConversationStart {
            carried: Some(Carried {
                conversation_id,
                greeted: same_conversation && self.greeted,
                missed_calls: if same_conversation {
                    self.missed_calls
                } else {
                    pending_missed
                },
                texts_received: if same_conversation {
                    self.texts_received
                } else {
                    pending_texts
                },
                seen_sids: self.seen_sids.iter().cloned().collect(),
                pending: self.inbox.iter().cloned().collect(),
                memory: same_conversation
                    .then(|| serde_json::to_value(&self.memory).unwrap_or_default()),
            }),
            ..self.start.clone()
        }
    }
}

/// How a step is retried. Texts go out with backoff on carrier trouble (429/5xx/timeouts) for up
/// to 30 minutes; permanent refusals come back as `SendOutcome::Rejected`, not as errors.
/// Database bookkeeping is quick and retried until the database is back.
#[derive(Clone, Copy)]
pub(crate) enum Step {
    Send,
    Record,
}

impl Step {
    fn retry(self) -> RetryPolicy {
        match self {
            Step::Send => RetryPolicy::builder()
                .initial_interval(Duration::from_millis(500))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(60))
                .build(),
            Step::Record => RetryPolicy::builder()
                .initial_interval(Duration::from_millis(500))
                .maximum_interval(Duration::from_secs(30))
                .build(),
        }
    }

    fn schedule_to_close(self) -> Duration {
        match self {
            Step::Send => Duration::from_secs(30 * 60),
            Step::Record => Duration::from_secs(60 * 60),
        }
    }

    fn options(self) -> ActivityOptions {
        let timeouts = ActivityCloseTimeouts::ScheduleAndStartToClose {
            schedule_to_close: self.schedule_to_close(),
            start_to_close: Duration::from_secs(10),
        };
        ActivityOptions::with_close_timeouts(timeouts)
            .retry_policy(self.retry())
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

fn send_options() -> ActivityOptions {
    Step::Send.options()
}

fn record_options() -> ActivityOptions {
    Step::Record.options()
}

/// Runs one quick step of the conversation: a local activity in runs with `PATCH_LOCAL_STEPS`,
/// a scheduled one in runs recorded before it.
pub(crate) async fn step<AD: ActivityDefinition>(
    ctx: &WorkflowContext<ConversationWorkflow>,
    activity: AD,
    input: impl Into<AD::Input>,
    how: Step,
) -> Result<AD::Output, ActivityExecutionError>
where
    AD::Output: TemporalDeserializable,
{
    if ctx.patched(PATCH_LOCAL_STEPS) {
        ctx.execute_local_activity(activity, input, how.local_options())
            .await
    } else {
        ctx.execute_activity(activity, input, how.options()).await
    }
}

fn now<W>(ctx: &WorkflowContext<W>) -> DateTime<Utc> {
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
    step(ctx, ConversationActivities::send_sms, sms, Step::Send)
        .await
        .ok()
}

async fn on_missed_call(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    call: MissedCall,
) {
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
    let body = greeting_for(&call.profile, at);
    let key = format!("greeting:{}", call.call_sid);
    let outcome = send(
        ctx,
        conversation_id,
        SmsKind::Greeting,
        key,
        body,
        Some(call.call_sid),
    )
    .await;
    if matches!(outcome, Some(SendOutcome::Sent { .. })) {
        let at = now(ctx);
        ctx.state_mut(|s| note_outbound(&mut s.memory, at));
    }
    match outcome {
        Some(SendOutcome::Suppressed) => {
            ctx.state_mut(|s| s.status = ConversationStatus::ClosedOptedOut)
        }
        Some(SendOutcome::Rejected { code, .. }) => ctx.state_mut(|s| {
            s.status = if code == 21610 {
                ConversationStatus::ClosedOptedOut
            } else {
                ConversationStatus::ClosedUndeliverable
            }
        }),
        _ => {}
    }
}

/// Puts the caller's stored text on this conversation's thread.
async fn attach_text(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    message_id: Uuid,
) {
    let attach = InboundToAttach {
        business_id: ctx.state(|s| s.start.business_id),
        conversation_id,
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

async fn on_text(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    sms: InboundSms,
) {
    attach_text(ctx, conversation_id, sms.message_id).await;
    let name = sms.profile.name.clone();
    let reply = match sms.keyword {
        Some(Keyword::OptOut) => {
            ctx.state_mut(|s| s.status = ConversationStatus::ClosedOptedOut);
            sms.newly_opted_out
                .then(|| (SmsKind::OptOutConfirmation, opt_out_confirmation(&name)))
        }
        Some(Keyword::OptIn) => Some((SmsKind::OptInConfirmation, opt_in_confirmation(&name))),
        Some(Keyword::Help) => Some((
            SmsKind::HelpReply,
            help_reply(&name, &sms.profile.business_phone),
        )),
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

// ---- v2: the assistant conversation -------------------------------------------------------

pub(crate) use follow_ups::note_outbound;
use follow_ups::{caller_is_done, wait_for_next_v2};

/// A profile is recorded with the first event of every run; this is only a safe fallback.
fn fallback_profile() -> BusinessProfile {
    BusinessProfile {
        name: String::new(),
        owner_name: String::new(),
        business_phone: String::new(),
        timezone: "UTC".into(),
        business_hours: Default::default(),
        greeting: None,
        after_hours_greeting: None,
        settings: Default::default(),
    }
}

/// Mode changes from signals are recorded, and a release answers what the caller left unanswered.
async fn after_events_v2(ctx: &mut WorkflowContext<ConversationWorkflow>, conversation_id: Uuid) {
    if ctx.state(|s| s.mode_dirty) {
        set_flags(ctx, conversation_id).await;
    }
    if ctx.state(|s| s.resume_requested) {
        ctx.state_mut(|s| s.resume_requested = false);
        let pending = ctx
            .state(|s| s.memory.last_caller_text.clone())
            .filter(|t| !t.answered);
        if let Some(text) = pending {
            // The owner handed back: answer now, with the whole history, no second head start.
            if let Some(turn) = assistant_turn(ctx, conversation_id, &text.text).await
                && !caller_is_done(ctx, conversation_id, &text.message_sid, &turn).await
            {
                reply(ctx, conversation_id, &text.message_sid, &turn).await;
            }
        }
    }
}

async fn assistant_turn(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    text: &str,
) -> Option<TurnResult> {
    let req = ctx.state(|s| {
        let p = s.memory.profile.clone().unwrap_or_else(fallback_profile);
        TurnRequest {
            business_id: s.start.business_id,
            conversation_id,
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
            req,
            record_options(),
        )
        .await
        .ok()?;
    ctx.state_mut(|s| {
        s.memory.fields.merge_missing(&turn.outcome.learned);
        s.memory.asked = turn.outcome.asked;
    });
    Some(turn)
}

/// Sends the assistant's reply to the caller's text `message_sid`, and the qualified summary.
async fn reply(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    message_sid: &str,
    turn: &TurnResult,
) {
    if ctx.patched(booking::PATCH_BOOKING)
        && booking::offer_instead_of_reply(ctx, conversation_id, message_sid, turn).await
    {
        return;
    }
    let key = format!("reply:{message_sid}");
    let outcome = send(
        ctx,
        conversation_id,
        SmsKind::AssistantReply,
        key,
        turn.outcome.reply.clone(),
        None,
    )
    .await;
    if matches!(outcome, Some(SendOutcome::Sent { .. })) {
        let at = now(ctx);
        ctx.state_mut(|s| {
            s.memory.replied_once = true;
            if let Some(t) = s.memory.last_caller_text.as_mut() {
                t.answered = true;
            }
            note_outbound(&mut s.memory, at);
        });
    }
    if let (true, Some(summary)) = (
        turn.newly_qualified && !ctx.state(|s| s.memory.qualified_notified),
        &turn.summary,
    ) {
        ctx.state_mut(|s| {
            s.memory.qualified_notified = true;
            // The owner now has the lead: follow-ups would talk over them.
            s.memory.follow_ups_over |= s.trust;
        });
        notify(
            ctx,
            conversation_id,
            "qualified",
            false,
            summary.clone(),
            format!("qualified:{conversation_id}"),
        )
        .await;
    }
}

async fn notify(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    kind: &str,
    priority: bool,
    body: String,
    key: String,
) {
    let notice = OwnerNotice {
        business_id: ctx.state(|s| s.start.business_id),
        conversation_id,
        workflow_id: ctx.workflow_id().to_owned(),
        kind: kind.to_owned(),
        priority,
        body,
        idempotency_key: key,
    };
    let _ = step(
        ctx,
        ConversationActivities::notify_owner,
        notice,
        Step::Send,
    )
    .await;
}

async fn set_flags(ctx: &mut WorkflowContext<ConversationWorkflow>, conversation_id: Uuid) {
    let flags = ctx.state(|s| ConversationFlags {
        business_id: s.start.business_id,
        conversation_id,
        mode: Some(match s.memory.mode {
            Mode::Assistant => "assistant".into(),
            Mode::Owner => "owner".into(),
        }),
        emergency: s.memory.emergency,
        needs_owner: s.memory.needs_owner,
    });
    ctx.state_mut(|s| s.mode_dirty = false);
    let _ = step(ctx, ConversationActivities::set_flags, flags, Step::Record).await;
}

/// A caller's text in the assistant conversation: the owner hears at once and gets a head start;
/// emergencies and hand-offs skip it.
async fn on_text_v2(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    sms: InboundSms,
) {
    let at = now(ctx);
    let text = sms.message_text.clone().unwrap_or_default();
    ctx.state_mut(|s| {
        s.memory.profile = Some(sms.profile.clone());
        s.memory.last_activity = Some(at);
        // Any reply from the caller cancels the follow-ups.
        s.memory.follow_up_anchor = None;
        s.memory.follow_ups_sent = 0;
    });
    if sms.keyword.is_some() {
        // Carrier keywords keep their compliance handling.
        return on_text(ctx, conversation_id, sms).await;
    }
    attach_text(ctx, conversation_id, sms.message_id).await;
    ctx.state_mut(|s| {
        s.memory.last_caller_text = Some(PendingText {
            message_sid: sms.message_sid.clone(),
            text: text.clone(),
            answered: false,
        })
    });
    let caller_line = format!(
        "Text from {}: \"{}\"",
        ctx.state(|s| s.start.caller.as_str().to_owned()),
        text.chars().take(300).collect::<String>()
    );

    if ctx.state(|s| s.memory.mode == Mode::Owner) {
        // The owner has it: the assistant stays silent, the owner hears every message.
        notify(
            ctx,
            conversation_id,
            "caller_text",
            false,
            format!("{caller_line} (you have this conversation)"),
            format!("caller_text:{}", sms.message_sid),
        )
        .await;
        return;
    }
    if ctx.patched(booking::PATCH_BOOKING)
        && booking::on_text(ctx, conversation_id, &sms, &text).await
    {
        return;
    }
    if ctx.patched(PATCH_ALERT_FIRST) {
        return alert_then_answer(ctx, conversation_id, sms, text, caller_line).await;
    }
    let Some(turn) = assistant_turn(ctx, conversation_id, &text).await else {
        notify(
            ctx,
            conversation_id,
            "needs_owner",
            false,
            format!("{caller_line} The assistant could not answer; please reply."),
            format!("caller_text:{}", sms.message_sid),
        )
        .await;
        return;
    };
    if turn.outcome.emergency {
        ctx.state_mut(|s| s.memory.emergency = true);
        set_flags(ctx, conversation_id).await;
        let body = format!(
            "EMERGENCY at {}: {caller_line} Call them now.",
            sms.profile.name
        );
        notify(
            ctx,
            conversation_id,
            "emergency",
            true,
            body,
            format!("emergency:{}", sms.message_sid),
        )
        .await;
        reply(ctx, conversation_id, &sms.message_sid, &turn).await;
        return;
    }
    if turn.outcome.needs_human {
        ctx.state_mut(|s| {
            s.memory.mode = Mode::Owner;
            s.memory.needs_owner = true;
        });
        set_flags(ctx, conversation_id).await;
        notify(
            ctx,
            conversation_id,
            "needs_owner",
            false,
            format!("{caller_line} They want a person: the conversation is yours."),
            format!("needs_owner:{}", sms.message_sid),
        )
        .await;
        reply(ctx, conversation_id, &sms.message_sid, &turn).await;
        return;
    }

    let window = sms.profile.settings.owner_window_secs;
    notify(
        ctx,
        conversation_id,
        "caller_text",
        false,
        format!("{caller_line} The assistant answers in {window}s unless you reply or take over."),
        format!("caller_text:{}", sms.message_sid),
    )
    .await;
    if window > 0 {
        let (acted, texts) = ctx.state(|s| (s.owner_actions, s.texts_received));
        let until = now(ctx) + chrono::Duration::seconds(window as i64);
        ctx.state_mut(|s| s.waiting = Some(("owner_window".to_owned(), until)));
        temporalio_sdk::workflows::select! {
            _ = ctx.timer(Duration::from_secs(window)) => {}
            _ = ctx.wait_condition(move |s: &ConversationWorkflow| {
                s.owner_actions != acted || s.memory.mode == Mode::Owner || s.texts_received != texts || s.close_requested
            }) => {}
        }
        ctx.state_mut(|s| s.waiting = None);
        let (owner_moved, caller_moved) = ctx.state(|s| {
            (
                s.owner_actions != acted || s.memory.mode == Mode::Owner || s.close_requested,
                s.texts_received != texts,
            )
        });
        if owner_moved {
            return; // The owner answered or took over: the assistant stays silent.
        }
        if caller_moved {
            return; // The caller wrote again: the next turn answers everything, with full history.
        }
    }
    reply(ctx, conversation_id, &sms.message_sid, &turn).await;
}

/// Replays recorded histories against the current workflow code (CI and `nmc-worker replay`).
pub mod replay {
    use temporalio_client::WorkflowHistory;
    use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

    /// Replays one history saved as JSON: either exported by `temporal workflow show --output json`
    /// (proto3 JSON) or written by the SDK (`WorkflowHistory::to_json`, as `tests/tests/replay.rs`
    /// records them). The error says what no longer matches.
    pub async fn replay_json(json: &[u8]) -> Result<(), String> {
        let history = match WorkflowHistory::from_json(json) {
            Ok(h) => h,
            Err(sdk_err) => from_proto_json(json).map_err(|e| {
                format!("not a workflow history: {e} (nor the SDK's form: {sdk_err})")
            })?,
        };
        replay(history).await
    }

    /// Parses proto3 JSON (what the `temporal` CLI writes) with the Temporal API's own descriptors:
    /// the SDK's `from_json` reads only its serde form (temporalio-protos has a TODO for proto JSON).
    fn from_proto_json(json: &[u8]) -> Result<WorkflowHistory, String> {
        use prost::Message;
        static DESCRIPTORS: &[u8] =
            include_bytes!(concat!(env!("OUT_DIR"), "/temporal_descriptors.bin"));
        let pool = prost_reflect::DescriptorPool::decode(DESCRIPTORS).map_err(|e| e.to_string())?;
        let desc = pool
            .get_message_by_name("temporal.api.history.v1.History")
            .ok_or("History descriptor missing")?;
        let mut de = serde_json::Deserializer::from_slice(json);
        let dynamic =
            prost_reflect::DynamicMessage::deserialize(desc, &mut de).map_err(|e| e.to_string())?;
        let history = temporalio_protos::temporal::api::history::v1::History::decode(
            dynamic.encode_to_vec().as_slice(),
        )
        .map_err(|e| e.to_string())?;
        Ok(history.into())
    }

    /// Replays a history, for example one fetched from the server by workflow id.
    pub async fn replay(history: WorkflowHistory) -> Result<(), String> {
        let options = WorkflowReplayerOptions::new()
            .register_workflow::<super::ConversationWorkflow>()
            .map_err(|e| e.to_string())?
            .register_workflow::<super::AppointmentWorkflow>()
            .map_err(|e| e.to_string())?
            .build();
        let replayer = WorkflowReplayer::new(options).map_err(|e| e.to_string())?;
        replayer
            .replay_workflow(history)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The owner hears at once (from a rules triage), then the engine answers; the head start counts
/// from the alert. Emergencies and hand-offs answer without waiting.
async fn alert_then_answer(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    sms: InboundSms,
    text: String,
    caller_line: String,
) {
    let sid = sms.message_sid.clone();
    // Owner actions or caller texts from here on count, even while the engine is thinking.
    let (acted, texts) = ctx.state(|s| (s.owner_actions, s.texts_received));
    let asked = ctx.state(|s| s.memory.asked);
    let triage = step(
        ctx,
        ConversationActivities::triage,
        TriageRequest {
            message: text.clone(),
            asked,
        },
        Step::Record,
    )
    .await
    .unwrap_or(nmc_activities::Triage {
        emergency: false,
        needs_human: false,
    });
    let window = sms.profile.settings.owner_window_secs;
    let alerted_at = now(ctx);
    let emergency_alert = |name: &str| format!("EMERGENCY at {name}: {caller_line} Call them now.");
    if triage.emergency {
        notify(
            ctx,
            conversation_id,
            "emergency",
            true,
            emergency_alert(&sms.profile.name),
            format!("emergency:{sid}"),
        )
        .await;
    } else if triage.needs_human {
        notify(
            ctx,
            conversation_id,
            "needs_owner",
            false,
            format!("{caller_line} They want a person: the conversation is yours."),
            format!("needs_owner:{sid}"),
        )
        .await;
    } else {
        // The head start runs from the alert, also while the alert is going out and the engine is
        // still thinking: anyone asking sees it from the moment the owner can.
        let until = alerted_at + chrono::Duration::seconds(window as i64);
        ctx.state_mut(|s| s.waiting = Some(("owner_window".to_owned(), until)));
        let body = format!(
            "{caller_line} The assistant answers in {window}s unless you reply or take over."
        );
        notify(
            ctx,
            conversation_id,
            "caller_text",
            false,
            body,
            format!("caller_text:{sid}"),
        )
        .await;
    }

    let Some(turn) = assistant_turn(ctx, conversation_id, &text).await else {
        notify(
            ctx,
            conversation_id,
            "needs_owner",
            false,
            format!("{caller_line} The assistant could not answer; please reply."),
            format!("stuck:{sid}"),
        )
        .await;
        return;
    };
    if caller_is_done(ctx, conversation_id, &sid, &turn).await {
        return;
    }
    if turn.outcome.emergency || triage.emergency {
        ctx.state_mut(|s| s.memory.emergency = true);
        set_flags(ctx, conversation_id).await;
        if !triage.emergency {
            // The engine saw what the rules did not: alert now.
            notify(
                ctx,
                conversation_id,
                "emergency",
                true,
                emergency_alert(&sms.profile.name),
                format!("emergency:{sid}"),
            )
            .await;
        }
        reply(ctx, conversation_id, &sid, &turn).await;
        return;
    }
    if turn.outcome.needs_human || triage.needs_human {
        ctx.state_mut(|s| {
            s.memory.mode = Mode::Owner;
            s.memory.needs_owner = true;
        });
        set_flags(ctx, conversation_id).await;
        if !triage.needs_human {
            notify(
                ctx,
                conversation_id,
                "needs_owner",
                false,
                format!("{caller_line} They want a person: the conversation is yours."),
                format!("needs_owner:{sid}"),
            )
            .await;
        }
        reply(ctx, conversation_id, &sid, &turn).await;
        return;
    }
    let until = alerted_at + chrono::Duration::seconds(window as i64);
    let left = (until - now(ctx)).to_std().unwrap_or(Duration::ZERO);
    if !left.is_zero() {
        ctx.state_mut(|s| s.waiting = Some(("owner_window".to_owned(), until)));
        temporalio_sdk::workflows::select! {
            _ = ctx.timer(left) => {}
            _ = ctx.wait_condition(move |s: &ConversationWorkflow| {
                s.owner_actions != acted || s.memory.mode == Mode::Owner || s.texts_received != texts || s.close_requested
            }) => {}
        }
        ctx.state_mut(|s| s.waiting = None);
    }
    let (owner_moved, caller_moved) = ctx.state(|s| {
        (
            s.owner_actions != acted || s.memory.mode == Mode::Owner || s.close_requested,
            s.texts_received != texts,
        )
    });
    if owner_moved || caller_moved {
        return; // The owner answered or took over, or the caller wrote again (the next turn answers all).
    }
    reply(ctx, conversation_id, &sid, &turn).await;
}
