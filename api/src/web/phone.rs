//! The dev phone (sandbox only): play the caller. Pick a business, "call" it and let it ring
//! out, then text back and forth in a phone-like thread; open the owner's pages beside it to
//! watch both sides. The thread refreshes itself every second.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, PreEscaped, html};
use nmc_domain::E164;
use serde::Deserialize;

use crate::error::Params;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dev/phone", get(phone))
        .route("/dev/phone/thread", get(thread))
        .route("/dev/phone/call", post(call))
        .route("/dev/phone/text", post(text))
}

fn sandbox(s: &AppState) -> Result<&nmc_sandbox::Sandbox, ApiError> {
    // Only with the built-in carrier: on a real Twilio account there is no dev phone.
    s.sandbox.as_ref().ok_or(ApiError::NotFound)
}

#[derive(Deserialize)]
struct Who {
    number: Option<String>,
    caller: Option<String>,
}

const SCRIPT: &str = r#"
const q = () => new URLSearchParams({number: document.getElementById('number').value, caller: document.getElementById('caller').value});
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
"#;

async fn phone(State(s): State<AppState>, Params(w): Params<Who>) -> Result<Markup, ApiError> {
    sandbox(&s)?;
    let businesses: Vec<(String, String)> = sqlx::query_as("select name, twilio_number from businesses where twilio_number is not null order by created_at")
        .fetch_all(&s.db)
        .await
        .map_err(nmc_store::StoreError::from)?;
    let chosen = w.number.clone().or_else(|| businesses.first().map(|b| b.1.clone())).unwrap_or_default();
    let caller = w.caller.clone().unwrap_or_else(|| "+15125550199".into());
    Ok(super::page(
        "Dev phone",
        html! {
            h1 { "Dev phone" }
            p class="empty" { "You are the caller. Calls and texts go through the sandbox carrier, exactly as Twilio would deliver them." }
            div class="card" {
                label for="number" { "Business" }
                select id="number" name="number" {
                    @for (name, number) in &businesses {
                        option value=(number) selected[*number == chosen] { (name) " " (number) }
                    }
                }
                label for="caller" { "Your number" }
                input id="caller" name="caller" value=(caller) inputmode="tel";
                button id="call" type="button" { "Call (no one answers)" }
            }
            section id="thread" class="thread" aria-live="polite" aria-label="Texts" {}
            form id="compose" class="compose" {
                label for="body" class="visually-hidden" { "Text message" }
                input id="body" name="body" placeholder="Text message" autocomplete="off";
                button type="submit" { "Send" }
            }
            script { (PreEscaped(SCRIPT)) }
        },
    ))
}

async fn thread(State(s): State<AppState>, Params(w): Params<Who>) -> Result<Markup, ApiError> {
    sandbox(&s)?;
    let (Some(number), Some(caller)) = (w.number, w.caller) else { return Ok(html! {}) };
    let rows: Vec<(String, String, String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select m.direction, m.body, m.status, m.created_at from messages m join businesses b on b.id = m.business_id join leads l on l.id = m.lead_id
         where b.twilio_number = $1 and l.phone = $2 and m.kind <> 'owner_alert' and m.status not in ('pending', 'suppressed', 'held')
         order by m.created_at, m.id limit 200",
    )
    .bind(&number)
    .bind(&caller)
    .fetch_all(&s.db)
    .await
    .map_err(nmc_store::StoreError::from)?;
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

#[derive(Deserialize)]
struct Act {
    number: String,
    caller: String,
    body: Option<String>,
}

async fn call(State(s): State<AppState>, Form(a): Form<Act>) -> Result<Response, ApiError> {
    let sb = sandbox(&s)?.clone();
    let caller = E164::parse(&a.caller).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // The call plays out in the background, as a real one would (ringing, then the missed flow).
    tokio::spawn(async move {
        let req = nmc_sandbox::CallRequest { from: caller.as_str().to_owned(), to: a.number, outcome: Some("no-answer".into()), call_sid: None, deliveries: 1 };
        if let Err(e) = sb.place_call(req).await {
            tracing::warn!(error = %e, "dev phone call failed");
        }
    });
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn text(State(s): State<AppState>, Form(a): Form<Act>) -> Result<Response, ApiError> {
    let sb = sandbox(&s)?.clone();
    let caller = E164::parse(&a.caller).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let body = a.body.unwrap_or_default();
    if body.trim().is_empty() {
        return Err(ApiError::BadRequest("empty text".into()));
    }
    tokio::spawn(async move {
        let req = nmc_sandbox::SmsRequest { from: caller.as_str().to_owned(), to: a.number, body, message_sid: None, deliveries: 1 };
        if let Err(e) = sb.send_sms_as_caller(req).await {
            tracing::warn!(error = %e, "dev phone text failed");
        }
    });
    Ok(StatusCode::ACCEPTED.into_response())
}
