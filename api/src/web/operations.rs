//! `/admin/registrations`: operations see every texting registration waiting on them and record
//! the carriers' decision (approve, or reject with the reason the owner will read). The browser
//! signs in with HTTP Basic, the admin token as the password; the Origin check on every post
//! (web/security.rs) keeps other sites from using that.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::{Engine, engine::general_purpose::STANDARD};
use maud::html;
use nmc_domain::registration::Registration;
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::page;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/registrations", get(pending))
        .route("/admin/registrations/{business_id}", post(decide))
}

/// Proof of the admin token, as a browser sends it (Basic, any user name).
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let password = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_owned()));
        let expected = state.config.admin_token.expose_secret().as_bytes();
        match password {
            Some(p) if !expected.is_empty() && bool::from(p.as_bytes().ct_eq(expected)) => {
                Ok(Operator)
            }
            _ => Err((
                StatusCode::UNAUTHORIZED,
                [(
                    header::WWW_AUTHENTICATE,
                    "Basic realm=\"NeverMissCall operations\", charset=\"UTF-8\"",
                )],
                "The admin token is the password.",
            )
                .into_response()),
        }
    }
}

async fn pending(_: Operator, State(s): State<AppState>) -> Result<Response, ApiError> {
    let mut db = nmc_store::conn(&s.db).await?;
    let list = nmc_store::settings::pending_registrations(&mut db).await?;
    let body = html! {
        h1 { "Texting registrations waiting" }
        @if list.is_empty() { p { "Nothing waiting." } }
        @for p in &list {
            @let r: Registration = p.messaging_registration.clone().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
            section class="card" aria-label=(p.name) {
                h2 { (p.name) }
                p class="muted" { "Submitted " (p.updated_at.format("%b %-d %H:%M UTC")) }
                dl {
                    dt { "Legal name" } dd { (r.brand.legal_name) " (" (r.brand.business_type.replace('_', " ")) ")" }
                    dt { "EIN" } dd { (r.brand.ein) }
                    dt { "Address" } dd { (r.brand.street) ", " (r.brand.city) " " (r.brand.state) " " (r.brand.postal_code) " " (r.brand.country) }
                    dt { "Website" } dd { (r.brand.website) }
                    dt { "Contact" } dd { (r.brand.contact_name) ", " (r.brand.contact_email) ", " (r.brand.contact_phone) }
                    dt { "What the texts are for" } dd { (r.campaign.description) }
                    dt { "How callers opt in" } dd { (r.campaign.opt_in) }
                    dt { "Samples" } dd { @for m in &r.campaign.sample_messages { p { (m) } } }
                    dt { "HELP / STOP answers" } dd { p { (r.campaign.help_message) } p { (r.campaign.opt_out_message) } }
                }
                form method="post" action={ "/admin/registrations/" (p.business_id) } {
                    input type="hidden" name="status" value="approved";
                    button type="submit" { "Approve" }
                }
                form method="post" action={ "/admin/registrations/" (p.business_id) } {
                    input type="hidden" name="status" value="rejected";
                    label for={ "note-" (p.business_id) } { "The carriers' reason (the owner reads this)" }
                    textarea id={ "note-" (p.business_id) } name="note" rows="2" required {}
                    button type="submit" class="secondary" { "Reject" }
                }
            }
        }
    };
    Ok(page("Registrations", body).into_response())
}

#[derive(Deserialize)]
struct DecisionForm {
    status: String,
    note: Option<String>,
}

async fn decide(
    _: Operator,
    State(s): State<AppState>,
    Path(business_id): Path<Uuid>,
    Form(d): Form<DecisionForm>,
) -> Result<Response, ApiError> {
    crate::messaging::record_decision(&s, business_id, &d.status, d.note.as_deref()).await?;
    Ok(Redirect::to("/admin/registrations").into_response())
}
