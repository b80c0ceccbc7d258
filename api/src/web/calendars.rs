//! `/app/settings/calendars` (owner): connect Google Calendar or Jobber in one tap (the
//! provider's own consent page), choose where jobs go and which calendars count as busy, see
//! whether syncing works, and disconnect (which revokes the grant at the provider).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use nmc_store::calendar::{self as cal, ConnectionStatus};
use serde::Deserialize;

use super::ui::{self, Submitted, Tone};
use super::{Signed, nav, owner_only, page};
use crate::calendar_connect::PAGE;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(calendars_page))
        .route("/app/calendar/{provider}/connect", post(connect))
        .route("/app/calendar/google/choose", post(choose))
}

#[derive(Deserialize)]
struct Shown {
    connected: Option<String>,
    calendar_error: Option<String>,
}

pub(crate) fn error_words(code: &str) -> &'static str {
    match code {
        "access_denied" => "You said no on the provider's page, so nothing was connected.",
        "not_configured" => {
            "This server has no OAuth client for that provider yet (README, Configuration)."
        }
        "expired" | "missing_state" => {
            "That connection took too long or was already used. Try again."
        }
        "another_browser" => "Finish connecting in the same browser you started in.",
        "unavailable" => "The provider did not answer. Try again in a minute.",
        _ => "The provider refused the connection. Try again.",
    }
}

async fn calendars_page(
    Signed(t): Signed,
    State(s): State<AppState>,
    Query(q): Query<Shown>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    let statuses = cal::statuses(&mut tx, t.business_id).await?;
    crate::owner::commit(tx).await?;
    let live = |p: &str| {
        statuses
            .iter()
            .find(|c| c.provider == p && c.status != "disconnected")
    };
    let picker = match live("google") {
        Some(_) => Some(crate::owner::google_calendars(&t, &s).await),
        None => None,
    };
    let body = html! {
        (nav("settings", &t))
        h1 { "Calendars" }
        @if let Some(p) = &q.connected { p role="status" { (ui::badge("Connected", Tone::Ok)) " " (name(p)) " is connected." } }
        @if let Some(e) = &q.calendar_error { p class="error" role="alert" { (error_words(e)) } }
        @for provider in ["google", "jobber"] {
            section class="card" id=(provider) aria-labelledby={ (provider) "-title" } {
                h2 id={ (provider) "-title" } { (name(provider)) }
                @match live(provider) {
                    Some(c) => {
                        (health(c))
                        @if provider == "google" { @if let Some(p) = &picker { (choose_form(p, c)) } }
                        (ui::confirm(&ui::Form::new(&sent, format!("disconnect-{provider}"), "DELETE", format!("/api/calendar/{provider}"), PAGE),
                            "Disconnect", "Jobs stop going to this calendar and we give up our access to it."))
                    },
                    None => form method="post" action={ "/app/calendar/" (provider) "/connect" } {
                        p { @if provider == "google" { "Jobs appear in your Google Calendar, and your own events count as busy." } @else { "Jobs appear as visits in Jobber." } }
                        button type="submit" { "Connect " (name(provider)) }
                    },
                }
            }
        }
    };
    Ok(page("Calendars", body).into_response())
}

fn name(provider: &str) -> &'static str {
    if provider == "google" {
        "Google Calendar"
    } else {
        "Jobber"
    }
}

/// Sync health: whether jobs reach the calendar, what is waiting, what failed and why.
fn health(c: &ConnectionStatus) -> Markup {
    let tone = if c.status == "connected" && c.failed == 0 {
        Tone::Ok
    } else {
        Tone::Warn
    };
    html! {
        p {
            (ui::badge(if c.status == "connected" { "Syncing" } else { "Needs attention" }, tone))
            " " @match c.last_synced_at { Some(at) => { "Last job sent " (at.format("%b %-d, %H:%M UTC")) "." }, None => "No job sent yet." }
            @if c.pending > 0 { " " (c.pending) " waiting." }
            @if c.failed > 0 { " " (c.failed) " failed." }
        }
        @if let Some(e) = &c.last_error { p class="error" { "Last problem: " (e) } }
        @if c.provider == "google" && c.granted_scope.as_deref().is_some_and(|s| !s.contains("calendar.events")) {
            p class="error" { "Google was not allowed to add events: connect again and tick every box." }
        }
    }
}

type Picker = Result<(Vec<nmc_calendar::google::CalendarEntry>, ConnectionStatus), ApiError>;

fn choose_form(p: &Picker, c: &ConnectionStatus) -> Markup {
    let Ok((list, _)) = p else {
        return html! { p class="error" { "Your calendar list could not be read: connect again if this lasts." } };
    };
    let busy = |id: &str| {
        c.busy_calendar_ids.iter().any(|b| b == id)
            || (c.busy_calendar_ids.is_empty() && id == c.calendar_id)
    };
    html! {
        form method="post" action="/app/calendar/google/choose" {
            label for="write_calendar_id" { "Put jobs in" }
            select id="write_calendar_id" name="write_calendar_id" {
                @for e in list.iter().filter(|e| e.writable()) {
                    option value=(e.id) selected[e.id == c.calendar_id || (c.calendar_id == "primary" && e.primary)] { (e.name()) }
                }
            }
            fieldset {
                legend { "Count as busy" }
                @for e in list {
                    label class="check" { input type="checkbox" name="busy" value=(e.id) checked[busy(&e.id) || (c.calendar_id == "primary" && e.primary && c.busy_calendar_ids.is_empty())]; " " (e.name()) }
                }
            }
            button type="submit" { "Save calendars" }
        }
    }
}

async fn connect(
    Signed(t): Signed,
    State(s): State<AppState>,
    Path(provider): Path<String>,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    if provider != "google" && provider != "jobber" {
        return Err(ApiError::NotFound);
    }
    crate::calendar_connect::start(t, &s, &provider).await
}

/// The picker's plain form: one write calendar, any number of `busy` boxes.
async fn choose(Signed(t): Signed, s: State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut choice = crate::owner::Choice {
        write_calendar_id: None,
        busy_calendar_ids: vec![],
    };
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "write_calendar_id" => choice.write_calendar_id = Some(v.into_owned()),
            "busy" => choice.busy_calendar_ids.push(v.into_owned()),
            _ => {}
        }
    }
    crate::owner::choose_google_calendars(t, s, crate::ApiJson(choice)).await?;
    Ok(Redirect::to(&format!("{PAGE}?connected=google")).into_response())
}
