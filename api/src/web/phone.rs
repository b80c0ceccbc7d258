//! The dev phone (sandbox only, a signed-in owner only): play a caller of your own business.
//! "Call" your number and let it ring out, then text back and forth in a phone-like thread; open
//! the inbox beside it to watch both sides. The thread refreshes itself every second.
//!
//! Everything goes to the signed-in owner's own number, read from their session's business:
//! the page never takes a business number from the request, so no owner can play a caller of
//! another business (or read its texts).

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, PreEscaped, html};
use nmc_domain::E164;
use serde::Deserialize;

use super::{Signed, nav, owner_only, page};
use crate::auth::Tenant;
use crate::error::{Params, invalid};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dev/phone", get(phone))
        .route("/dev/phone/thread", get(thread))
        .route("/dev/phone/call", post(call))
        .route("/dev/phone/text", post(text))
        .route("/dev/phone/forwarding", post(forwarding))
}

/// The built-in carrier. Taken before the session, so without the sandbox every dev phone route
/// is a plain 404 (on a real Twilio account there is no dev phone).
struct DevSandbox(nmc_sandbox::Sandbox);

impl FromRequestParts<AppState> for DevSandbox {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state
            .sandbox
            .clone()
            .map(DevSandbox)
            .ok_or(ApiError::NotFound)
    }
}

/// The owner's business: its name and number (none until it has gone live).
async fn business(s: &AppState, t: &Tenant) -> Result<(String, Option<String>), ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let row = nmc_store::settings::name_and_number(&mut tx, t.business_id).await?;
    tx.commit().await.map_err(nmc_store::StoreError::from)?;
    Ok(row)
}

#[derive(Deserialize)]
struct Who {
    caller: Option<String>,
}

const SCRIPT: &str = r"
const q = () => new URLSearchParams({caller: document.getElementById('caller').value});
async function refresh() {
  const r = await fetch('/dev/phone/thread?' + q());
  if (r.ok) { const t = document.getElementById('thread'); const html = await r.text(); if (t.innerHTML !== html) { t.innerHTML = html; t.scrollTop = t.scrollHeight; } }
}
async function send(path, extra) {
  const body = q(); for (const [k, v] of Object.entries(extra || {})) body.append(k, v);
  await fetch(path, {method: 'POST', body});
  refresh();
}
document.getElementById('call').onclick = () => send('/dev/phone/call');
document.getElementById('compose').onsubmit = (e) => { e.preventDefault(); const b = document.getElementById('body'); if (b.value.trim()) { send('/dev/phone/text', {body: b.value}); b.value = ''; } };
setInterval(refresh, 1000); refresh();
";

