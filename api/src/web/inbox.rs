//! The inbox pages: conversations with filters, a live thread showing who said what with
//! delivery ticks, Take over / Return to assistant, the composer, and the lead card.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, PreEscaped, html};
use nmc_store::inbox::{self, ConversationFilter};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Tenant;
use crate::error::Params;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app/inbox", get(list))
        .route("/app/inbox/{conversation_id}", get(detail))
        .route("/app/inbox/{conversation_id}/thread", get(thread_fragment))
        .route("/app/inbox/{conversation_id}/takeover", post(take_over))
        .route("/app/inbox/{conversation_id}/return", post(give_back))
        .route("/app/inbox/{conversation_id}/send", post(send))
}

#[derive(Deserialize)]
struct Filter {
    show: Option<String>,
}

const FILTERS: [(&str, &str); 5] = [("", "All"), ("needs_owner", "Needs you"), ("assistant", "Assistant"), ("booked", "Booked"), ("closed", "Closed")];

async fn list(t: Option<Tenant>, State(s): State<AppState>, Params(f): Params<Filter>) -> Result<Response, ApiError> {
    let Some(t) = t else { return Ok(Redirect::to("/login").into_response()) };
    let show = f.show.unwrap_or_default();
    let filter = ConversationFilter {
        status: match show.as_str() {
            "closed" => Some("closed".into()),
            "assistant" | "needs_owner" => Some("active".into()),
            _ => None,
        },
        needs_owner: (show == "needs_owner").then_some(true),
        emergency: None,
        mode: (show == "assistant").then(|| "assistant".to_owned()),
        booked: (show == "booked").then_some(true),
    };
    let mut tx = t.begin(&s.db).await?;
    let page = inbox::conversations(&mut tx, t.business_id, &filter, None, 50).await?;
    Ok(super::page(
        "Inbox",
        html! {
            (super::nav("inbox"))
            h1 { "Inbox" }
            nav class="filters" aria-label="Filter" {
                @for (key, label) in FILTERS {
                    a href={ "/app/inbox" @if !key.is_empty() { "?show=" (key) } } aria-current=[(key == show).then_some("page")] { (label) }
                }
            }
            @if page.items.is_empty() {
                p class="empty" { "No conversations here yet. When a call is missed, the caller gets a text and the conversation appears here at once." }
            }
            ul class="list" {
                @for c in &page.items {
                    li {
                        a href={ "/app/inbox/" (c.id) } class="row" {
                            strong { (c.caller_name.clone().unwrap_or_else(|| c.caller_phone.clone())) }
                            @if c.emergency { span class="badge bad" { "Emergency" } }
                            @if c.needs_owner { span class="badge" { "Needs you" } }
                            @if c.mode == "owner" { span class="badge" { "You have it" } }
                            span class="muted" { (c.last_message.clone().unwrap_or_default().chars().take(80).collect::<String>()) }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}

fn thread(messages: &[inbox::Message]) -> Markup {
    html! {
        @for m in messages {
            div class=(if m.direction == "inbound" { "bubble them" } else { "bubble me" }) {
                small class="who" { (match m.sender.as_str() { "caller" => "Caller", "assistant" => "Assistant", "owner" => "You", _ => "Auto" }) }
                p { (m.body) }
                @if m.direction == "outbound" {
                    small { (match m.status.as_str() { "delivered" | "read" => "✓✓ delivered", "sent" | "queued" | "accepted" | "sending" => "✓ sent", "failed" | "undelivered" => "✗ not delivered", "held" => "held (registration)", "suppressed" => "not sent (opted out)", other => other }) }
                }
            }
        }
    }
}

async fn detail(t: Option<Tenant>, State(s): State<AppState>, Path(id): Path<Uuid>) -> Result<Response, ApiError> {
    let Some(t) = t else { return Ok(Redirect::to("/login").into_response()) };
    let mut tx = t.begin(&s.db).await?;
    let c = inbox::conversation(&mut tx, t.business_id, id).await?;
    let lead = inbox::lead(&mut tx, t.business_id, c.lead_id).await?;
    let messages = inbox::messages(&mut tx, t.business_id, id).await?;
    let open = c.status == "active";
    let script = format!(
        "const es = new EventSource('/api/events'); const refresh = async () => {{ const r = await fetch('/app/inbox/{id}/thread'); if (r.ok) {{ const el = document.getElementById('thread'); el.innerHTML = await r.text(); el.scrollTop = el.scrollHeight; }} }}; ['message.created','message.updated','conversation.updated'].forEach(k => es.addEventListener(k, refresh));"
    );
    Ok(super::page(
        "Conversation",
        html! {
            (super::nav("inbox"))
            h1 { (lead.name.clone().unwrap_or_else(|| lead.phone.clone())) }
            section class="card lead" aria-label="Lead" {
                p { strong { "Phone " } a href={ "tel:" (lead.phone) } { (lead.phone) } }
                p { strong { "Needs " } (lead.service_needed.clone().unwrap_or_else(|| "—".into())) }
                p { strong { "Urgency " } (lead.urgency.clone().unwrap_or_else(|| "—".into())) }
                p { strong { "Address " } (lead.address.clone().unwrap_or_else(|| "—".into())) }
            }
            @if open {
                @if c.mode == "owner" {
                    form method="post" action={ "/app/inbox/" (id) "/return" } { button type="submit" class="secondary" { "Return to assistant" } }
                } @else {
                    form method="post" action={ "/app/inbox/" (id) "/takeover" } { button type="submit" { "Take over" } }
                }
            } @else {
                p class="muted" { "This conversation is closed (" (c.status.replace('_', " ")) ")." }
            }
            section id="thread" class="thread" aria-live="polite" aria-label="Messages" { (thread(&messages)) }
            @if open {
                form method="post" action={ "/app/inbox/" (id) "/send" } class="compose" {
                    label for="body" class="visually-hidden" { "Message to the caller" }
                    input id="body" name="body" placeholder="Text the caller" required maxlength="1600";
                    button type="submit" { "Send" }
                }
            }
            script { (PreEscaped(script)) }
        },
    )
    .into_response())
}

async fn thread_fragment(t: Tenant, State(s): State<AppState>, Path(id): Path<Uuid>) -> Result<Markup, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    inbox::conversation(&mut tx, t.business_id, id).await?;
    Ok(thread(&inbox::messages(&mut tx, t.business_id, id).await?))
}


async fn take_over(t: Tenant, State(s): State<AppState>, Path(id): Path<Uuid>) -> Result<Response, ApiError> {
    let wf = crate::inbox::open_workflow(&t, &s, id).await?;
    s.temporal.owner_takeover(&wf, &t.user_id.to_string()).await.map_err(|_| ApiError::Unavailable("temporal"))?;
    Ok(Redirect::to(&format!("/app/inbox/{id}")).into_response())
}

async fn give_back(t: Tenant, State(s): State<AppState>, Path(id): Path<Uuid>) -> Result<Response, ApiError> {
    let wf = crate::inbox::open_workflow(&t, &s, id).await?;
    s.temporal.owner_release(&wf, &t.user_id.to_string()).await.map_err(|_| ApiError::Unavailable("temporal"))?;
    Ok(Redirect::to(&format!("/app/inbox/{id}")).into_response())
}

#[derive(Deserialize)]
struct Compose {
    body: String,
}

async fn send(t: Tenant, State(s): State<AppState>, Path(id): Path<Uuid>, Form(f): Form<Compose>) -> Result<Response, ApiError> {
    let text = f.body.trim().to_owned();
    if text.is_empty() || text.chars().count() > 1600 {
        return Err(ApiError::BadRequest("a message of 1 to 1600 characters".into()));
    }
    let wf = crate::inbox::open_workflow(&t, &s, id).await?;
    match s.temporal.owner_message(&wf, &text).await {
        Ok(_) => Ok(Redirect::to(&format!("/app/inbox/{id}")).into_response()),
        Err(crate::temporal::SendError::Refused(reason)) => Err(ApiError::BadRequest(reason)),
        Err(crate::temporal::SendError::Unavailable) => Err(ApiError::Unavailable("temporal")),
    }
}
