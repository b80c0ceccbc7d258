//! The alert outbox for the channels that are not texts: each pending delivery the alert
//! activity recorded is posted here, retried with backoff, and given up when the far end says
//! it is gone. Slack follows "Sending messages using incoming webhooks"
//! (api.slack.com/messaging/webhooks) and its documented error answers.

use std::time::Duration;

use nmc_store::alerts::{self, DueDelivery};
use nmc_store::{PgPool, SecretBox};

use crate::push::Pusher;

/// Claimed at once: a claim lasts two minutes and one post at most ten seconds, so a batch is
/// always done before its claim could pass to another worker.
const BATCH: i64 = 5;

/// After this many attempts a delivery is failed for good (about an hour of backoff).
const MAX_ATTEMPTS: i32 = 8;

/// What came of one post.
pub(crate) enum Outcome {
    Sent,
    /// Try again after this many seconds.
    Retry(i64, String),
    /// The far end removed it (Slack 403/404/410): stop, and say why.
    Gone(String),
    /// Our payload or configuration is wrong: retrying would not help.
    Failed(String),
}

pub async fn deliver_alerts(pool: PgPool, secrets: SecretBox, pusher: Pusher) {
    // Never follow a redirect: the far end must not send our post somewhere else.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client builds");
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let due = match alerts::due_deliveries(&pool, BATCH).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "alert outbox: database unavailable");
                continue;
            }
        };
        for d in due {
            let outcome = match d.channel.as_str() {
                "slack" => post_to_slack(&http, &secrets, &d).await,
                "push" => push(&http, &pool, &pusher, &d).await,
                other => Outcome::Failed(format!("no sender for {other}")),
            };
            finish(&pool, &d, outcome).await;
        }
    }
}

async fn finish(pool: &PgPool, d: &DueDelivery, outcome: Outcome) {
    let done = match outcome {
        Outcome::Sent => alerts::finish_delivery(pool, d, "sent", None, None).await,
        Outcome::Retry(_, why) if d.attempts >= MAX_ATTEMPTS => {
            alerts::finish_delivery(pool, d, "failed", Some(&why), None).await
        }
        Outcome::Retry(secs, why) => {
            tracing::warn!(delivery_id = %d.id, channel = %d.channel, error = %why, "alert delivery: retrying");
            alerts::finish_delivery(pool, d, "pending", Some(&why), Some(secs)).await
        }
        Outcome::Gone(why) => alerts::finish_delivery(pool, d, "gone", Some(&why), None).await,
        Outcome::Failed(why) => {
            tracing::warn!(delivery_id = %d.id, channel = %d.channel, error = %why, "alert delivery failed");
            alerts::finish_delivery(pool, d, "failed", Some(&why), None).await
        }
    };
    if let Err(e) = done {
        tracing::warn!(error = %e, "alert outbox: could not record the outcome; the lease frees it");
    }
}

pub(crate) fn backoff(attempts: i32) -> i64 {
    (5_i64 << attempts.clamp(0, 10)).min(3600)
}

async fn post_to_slack(http: &reqwest::Client, secrets: &SecretBox, d: &DueDelivery) -> Outcome {
    let Some(url) = d
        .slack_webhook_enc
        .as_deref()
        .and_then(|e| secrets.decrypt(e).ok())
    else {
        return Outcome::Gone("Slack was disconnected".into());
    };
    let Some(payload) = &d.payload else {
        return Outcome::Failed("no payload".into());
    };
    let resp = match http.post(&url).json(payload).send().await {
        Ok(r) => r,
        // Never the URL in logs: it is the channel's secret.
        Err(e) => return Outcome::Retry(backoff(d.attempts), e.without_url().to_string()),
    };
    let status = resp.status().as_u16();
    let retry_after = retry_after(&resp);
    let body: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    match status {
        200..=299 => Outcome::Sent,
        429 => Outcome::Retry(
            retry_after.unwrap_or(1).clamp(1, 3600),
            "rate_limited".into(),
        ),
        403 | 404 | 410 => Outcome::Gone(format!("{status} {body}")),
        400..=499 => Outcome::Failed(format!("{status} {body}")),
        _ => Outcome::Retry(backoff(d.attempts), format!("{status} {body}")),
    }
}

/// `Retry-After` in seconds (the form Slack and push services send).
pub(crate) fn retry_after(resp: &reqwest::Response) -> Option<i64> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
}

/// A browser that unsubscribed or whose push service refuses us is forgotten, so the next
/// alert does not try it again.
async fn push(http: &reqwest::Client, pool: &PgPool, pusher: &Pusher, d: &DueDelivery) -> Outcome {
    let Ok(id) = d.target.parse::<uuid::Uuid>() else {
        return Outcome::Failed("not a subscription id".into());
    };
    let target = match nmc_store::push::target(pool, id).await {
        Ok(Some(t)) => t,
        Ok(None) => return Outcome::Gone("the browser turned alerts off".into()),
        Err(e) => return Outcome::Retry(backoff(d.attempts), e.to_string()),
    };
    let Some(payload) = &d.payload else {
        return Outcome::Failed("no payload".into());
    };
    let outcome = pusher.send(http, &target, payload, d.attempts).await;
    let settled = match &outcome {
        Outcome::Gone(_) => nmc_store::push::forget(pool, id).await,
        Outcome::Sent => nmc_store::push::mark_success(pool, id).await,
        _ => Ok(()),
    };
    if let Err(e) = settled {
        tracing::warn!(error = %e, "push: could not update the subscription");
    }
    outcome
}
