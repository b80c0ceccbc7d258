//! The conversation workflow: one per (business, caller), started only by Signal-With-Start.
//! It owns the conversation's state; the webhooks only record events and signal it, and every
//! side effect happens in an activity (`steps.rs`).
//!
//! - `state.rs`: what it remembers and what its query shows;
//! - `caller.rs`: the missed call, keywords, and texts (alert, head start, answer);
//! - `follow_ups.rs`: follow-ups to a quiet caller, and when they stop;
//! - `booking.rs`: slot offers, the caller's pick, C / R / X about an appointment;
//! - `voice.rs`: the line check before the first text, and voicemails;
//! - `agent.rs`: the AI voice agent's tools during a call, and its report after.

mod agent;
mod booking;
mod caller;
mod follow_ups;
mod state;
mod steps;
mod voice;

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use nmc_activity_defs::conversation::{ConversationActivities, ConversationClosing};
use nmc_domain::voice_agent::{AgentCallEnded, AgentTool};
use nmc_domain::{
    CallerEvent, Carried, ConversationStart, ConversationStatus, InboundSms, MissedCall, Mode,
    SendOutcome, SmsKind, VoicemailLeft, Waiting,
};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ContinueAsNewOptions, SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult,
};
use uuid::Uuid;

pub use state::{ConversationView, OwnerMessage};
pub(crate) use steps::Step;
pub use steps::TURN_LIMIT;

use crate::{CONVERSATION_STATUS, now};
use state::Memory;

/// How many recent call/message sids a conversation remembers for deduplication.
const SEEN_SIDS_KEPT: usize = 500;

type HandlerError = Box<dyn std::error::Error + Send + Sync>;

#[workflow]
pub struct ConversationWorkflow {
    start: ConversationStart,
    /// This run continues an earlier one (continue-as-new), whose search attributes it inherits.
    continued: bool,
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
    /// Released by the owner with a caller text unanswered: the assistant picks it up.
    resume_requested: bool,
    waiting: Option<(Waiting, DateTime<Utc>)>,
    /// The greeting was held (texting not yet approved): its call and when it came.
    held_greeting: Option<(MissedCall, DateTime<Utc>)>,
    /// The business was approved for texting since: send the held greeting if still fresh.
    texting_approved: bool,
}

