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
        tracing::info!(?total, "retention pass done");
        Ok(RetentionReport {
            message_bodies: total.message_bodies,
            callers: total.callers,
            webhook_rows: total.webhook_rows,
            dispatched_rows: total.dispatched_rows,
        })
    }
}
