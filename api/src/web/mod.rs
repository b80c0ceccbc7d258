//! The owner's web pages, served by nmc-api itself: server-rendered (maud), phone-first, no
//! front-end build. Pages read through the store in the tenant's row-level-security
//! transaction; every change goes through the owner API by way of `/app/save` (forms.rs), with
//! or without the small embedded script (`app.js`), so the pages and the API share one set of
//! rules and error messages. The components every page uses are in ui.rs, the tokens in style.css.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

pub mod alerts;
pub mod appointments;
pub mod assistant;
pub mod billing;
pub mod calendars;
pub mod calls;
pub mod catalog;
pub mod forms;
pub mod forwarding;
pub mod home;
pub mod inbox;
pub mod install;
pub mod integrations;
pub mod leads;
pub mod messaging;
pub mod notifications;
pub mod onboarding;
pub mod operations;
pub mod password;
pub mod phone;
pub mod reports;
pub mod security;
pub mod settings;
#[cfg(test)]
mod tokens;
pub mod ui;
pub mod voice;
pub mod voice_agent;

use crate::auth::{ClientAddr, REFRESH_TTL_DAYS, Tenant, Tokens};
use crate::error::Params;
use crate::{AppState, error::ApiError};

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("app.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route("/assets/app.js", get(script))
        .route("/login", get(login_page).post(login))
        .route("/signup", get(signup_page).post(signup))
        .route("/session/refresh", get(refresh_session))
        .route("/logout", post(logout))
        .merge(forms::router())
        .merge(password::router())
        .merge(home::router())
        .merge(onboarding::router())
        .merge(phone::router())
        .merge(inbox::router())
        .merge(leads::router())
        .merge(notifications::router())
        .merge(alerts::router())
        .merge(messaging::router())
        .merge(billing::router())
        .merge(calendars::router())
        .merge(integrations::router())
        .merge(voice::router())
        .merge(operations::router())
        .merge(calls::router())
        .merge(appointments::router())
        .merge(catalog::router())
        .merge(assistant::router())
        .merge(crate::reviews::router())
        .merge(settings::router())
        .merge(reports::router())
        .merge(install::router())
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SCRIPT,
    )
}

/// The signed-in user of a page. Signed out, the page sends the browser to renew the session
/// from the refresh cookie, or to the log-in form, and back to the page afterwards.
pub struct Signed(pub Tenant);

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match <Tenant as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(t) => Ok(Signed(t)),
            Err(ApiError::Unauthorized) => {
                let here = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/app");
                let next = if here == "/app" {
                    String::new()
                } else {
                    format!("?next={}", enc(here))
                };
                let to =
                    if crate::auth::cookie(&parts.headers, security::refresh_cookie(&state.config))
                        .is_some()
                    {
                        "/session/refresh"
                    } else {
                        "/login"
                    };
                Err(Redirect::to(&format!("{to}{next}")).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Owner-only pages answer a technician with a page that says so (403).
#[allow(
    clippy::result_large_err,
    reason = "the error is the page to answer with"
)]
pub(crate) fn owner_only(t: &Tenant) -> Result<(), Response> {
    if t.owner_role {
        return Ok(());
    }
    let body = html! {
        (nav("", t))
        h1 { "Only the owner can open this page" }
        p { "Ask the business owner to change this for you. You can still answer conversations and see appointments." }
        p { a href="/app/inbox" { "Go to the inbox" } }
    };
    Err((StatusCode::FORBIDDEN, page("Owner only", body)).into_response())
}

