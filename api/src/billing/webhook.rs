//! `POST /webhook/stripe`: verifies `Stripe-Signature` over the raw body, then records the
//! event by its id and applies it in one transaction, so a redelivery changes nothing. Events
//! come at least once and in any order: a subscription event older than the last one applied
//! is recorded and skipped. Unknown event types are recorded and answered 200.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use nmc_store::billing::{self, Subscription};
use secrecy::ExposeSecret;
use serde_json::Value;
use uuid::Uuid;

use super::signature;
use crate::{AppState, error::ApiError};

pub async fn stripe_webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let Some(config) = &s.config.billing else {
        return Err(ApiError::NotFound);
    };
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::BadRequest("no Stripe-Signature".into()))?;
    let secret = config.webhook_secret.expose_secret();
    if let Err(e) = signature::verify(header, &body, secret, Utc::now().timestamp()) {
        tracing::warn!(error = %e, "stripe webhook refused");
        return Err(ApiError::BadRequest(format!("Stripe-Signature: {e}")));
    }
    let event: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("not an event: {e}")))?;
    let (Some(id), Some(kind)) = (event["id"].as_str(), event["type"].as_str()) else {
        return Err(ApiError::BadRequest("an event has an id and a type".into()));
    };
    let created = time(&event["created"]).unwrap_or_else(Utc::now);
    let mut tx = s.db.begin().await.map_err(nmc_store::StoreError::from)?;
    if !billing::first_time(&mut tx, id, kind, created).await? {
        return Ok(StatusCode::OK);
    }
    let object = &event["data"]["object"];
    let grace = i32::try_from(config.grace_days).unwrap_or(14);
    if let Some(business) = apply(&mut tx, kind, object, created, grace).await? {
        billing::attribute(&mut tx, id, business).await?;
        tracing::info!(business_id = %business, event = kind, "billing event applied");
    }
    tx.commit().await.map_err(nmc_store::StoreError::from)?;
    Ok(StatusCode::OK)
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

/// Applies one event; returns the business it was about, if we know it.
async fn apply(
    tx: &mut Tx<'_>,
    kind: &str,
    object: &Value,
    created: DateTime<Utc>,
    grace_days: i32,
) -> Result<Option<Uuid>, ApiError> {
    let customer = object["customer"].as_str();
    match kind {
        "checkout.session.completed" => {
            let named =
                uuid(&object["client_reference_id"]).or(uuid(&object["metadata"]["business_id"]));
            let Some(b) = billing::business_for(tx, named, customer).await? else {
                return Ok(None);
            };
            if let Some(c) = customer {
                billing::checked_out(tx, b, c, object["subscription"].as_str()).await?;
            }
            Ok(Some(b))
        }
        k if k.starts_with("customer.subscription.") => {
            let named = uuid(&object["metadata"]["business_id"]);
            let Some(b) = billing::business_for(tx, named, customer).await? else {
                return Ok(None);
            };
            let sub = subscription(object);
            if nmc_domain::billing::Status::parse(&sub.status).is_none() {
                tracing::warn!(status = %sub.status, "a subscription status we do not know: not applied");
                return Ok(Some(b));
            }
            if !billing::apply_subscription(tx, b, &sub, created, grace_days).await? {
                tracing::info!(business_id = %b, "an older subscription event: skipped");
            }
            Ok(Some(b))
        }
        "invoice.payment_failed" => {
            let meta = &object["parent"]["subscription_details"]["metadata"];
            let Some(b) = billing::business_for(tx, uuid(&meta["business_id"]), customer).await?
            else {
                return Ok(None);
            };
            billing::payment_failed(tx, b, grace_days).await?;
            Ok(Some(b))
        }
        _ => Ok(None),
    }
}

/// The subscription as the basil+ API shows it: the period end is on its first item; a
/// cancellation "at period end" ends it then.
fn subscription(o: &Value) -> Subscription {
    let period_end = time(&o["items"]["data"][0]["current_period_end"]);
    let cancel_at = time(&o["cancel_at"]).or_else(|| {
        o["cancel_at_period_end"]
            .as_bool()
            .unwrap_or(false)
            .then_some(period_end)
            .flatten()
    });
    Subscription {
        id: o["id"].as_str().unwrap_or_default().to_owned(),
        customer: o["customer"].as_str().unwrap_or_default().to_owned(),
        status: o["status"].as_str().unwrap_or("incomplete").to_owned(),
        trial_end: time(&o["trial_end"]),
        period_end,
        cancel_at,
    }
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_i64().and_then(|t| DateTime::from_timestamp(t, 0))
}

fn uuid(v: &Value) -> Option<Uuid> {
    v.as_str().and_then(|s| s.parse().ok())
}
