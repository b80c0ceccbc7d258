//! Signing up, logging in, refreshing, logging out, `me`, and joining by invitation. The API's
//! handlers and the web pages' forms share the functions here.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use nmc_domain::{E164, Email, Timezone};
use nmc_store::accounts;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extractor::Tenant;
use super::limits::ClientAddr;
use super::passwords::{decoy_hash, hash_password, password_problem, verify_password};
use super::tokens::{Tokens, hash, open_session, rotate};
use crate::{
    ApiJson, AppState,
    error::{ApiError, invalid},
};

/// Log-in attempts in a row (counted before the password is checked) before an email is
/// locked, and for how long.
const MAX_FAILURES: i32 = 5;
const LOCK_MINUTES: i64 = 15;

// ---- sign-up -------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct SignUpBody {
    pub business_name: Option<String>,
    pub owner_name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub phone: Option<String>,
    pub timezone: Option<String>,
    pub trade: Option<String>,
}

pub(super) async fn sign_up(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    ApiJson(b): ApiJson<SignUpBody>,
) -> Result<(StatusCode, Json<Tokens>), ApiError> {
    Ok((StatusCode::CREATED, Json(create_account(&s, ip, b).await?)))
}

fn too_many_joins() -> ApiError {
    ApiError::TooManyRequests("too many accounts from this address; try again later".into())
}

/// Creates the business and its owner and opens a session (the API's sign-up and the web page's).
pub async fn create_account(s: &AppState, ip: IpAddr, b: SignUpBody) -> Result<Tokens, ApiError> {
    if !s.login_limiter.allow_join(ip) {
        return Err(too_many_joins());
    }
    let owner = check_sign_up(&b, &s.config)?;
    let password_hash = hash_password(&owner.password).await?;
    let signup = accounts::SignUp {
        business_name: &owner.business_name,
        owner_name: &owner.owner_name,
        email: owner.email.as_str(),
        password_hash: &password_hash,
        owner_phone: owner.phone.as_ref().map(|p| p.as_str()).unwrap_or_default(),
        timezone: owner.timezone.name(),
        trade: b.trade.as_deref(),
        billed: s.config.billing.is_some(),
    };
    let (business_id, user_id) = accounts::sign_up(&s.db, &signup).await?;
    tracing::info!(%business_id, "business signed up");
    open_session(s, user_id, business_id, "owner").await
}

/// A sign-up that passed its checks, trimmed.
struct NewOwner {
    business_name: String,
    owner_name: String,
    email: Email,
    password: String,
    phone: Option<E164>,
    timezone: Timezone,
}

fn check_sign_up(b: &SignUpBody, config: &crate::Config) -> Result<NewOwner, ApiError> {
    let mut bad = BTreeMap::new();
    let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let (business_name, owner_name) = (text(&b.business_name), text(&b.owner_name));
    if business_name.is_empty() || business_name.chars().count() > 100 {
        bad.insert("business_name", "must be 1 to 100 characters".to_owned());
    }
    if owner_name.is_empty() || owner_name.chars().count() > 100 {
        bad.insert("owner_name", "must be 1 to 100 characters".to_owned());
    }
    let raw_email = b.email.as_deref().unwrap_or_default();
    let email = match Email::parse(raw_email) {
        Ok(email) => Some(email),
        Err(e) => {
            bad.insert("email", e.to_string());
            None
        }
    };
    let password = b.password.clone().unwrap_or_default();
    // Checked against the address as typed (normalized) even when it is not a valid one.
    if let Some(p) = password_problem(&password, &Email::normalize(raw_email)) {
        bad.insert("password", p.to_owned());
    }
    let phone = match b.phone.as_deref().map(E164::parse) {
        Some(Ok(p)) if config.unserved(&p).is_some() => {
            bad.insert("phone", config.unserved(&p).unwrap_or_default());
            None
        }
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            bad.insert("phone", e.to_string());
            None
        }
        None => {
            bad.insert("phone", "the owner's mobile, for alerts".to_owned());
            None
        }
    };
    let timezone = match Timezone::parse(b.timezone.as_deref().unwrap_or("America/Chicago")) {
        Ok(tz) => Some(tz),
        Err(e) => {
            bad.insert("timezone", e.to_string());
            None
        }
    };
    if let Some(t) = b.trade.as_deref()
        && nmc_assistant::catalog::starter(t).is_empty()
    {
        bad.insert(
            "trade",
            "one of plumbing, hvac, electrical, handyman, cleaning, auto".to_owned(),
        );
    }
    match (email, timezone) {
        (Some(email), Some(timezone)) if bad.is_empty() => Ok(NewOwner {
            business_name,
            owner_name,
            email,
            password,
            phone,
            timezone,
        }),
        _ => Err(ApiError::Invalid(bad)),
    }
}

