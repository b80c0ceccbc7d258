//! Temporal activities: every side effect of a conversation and of its bookings. Each one is idempotent, because
//! Temporal runs an activity again whenever it cannot be sure the last attempt finished.

mod alerts;
pub mod booking;
pub mod contract;
pub mod crm;
pub mod digest;
mod knowledge;
pub mod retention;
pub mod review;
pub mod voice;

use std::sync::Arc;

use anyhow::anyhow;
use chrono::{DateTime, Duration, Utc};
use nmc_assistant::{Assistant, LlmAssistant, RulesAssistant, TurnInput, TurnOutcome};
use nmc_domain::{Mode, OutboundSms, SendOutcome, SmsKind};
use nmc_store::{PgPool, SecretBox, activity as store};
use nmc_twilio::TwilioClient;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use tracing::{info, instrument, warn};

// The inputs and outputs are the contracts the workflows call (nmc-activity-defs).
pub use nmc_activity_defs::conversation::{
    ConversationClosing, ConversationFlags, InboundToAttach, OwnerNotice, RepeatCall, Revocation,
    Triage, TriageRequest, TurnRequest, TurnResult,
};

/// Implements `nmc_activity_defs::ConversationActivities` (the type names match, so the
/// activity names do; `contract.rs` checks inputs and outputs).
pub struct ConversationActivities {
    pub pool: PgPool,
    pub engine: Engine,
    pub secrets: SecretBox,
    pub twilio: TwilioClient,
    /// Where Twilio posts delivery statuses: `{PUBLIC_BASE_URL}/webhook/sms/status`.
    pub status_callback_url: String,
    /// On a real Twilio account, texts from a business whose 10DLC registration is not approved
    /// are held (carriers filter unregistered traffic); the built-in sandbox always sends.
    pub enforce_registration: bool,
    /// Signs the short links in alerts (`/n/{token}`).
    pub links: nmc_store::AlertLinks,
    /// `PUBLIC_BASE_URL`, for those links.
    pub public_base_url: String,
    /// Places callers' addresses for a service-area radius (`NMC_GEOCODER_URL`); none: ZIP
    /// codes and cities are read from the address as typed.
    pub geocoder: Option<Arc<nmc_geocode::Geocoder>>,
}

/// Why a held text was not sent, for the owner.
pub const HELD_REASON: &str = "held: your business is not yet approved for business texting (10DLC registration); texts go out once it is";
/// Why an automated text was not sent while the plan has lapsed.
pub const BILLING_HELD_REASON: &str =
    "held: your NeverMissCall plan is not active; callers are texted again once it is";

/// Why a text is held (the workflow sees both as 30034 and keeps the conversation open).
#[derive(Clone, Copy)]
enum Hold {
    Registration,
    Billing,
}

impl Hold {
    fn reason(self) -> &'static str {
        match self {
            Hold::Registration => HELD_REASON,
            Hold::Billing => BILLING_HELD_REASON,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Hold::Registration => "registration_hold",
            Hold::Billing => "billing_hold",
        }
    }
}

/// The assistant engine this deployment runs.
pub enum Engine {
    Rules(RulesAssistant),
    /// Falls back to rules by itself when the model fails.
    Llm(Box<LlmAssistant>),
}

impl Engine {
    async fn turn(&self, input: &TurnInput) -> TurnOutcome {
        match self {
            Engine::Rules(r) => r.turn(input).await,
            Engine::Llm(l) => l.turn(input).await,
        }
    }
}

use nmc_telemetry::{CARRIER_RETRIES, FIRST_TEXT_SECONDS, REPLY_SECONDS, TEXTS};

pub(crate) fn retryable(e: impl std::fmt::Display) -> ActivityError {
    anyhow!("{e}").into()
}

/// A failure no retry can fix: the workflow hears of it at once.
pub(crate) fn permanent(e: impl std::fmt::Display) -> ActivityError {
    ActivityError::application(temporalio_common::error::ApplicationFailure::non_retryable(
        e.to_string(),
    ))
}

