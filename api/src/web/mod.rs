//! The owner's web pages, served by nmc-api itself: server-rendered (maud), phone-first, no
//! front-end build. This first slice: log-in, the home page with today's numbers and the live
//! activity feed, and log-out.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

pub mod appointments;
pub mod inbox;
pub mod phone;

use crate::auth::{ACCESS_COOKIE, Tenant};
use crate::{AppState, error::ApiError};

const STYLE: &str = include_str!("style.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/app", get(home))
        .merge(phone::router())
        .merge(inbox::router())
        .merge(appointments::router())
}

/// The app's navigation: big targets, the current page marked for screen readers.
pub(crate) fn nav(current: &str) -> Markup {
    html! {
        nav class="bar links" aria-label="Main" {
            @for (key, href, label) in [("home", "/app", "Home"), ("inbox", "/app/inbox", "Inbox"), ("appointments", "/app/appointments", "Appointments")] {
                a href=(href) aria-current=[(key == current).then_some("page")] { (label) }
            }
            form method="post" action="/logout" { button class="link" type="submit" { "Log out" } }
        }
    }
}

/// The page frame: one column on a phone, big targets, readable contrast.
pub(crate) fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · NeverMissCall" }
                style { (PreEscaped(STYLE)) }
            }
            body { main { (body) } }
        }
    }
}

async fn login_page() -> Markup {
    login_form(None)
}

fn login_form(error: Option<&str>) -> Markup {
    page(
        "Log in",
        html! {
            h1 { "NeverMissCall" }
            form method="post" action="/login" class="card" {
                @if let Some(e) = error { p role="alert" class="error" { (e) } }
                label for="email" { "Email" }
                input id="email" name="email" type="email" autocomplete="username" required;
                label for="password" { "Password" }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                button type="submit" { "Log in" }
            }
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

fn cookie(value: &str, max_age: i64) -> HeaderValue {
    // HttpOnly (no script reads it) and SameSite=Strict (no other site can post with it).
    HeaderValue::from_str(&format!("{ACCESS_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}")).unwrap_or(HeaderValue::from_static(""))
}

async fn login(State(s): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Form(f): Form<LoginForm>) -> Response {
    match crate::auth::authenticate(&s, peer.ip(), &f.email, &f.password).await {
        Ok(tokens) => {
            let mut r = Redirect::to("/app").into_response();
            r.headers_mut().append(header::SET_COOKIE, cookie(&tokens.access_token, tokens.expires_in));
            r
        }
        Err(ApiError::TooManyRequests(_)) => (axum::http::StatusCode::TOO_MANY_REQUESTS, login_form(Some("Too many attempts. Try again in a few minutes."))).into_response(),
        Err(ApiError::Unauthorized) => (axum::http::StatusCode::UNAUTHORIZED, login_form(Some("That email or password is not right."))).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn logout(t: Option<Tenant>, State(s): State<AppState>) -> Response {
    if let Some(t) = t {
        let _ = nmc_store::accounts::revoke_session(&s.db, t.session_id).await;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie("", 0));
    r
}

async fn home(t: Option<Tenant>, State(s): State<AppState>) -> Result<Response, ApiError> {
    let Some(t) = t else { return Ok(Redirect::to("/login").into_response()) };
    let mut tx = t.begin(&s.db).await?;
    let settings = nmc_store::settings::get(&mut tx, t.business_id).await?;
    let tz: chrono_tz::Tz = settings.timezone.parse().unwrap_or(chrono_tz::UTC);
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let start = today.and_hms_opt(0, 0, 0).and_then(|d| chrono::TimeZone::from_local_datetime(&tz, &d).earliest()).map(|d| d.with_timezone(&chrono::Utc)).unwrap_or_else(chrono::Utc::now);
    let totals = nmc_store::insights::totals(&mut tx, t.business_id, start, start + chrono::Duration::days(1)).await?;
    let recent = nmc_store::insights::recent(&mut tx, t.business_id, 15).await?;
    let rate = if totals.missed > 0 { totals.recovered * 100 / totals.missed } else { 0 };
    Ok(page(
        "Home",
        html! {
            (nav("home"))
            h1 { (settings.name) }
            section class="stats" aria-label="Today" {
                div class="stat" { span class="n" { (totals.missed) } span { "missed" } }
                div class="stat" { span class="n" { (totals.recovered) } span { "recovered" } }
                div class="stat" { span class="n" { (rate) "%" } span { "recovery" } }
                div class="stat" { span class="n" { (totals.booked) } span { "booked" } }
                @if t.owner_role {
                    div class="stat" { span class="n" { "$" (totals.revenue_cents / 100) } span { "recovered revenue" } }
                }
            }
            h2 { "Recent activity" }
            @if recent.is_empty() {
                p class="empty" { "Nothing yet. When a call is missed, the text it got and everything after shows up here." }
            }
            ul class="feed" {
                @for e in &recent {
                    li { span class="kind" { (e.kind) } " " time datetime=(e.created_at.to_rfc3339()) { (e.created_at.with_timezone(&tz).format("%-I:%M %p")) } }
                }
            }
        },
    )
    .into_response())
}
