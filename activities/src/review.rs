//! The review request's activities: the job's plan (its request row and link made once), whether
//! the link was opened, and what was done. The texts go through `send_sms` like every other.

use std::sync::Arc;

use nmc_activity_defs::review::{ReviewDone, ReviewRef};
use nmc_domain::review::Plan;
use nmc_store::PgPool;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use crate::retryable;

pub struct ReviewActivities {
    pub pool: PgPool,
    /// `PUBLIC_BASE_URL`, for the short link.
    pub public_base_url: String,
}

#[activities]
impl ReviewActivities {
    #[activity]
    pub async fn review_plan(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: ReviewRef,
    ) -> Result<Option<Plan>, ActivityError> {
        nmc_store::reviews::plan(
            &self.pool,
            r.business_id,
            r.appointment_id,
            &self.public_base_url,
        )
        .await
        .map_err(retryable)
    }

    #[activity]
    pub async fn review_opened(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: ReviewRef,
    ) -> Result<bool, ActivityError> {
        nmc_store::reviews::opened(&self.pool, r.business_id, r.appointment_id)
            .await
            .map_err(retryable)
    }

    #[activity]
    pub async fn review_done(
        self: Arc<Self>,
        _ctx: ActivityContext,
        d: ReviewDone,
    ) -> Result<(), ActivityError> {
        let (pool, b, a) = (&self.pool, d.business_id, d.appointment_id);
        match d.what.as_str() {
            "sent" => nmc_store::reviews::mark_sent(pool, b, a, false).await,
            "reminded" => nmc_store::reviews::mark_sent(pool, b, a, true).await,
            why => nmc_store::reviews::skip(pool, b, a, why).await,
        }
        .map_err(retryable)
    }
}
