//! Billing (seed 000: Stripe, one plan `standard`): `GET /api/billing` (the plan in plain
//! words), `POST /api/billing/checkout` (a hosted Checkout for the trial and subscription) and
//! `POST /api/billing/portal` (Stripe's Customer Portal: card, invoices, cancelling). The
//! subscription's state arrives by the webhook ([`webhook`]) and gates automated texts
//! (`domain::billing`). Without `STRIPE_SECRET_KEY` billing is off and nobody is billed.

pub mod signature;
pub mod stripe;
pub mod webhook;

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use nmc_domain::billing::{self as rules, Gate, Status};
use nmc_store::billing;
use serde_json::{Value, json};

use crate::auth::Tenant;
use crate::error::{ApiError, invalid};
use crate::owner::commit;
use crate::{AppState, config::Billing};

/// `GET /api/billing`.
pub async fn get_billing(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let b = billing::get(&mut tx, t.business_id).await?;
    commit(tx).await?;
    Ok(Json(view(s.config.billing.is_some(), &b)))
}

/// The plan as the owner reads it: status, what it means for texting, and what to do.
pub fn view(enabled: bool, b: &billing::Billing) -> Value {
    let status = b.status.as_deref().and_then(Status::parse);
    let gate = rules::gate(status, b.grace_until, Utc::now());
    let action = match status {
        Some(s) if rules::needs_checkout(s) => Some("checkout"),
        Some(_) if b.stripe_customer_id.is_some() => Some("portal"),
        _ => None,
    };
    json!({
        "enabled": enabled,
        "status": status.map(Status::code),
        "texting": match gate { Gate::Serve => "on", Gate::Grace => "grace", Gate::Stop => "stopped" },
        "banner": status.and_then(|s| rules::banner(s, gate)),
        "action": if enabled { action } else { None },
        "trial_end": b.trial_end,
        "period_end": b.period_end,
        "cancel_at": b.cancel_at,
        "grace_until": b.grace_until,
    })
}

fn config(s: &AppState) -> Result<&Billing, ApiError> {
    s.config
        .billing
        .as_ref()
        .ok_or_else(|| invalid("billing", "billing is not set up on this server"))
}

fn unavailable(e: &stripe::StripeError) -> ApiError {
    tracing::warn!(error = %e, "stripe call failed");
    ApiError::Unavailable("stripe")
}

/// `POST /api/billing/checkout`: the URL of a Checkout page for the plan, with the trial.
pub async fn checkout(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let config = config(&s)?;
    let mut tx = t.begin(&s.db).await?;
    let b = billing::get(&mut tx, t.business_id).await?;
    let status = b.status.as_deref().and_then(Status::parse);
    if status.is_some_and(|st| !rules::needs_checkout(st)) {
        return Err(invalid(
            "billing",
            "your plan is already running; change the card or cancel in the billing portal",
        ));
    }
    let stripe = stripe::Stripe::new(&config.api_base, config.secret_key.clone());
    let customer = if let Some(c) = b.stripe_customer_id {
        c
    } else {
        let c = stripe
            .create_customer(t.business_id, &b.owner_email, &b.name)
            .await
            .map_err(|e| unavailable(&e))?;
        billing::set_customer(&mut tx, t.business_id, &c).await?;
        c
    };
    commit(tx).await?;
    let base = &s.config.public_base_url;
    let success = format!("{base}/app/settings/billing?checkout=done");
    let cancel = format!("{base}/app/settings/billing");
    let url = stripe
        .checkout(&stripe::Checkout {
            business_id: t.business_id,
            customer: &customer,
            price: &config.price_id,
            trial_days: config.trial_days,
            success_url: &success,
            cancel_url: &cancel,
        })
        .await
        .map_err(|e| unavailable(&e))?;
    Ok(Json(json!({ "url": url })))
}

/// `POST /api/billing/portal`: the URL of the Customer Portal for this business.
pub async fn portal(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let config = config(&s)?;
    let mut tx = t.begin(&s.db).await?;
    let b = billing::get(&mut tx, t.business_id).await?;
    commit(tx).await?;
    let customer = b
        .stripe_customer_id
        .ok_or_else(|| invalid("billing", "start the plan first"))?;
    let back = format!("{}/app/settings/billing", s.config.public_base_url);
    let url = stripe::Stripe::new(&config.api_base, config.secret_key.clone())
        .portal(&customer, &back)
        .await
        .map_err(|e| unavailable(&e))?;
    Ok(Json(json!({ "url": url })))
}
