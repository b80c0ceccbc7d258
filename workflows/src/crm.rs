//! One workflow per recorded CRM push (`crm-push-{push}`), started by the worker's outbox: the
//! push, retried with backoff for up to three days (the Standard Webhooks schedule's reach), so
//! a vendor outage never loses it and never holds up the conversation; then it is failed, with
//! the last error shown to the owner.

use std::time::Duration;

use nmc_activity_defs::crm::CrmActivities;
use serde::{Deserialize, Serialize};
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, WorkflowContext, WorkflowContextView, WorkflowResult,
};
use uuid::Uuid;

use crate::conversation::Step;

pub fn crm_push_workflow_id(push_id: Uuid) -> String {
    format!("crm-push-{push_id}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrmPushStart {
    pub business_id: Uuid,
    pub push_id: Uuid,
}

#[workflow]
pub struct CrmPushWorkflow {
    start: CrmPushStart,
}

/// 2 s, 4 s, 8 s … then every 15 minutes, for three days.
fn push_options() -> ActivityOptions {
    let timeouts = ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: Duration::from_hours(72),
        // A push is a few calls of at most 20 s each, after waiting its turn.
        start_to_close: Duration::from_mins(3),
    };
    let retry = RetryPolicy::builder()
        .initial_interval(Duration::from_secs(2))
        .backoff_coefficient(2.0)
        .maximum_interval(Duration::from_mins(15))
        .build();
    ActivityOptions::with_close_timeouts(timeouts)
        .retry_policy(retry)
        .build()
}

#[workflow_methods]
impl CrmPushWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, start: CrmPushStart) -> Self {
        Self { start }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<String> {
        let push_id = ctx.state(|s| s.start.push_id);
        let pushed = ctx
            .execute_activity(CrmActivities::crm_push, push_id, push_options())
            .await;
        if let Ok(status) = pushed {
            return Ok(status);
        }
        ctx.execute_activity(CrmActivities::crm_gave_up, push_id, Step::Record.options())
            .await?;
        Ok("failed".into())
    }
}