// ---- log-in, refresh, log-out, me ----------------------------------------------------------

#[derive(Deserialize)]
pub(super) struct LogIn {
    email: Option<String>,
    password: Option<String>,
}

fn too_many() -> ApiError {
    ApiError::TooManyRequests("too many log-in attempts; try again later".into())
}

pub(super) async fn log_in(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    ApiJson(b): ApiJson<LogIn>,
) -> Result<Json<Tokens>, ApiError> {
    Ok(Json(
        authenticate(
            &s,
            ip,
            b.email.as_deref().unwrap_or_default(),
            &b.password.unwrap_or_default(),
        )
        .await?,
    ))
}

/// Checks a log-in (rate limit, lock-out, password) and opens a session. Used by the API and
/// by the web pages' form. Both counters count the attempt before the password is checked.
pub async fn authenticate(
    s: &AppState,
    ip: IpAddr,
    email: &str,
    password: &str,
) -> Result<Tokens, ApiError> {
    if !s.login_limiter.allow_log_in(ip) {
        return Err(too_many());
    }
    let email = email.trim().to_lowercase();
    // The same answer whether or not the email has an account (unknown emails lock too).
    if !accounts::count_login_attempt(&s.db, &email, MAX_FAILURES, Duration::minutes(LOCK_MINUTES))
        .await?
    {
        return Err(too_many());
    }
    let creds = accounts::credentials(&s.db, &email).await?;
    let against = match &creds {
        Some(c) => c.password_hash.clone(),
        None => decoy_hash().await?,
    };
    let ok = verify_password(password, against).await? && creds.is_some();
    let Some(c) = creds.filter(|_| ok) else {
        return Err(ApiError::Unauthorized);
    };
    accounts::clear_login_failures(&s.db, &email).await?;
    open_session(s, c.id, c.business_id, &c.role).await
}

#[derive(Deserialize)]
pub(super) struct RefreshBody {
    refresh_token: Option<String>,
}

pub(super) async fn refresh(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<RefreshBody>,
) -> Result<Json<Tokens>, ApiError> {
    Ok(Json(
        rotate(&s, &b.refresh_token.unwrap_or_default()).await?,
    ))
}

pub(super) async fn log_out(t: Tenant, State(s): State<AppState>) -> Result<StatusCode, ApiError> {
    accounts::revoke_session(&s.db, t.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn me(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let m = accounts::member(&mut tx, t.business_id, t.user_id).await?;
    let business = accounts::member_business(&mut tx, t.business_id).await?;
    Ok(Json(
        json!({"user": m, "business": {"id": t.business_id, "name": business.0, "number": business.1, "messaging_status": business.2}}),
    ))
}

// ---- joining by invitation -----------------------------------------------------------------

#[derive(Deserialize)]
pub(super) struct AcceptInvite {
    token: Option<String>,
    name: Option<String>,
    password: Option<String>,
}

pub(super) async fn accept_invite(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    ApiJson(b): ApiJson<AcceptInvite>,
) -> Result<(StatusCode, Json<Tokens>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            join(
                &s,
                ip,
                b.token.as_deref().unwrap_or_default(),
                b.name.as_deref(),
                b.password,
            )
            .await?,
        ),
    ))
}

const BAD_INVITE: &str = "this invitation is unknown, used or expired";

/// Accepts an invitation: creates the technician's account and opens their session. The link is
/// checked before the password is hashed, so made-up links cost no hashing.
pub async fn join(
    s: &AppState,
    ip: IpAddr,
    token: &str,
    name: Option<&str>,
    password: Option<String>,
) -> Result<Tokens, ApiError> {
    if !s.login_limiter.allow_join(ip) {
        return Err(too_many_joins());
    }
    let name = name.map(str::trim).unwrap_or_default().to_owned();
    let mut bad = BTreeMap::new();
    if !accounts::invite_is_open(&s.db, &hash(token)).await? {
        bad.insert("token", BAD_INVITE.to_owned());
    }
    if name.is_empty() || name.chars().count() > 100 {
        bad.insert("name", "must be 1 to 100 characters".to_owned());
    }
    let password = password.unwrap_or_default();
    if let Some(p) = password_problem(&password, "") {
        bad.insert("password", p.to_owned());
    }
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    let accepted =
        accounts::accept_invite(&s.db, &hash(token), &name, &hash_password(&password).await?)
            .await?;
    let Some((business_id, user_id, role)) = accepted else {
        return Err(invalid("token", BAD_INVITE));
    };
    open_session(s, user_id, business_id, &role).await
}
