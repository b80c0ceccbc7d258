//! The weekly email's activity: last week's figures and who still waits, one email per owner
//! who wants it, recorded in the mail outbox with a one-click unsubscribe (RFC 8058). Keyed by
//! business, week and owner, so a retried or re-triggered run mails nobody twice.

use std::sync::Arc;

use nmc_activity_defs::digest::DigestRequest;
use nmc_store::mail::{MailKind, NewEmail};
use nmc_store::{AlertLinks, PgPool};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use crate::retryable;

pub struct DigestActivities {
    pub pool: PgPool,
    pub links: AlertLinks,
    pub public_base_url: String,
}

#[activities]
impl DigestActivities {
    #[activity]
    pub async fn send_weekly_digest(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: DigestRequest,
    ) -> Result<u32, ActivityError> {
        let owners = nmc_store::digest::recipients(&self.pool, r.business_id)
            .await
            .map_err(retryable)?;
        if owners.is_empty() {
            return Ok(0);
        }
        let data = nmc_store::digest::gather(&self.pool, r.business_id, r.at, None)
            .await
            .map_err(retryable)?;
        let mut conn = nmc_store::conn(&self.pool).await.map_err(retryable)?;
        let mut recorded = 0;
        for (user_id, email) in owners {
            let token = self.links.unsubscribe_token(user_id, r.at);
            let unsubscribe = format!("{}/unsubscribe/{token}", self.public_base_url);
            let mail = data.mail(&self.public_base_url, &unsubscribe);
            let new = NewEmail {
                business_id: r.business_id,
                to: email,
                subject: mail.subject,
                text: mail.text,
                html: mail.html,
                kind: MailKind::Digest,
                unsubscribe_url: Some(unsubscribe),
                idempotency_key: Some(format!(
                    "digest:{}:{}:{user_id}",
                    r.business_id, data.week.0
                )),
            };
            if nmc_store::mail::record(&mut conn, &new)
                .await
                .map_err(retryable)?
            {
                recorded += 1;
            }
        }
        Ok(recorded)
    }
}
