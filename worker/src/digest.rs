//! Keeps each business's weekly-email schedule (`digest-{id}`, a Temporal Schedule starting
//! `DigestWorkflow` every Monday at 7:00 in the business's timezone) in line with the database:
//! created for a new business, moved when its timezone changes, deleted when no owner wants the
//! email. Schedules follow temporalio-client 1.1.1's `schedules` module and docs.temporal.io/schedule.

use std::time::Duration;

use nmc_store::PgPool;
use nmc_store::digest::ScheduleChange;
use nmc_workflows::{DigestStart, DigestWorkflow, digest_schedule_id};
use temporalio_client::schedules::{
    CreateScheduleOptions, DeleteScheduleOptions, ScheduleAction, ScheduleCalendarSpec,
    ScheduleError, ScheduleOverlapPolicy, ScheduleSpec,
};
use temporalio_client::tonic::Code;
use temporalio_client::{Client, RpcOptions};

/// Monday 7:00, local: before the first job, after the alarm. (Not 01:00–03:00, which DST skips
/// or repeats.)
fn monday_seven(timezone: &str) -> ScheduleSpec {
    let monday = ScheduleCalendarSpec::builder()
        .day_of_week("MON")
        .hour("7")
        .minute("0")
        .comment("the weekly email")
        .build();
    ScheduleSpec::builder()
        .calendars(vec![monday])
        .timezone_name(timezone.to_owned())
        .build()
}

/// An outage must not mail last week's digest on Wednesday: a missed Monday is skipped after an hour.
const CATCH_UP: Duration = Duration::from_secs(3600);

async fn put(
    client: &Client,
    task_queue: &str,
    change: &ScheduleChange,
    timezone: &str,
) -> Result<(), ScheduleError> {
    let id = digest_schedule_id(change.business_id);
    let start = DigestStart {
        business_id: change.business_id,
    };
    let action = ScheduleAction::start_workflow(
        DigestWorkflow::run,
        start,
        task_queue.to_owned(),
        id.clone(),
    );
    let options = CreateScheduleOptions::builder()
        .action(action)
        .spec(monday_seven(timezone))
        .overlap_policy(ScheduleOverlapPolicy::Skip)
        .build();
    let handle = match client.create_schedule(id.clone(), options).await {
        Ok(handle) => handle,
        Err(ScheduleError::Rpc(s)) if s.code() == Code::AlreadyExists => {
            client.get_schedule_handle(id)
        }
        Err(e) => return Err(e),
    };
    let spec = monday_seven(timezone);
    handle
        .update(
            move |u| {
                u.set_spec(spec)
                    .set_catchup_window(CATCH_UP)
                    .set_overlap_policy(ScheduleOverlapPolicy::Skip);
            },
            RpcOptions::default(),
        )
        .await
}

async fn delete(client: &Client, change: &ScheduleChange) -> Result<(), ScheduleError> {
    match client
        .get_schedule_handle(digest_schedule_id(change.business_id))
        .delete(DeleteScheduleOptions::default())
        .await
    {
        Err(ScheduleError::Rpc(s)) if s.code() == Code::NotFound => Ok(()),
        other => other,
    }
}

/// Every `every`, brings the schedules that differ from the database in line (one at a time, so
/// two updates of one schedule never race).
pub async fn keep_schedules(pool: PgPool, client: Client, task_queue: String, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Ok(changes) = nmc_store::digest::schedules_to_change(&pool, 100).await else {
            continue;
        };
        for change in changes {
            let done = match &change.timezone {
                Some(tz) => put(&client, &task_queue, &change, tz).await,
                None => delete(&client, &change).await,
            };
            match done {
                Ok(()) => {
                    tracing::info!(business_id = %change.business_id, timezone = ?change.timezone, "weekly email schedule set");
                    if let Err(e) = nmc_store::digest::schedule_set(
                        &pool,
                        change.business_id,
                        change.timezone.as_deref(),
                    )
                    .await
                    {
                        tracing::warn!(error = %e, "could not record the weekly email schedule");
                    }
                }
                Err(e) => {
                    tracing::warn!(business_id = %change.business_id, error = %e, "weekly email schedule: retrying");
                }
            }
        }
    }
}