#[activities]
impl ConversationActivities {
    /// Sends one text, at most once per idempotency key, even across crashes and retries.
    #[activity]
    pub async fn send_sms(
        self: Arc<Self>,
        _ctx: ActivityContext,
        sms: OutboundSms,
    ) -> Result<SendOutcome, ActivityError> {
        self.send(sms).await
    }

    #[activity]
    pub async fn mark_repeat_call(
        self: Arc<Self>,
        _ctx: ActivityContext,
        call: RepeatCall,
    ) -> Result<(), ActivityError> {
        store::mark_repeat_call(&self.pool, call.business_id, &call.call_sid)
            .await
            .map_err(retryable)
    }

    #[activity]
    pub async fn attach_inbound(
        self: Arc<Self>,
        _ctx: ActivityContext,
        a: InboundToAttach,
    ) -> Result<(), ActivityError> {
        store::attach_inbound(
            &self.pool,
            a.business_id,
            a.conversation_id,
            &a.workflow_id,
            a.message_id,
        )
        .await
        .map_err(retryable)
    }

    /// Rules only, no IO: milliseconds, so the owner hears at once whatever the engine.
    #[activity]
    #[allow(
        clippy::unused_async,
        reason = "run on the SDK's async executor like the others"
    )]
    pub async fn triage(
        self: Arc<Self>,
        _ctx: ActivityContext,
        t: TriageRequest,
    ) -> Result<Triage, ActivityError> {
        let r = nmc_assistant::extract::read(&t.message, t.asked);
        Ok(Triage {
            emergency: r.emergency,
            needs_human: !r.emergency && (r.wants_human || r.angry),
        })
    }

    /// Reads the conversation, lets the engine answer, and stores what was learned at once.
    #[activity]
    pub async fn assistant_turn(
        self: Arc<Self>,
        _ctx: ActivityContext,
        t: TurnRequest,
    ) -> Result<TurnResult, ActivityError> {
        let known = store::lead_fields(&self.pool, t.business_id, t.conversation_id)
            .await
            .map_err(retryable)?;
        let mut history = store::history(&self.pool, t.business_id, t.conversation_id)
            .await
            .map_err(retryable)?;
        // The message being answered is the last caller line; the engine gets it separately.
        if history
            .last()
            .is_some_and(|l| l.from == "caller" && l.text == t.message)
        {
            history.pop();
        }
        let (facts, area) =
            nmc_store::knowledge::for_turn(&self.pool, t.business_id, t.conversation_id)
                .await
                .map_err(retryable)?;
        let input = TurnInput {
            business_name: t.business_name.clone(),
            owner_name: t.owner_name.clone(),
            disclose: t.disclose,
            first_reply: t.first_reply,
            known: known.clone(),
            asked: t.asked,
            history,
            message: t.message.clone(),
            business: facts,
        };
        let outcome = self.engine.turn(&input).await;
        tracing::info!(engine = %outcome.engine, business_id = %t.business_id, "assistant turn");
        let (outcome, out_of_area) =
            knowledge::judge_area(self.geocoder.as_deref(), &t, &known, &area, outcome).await;
        if outcome.wrong_number || outcome.declined {
            let reason = if outcome.wrong_number {
                "wrong_number"
            } else if out_of_area {
                "out_of_area"
            } else {
                "declined"
            };
            store::mark_lead_lost(&self.pool, t.business_id, t.conversation_id, reason)
                .await
                .map_err(retryable)?;
        }
        let newly_qualified = store::record_learned(
            &self.pool,
            t.business_id,
            t.conversation_id,
            &outcome.learned,
            outcome.qualified,
        )
        .await
        .map_err(retryable)?;
        let summary = newly_qualified.then(|| {
            let mut all = known;
            all.merge_missing(&outcome.learned);
            qualified_summary(&all)
        });
        Ok(TurnResult {
            outcome,
            newly_qualified,
            summary,
        })
    }

    /// Stores the notification and texts the owner, each at most once per key.
    #[activity]
    pub async fn notify_owner(
        self: Arc<Self>,
        _ctx: ActivityContext,
        n: OwnerNotice,
    ) -> Result<SendOutcome, ActivityError> {
        self.alert(n).await
    }

    #[activity]
    pub async fn set_flags(
        self: Arc<Self>,
        _ctx: ActivityContext,
        f: ConversationFlags,
    ) -> Result<(), ActivityError> {
        store::set_conversation_flags(
            &self.pool,
            f.business_id,
            f.conversation_id,
            f.mode.map(Mode::as_str),
            f.emergency,
            f.needs_owner,
        )
        .await
        .map_err(retryable)
    }

    /// Puts the caller on the opt-out list; true when this created it (confirm once).
    #[activity]
    pub async fn record_opt_out(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: Revocation,
    ) -> Result<bool, ActivityError> {
        nmc_store::webhook::opt_out_read_by_assistant(
            &self.pool,
            r.business_id,
            &r.caller,
            &r.message_sid,
        )
        .await
        .map_err(retryable)
    }

    #[activity]
    pub async fn close_conversation(
        self: Arc<Self>,
        _ctx: ActivityContext,
        c: ConversationClosing,
    ) -> Result<(), ActivityError> {
        store::close_conversation(&self.pool, c.business_id, c.conversation_id, c.status)
            .await
            .map_err(retryable)
    }
}

