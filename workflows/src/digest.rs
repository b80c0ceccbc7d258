//! The weekly email (`digest-{business}`): started every Monday at 7:00 in the business's
//! timezone by its Temporal Schedule (kept in line by the worker: created, moved with the
//! timezone, deleted when no owner wants it). One activity, retried; a repeat is recorded once.

use nmc_activity_defs::digest::{DigestActivities, DigestRequest};
use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowContextView, WorkflowResult};
use uuid::Uuid;

use crate::conversation::Step;

/// The schedule's (and its workflows' id prefix): one per business.
pub fn digest_schedule_id(business_id: Uuid) -> String {
    format!("digest-{business_id}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DigestStart {
    pub business_id: Uuid,
}

#[workflow]
pub struct DigestWorkflow {
    start: DigestStart,
}

#[workflow_methods]
impl DigestWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, start: DigestStart) -> Self {
        Self { start }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<u32> {
        let request = DigestRequest {
            business_id: ctx.state(|s| s.start.business_id),
            at: crate::now(ctx),
        };
        let sent = ctx
            .execute_activity(
                DigestActivities::send_weekly_digest,
                request,
                Step::Record.options(),
            )
            .await?;
        Ok(sent)
    }
}
