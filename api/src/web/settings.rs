//! Settings (owner only): the business, hours, greetings, how the assistant behaves, the number;
//! the team page (invite technicians, remove them) and the invitation page a technician opens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::{Markup, html};
use nmc_store::{accounts, settings};
use serde::Deserialize;

use super::{Signed, form_status, nav, owner_only, page};
use crate::auth::ClientAddr;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app/settings", get(settings_page))
        .route("/app/team", get(team))
        .route("/invite/{token}", get(invite_page).post(accept))
}

fn section(title: &str, body: Markup) -> Markup {
    html! {
        section class="settings-section" {
            h2 { (title) }
            form data-api="/api/settings" data-method="PUT" data-merge class="card" {
                (body)
                (form_status())
                button type="submit" { "Save" }
            }
        }
    }
}

async fn settings_page(Signed(t): Signed, State(s): State<AppState>) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    let c = settings::get(&mut tx, t.business_id).await?;
    let number = settings::number(&mut tx, t.business_id).await?;
    let messaging = settings::messaging(&mut tx, t.business_id).await?;
    let hours = |secs: &[i32]| {
        secs.iter()
            .map(|s| format!("{}", *s as f64 / 3600.0))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let hm = |t: chrono::NaiveTime| t.format("%H:%M").to_string();
    Ok(page(
        "Settings",
        html! {
            (nav("settings", &t))
            h1 { "Settings" }
            (section("Business", super::onboarding::profile_fields(&c)))
            (section("Hours", super::onboarding::hours_fields(&c)))
            (section("Greetings", html! {
                label for="greeting" { "During open hours" }
                textarea id="greeting" name="greeting" rows="3" data-optional data-preview="/app/onboarding/preview" data-target="greeting-preview" { (c.greeting.clone().unwrap_or_default()) }
                div id="greeting-preview" class="preview" aria-live="polite" {}
                label for="after_hours_greeting" { "After hours" }
                textarea id="after_hours_greeting" name="after_hours_greeting" rows="3" data-optional data-preview="/app/onboarding/preview" data-target="after-preview" { (c.after_hours_greeting.clone().unwrap_or_default()) }
                div id="after-preview" class="preview" aria-live="polite" {}
            }))
            (section("Assistant", html! {
                label for="owner_window_secs" { "Your head start before the assistant answers (seconds)" }
                input id="owner_window_secs" name="owner_window_secs" data-type="int" inputmode="numeric" value=(c.owner_window_secs);
                label for="follow_up_secs" { "Follow up after silence (hours, comma-separated)" }
                input id="follow_up_secs" name="follow_up_secs" data-type="hourlist" value=(hours(&c.follow_up_secs));
                div class="grid3" {
                    div { label for="quiet_start" { "Quiet from" } input id="quiet_start" name="quiet_start" type="time" data-type="time" value=(hm(c.quiet_start)); }
                    div { label for="quiet_end" { "until" } input id="quiet_end" name="quiet_end" type="time" data-type="time" value=(hm(c.quiet_end)); }
                }
                label class="check" for="assistant_disclosure" { input id="assistant_disclosure" type="checkbox" name="assistant_disclosure" data-type="bool" checked[c.assistant_disclosure]; " Say it is a virtual assistant" }
                label class="check" for="notify_by_text" { input id="notify_by_text" type="checkbox" name="notify_by_text" data-type="bool" checked[c.notify_by_text]; " Text me about new conversations (emergencies always text)" }
            }))
            section class="settings-section" {
                h2 { "Number and calls" }
                @match &number {
                    Some(n) => p { "Your number: " strong { (n) } ". Calls " (if c.call_mode == "forwarded" { "are forwarded from your phone" } else { "ring through to your mobile" }) ". " a href="/app/onboarding/number" { "Forwarding and call options" } },
                    None => p { "No number yet. " a href="/app/onboarding/number" { "Pick one" } },
                }
                p { "Texting registration (required by US carriers): " strong { (messaging.messaging_status.replace('_', " ")) } }
            }
        },
    )
    .into_response())
}

async fn team(Signed(t): Signed, State(s): State<AppState>) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    let members = accounts::members(&mut tx, t.business_id).await?;
    Ok(page(
        "Team",
        html! {
            (nav("team", &t))
            h1 { "Team" }
            p { "Technicians see conversations, leads, calls and appointments, and can take over and text. Prices, settings and revenue stay with you." }
            ul class="list" {
                @for m in &members {
                    li class="row" {
                        span { strong { (m.name) } " " span class="badge" { (if m.role == "owner" { "Owner" } else { "Technician" }) } @if !m.active { " " span class="badge muted" { "removed" } } }
                        span class="muted" { (m.email) }
                        @if m.role != "owner" && m.active {
                            button type="button" class="secondary" data-action={ "/api/team/" (m.id) } data-method="DELETE" data-confirm={ "Remove " (m.name) "? They are signed out at once." } { "Remove" }
                        }
                    }
                }
            }
            h2 { "Invite a technician" }
            form data-api="/api/team/invites" data-method="POST" class="card" {
                label for="invite-email" { "Their email" }
                input id="invite-email" name="email" type="email" required;
                (form_status())
                button type="submit" { "Send invitation" }
            }
        },
    )
    .into_response())
}

async fn invite_page(Path(token): Path<String>) -> Markup {
    invite_form(&token, None)
}

fn invite_form(token: &str, error: Option<&str>) -> Markup {
    page(
        "Join your team",
        html! {
            h1 { "Join your team on NeverMissCall" }
            form method="post" action={ "/invite/" (token) } class="card" {
                @if let Some(e) = error { p role="alert" class="error" { (e) } }
                label for="name" { "Your name" }
                input id="name" name="name" autocomplete="name" required maxlength="100";
                label for="password" { "Choose a password" }
                small id="password-hint" class="muted" { "At least 10 characters." }
                input id="password" name="password" type="password" autocomplete="new-password" required aria-describedby="password-hint";
                button type="submit" { "Join" }
            }
        },
    )
}

#[derive(Deserialize)]
struct Join {
    name: String,
    password: String,
}

async fn accept(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    Path(token): Path<String>,
    Form(f): Form<Join>,
) -> Response {
    match crate::auth::join(&s, ip, &token, Some(&f.name), Some(f.password)).await {
        Ok(tokens) => super::signed_in(&s, "/app/inbox", &tokens),
        Err(ApiError::Invalid(fields)) => {
            let msg = fields
                .iter()
                .map(|(k, v)| {
                    if *k == "token" {
                        v.clone()
                    } else {
                        format!("{k}: {v}")
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                invite_form(&token, Some(&msg)),
            )
                .into_response()
        }
        Err(ApiError::TooManyRequests(m)) => {
            (StatusCode::TOO_MANY_REQUESTS, invite_form(&token, Some(&m))).into_response()
        }
        Err(e) => e.into_response(),
    }
}