impl ConversationActivities {
    /// Records the text, reports it if an earlier attempt settled it, holds or suppresses it when
    /// it must not go, adopts a send a crashed attempt already made, and only then posts it.
    #[instrument(skip_all, fields(business_id = %sms.business_id, workflow_id = %sms.workflow_id, kind = sms.kind.as_str(), to = %sms.to.masked()))]
    async fn send(&self, sms: OutboundSms) -> Result<SendOutcome, ActivityError> {
        let out = store::prepare_outbound(&self.pool, &sms)
            .await
            .map_err(retryable)?;
        // An earlier attempt already finished: report what it did.
        if let Some(done) = finished_outcome(&out) {
            return Ok(done);
        }
        if self.enforce_registration && out.messaging_status != "approved" {
            return self.hold(&sms, &out, Hold::Registration).await;
        }
        if sms.kind.is_automated() && !out.billing_served {
            return self.hold(&sms, &out, Hold::Billing).await;
        }
        if sms.kind.respects_opt_out() && out.opted_out {
            return self.suppress_opted_out(&sms, &out).await;
        }
        let token = self
            .secrets
            .decrypt(&out.auth_token_enc)
            .map_err(retryable)?;
        if let Some(sent) = self.reconcile_earlier_attempt(&sms, &out, &token).await? {
            return Ok(sent);
        }
        self.post_to_carrier(&sms, &out, &token).await
    }

    /// Holds a text the business may not send now (not yet approved for 10DLC, or its plan has
    /// lapsed); the owner hears why, once a day, in the app (a text to them would be held too).
    /// The conversation keeps the greeting and sends it if the hold lifts while the call is fresh.
    async fn hold(
        &self,
        sms: &OutboundSms,
        out: &store::Outbound,
        why: Hold,
    ) -> Result<SendOutcome, ActivityError> {
        let reason = why.reason();
        store::mark_held(&self.pool, sms.business_id, out.message_id, reason)
            .await
            .map_err(retryable)?;
        let key = format!(
            "{}:{}:{}",
            why.key(),
            sms.business_id,
            Utc::now().format("%Y-%m-%d")
        );
        nmc_store::alerts::record(
            &self.pool,
            sms.business_id,
            sms.conversation_id,
            "registration_hold",
            true,
            reason,
            &key,
        )
        .await
        .map_err(retryable)?;
        warn!(hold = why.key(), "text held");
        TEXTS
            .with_label_values(&[sms.kind.as_str(), "held", "30034"])
            .inc();
        Ok(SendOutcome::Rejected {
            code: 30034,
            message: reason.to_owned(),
        })
    }

