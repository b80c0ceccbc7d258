//! Password reset: `forgot` mails a one-time link (30 minutes) and answers the same whether or
//! not the account exists; `reset` sets the new password from the link, ends every session the
//! account had and opens a new one. The API's handlers and the web pages share these.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use nmc_domain::Email;
use nmc_store::password_resets;
use serde::Deserialize;
use serde_json::{Value, json};

use super::limits::ClientAddr;
use super::mailer::{AccountMail, layout};
use super::passwords::{hash_password, password_problem};
use super::tokens::{Tokens, hash, new_secret, open_session};
use crate::{ApiJson, AppState, error::ApiError};

const RESET_TTL_MINUTES: i64 = 30;
pub const BAD_RESET: &str = "this reset link is unknown, used or expired; ask for a new one";
/// The one answer to a reset request, whether or not the account exists.
pub const RESET_SENT: &str = "If an account uses that email, a link to choose a new password is on its way. It works for 30 minutes.";

fn too_many() -> ApiError {
    ApiError::TooManyRequests("too many password resets from this address; try again later".into())
}

#[derive(Deserialize)]
pub(super) struct ForgotBody {
    email: Option<String>,
}

pub(super) async fn forgot_password(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    ApiJson(b): ApiJson<ForgotBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    send_reset_link(&s, ip, b.email.as_deref().unwrap_or_default()).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "message": RESET_SENT }))))
}

/// Mails a reset link when the email has an account. A malformed email is the only error a
/// caller can tell apart, and it says nothing about accounts.
pub async fn send_reset_link(s: &AppState, ip: IpAddr, email: &str) -> Result<(), ApiError> {
    if !s.login_limiter.allow_reset_mail(ip) {
        return Err(too_many());
    }
    let email = Email::parse(email).map_err(|e| crate::error::invalid("email", &e.to_string()))?;
    let token = new_secret();
    let ttl = Duration::minutes(RESET_TTL_MINUTES);
    let Some(account) = password_resets::create(&s.db, email.as_str(), &hash(&token), ttl).await?
    else {
        tracing::info!("password reset asked for an email with no account");
        return Ok(());
    };
    let link = format!("{}/password/reset/{token}", s.config.public_base_url);
    let mut db = nmc_store::conn(&s.db).await?;
    s.mailer
        .send(
            &mut db,
            account.business_id,
            reset_mail(email.as_str(), &account.name, &link),
        )
        .await
}

/// The reset mail. The link stays on a line of its own in the text part.
fn reset_mail<'a>(to: &'a str, name: &str, link: &str) -> AccountMail<'a> {
    let asked = "Someone (we hope you) asked to reset your NeverMissCall password.";
    let footnote = format!(
        "The link works once, for {RESET_TTL_MINUTES} minutes. If you did not ask, ignore this email: your password stays as it is."
    );
    AccountMail {
        to,
        subject: "Reset your NeverMissCall password",
        text: format!(
            "Hi {name},\n\n{asked} Choose a new one here:\n{link}\n\n{footnote}\n\nNeverMissCall\n"
        ),
        html: layout(
            "Reset your password",
            &[format!("Hi {name},"), format!("{asked} Choose a new one:")],
            (link, "Choose a new password"),
            &footnote,
        ),
    }
}

#[derive(Deserialize)]
pub(super) struct ResetBody {
    token: Option<String>,
    password: Option<String>,
}

pub(super) async fn reset_password(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    ApiJson(b): ApiJson<ResetBody>,
) -> Result<Json<Tokens>, ApiError> {
    let token = b.token.unwrap_or_default();
    Ok(Json(
        reset(&s, ip, &token, &b.password.unwrap_or_default()).await?,
    ))
}

/// Sets the new password from the link; every earlier session ends, and a new one opens. The
/// link is checked before the password is hashed, so made-up links cost no hashing.
pub async fn reset(
    s: &AppState,
    ip: IpAddr,
    token: &str,
    password: &str,
) -> Result<Tokens, ApiError> {
    if !s.login_limiter.allow_reset(ip) {
        return Err(too_many());
    }
    let mut bad = BTreeMap::new();
    if !password_resets::is_open(&s.db, &hash(token)).await? {
        bad.insert("token", BAD_RESET.to_owned());
    }
    if let Some(p) = password_problem(password, "") {
        bad.insert("password", p.to_owned());
    }
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    let done = password_resets::reset(&s.db, &hash(token), &hash_password(password).await?).await?;
    let Some((business_id, user_id, role)) = done else {
        return Err(crate::error::invalid("token", BAD_RESET));
    };
    tracing::info!(%business_id, %user_id, "password reset; every earlier session ended");
    open_session(s, user_id, business_id, &role).await
}

/// Whether a reset link can still be used (the page shows the form, or says to ask again).
pub async fn link_is_open(s: &AppState, token: &str) -> Result<bool, ApiError> {
    Ok(password_resets::is_open(&s.db, &hash(token)).await?)
}
