//! `/app/settings/billing` (owner): the plan in plain words, with one button: start the trial
//! (Stripe Checkout) or manage the card and cancel (Stripe's Customer Portal). The buttons are
//! plain forms; the server asks Stripe for the page and sends the browser there (303), since
//! Stripe's page addresses are made per click and expire.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use nmc_store::billing;
use serde_json::Value;

use super::ui::{self, Tone};
use super::{Signed, nav, owner_only, page};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app/settings/billing", get(billing_page))
        .route("/app/billing/checkout", post(to_checkout))
        .route("/app/billing/portal", post(to_portal))
}

async fn billing_page(Signed(t): Signed, State(s): State<AppState>) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    let b = billing::get(&mut tx, t.business_id).await?;
    crate::owner::commit(tx).await?;
    let v = crate::billing::view(s.config.billing.is_some(), &b);
    let body = html! {
        (nav("settings", &t))
        h1 { "Your plan" }
        (card(&v))
    };
    Ok(page("Your plan", body).into_response())
}

/// The plan's card: also shown on home and the set-up's last step while it needs the owner.
pub(crate) fn card(v: &Value) -> Markup {
    if v["enabled"] != true {
        return html! { p class="muted" { "Billing is not set up on this server: everything is included." } };
    }
    let tone = match v["texting"].as_str() {
        Some("on") => Tone::Ok,
        Some("grace") => Tone::Warn,
        _ => Tone::Bad,
    };
    let status = v["status"].as_str().unwrap_or("none");
    html! {
        section class="card" id="plan" aria-labelledby="plan-title" {
            h2 id="plan-title" { "Standard plan " (ui::badge(&status_words(status), tone)) }
            @if let Some(banner) = v["banner"].as_str() { p role="status" { (banner) } }
            @if let Some(end) = v["trial_end"].as_str().filter(|_| status == "trialing") { p { "Free until " (day(end)) "." } }
            @if let Some(end) = v["cancel_at"].as_str() { p { "Ends " (day(end)) ". Texting stops then; your calls and leads stay." } }
            @if let Some(end) = v["grace_until"].as_str() { p { "Texting continues until " (day(end)) " while the payment is retried." } }
            @match v["action"].as_str() {
                Some("checkout") => form method="post" action="/app/billing/checkout" {
                    button type="submit" { @if status == "none" { "Start the free trial" } @else { "Start the plan again" } }
                },
                Some("portal") => form method="post" action="/app/billing/portal" {
                    button type="submit" class="secondary" { "Card, invoices and cancelling" }
                },
                _ => {},
            }
        }
    }
}

fn status_words(status: &str) -> String {
    match status {
        "none" => "not started",
        "trialing" => "free trial",
        "active" => "active",
        "past_due" => "payment failed",
        "canceled" => "ended",
        "unpaid" | "incomplete" | "incomplete_expired" => "unpaid",
        "paused" => "paused",
        other => other,
    }
    .to_owned()
}

/// The date part of an RFC 3339 time.
fn day(at: &str) -> &str {
    at.get(..10).unwrap_or(at)
}

async fn to_checkout(Signed(t): Signed, s: State<AppState>) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let axum::Json(v) = crate::billing::checkout(t, s).await?;
    Ok(Redirect::to(v["url"].as_str().unwrap_or("/app/settings/billing")).into_response())
}

async fn to_portal(Signed(t): Signed, s: State<AppState>) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let axum::Json(v) = crate::billing::portal(t, s).await?;
    Ok(Redirect::to(v["url"].as_str().unwrap_or("/app/settings/billing")).into_response())
}