    /// A caller who opted out gets nothing more, and the row says so.
    async fn suppress_opted_out(
        &self,
        sms: &OutboundSms,
        out: &store::Outbound,
    ) -> Result<SendOutcome, ActivityError> {
        store::mark_suppressed(&self.pool, sms.business_id, out.message_id)
            .await
            .map_err(retryable)?;
        info!("caller opted out; text suppressed");
        TEXTS
            .with_label_values(&[sms.kind.as_str(), "suppressed", "0"])
            .inc();
        Ok(SendOutcome::Suppressed)
    }

    /// The last attempt died after it started talking to Twilio, so it may have been sent:
    /// adopts that message instead of texting the caller twice.
    async fn reconcile_earlier_attempt(
        &self,
        sms: &OutboundSms,
        out: &store::Outbound,
        token: &str,
    ) -> Result<Option<SendOutcome>, ActivityError> {
        if let (true, Some(started)) = (out.status == "dispatching", out.send_started_at)
            && let Some(sid) = self
                .find_earlier_send(&out.account_sid, token, &out.from_number, sms, started)
                .await?
        {
            warn!(message_sid = %sid, "earlier attempt had reached Twilio; not sending again");
            store::mark_accepted(&self.pool, sms.business_id, out.message_id, &sid, "queued")
                .await
                .map_err(retryable)?;
            return Ok(Some(SendOutcome::Sent {
                message_sid: sid,
                message_id: Some(out.message_id),
            }));
        }
        Ok(None)
    }

    /// Marks the text dispatching before Twilio hears of it (so a crash is reconciled on retry),
    /// posts it, and records what the carrier said.
    async fn post_to_carrier(
        &self,
        sms: &OutboundSms,
        out: &store::Outbound,
        token: &str,
    ) -> Result<SendOutcome, ActivityError> {
        store::mark_dispatching(&self.pool, sms.business_id, out.message_id)
            .await
            .map_err(retryable)?;
        match self
            .twilio
            .send_message(
                &out.account_sid,
                token,
                &out.from_number,
                sms.to.as_str(),
                &sms.body,
                &self.status_callback_url,
            )
            .await
        {
            Ok(sent) => self.record_accepted(sms, out.message_id, sent).await,
            Err(e) if !e.is_retryable() => self.record_refused(sms, out.message_id, &e).await,
            Err(e) => {
                let reason = match &e {
                    nmc_twilio::TwilioError::Api { status, .. } => status.to_string(),
                    nmc_twilio::TwilioError::Transport(_) => "network".to_owned(),
                };
                CARRIER_RETRIES.with_label_values(&[&reason]).inc();
                warn!(error = %e, "carrier unavailable; Temporal will retry");
                Err(retryable(e))
            }
        }
    }

    /// The carrier took the text: keep its sid for delivery statuses, and count it.
    async fn record_accepted(
        &self,
        sms: &OutboundSms,
        message_id: uuid::Uuid,
        sent: nmc_twilio::SentMessage,
    ) -> Result<SendOutcome, ActivityError> {
        store::mark_accepted(
            &self.pool,
            sms.business_id,
            message_id,
            &sent.sid,
            &sent.status,
        )
        .await
        .map_err(retryable)?;
        info!(message_sid = %sent.sid, "text accepted by carrier");
        TEXTS
            .with_label_values(&[sms.kind.as_str(), "sent", "0"])
            .inc();
        self.observe_latency(sms, message_id).await;
        Ok(SendOutcome::Sent {
            message_sid: sent.sid,
            message_id: Some(message_id),
        })
    }

