//! Temporal activities: every side effect of a conversation. Each one is idempotent, because
//! Temporal runs an activity again whenever it cannot be sure the last attempt finished.

use std::sync::Arc;

use anyhow::anyhow;
use chrono::{DateTime, Duration, Utc};
use nmc_domain::{ConversationStatus, SendOutcome, OutboundSms};
use nmc_store::{PgPool, SecretBox, activity as store};
use nmc_twilio::TwilioClient;
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use tracing::{info, instrument, warn};
use uuid::Uuid;

pub struct ConversationActivities {
    pub pool: PgPool,
    pub secrets: SecretBox,
    pub twilio: TwilioClient,
    /// Where Twilio posts delivery statuses: `{PUBLIC_BASE_URL}/webhook/sms/status`.
    pub status_callback_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepeatCall {
    pub business_id: Uuid,
    pub call_sid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboundToAttach {
    pub business_id: Uuid,
    pub conversation_id: Uuid,
    pub workflow_id: String,
    pub message_id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationClosing {
    pub business_id: Uuid,
    pub conversation_id: Uuid,
    pub status: ConversationStatus,
}

fn retryable(e: impl std::fmt::Display) -> ActivityError {
    anyhow!("{e}").into()
}

#[activities]
impl ConversationActivities {
    /// Sends one text, at most once per idempotency key, even across crashes and retries.
    #[activity]
    pub async fn send_sms(self: Arc<Self>, _ctx: ActivityContext, sms: OutboundSms) -> Result<SendOutcome, ActivityError> {
        self.send(sms).await
    }

    #[activity]
    pub async fn mark_repeat_call(self: Arc<Self>, _ctx: ActivityContext, call: RepeatCall) -> Result<(), ActivityError> {
        store::mark_repeat_call(&self.pool, call.business_id, &call.call_sid).await.map_err(retryable)
    }

    #[activity]
    pub async fn attach_inbound(self: Arc<Self>, _ctx: ActivityContext, a: InboundToAttach) -> Result<(), ActivityError> {
        store::attach_inbound(&self.pool, a.business_id, a.conversation_id, &a.workflow_id, a.message_id)
            .await
            .map_err(retryable)
    }

    #[activity]
    pub async fn close_conversation(self: Arc<Self>, _ctx: ActivityContext, c: ConversationClosing) -> Result<(), ActivityError> {
        store::close_conversation(&self.pool, c.business_id, c.conversation_id, c.status).await.map_err(retryable)
    }
}

impl ConversationActivities {
    #[instrument(skip_all, fields(business_id = %sms.business_id, workflow_id = %sms.workflow_id, kind = sms.kind.as_str(), to = %sms.to.masked()))]
    async fn send(&self, sms: OutboundSms) -> Result<SendOutcome, ActivityError> {
        let out = store::prepare_outbound(&self.pool, &sms).await.map_err(retryable)?;

        // An earlier attempt already finished: report what it did.
        if let Some(sid) = out.twilio_message_sid {
            return Ok(SendOutcome::Sent { message_sid: sid });
        }
        match out.status.as_str() {
            "suppressed" => return Ok(SendOutcome::Suppressed),
            "failed" => {
                return Ok(SendOutcome::Rejected {
                    code: out.error_code.unwrap_or_default().into(),
                    message: out.error_message.unwrap_or_default(),
                });
            }
            _ => {}
        }
        if sms.kind.respects_opt_out() && out.opted_out {
            store::mark_suppressed(&self.pool, sms.business_id, out.message_id).await.map_err(retryable)?;
            info!("caller opted out; text suppressed");
            return Ok(SendOutcome::Suppressed);
        }

        let token = self.secrets.decrypt(&out.auth_token_enc).map_err(retryable)?;
        // The last attempt died after it started talking to Twilio: it may have been sent.
        if let (true, Some(started)) = (out.status == "dispatching", out.send_started_at)
            && let Some(sid) = self.find_earlier_send(&out.account_sid, &token, &out.from_number, &sms, started).await?
        {
            warn!(message_sid = %sid, "earlier attempt had reached Twilio; not sending again");
            store::mark_accepted(&self.pool, sms.business_id, out.message_id, &sid, "queued").await.map_err(retryable)?;
            return Ok(SendOutcome::Sent { message_sid: sid });
        }

        store::mark_dispatching(&self.pool, sms.business_id, out.message_id).await.map_err(retryable)?;
        match self
            .twilio
            .send_message(&out.account_sid, &token, &out.from_number, sms.to.as_str(), &sms.body, &self.status_callback_url)
            .await
        {
            Ok(sent) => {
                store::mark_accepted(&self.pool, sms.business_id, out.message_id, &sent.sid, &sent.status).await.map_err(retryable)?;
                info!(message_sid = %sent.sid, "text accepted by carrier");
                Ok(SendOutcome::Sent { message_sid: sent.sid })
            }
            Err(e) if !e.is_retryable() => {
                let (code, message) = match &e {
                    nmc_twilio::TwilioError::Api { code, message, .. } => (*code, message.clone()),
                    other => (0, other.to_string()),
                };
                warn!(code, "carrier refused the text for good");
                store::mark_rejected(&self.pool, sms.business_id, out.message_id, code, &message).await.map_err(retryable)?;
                Ok(SendOutcome::Rejected { code, message })
            }
            Err(e) => {
                warn!(error = %e, "carrier unavailable; Temporal will retry");
                Err(retryable(e))
            }
        }
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
        let day = (started - Duration::days(1)).format("%Y-%m-%d").to_string();
        let listed = self.twilio.list_messages(account_sid, token, from, sms.to.as_str(), &day).await.map_err(retryable)?;
        let not_before = started - Duration::seconds(5);
        for m in listed {
            let created = m.date_created.as_deref().and_then(|d| DateTime::parse_from_rfc2822(d).ok());
            let recent = created.is_some_and(|c| c.with_timezone(&Utc) >= not_before);
            if recent && m.body == sms.body && !self.sid_is_claimed(&m.sid).await? {
                return Ok(Some(m.sid));
            }
        }
        Ok(None)
    }

    async fn sid_is_claimed(&self, sid: &str) -> Result<bool, ActivityError> {
        store::sid_is_claimed(&self.pool, sid).await.map_err(retryable)
    }
}