async fn phone(
    _: DevSandbox,
    Signed(t): Signed,
    State(s): State<AppState>,
    Params(w): Params<Who>,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let (name, number) = business(&s, &t).await?;
    let caller = w.caller.unwrap_or_else(|| "+15125550199".into());
    let body = html! {
        (nav("phone", &t))
        h1 { "Dev phone" }
        p class="muted" { "You are a caller of your own business. Calls and texts go through the sandbox carrier, exactly as Twilio would deliver them." }
        @match &number {
            None => p { "Your business has no number yet. " a href="/app/onboarding/number" { "Pick one" } },
            Some(n) => {
                div class="card" {
                    p { "Calling " strong { (name) " " (n) } }
                    label for="caller" { "Your number" }
                    input id="caller" name="caller" value=(caller) inputmode="tel";
                    button id="call" type="button" { "Call (no one answers)" }
                }
                section id="thread" class="thread" aria-live="polite" aria-label="Texts" tabindex="0" {}
                form id="compose" class="compose" {
                    label for="body" class="visually-hidden" { "Text message" }
                    input id="body" name="body" placeholder="Text message" autocomplete="off";
                    button type="submit" { "Send" }
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    Ok(page("Dev phone", body).into_response())
}

async fn thread(
    _: DevSandbox,
    t: Tenant,
    State(s): State<AppState>,
    Params(w): Params<Who>,
) -> Result<Markup, ApiError> {
    t.owner()?;
    let Some(caller) = w.caller else {
        return Ok(html! {});
    };
    let mut tx = t.begin(&s.db).await?;
    let rows = nmc_store::inbox::caller_thread(&mut tx, t.business_id, &caller).await?;
    tx.commit().await.map_err(nmc_store::StoreError::from)?;
    Ok(html! {
        @if rows.is_empty() { p class="empty" { "No texts yet. Call the business and let it ring out." } }
        @for (direction, body, status, at) in &rows {
            div class=(if direction == "inbound" { "bubble me" } else { "bubble them" }) {
                p { (body) }
                small { (at.format("%H:%M:%S")) @if direction == "outbound" { " · " (status) } }
            }
        }
    })
}

/// A caller's action. Any `number` the form sends is ignored: the business is the session's.
#[derive(Deserialize)]
struct Act {
    caller: String,
    body: Option<String>,
}

/// The caller, and the number they reach: the signed-in owner's own.
async fn caller_and_number(s: &AppState, t: &Tenant, a: &Act) -> Result<(E164, String), ApiError> {
    t.owner()?;
    let caller = E164::parse(&a.caller).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let number = business(s, t)
        .await?
        .1
        .ok_or_else(|| invalid("number", "your business has no number yet"))?;
    Ok((caller, number))
}

async fn call(
    DevSandbox(sb): DevSandbox,
    t: Tenant,
    State(s): State<AppState>,
    Form(a): Form<Act>,
) -> Result<Response, ApiError> {
    let (caller, to) = caller_and_number(&s, &t, &a).await?;
    // The call plays out in the background, as a real one would (ringing, then the missed flow).
    tokio::spawn(async move {
        let req = nmc_sandbox::CallRequest {
            from: caller.as_str().to_owned(),
            to,
            outcome: Some("no-answer".into()),
            call_sid: None,
            deliveries: 1,
            forwarded_from: None,
            ..Default::default()
        };
        if let Err(e) = sb.place_call(req).await {
            tracing::warn!(error = %e, "dev phone call failed");
        }
    });
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn text(
    DevSandbox(sb): DevSandbox,
    t: Tenant,
    State(s): State<AppState>,
    Form(a): Form<Act>,
) -> Result<Response, ApiError> {
    let (caller, to) = caller_and_number(&s, &t, &a).await?;
    let body = a.body.unwrap_or_default();
    if body.trim().is_empty() {
        return Err(ApiError::BadRequest("empty text".into()));
    }
    tokio::spawn(async move {
        let req = nmc_sandbox::SmsRequest {
            from: caller.as_str().to_owned(),
            to,
            body,
            message_sid: None,
            deliveries: 1,
        };
        if let Err(e) = sb.send_sms_as_caller(req).await {
            tracing::warn!(error = %e, "dev phone text failed");
        }
    });
    Ok(StatusCode::ACCEPTED.into_response())
}

#[derive(Deserialize)]
struct Forwarding {
    on: bool,
}

/// Plays the owner's phone company: "dialling the code" turns no-answer forwarding from the
/// business phone to the NeverMissCall number on (or off), so the set-up's test call can be
/// tried both ways without a real phone.
async fn forwarding(
    DevSandbox(sb): DevSandbox,
    t: Tenant,
    State(s): State<AppState>,
    Form(f): Form<Forwarding>,
) -> Result<Response, ApiError> {
    t.owner()?;
    let mut tx = t.begin(&s.db).await?;
    let line = nmc_store::forwarding::line(&mut tx, t.business_id).await?;
    tx.commit().await.map_err(nmc_store::StoreError::from)?;
    let (Some(phone), Some(number)) = (line.business_phone, line.twilio_number) else {
        return Err(invalid(
            "business_phone",
            "add your business phone and pick a number first",
        ));
    };
    let forward_to = f.on.then_some(number);
    sb.set_line(
        &phone,
        nmc_sandbox::lines::Line {
            behaviour: None,
            forward_to,
        },
    );
    Ok(axum::response::Redirect::to("/app/onboarding/test").into_response())
}