    /// The carrier refused the text for good (a 4xx): retrying would not help, so the row and
    /// the workflow hear the carrier's code.
    async fn record_refused(
        &self,
        sms: &OutboundSms,
        message_id: uuid::Uuid,
        e: &nmc_twilio::TwilioError,
    ) -> Result<SendOutcome, ActivityError> {
        let (code, message) = match e {
            nmc_twilio::TwilioError::Api { code, message, .. } => (*code, message.clone()),
            other @ nmc_twilio::TwilioError::Transport(_) => (0, other.to_string()),
        };
        warn!(code, "carrier refused the text for good");
        TEXTS
            .with_label_values(&[sms.kind.as_str(), "failed", &code.to_string()])
            .inc();
        store::mark_rejected(&self.pool, sms.business_id, message_id, code, &message)
            .await
            .map_err(retryable)?;
        Ok(SendOutcome::Rejected { code, message })
    }

    /// Looks for a message Twilio accepted for this text after our first attempt started,
    /// and that no other row of ours already claims.
    async fn find_earlier_send(
        &self,
        account_sid: &str,
        token: &str,
        from: &str,
        sms: &OutboundSms,
        started: DateTime<Utc>,
    ) -> Result<Option<String>, ActivityError> {
        let listed = self
            .twilio
            .list_messages(account_sid, token, from, sms.to.as_str())
            .await
            .map_err(retryable)?;
        let not_before = started - Duration::seconds(5);
        for m in listed {
            let created = m
                .date_created
                .as_deref()
                .and_then(|d| DateTime::parse_from_rfc2822(d).ok());
            let recent = created.is_some_and(|c| c.with_timezone(&Utc) >= not_before);
            if recent && m.body == sms.body && !self.sid_is_claimed(&m.sid).await? {
                return Ok(Some(m.sid));
            }
        }
        Ok(None)
    }

    /// Feeds the SLO histograms: missed call → greeting, caller text → assistant reply.
    async fn observe_latency(&self, sms: &OutboundSms, message_id: uuid::Uuid) {
        let histogram = match sms.kind {
            SmsKind::Greeting => &*FIRST_TEXT_SECONDS,
            SmsKind::AssistantReply | SmsKind::Booking => &*REPLY_SECONDS,
            _ => return,
        };
        let call_sid = if sms.kind == SmsKind::Greeting {
            sms.call_sid.as_deref()
        } else {
            None
        };
        if let Ok(Some(at)) =
            store::text_origin(&self.pool, sms.business_id, message_id, call_sid).await
        {
            histogram.observe((Utc::now() - at).num_microseconds().unwrap_or(0) as f64 / 1e6);
        }
    }

    async fn sid_is_claimed(&self, sid: &str) -> Result<bool, ActivityError> {
        store::sid_is_claimed(&self.pool, sid)
            .await
            .map_err(retryable)
    }
}

/// What an earlier attempt at this text already settled, if it did: sent, suppressed or
/// refused for good.
fn finished_outcome(out: &store::Outbound) -> Option<SendOutcome> {
    if let Some(sid) = &out.twilio_message_sid {
        return Some(SendOutcome::Sent {
            message_sid: sid.clone(),
            message_id: Some(out.message_id),
        });
    }
    match out.status.as_str() {
        "suppressed" => Some(SendOutcome::Suppressed),
        "failed" => Some(SendOutcome::Rejected {
            code: out.error_code.unwrap_or_default().into(),
            message: out.error_message.clone().unwrap_or_default(),
        }),
        _ => None,
    }
}

/// The one-message summary the owner gets when a lead is qualified.
fn qualified_summary(f: &nmc_assistant::LeadFields) -> String {
    let or = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
    let urgent = if f.urgency.as_deref() == Some("emergency") {
        "EMERGENCY "
    } else {
        ""
    };
    format!(
        "{urgent}Qualified lead: {} needs {} at {}. Preferred time: {}.",
        or(&f.name),
        or(&f.service_needed),
        or(&f.address),
        f.preferred_time
            .clone()
            .or_else(|| f.urgency.clone())
            .unwrap_or_else(|| "?".into())
    )
}
