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

use super::ui::{self, Kind, Submitted};
use super::{Signed, form_status, nav, owner_only, page};
use crate::auth::ClientAddr;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app/settings", get(settings_page))
        .route("/app/team", get(team))
        .route("/invite/{token}", get(invite_page).post(accept))
}

fn section(f: &ui::Form, title: &str, body: &Markup) -> Markup {
    html! {
        section class="settings-section" {
            h2 { (title) }
            (f.render("card", &html! {
                (body)
                (form_status())
                button type="submit" { "Save" }
            }))
        }
    }
}

fn settings_form<'a>(sent: &'a Submitted, id: &str) -> ui::Form<'a> {
    ui::Form::new(sent, id, "PUT", "/api/settings", "/app/settings").merge()
}

#[derive(serde::Deserialize, Default)]
struct Shown {
    /// A "find my business" search.
    #[serde(default)]
    place_q: String,
}

async fn settings_page(
    Signed(t): Signed,
    State(s): State<AppState>,
    axum::extract::Query(shown): axum::extract::Query<Shown>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let found = crate::reviews::listings(&s, &shown.place_q).await?;
    let finder = s
        .places
        .is_some()
        .then_some((shown.place_q.as_str(), found.as_slice()));
    let mut tx = t.begin(&s.db).await?;
    let c = settings::get(&mut tx, t.business_id).await?;
    let number = settings::number(&mut tx, t.business_id).await?;
    let messaging = settings::messaging(&mut tx, t.business_id).await?;
    let reviews = nmc_store::reviews::settings(&mut tx, t.business_id).await?;
    let (business, hours) = (
        settings_form(&sent, "settings-business"),
        settings_form(&sent, "settings-hours"),
    );
    let (greetings, assistant) = (
        settings_form(&sent, "settings-greetings"),
        settings_form(&sent, "settings-assistant"),
    );
    Ok(page(
        "Settings",
        html! {
            (nav("settings", &t))
            h1 { "Settings" }
            (section(&business, "Business", &super::onboarding::profile_fields(&business, &c)))
            (section(&hours, "Hours", &super::onboarding::hours_fields(&hours, &c)))
            (section(&greetings, "Greetings", &super::onboarding::greeting_fields(&greetings, &c)))
            (section(&assistant, "Assistant", &assistant_fields(&assistant, &c)))
            (crate::reviews::section(&sent, &reviews, finder))
            section class="settings-section" {
                h2 { "Number and calls" }
                @match &number {
                    Some(n) => p { "Your number: " strong { (ui::phone(n)) } ". Calls " (if c.call_mode == "forwarded" { "are forwarded from your phone" } else { "ring through to your mobile" }) ". " a href="/app/onboarding/number" { "Forwarding and call options" } },
                    None => p { "No number yet. " a href="/app/onboarding/number" { "Pick one" } },
                }
                p { "Texting registration (required by US carriers): " strong { (messaging.messaging_status.replace('_', " ")) } ". " a href="/app/settings/messaging" { @if messaging.messaging_status == "approved" { "See it" } @else { "Register now" } } }
                p { a href="/app/settings/alerts" { "Your alerts" } ": how missed calls and texts reach you." }
                p { a href="/app/settings/billing" { "Your plan" } ": the free trial, the card, invoices and cancelling." }
                p { a href="/app/settings/calendars" { "Calendars" } ": jobs in Google Calendar or Jobber, and your busy time." }
                p { a href="/app/settings/integrations" { "Integrations" } ": every call and conversation in your CRM (ServiceTitan, Housecall Pro, Jobber, GoHighLevel, HubSpot) or a signed webhook." }
                p { a href="/app/settings/voice" { "Calls and voicemail" } ": call screening, your voicemail greeting, what missed calls get by the hour, and blocked callers." }
                p { a href="/api/privacy/business" download { "Download all your data" } " (JSON)." }
            }
            (delete_account(&sent))
        },
    )
    .into_response())
}

/// Deleting the account, behind one more tap and the business's name typed again.
fn delete_account(sent: &Submitted) -> Markup {
    let f = ui::Form::new(
        sent,
        "delete-account",
        "DELETE",
        "/api/business",
        "/app/settings",
    )
    .next("/login");
    html! {
        section class="settings-section" {
            h2 { "Delete your account" }
            (ui::confirm_with(&f, "Delete the account",
                "Every call, text, lead, job and setting goes for good, and your number stops answering. Download your data first.",
                &html! { (f.field("confirm", "Type your business's name", "").attr("autocomplete", "off")) }))
        }
    }
}

fn assistant_fields(f: &ui::Form, c: &settings::Settings) -> Markup {
    let hours = c
        .follow_up_secs
        .iter()
        .map(|s| format!("{}", f64::from(*s) / 3600.0))
        .collect::<Vec<_>>()
        .join(", ");
    let hm = |t: chrono::NaiveTime| t.format("%H:%M").to_string();
    html! {
        (f.field("owner_window_secs", "Your head start before the assistant answers (seconds)", &c.owner_window_secs.to_string())
            .kind(Kind::Int).attr("inputmode", "numeric").attr("required", ""))
        (f.field("follow_up_secs", "Follow up after silence (hours, comma-separated)", &hours).kind(Kind::HourList))
        div class="grid3" {
            (f.field("quiet_start", "Quiet from", &hm(c.quiet_start)).input("time").kind(Kind::Time))
            (f.field("quiet_end", "until", &hm(c.quiet_end)).input("time").kind(Kind::Time))
        }
        (f.field("assistant_disclosure", "Say it is a virtual assistant", &c.assistant_disclosure.to_string()).checkbox())
        (f.field("notify_by_text", "Text me about new conversations (emergencies always text)", &c.notify_by_text.to_string()).checkbox())
    }
}

async fn team(
    Signed(t): Signed,
    State(s): State<AppState>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    let members = accounts::members(&mut tx, t.business_id).await?;
    let invite = ui::Form::new(&sent, "invite", "POST", "/api/team/invites", "/app/team");
    Ok(page(
        "Team",
        html! {
            (nav("team", &t))
            h1 { "Team" }
            p { "Technicians see conversations, leads, calls and appointments, and can take over and text. Prices, settings and revenue stay with you." }
            ul class="list" {
                @for m in &members {
                    li class="row" {
                        span { strong { (m.name) } " " (ui::badge(if m.role == "owner" { "Owner" } else { "Technician" }, ui::Tone::Info)) @if !m.active { " " (ui::badge("removed", ui::Tone::Muted)) } }
                        span class="muted" { (m.email) }
                        @if m.role != "owner" && m.active {
                            (ui::confirm(
                                &ui::Form::new(&sent, format!("remove-{}", m.id), "DELETE", format!("/api/team/{}", m.id), "/app/team"),
                                &format!("Remove {}", m.name),
                                "They are signed out at once.",
                            ))
                        }
                    }
                }
            }
            h2 { "Invite a technician" }
            (invite.render("card", &html! {
                (invite.field("email", "Their email", "").id("invite-email").input("email").attr("required", "").attr("autocomplete", "off"))
                (form_status())
                button type="submit" { "Send invitation" }
            }))
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
