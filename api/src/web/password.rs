//! The password-reset pages: ask for a link by email, then choose a new password from it. Plain
//! forms (they work without script); the rules and answers are the API's (`auth::reset`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use super::page;
use crate::auth::{BAD_RESET, ClientAddr, RESET_SENT};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/password/forgot", get(forgot_page).post(forgot))
        .route("/password/reset/{token}", get(reset_page).post(reset))
}

fn field(id: &str, label: &str, kind: &str, auto: &str, error: Option<&str>) -> Markup {
    super::account_field(id, label, (kind, auto), "", None, error)
}

async fn forgot_page() -> Markup {
    forgot_form(None)
}

fn forgot_form(error: Option<&str>) -> Markup {
    page(
        "Forgot your password",
        html! {
            h1 { "Forgot your password?" }
            form method="post" action="/password/forgot" class="card" {
                p { "Enter the email you log in with. We send a link to choose a new password." }
                (field("email", "Email", "email", "username", error))
                button type="submit" { "Send me a link" }
                p { a href="/login" { "Back to log in" } }
            }
        },
    )
}

#[derive(Deserialize)]
struct ForgotForm {
    email: String,
}

async fn forgot(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    Form(f): Form<ForgotForm>,
) -> Response {
    match crate::auth::send_reset_link(&s, ip, &f.email).await {
        Ok(()) => page(
            "Check your email",
            html! {
                h1 { "Check your email" }
                p role="status" { (RESET_SENT) }
                p { a href="/login" { "Back to log in" } }
            },
        )
        .into_response(),
        Err(ApiError::Invalid(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            forgot_form(e.get("email").map(String::as_str)),
        )
            .into_response(),
        Err(ApiError::TooManyRequests(m)) => {
            (StatusCode::TOO_MANY_REQUESTS, forgot_form(Some(&m))).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn reset_page(State(s): State<AppState>, Path(token): Path<String>) -> Response {
    match crate::auth::link_is_open(&s, &token).await {
        Ok(true) => reset_form(&token, None).into_response(),
        Ok(false) => (StatusCode::GONE, expired()).into_response(),
        Err(e) => e.into_response(),
    }
}

fn expired() -> Markup {
    page(
        "Link expired",
        html! {
            h1 { "This link no longer works" }
            p { (BAD_RESET) "." }
            p { a class="button" href="/password/forgot" { "Send a new link" } }
        },
    )
}

fn reset_form(token: &str, error: Option<&str>) -> Markup {
    page(
        "Choose a new password",
        html! {
            h1 { "Choose a new password" }
            form method="post" action={ "/password/reset/" (token) } class="card" {
                p { "Every device signed in to your account is signed out, and this one is signed in." }
                (field("password", "New password (at least 10 characters)", "password", "new-password", error))
                button type="submit" { "Save and log in" }
            }
        },
    )
}

#[derive(Deserialize)]
struct ResetForm {
    password: String,
}

async fn reset(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    Path(token): Path<String>,
    Form(f): Form<ResetForm>,
) -> Response {
    match crate::auth::reset(&s, ip, &token, &f.password).await {
        Ok(tokens) => super::signed_in(&s, "/app", &tokens),
        Err(ApiError::Invalid(e)) if e.contains_key("token") => {
            (StatusCode::GONE, expired()).into_response()
        }
        Err(ApiError::Invalid(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            reset_form(&token, e.get("password").map(String::as_str)),
        )
            .into_response(),
        Err(ApiError::TooManyRequests(m)) => {
            (StatusCode::TOO_MANY_REQUESTS, reset_form(&token, Some(&m))).into_response()
        }
        Err(e) => e.into_response(),
    }
}