#[workflow_methods]
impl ConversationWorkflow {
    #[init]
    pub fn new(ctx: &WorkflowContextView, mut start: ConversationStart) -> Self {
        let continued = start.carried.is_some();
        let carried = start.carried.take().unwrap_or_default();
        // The first run's id is a UUID: it names the conversation row, so replays and retries
        // agree on it.
        let conversation_id = carried
            .conversation_id
            .unwrap_or_else(|| Uuid::parse_str(ctx.run_id()).unwrap_or_else(|_| Uuid::nil()));
        let memory = match (&carried.memory, carried.conversation_id) {
            (Some(m), Some(_)) => serde_json::from_value(m.clone()).unwrap_or_default(),
            _ => Memory::default(),
        };
        Self {
            start,
            continued,
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
            resume_requested: false,
            waiting: None,
            held_greeting: None,
            texting_approved: false,
        }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<ConversationStatus> {
        // Signal-With-Start sets the status attribute; a continued run inherits the last one,
        // which after a close is not "active".
        if ctx.state(|s| s.continued) {
            set_status_attribute(ctx, ConversationStatus::Active);
        }
        loop {
            // Bound the history: hand the same conversation to a fresh run (rule 6, house style).
            if ctx.continue_as_new_suggested()
                && ctx.state(|s| s.inbox.is_empty())
                && ctx.all_handlers_finished()
            {
                let next = ctx.state(|s| s.handover(true));
                ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
            }
            follow_ups::wait_for_next(ctx).await;
            while let Some(event) = ctx.state_mut(|s| s.inbox.pop_front()) {
                match event {
                    CallerEvent::Missed(call) => caller::on_missed_call(ctx, call).await,
                    CallerEvent::Texted(sms) => caller::on_text(ctx, sms).await,
                    CallerEvent::Voicemail(vm) => voice::on_voicemail(ctx, vm).await,
                    CallerEvent::AgentCall(ended) => agent::on_agent_call(ctx, ended).await,
                }
                voice::close_if_unreachable(ctx);
            }
            if ctx.state(|s| s.resume_requested) {
                caller::answer_after_release(ctx).await;
            }
            if ctx.state(|s| s.texting_approved) {
                caller::greet_after_approval(ctx).await;
            }
            if ctx.state(|s| s.close_requested && s.status == ConversationStatus::Active) {
                ctx.state_mut(|s| s.status = ConversationStatus::ClosedManual);
            }
            if ctx.state(|s| s.status != ConversationStatus::Active) {
                break;
            }
        }
        close(ctx).await
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

    /// A voicemail was recorded, or the caller left none (Signal-With-Start from the
    /// recording callbacks).
    #[signal]
    pub fn voicemail(&mut self, _ctx: &mut SyncWorkflowContext<Self>, vm: VoicemailLeft) {
        let sid = format!(
            "voicemail:{}",
            vm.recording_id
                .map_or(vm.call_sid.clone(), |r| r.to_string())
        );
        if self.first_sighting(&sid) {
            self.inbox.push_back(CallerEvent::Voicemail(vm));
        }
    }

    /// A call the AI voice agent took has ended (Signal-With-Start from Vapi's report).
    #[signal]
    pub fn agent_call(&mut self, _ctx: &mut SyncWorkflowContext<Self>, ended: AgentCallEnded) {
        if self.first_sighting(&format!("agent:{}", ended.agent_call_id)) {
            self.inbox.push_back(CallerEvent::AgentCall(ended));
        }
    }

    #[signal]
    pub fn close(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _reason: String) {
        self.close_requested = true;
    }

    /// The business is now approved for texting (sent by the worker for a held greeting).
    #[signal]
    pub fn texting_approved(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _note: String) {
        self.texting_approved = true;
    }

    /// The owner takes the conversation: the assistant stays silent until released. Returns
    /// once the inbox shows it, so the app need not poll.
    #[update]
    pub async fn owner_takeover(
        ctx: &mut WorkflowContext<Self>,
        _by: String,
    ) -> Result<Mode, HandlerError> {
        let changed = ctx.state_mut(|s| {
            s.owner_actions += 1;
            std::mem::replace(&mut s.memory.mode, Mode::Owner) != Mode::Owner
        });
        if changed {
            steps::set_flags(ctx).await;
        }
        Ok(Mode::Owner)
    }

    /// The owner hands back to the assistant, which answers anything left unanswered.
    #[update]
    pub async fn owner_release(
        ctx: &mut WorkflowContext<Self>,
        _by: String,
    ) -> Result<Mode, HandlerError> {
        let changed = ctx.state_mut(|s| {
            if s.memory.mode == Mode::Assistant {
                return false;
            }
            s.memory.mode = Mode::Assistant;
            s.memory.needs_owner = false;
            s.resume_requested = s
                .memory
                .last_caller_text
                .as_ref()
                .is_some_and(|t| !t.answered);
            true
        });
        if changed {
            steps::set_flags(ctx).await;
        }
        Ok(Mode::Assistant)
    }

    #[update_validator(owner_message)]
    fn validate_owner_message(
        &self,
        _ctx: &WorkflowContextView,
        msg: &OwnerMessage,
    ) -> Result<(), HandlerError> {
        nmc_domain::check_owner_text(&msg.body)?;
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
    ) -> Result<Uuid, HandlerError> {
        let (n, conversation_id) = ctx.state_mut(|s| {
            s.owner_actions += 1;
            s.owner_messages += 1;
            if let Some(t) = s.memory.last_caller_text.as_mut() {
                t.answered = true;
            }
            (s.owner_messages, s.conversation_id)
        });
        let key = match &msg.key {
            Some(k) => format!("owner:{conversation_id}:key:{k}"),
            None => format!("owner:{conversation_id}:{n}"),
        };
        let body = msg.body.trim().to_owned();
        match steps::send(ctx, SmsKind::OwnerMessage, key, body, None).await {
            Some(SendOutcome::Sent {
                message_id: Some(id),
                ..
            }) => {
                let at = now(ctx);
                ctx.state_mut(|s| s.memory.note_outbound(at));
                Ok(id)
            }
            Some(SendOutcome::Suppressed) => Err("the caller has opted out of texts".into()),
            Some(SendOutcome::Rejected { code, message }) => {
                Err(format!("the carrier refused the text ({code}): {message}").into())
            }
            _ => Err("the text could not be sent".into()),
        }
    }

    #[update_validator(agent_tool)]
    fn validate_agent_tool(
        &self,
        _ctx: &WorkflowContextView,
        _tool: &AgentTool,
    ) -> Result<(), HandlerError> {
        if self.status != ConversationStatus::Active || self.close_requested {
            return Err("conversation is closed".into());
        }
        Ok(())
    }

    /// A tool the AI voice agent calls during the call (open times, or booking one of them);
    /// returns the one line the agent reads back.
    #[update]
    pub async fn agent_tool(
        ctx: &mut WorkflowContext<Self>,
        tool: AgentTool,
    ) -> Result<String, HandlerError> {
        Ok(agent::use_tool(ctx, tool).await)
    }

    #[query]
    pub fn state(&self, _ctx: &WorkflowContextView) -> ConversationView {
        let (waiting_for, until) = match self.waiting {
            Some((what, until)) => (what, Some(until)),
            None => (Waiting::Nothing, None),
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

    /// The start input of the next run. `same_conversation` keeps the conversation (its row and
    /// greeting state); otherwise the next run is a new conversation. Pending events move over.
    fn handover(&self, same_conversation: bool) -> ConversationStart {
        let pending_missed = self
            .inbox
            .iter()
            .filter(|e| matches!(e, CallerEvent::Missed(_)))
            .count() as u32;
        let pending_texts = self.inbox.len() as u32 - pending_missed;
        ConversationStart {
            carried: Some(Carried {
                conversation_id: same_conversation.then_some(self.conversation_id),
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

fn set_status_attribute(ctx: &WorkflowContext<ConversationWorkflow>, status: ConversationStatus) {
    ctx.upsert_search_attributes([CONVERSATION_STATUS.value_set(status.as_str().to_owned())]);
}

/// Records the outcome, then hands any call or text that arrived meanwhile to the next
/// conversation.
async fn close(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
) -> WorkflowResult<ConversationStatus> {
    if ctx.patched(agent::AI_VOICE) {
        // An agent's tool (a booking) still running finishes first: its appointment's own
        // workflow and the owner's alert must not be cut off by the close.
        let handlers = ctx.clone();
        ctx.wait_condition(move |_| handlers.all_handlers_finished())
            .await?;
    }
    let (business_id, conversation_id, status) =
        ctx.state(|s| (s.start.business_id, s.conversation_id, s.status));
    set_status_attribute(ctx, status);
    let closing = ConversationClosing {
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
            closing,
            Step::Record.options(),
        )
        .await;
    if ctx.state(|s| !s.inbox.is_empty()) {
        let next = ctx.state(|s| s.handover(false));
        ctx.continue_as_new(next, ContinueAsNewOptions::default())?;
    }
    Ok(status)
}