pub(crate) fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The app's navigation: the four places an owner goes between jobs always in reach (big
/// targets, one row on a phone), the rest under "More"; owner-only pages only for the owner.
pub(crate) fn nav(current: &str, t: &Tenant) -> Markup {
    let primary = [
        ("home", "/app", "Home"),
        ("inbox", "/app/inbox", "Inbox"),
        ("appointments", "/app/appointments", "Jobs"),
        ("leads", "/app/leads", "Leads"),
    ];
    let more: [(&str, &str, &str, bool); 8] = [
        ("alerts", "/app/notifications", "Alerts", false),
        ("calls", "/app/calls", "Calls", false),
        ("catalog", "/app/catalog", "Prices", true),
        ("assistant", "/app/assistant", "Assistant", true),
        ("reports", "/app/reports", "Reports", true),
        ("settings", "/app/settings", "Settings", true),
        ("team", "/app/team", "Team", true),
        ("phone", "/dev/phone", "Dev phone", false),
    ];
    let in_more = more.iter().any(|m| m.0 == current);
    html! {
        a class="skip" href="#content" { "Skip to content" }
        nav class="links" aria-label="Main" {
            @for (key, href, label) in primary {
                a href=(href) aria-current=[(key == current).then_some("page")] { (label) }
            }
            details class="more" {
                summary aria-current=[in_more.then_some("page")] { "More" }
                div class="menu" {
                    @for (key, href, label, owner) in more {
                        @if !owner || t.owner_role {
                            a href=(href) aria-current=[(key == current).then_some("page")] { (label) }
                        }
                    }
                    form method="post" action="/logout" { button class="link" type="submit" { "Log out" } }
                }
            }
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
                // Installable on a phone's home screen (see `install`).
                link rel="manifest" href="/manifest.webmanifest";
                // The first that matches wins: dark first.
                meta name="theme-color" media="(prefers-color-scheme: dark)" content="#003853";
                meta name="theme-color" content=(install::THEME_COLOR);
                meta name="mobile-web-app-capable" content="yes";
                meta name="apple-mobile-web-app-title" content="NeverMiss";
                link rel="icon" href="/assets/icons/icon.svg" type="image/svg+xml";
                link rel="apple-touch-icon" href="/assets/icons/apple-touch-icon.png";
                style { (PreEscaped(STYLE)) }
                script src="/assets/app.js" defer {}
            }
            body { main id="content" { (body) } }
        }
    }
}

/// A form's status line (saving, saved, or what went wrong), announced to screen readers.
pub(crate) fn form_status() -> Markup {
    html! { p class="form-status" role="status" aria-live="polite" {} }
}

/// The business's timezone, and local midnight of a day in it.
pub(crate) fn tz(name: &str) -> chrono_tz::Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

pub(crate) fn local_midnight(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

pub(crate) fn today(tz: chrono_tz::Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

pub(crate) fn dollars(cents: i64) -> String {
    let whole = cents / 100;
    let s = whole.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}${out}", if cents < 0 { "-" } else { "" })
}

/// A bar chart as inline SVG (no script), with the numbers in a table for screen readers.
pub(crate) fn bar_chart(caption: &str, bars: &[(String, i64)]) -> Markup {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let (w, h, gap) = (24.0, 80.0, 6.0);
    let width = bars.len() as f64 * (w + gap);
    html! {
        figure class="chart" {
            figcaption { (caption) }
            svg viewBox=(format!("0 0 {width} {}", h + 18.0)) role="img" aria-label=(caption) preserveAspectRatio="none" {
                @for (i, (label, v)) in bars.iter().enumerate() {
                    @let bh = (*v as f64 / max as f64) * h;
                    @let x = i as f64 * (w + gap);
                    rect x=(x) y=(h - bh) width=(w) height=(bh.max(1.0)) rx="3" { title { (label) ": " (v) } }
                    text x=(x + w / 2.0) y=(h + 14.0) text-anchor="middle" { (label.split_whitespace().last().unwrap_or("")) }
                }
            }
            table class="visually-hidden" {
                caption { (caption) }
                @for (label, v) in bars { tr { th scope="row" { (label) } td { (v) } } }
            }
        }
    }
}

// ---- log-in, sign-up, session --------------------------------------------------------------

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

async fn login_page(Params(n): Params<Next>) -> Markup {
    login_form(None, n.next.as_deref())
}

fn login_form(error: Option<&str>, next: Option<&str>) -> Markup {
    page(
        "Log in",
        html! {
            h1 { "NeverMissCall" }
            form method="post" action={ "/login" @if let Some(n) = next { "?next=" (enc(n)) } } class="card" {
                @if let Some(e) = error { p role="alert" class="error" { (e) } }
                label for="email" { "Email" }
                input id="email" name="email" type="email" autocomplete="username" required;
                label for="password" { "Password" }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                button type="submit" { "Log in" }
                p { a href="/password/forgot" { "Forgot your password?" } }
                p { "New here? " a href="/signup" { "Create an account" } }
            }
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
}

fn signed_in(s: &AppState, to: &str, tokens: &Tokens) -> Response {
    let c = &s.config;
    let mut r = Redirect::to(to).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(
            c,
            security::access_cookie(c),
            &tokens.access_token,
            tokens.expires_in,
        ),
    );
    r.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(
            c,
            security::refresh_cookie(c),
            &tokens.refresh_token,
            REFRESH_TTL_DAYS * 86400,
        ),
    );
    r
}

fn signed_out(s: &AppState, to: &str) -> Response {
    let c = &s.config;
    let mut r = Redirect::to(to).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(c, security::access_cookie(c), "", 0),
    );
    r.headers_mut().append(
        header::SET_COOKIE,
        security::set_cookie(c, security::refresh_cookie(c), "", 0),
    );
    r
}

