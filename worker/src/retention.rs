//! The daily retention pass's Temporal Schedule (`retention-{task queue}`, 08:30 UTC), made
//! once when the worker starts; one that exists already is left as it is. Follows
//! temporalio-client 1.1.1's `schedules` module, as the weekly email's schedules do.

use std::time::Duration;

use nmc_workflows::{RETENTION_BATCH, RetentionWorkflow, retention_schedule_id};
use temporalio_client::Client;
use temporalio_client::schedules::{
    CreateScheduleOptions, ScheduleAction, ScheduleCalendarSpec, ScheduleError,
    ScheduleOverlapPolicy, ScheduleSpec,
};
use temporalio_client::tonic::Code;

/// Creates the schedule, retrying while Temporal is away.
pub async fn ensure_schedule(client: Client, task_queue: String) {
    let id = retention_schedule_id(&task_queue);
    loop {
        let daily = ScheduleCalendarSpec::builder()
            .hour("8")
            .minute("30")
            .comment("retention limits")
            .build();
        let options = CreateScheduleOptions::builder()
            .action(ScheduleAction::start_workflow(
                RetentionWorkflow::run,
                RETENTION_BATCH,
                task_queue.clone(),
                id.clone(),
            ))
            .spec(ScheduleSpec::builder().calendars(vec![daily]).build())
            .overlap_policy(ScheduleOverlapPolicy::Skip)
            .build();
        match client.create_schedule(id.clone(), options).await {
            Ok(_) => return tracing::info!(schedule = %id, "retention schedule created"),
            Err(ScheduleError::Rpc(s)) if s.code() == Code::AlreadyExists => return,
            Err(e) => {
                tracing::warn!(error = %e, "could not create the retention schedule; retrying");
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
        }
    }
}
