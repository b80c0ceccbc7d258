//! The notification centre: every alert, newest first, unread ones marked, each opening its
//! conversation (and reading it for this member only). Updates live while open.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use nmc_store::notifications;
use uuid::Uuid;

use super::ui::{self, Form, Submitted, Tone};
use super::{Signed, form_status, nav, page};
use crate::auth::Tenant;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app/notifications", get(centre))
        .route("/app/notifications/list", get(list_fragment))
        .route("/app/notifications/{notification_id}/open", get(open))
        .route("/n/{token}", get(short_link))
}

fn kind_label(kind: &str) -> (&'static str, Tone) {
    match kind {
        "emergency" => ("Emergency", Tone::Bad),
        "needs_owner" => ("Needs you", Tone::Warn),
        "qualified" => ("Qualified lead", Tone::Ok),
        "booked" => ("Booked", Tone::Ok),
        "needs_quote" => ("Price to confirm", Tone::Warn),
        "caller_text" => ("Caller texted", Tone::Info),
        "missed_call" => ("Missed call", Tone::Warn),
        "voicemail" => ("Voicemail", Tone::Info),
        "call_back" => ("Call back", Tone::Warn),
        "agent_call" => ("AI call", Tone::Info),
        _ => ("Alert", Tone::Info),
    }
}

async fn list(t: &Tenant, s: &AppState) -> Result<Markup, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let page = notifications::list(&mut tx, t.business_id, t.user_id, false, None, 100).await?;
    let (_, _, timezone) = nmc_store::booking::business_basics(&mut tx, t.business_id).await?;
    let zone = super::tz(&timezone);
    Ok(html! {
        @if page.items.is_empty() {
            (ui::empty(&html! { "No alerts yet. When a caller needs you, the alert shows up here as well as on your phone." }, None))
        }
        ul class="list" {
            @for n in &page.items {
                @let (label, tone) = kind_label(&n.kind);
                li class=(if n.read { "row" } else { "row unread" }) {
                    a class="row-main" href={ "/app/notifications/" (n.id) "/open" } {
                        span { (ui::badge(label, tone)) @if !n.read { (ui::badge("New", Tone::Info)) } }
                        span class="who" { (n.body) }
                    }
                    span class="row-side" { (ui::when(n.created_at, zone)) }
                }
            }
        }
    })
}

async fn centre(
    Signed(t): Signed,
    State(s): State<AppState>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    let body = list(&t, &s).await?;
    let mut tx = t.begin(&s.db).await?;
    let unread = notifications::unread_count(&mut tx, t.business_id, t.user_id).await?;
    drop(tx);
    let all = Form::new(
        &sent,
        "read-all",
        "POST",
        "/api/notifications/read-all",
        "/app/notifications",
    );
    Ok(page(
        "Alerts",
        html! {
            (nav("alerts", &t))
            h1 { "Alerts" @if unread > 0 { " (" (unread) " new)" } }
            p { a href="/app/settings/alerts" { "Choose how alerts reach you" } }
            @if unread > 0 {
                (all.render("", &html! { (form_status()) button type="submit" class="secondary" { "Mark all read" } }))
            }
            div id="alerts" data-live="/app/notifications/list" data-on="message.created conversation.updated emergency" { (body) }
        },
    )
    .into_response())
}

async fn list_fragment(Signed(t): Signed, State(s): State<AppState>) -> Result<Markup, ApiError> {
    list(&t, &s).await
}

/// Opens the alert's conversation and reads the alert for this member.
async fn open(
    Signed(t): Signed,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let conversation = notifications::mark_read(&mut tx, t.business_id, t.user_id, id).await?;
    crate::owner::commit(tx).await?;
    let to = conversation.map_or_else(
        || "/app/notifications".to_owned(),
        |c| format!("/app/inbox/{c}"),
    );
    Ok(Redirect::to(&to).into_response())
}

/// `/n/{token}`, the link in every alert: one tap opens its thread. Signed out, the thread's
/// page asks for the log-in first and lands there after; a member of another business gets
/// nothing (the open is scoped to their own business). Expired or altered links say so.
async fn short_link(State(s): State<AppState>, Path(token): Path<String>) -> Response {
    match s.links.open(&token, chrono::Utc::now()) {
        Ok(id) => Redirect::to(&format!("/app/notifications/{id}/open")).into_response(),
        Err(e) => {
            let why = match e {
                nmc_store::links::LinkError::Expired => "This alert's link has expired.",
                nmc_store::links::LinkError::Invalid => {
                    "This link is not one of ours, or it was cut short."
                }
            };
            let body = html! {
                h1 { "Link not valid" }
                p { (why) " Every alert is still in your notifications." }
                p { a href="/app/notifications" { "Open notifications" } }
            };
            (
                axum::http::StatusCode::NOT_FOUND,
                page("Link not valid", body),
            )
                .into_response()
        }
    }
}
