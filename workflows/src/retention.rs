//! The daily retention pass (`retention-{task queue}`): a Temporal Schedule the worker creates
//! starts this every day at 08:30 UTC (after US nights, before the day's calls); one activity,
//! retried, applies every limit in batches.

use std::time::Duration;

use nmc_activity_defs::retention::{RetentionActivities, RetentionReport};
use temporalio_common::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, WorkflowContext, WorkflowContextView, WorkflowResult,
};

/// Rows per statement in a pass.
pub const RETENTION_BATCH: u32 = 1000;

/// The schedule's id (and its workflows' prefix): one per task queue.
pub fn retention_schedule_id(task_queue: &str) -> String {
    format!("retention-{task_queue}")
}

#[workflow]
pub struct RetentionWorkflow {
    batch: u32,
}

#[workflow_methods]
impl RetentionWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, batch: u32) -> Self {
        Self { batch }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<RetentionReport> {
        let batch = ctx.state(|s| s.batch);
        // A long pass may take minutes; a failed one is retried and finds less to do.
        let options =
            ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
                schedule_to_close: Duration::from_hours(6),
                start_to_close: Duration::from_mins(15),
            })
            .retry_policy(
                RetryPolicy::builder()
                    .initial_interval(Duration::from_secs(10))
                    .maximum_interval(Duration::from_mins(5))
                    .build(),
            )
            .build();
        let report = ctx
            .execute_activity(RetentionActivities::apply_retention, batch, options)
            .await?;
        Ok(report)
    }
}