async fn login(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    Params(n): Params<Next>,
    Form(f): Form<LoginForm>,
) -> Response {
    match crate::auth::authenticate(&s, ip, &f.email, &f.password).await {
        Ok(tokens) => {
            // An owner who stopped half-way through set-up picks up where they left it.
            let mut unfinished = false;
            if let (true, Some(b), true, Ok(mut c)) = (
                n.next.is_none(),
                tokens.business_id(),
                tokens.is_owner(),
                nmc_store::conn(&s.db).await,
            ) {
                unfinished = nmc_store::settings::onboarding_step(&mut c, b)
                    .await
                    .ok()
                    .flatten()
                    .is_some();
            }
            let to = if unfinished {
                "/app/onboarding".to_owned()
            } else {
                security::safe_next(n.next.as_deref())
            };
            signed_in(&s, &to, &tokens)
        }
        Err(ApiError::TooManyRequests(_)) => (
            StatusCode::TOO_MANY_REQUESTS,
            login_form(
                Some("Too many attempts. Try again in a few minutes."),
                n.next.as_deref(),
            ),
        )
            .into_response(),
        Err(ApiError::Unauthorized) => (
            StatusCode::UNAUTHORIZED,
            login_form(
                Some("That email or password is not right."),
                n.next.as_deref(),
            ),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// Renews the page session from the refresh cookie (rotating it; a page's concurrent renewals
/// within the grace all get the same new cookies), then goes back to the page.
async fn refresh_session(
    State(s): State<AppState>,
    headers: HeaderMap,
    Params(n): Params<Next>,
) -> Response {
    let next = security::safe_next(n.next.as_deref());
    let login = if next == "/app" {
        "/login".to_owned()
    } else {
        format!("/login?next={}", enc(&next))
    };
    match crate::auth::cookie(&headers, security::refresh_cookie(&s.config)) {
        Some(old) => match crate::auth::rotate(&s, old).await {
            Ok(tokens) => signed_in(&s, &next, &tokens),
            Err(ApiError::Unauthorized) => signed_out(&s, &login),
            Err(e) => e.into_response(),
        },
        None => Redirect::to(&login).into_response(),
    }
}

/// Ends the session the cookies belong to, even when the access cookie has already expired.
async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match crate::auth::cookie_session(&s, &headers).await {
        Ok(Some(session)) => {
            if let Err(e) = nmc_store::accounts::revoke_session(&s.db, session).await {
                return ApiError::from(e).into_response();
            }
        }
        Ok(None) => {}
        Err(e) => return e.into_response(),
    }
    signed_out(&s, "/login")
}

pub(crate) const TRADES: [(&str, &str); 6] = [
    ("plumbing", "Plumbing"),
    ("hvac", "Heating & cooling"),
    ("electrical", "Electrical"),
    ("handyman", "Handyman"),
    ("cleaning", "Cleaning"),
    ("auto", "Mobile mechanic"),
];

pub(crate) const TIMEZONES: [(&str, &str); 7] = [
    ("America/New_York", "Eastern"),
    ("America/Chicago", "Central"),
    ("America/Denver", "Mountain"),
    ("America/Phoenix", "Arizona"),
    ("America/Los_Angeles", "Pacific"),
    ("America/Anchorage", "Alaska"),
    ("Pacific/Honolulu", "Hawaii"),
];

#[derive(Deserialize, Default)]
struct SignUpForm {
    business_name: String,
    owner_name: String,
    email: String,
    phone: String,
    password: String,
    trade: String,
    timezone: String,
}

async fn signup_page() -> Markup {
    signup_form(&SignUpForm::default(), &Default::default())
}

fn signup_form(
    f: &SignUpForm,
    errors: &std::collections::BTreeMap<&'static str, String>,
) -> Markup {
    let field =
        |id: &'static str, label: &str, kind: &str, value: &str, auto: &str, hint: Option<&str>| {
            account_field(
                id,
                label,
                (kind, auto),
                value,
                hint,
                errors.get(id).map(String::as_str),
            )
        };
    page(
        "Sign up",
        html! {
            h1 { "Never miss a job again" }
            p { "Every missed call gets a text within a second, and the assistant books the job. Set-up takes about five minutes." }
            form method="post" action="/signup" class="card" {
                @if !errors.is_empty() { p role="alert" class="error" { "Please fix the fields marked below." } }
                (field("business_name", "Business name", "text", &f.business_name, "organization", None))
                (field("owner_name", "Your name", "text", &f.owner_name, "name", None))
                (field("email", "Email", "email", &f.email, "email", None))
                (field("phone", "Your mobile", "tel", &f.phone, "tel", Some("We text you here when a caller needs you.")))
                (field("password", "Password", "password", "", "new-password", Some("At least 10 characters.")))
                label for="trade" { "Your trade" }
                select id="trade" name="trade" {
                    @for (v, l) in TRADES { option value=(v) selected[f.trade == v] { (l) } }
                }
                label for="timezone" { "Time zone" }
                select id="timezone" name="timezone" {
                    @for (v, l) in TIMEZONES { option value=(v) selected[f.timezone == v || (f.timezone.is_empty() && v == "America/Chicago")] { (l) } }
                }
                @if let Some(e) = errors.get("timezone").or(errors.get("trade")) { p class="error field-error" { (e) } }
                button type="submit" { "Create account" }
                p { "Already have one? " a href="/login" { "Log in" } }
            }
        },
    )
}

/// A field of the signed-out forms (sign-up, password reset): label, hint, input and the error
/// beside it. `(kind, autocomplete)` are the input's type and autofill hint.
pub(crate) fn account_field(
    id: &str,
    label: &str,
    (kind, auto): (&str, &str),
    value: &str,
    hint: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let described: Vec<String> = [
        hint.map(|_| format!("{id}-hint")),
        error.map(|_| format!("{id}-error")),
    ]
    .into_iter()
    .flatten()
    .collect();
    html! {
        div class="field" {
            label for=(id) { (label) }
            @if let Some(h) = hint { small id={ (id) "-hint" } class="hint" { (h) } }
            input id=(id) name=(id) type=(kind) value=(value) autocomplete=(auto) required
                aria-invalid=[error.map(|_| "true")] aria-describedby=[(!described.is_empty()).then(|| described.join(" "))];
            @if let Some(e) = error { p id={ (id) "-error" } class="error field-error" { (e) } }
        }
    }
}

async fn signup(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    Form(f): Form<SignUpForm>,
) -> Response {
    let body = crate::auth::SignUpBody {
        business_name: Some(f.business_name.clone()),
        owner_name: Some(f.owner_name.clone()),
        email: Some(f.email.clone()),
        password: Some(f.password.clone()),
        phone: Some(f.phone.clone()),
        timezone: Some(f.timezone.clone()),
        trade: Some(f.trade.clone()),
    };
    match crate::auth::create_account(&s, ip, body).await {
        Ok(tokens) => signed_in(&s, "/app/onboarding", &tokens),
        Err(ApiError::Invalid(errors)) => {
            (StatusCode::UNPROCESSABLE_ENTITY, signup_form(&f, &errors)).into_response()
        }
        Err(ApiError::Conflict { field }) => {
            let errors = std::collections::BTreeMap::from([(
                field,
                "already has an account; log in instead".to_owned(),
            )]);
            (StatusCode::CONFLICT, signup_form(&f, &errors)).into_response()
        }
        Err(ApiError::TooManyRequests(m)) => (
            StatusCode::TOO_MANY_REQUESTS,
            signup_form(&f, &std::collections::BTreeMap::from([("email", m)])),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
