//! The daily retention pass: the store's limits applied in batches of `batch` rows until a
//! round removes nothing (each round its own short transaction, so a pass never holds locks
//! for long; a retried activity simply finds less to do).

use std::sync::Arc;

use nmc_activity_defs::retention::RetentionReport;
use nmc_store::PgPool;
use nmc_store::retention::{RetentionPass, apply_due};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use crate::retryable;

pub struct RetentionActivities {
    pub pool: PgPool,
    /// Voicemail audio goes with the texts' bodies (180 days).
    pub storage: nmc_storage::Storage,
}

impl RetentionActivities {
    /// Deletes voicemail audio past its 180 days from storage, then forgets its key.
    async fn forget_audio(&self, batch: u32) -> Result<u64, ActivityError> {
        let mut forgotten = 0;
        loop {
            let mut db = nmc_store::conn(&self.pool).await.map_err(retryable)?;
            let due = nmc_store::retention::expired_audio(&mut db, i64::from(batch.max(1)))
                .await
                .map_err(retryable)?;
            if due.is_empty() {
                return Ok(forgotten);
            }
            for (id, key) in due {
                self.storage.delete(&key).await.map_err(retryable)?;
                nmc_store::retention::audio_forgotten(&mut db, id)
                    .await
                    .map_err(retryable)?;
                forgotten += 1;
            }
        }
    }
}

#[activities]
impl RetentionActivities {
    #[activity]
    pub async fn apply_retention(
        self: Arc<Self>,
        ctx: ActivityContext,
        batch: u32,
    ) -> Result<RetentionReport, ActivityError> {
        let mut total = RetentionPass::default();
        loop {
            let mut tx = self.pool.begin().await.map_err(retryable)?;
            let pass = apply_due(&mut tx, i64::from(batch.max(1)))
                .await
                .map_err(retryable)?;
            tx.commit().await.map_err(retryable)?;
            if pass.is_empty() {
                break;
            }
            total.add(pass);
            // Progress so far, for the UI; a lost heartbeat only loses the note.
            let _ = ctx
                .record_heartbeat(total.message_bodies + total.dispatched_rows)
                .await;
        }
        total.message_bodies += self.forget_audio(batch).await?;
        tracing::info!(?total, "retention pass done");
        Ok(RetentionReport {
            message_bodies: total.message_bodies,
            callers: total.callers,
            webhook_rows: total.webhook_rows,
            dispatched_rows: total.dispatched_rows,
        })
    }
}
