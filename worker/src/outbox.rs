//! The webhook outbox: a call or text the API recorded but could not signal (Temporal away, the
//! API stopped between commit and signal) is signalled from here, so a recorded event is always
//! acted on without waiting for a carrier redelivery that real Twilio does not make on a 5xx.
//! The workflow drops a repeat by its sid, so a signal sent twice is harmless.

use std::time::Duration;

use nmc_store::PgPool;
use nmc_temporal::signal::ConversationQueue;
use temporalio_client::Client;

/// The API signals at once and marks the row off the request path; an event still unmarked after
/// this long was not signalled (or its mark was lost: signalling again is harmless).
const GRACE_SECS: i64 = 3;

pub async fn signal_unsignalled_webhooks(pool: PgPool, client: Client, queue: ConversationQueue) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let pending = match nmc_store::webhook::unsignalled(&pool, GRACE_SECS, 100).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "webhook outbox: database unavailable");
                continue;
            }
        };
        for event in pending {
            match queue
                .signal(&client, event.business_id, &event.caller, event.signal)
                .await
            {
                Ok(()) => {
                    nmc_telemetry::OUTBOX_SIGNALS
                        .with_label_values(&["signalled"])
                        .inc();
                    tracing::info!(business_id = %event.business_id, event_id = %event.event_id, "webhook outbox: signalled a recorded event");
                    if let Err(e) = nmc_store::webhook::mark_signalled(&pool, event.event_id).await
                    {
                        tracing::warn!(error = %e, "webhook outbox: could not mark the event signalled");
                    }
                }
                // One event that fails must not hold up the others; the next pass tries it again.
                Err(e) => {
                    nmc_telemetry::OUTBOX_SIGNALS
                        .with_label_values(&["failed"])
                        .inc();
                    tracing::warn!(event_id = %event.event_id, error = %e, "webhook outbox: signal failed; retrying");
                }
            }
        }
    }
}

/// A team member's text the API recorded but could not hand to its workflow: started here.
pub async fn start_unstarted_team_texts(pool: PgPool, client: Client, task_queue: String) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let Ok(pending) = nmc_store::team::unstarted(&pool, GRACE_SECS, 100).await else {
            continue;
        };
        for text in pending {
            let started = nmc_temporal::signal::start_team_text(
                &client,
                &task_queue,
                text.business_id,
                text.id,
                &text.message_sid,
            )
            .await;
            match started {
                Ok(()) => {
                    tracing::info!(business_id = %text.business_id, team_text_id = %text.id, "team text outbox: started its workflow");
                    if let Err(e) = nmc_store::team::mark_started(&pool, text.id).await {
                        tracing::warn!(error = %e, "team text outbox: could not mark it started");
                    }
                }
                Err(e) => {
                    tracing::warn!(team_text_id = %text.id, error = %e, "team text outbox: start failed; retrying");
                }
            }
        }
    }
}

/// Once a business may text again (approved for texting, its plan in force), each conversation
/// whose greeting was held in the last half hour is told, and sends it (the workflow checks the
/// age again); older ones were listed for the owner in the approval email.
pub async fn release_held_greetings(pool: PgPool, client: Client, enforced: bool) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        let Ok(held) = nmc_store::registration::to_release(&pool, 100, enforced).await else {
            continue;
        };
        for g in held {
            let handle = client
                .get_workflow_handle::<nmc_workflows::ConversationWorkflow>(g.workflow_id.clone());
            let signalled = handle
                .signal(
                    nmc_workflows::ConversationWorkflow::texting_approved,
                    "approved".to_owned(),
                    temporalio_client::WorkflowSignalOptions::default(),
                )
                .await;
            match signalled {
                Ok(()) => {
                    tracing::info!(business_id = %g.business_id, "held greeting released");
                    if let Err(e) =
                        nmc_store::registration::mark_released(&pool, g.message_id).await
                    {
                        tracing::warn!(error = %e, "could not mark the held greeting released");
                    }
                }
                Err(e) => {
                    tracing::warn!(business_id = %g.business_id, error = %e, "releasing a held greeting: retrying");
                }
            }
        }
    }
}

/// Each recorded CRM push gets its workflow (the id is the push's, so a second start finds the
/// first).
pub async fn start_unstarted_crm_pushes(pool: PgPool, client: Client, task_queue: String) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let Ok(pending) = nmc_store::crm::unstarted(&pool, 100).await else {
            continue;
        };
        for push in pending {
            let started = nmc_temporal::signal::start_crm_push(
                &client,
                &task_queue,
                push.business_id,
                push.id,
            )
            .await;
            match started {
                Ok(()) => {
                    if let Err(e) = nmc_store::crm::mark_started(&pool, push.id).await {
                        tracing::warn!(error = %e, "crm outbox: could not mark the push started");
                    }
                }
                Err(e) => {
                    tracing::warn!(push_id = %push.id, error = %e, "crm outbox: start failed; retrying");
                }
            }
        }
    }
}
