//! `POST /api/admin/businesses` (onboard) and `GET /api/admin/businesses` (list), behind the
//! deployment's admin token.

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use axum::{Json, Router};
use nmc_domain::{BusinessHours, E164, Email, Timezone};
use nmc_store::business::{self, BusinessSummary, NewBusiness};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::{ApiJson, AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/businesses", get(list).post(create))
        .route(
            "/api/admin/businesses/{id}/messaging",
            axum::routing::post(crate::messaging::decide),
        )
}

/// Proof that the request carried the admin token (compared in constant time).
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let given = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        let expected = state.config.admin_token.expose_secret().as_bytes();
        if given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected)) {
            Ok(Admin)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

#[derive(Deserialize)]
struct Onboard {
    name: Option<String>,
    owner_name: Option<String>,
    owner_phone: Option<String>,
    owner_email: Option<String>,
    business_phone: Option<String>,
    twilio_number: Option<String>,
    twilio_account_sid: Option<String>,
    twilio_auth_token: Option<String>,
    timezone: Option<String>,
    call_mode: Option<String>,
    greeting: Option<String>,
    after_hours_greeting: Option<String>,
    business_hours: Option<Value>,
    /// Optional: gives the owner an account right away (otherwise they sign up or are invited).
    owner_password: Option<String>,
    /// Whether the business is registered for A2P messaging (operations registers by hand).
    messaging_status: Option<String>,
}

/// What the admin sent that was wrong, by field; every field is checked so one answer lists all.
type FieldErrors = BTreeMap<&'static str, String>;

/// An onboarding request that passed every check: texts trimmed, phones parsed.
struct Onboarding {
    name: String,
    owner_name: String,
    owner_email: String,
    account_sid: String,
    auth_token: String,
    timezone: String,
    call_mode: String,
    owner_phone: E164,
    business_phone: E164,
    twilio_number: E164,
    hours: BusinessHours,
    greeting: Option<String>,
    after_hours_greeting: Option<String>,
    owner_password: Option<String>,
    messaging_status: String,
}

async fn create(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<Onboard>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b = validate(req, &state.config)?;
    let id = business::insert(
        &state.db,
        &NewBusiness {
            name: &b.name,
            owner_name: &b.owner_name,
            owner_phone: b.owner_phone.as_str(),
            owner_email: &b.owner_email,
            business_phone: b.business_phone.as_str(),
            twilio_number: b.twilio_number.as_str(),
            twilio_account_sid: &b.account_sid,
            twilio_auth_token_enc: state.secrets.encrypt(&b.auth_token),
            timezone: &b.timezone,
            call_mode: &b.call_mode,
            greeting: b.greeting.as_deref().map(str::trim),
            after_hours_greeting: b.after_hours_greeting.as_deref().map(str::trim),
            business_hours: &b.hours,
        },
    )
    .await?;
    if b.messaging_status != "approved" {
        business::set_messaging_status(&state.db, id, &b.messaging_status).await?;
    }
    if let Some(password) = b.owner_password.as_deref() {
        add_owner_account(&state, id, &b, password).await?;
    }
    tracing::info!(business_id = %id, "business onboarded");
    if let Some(sandbox) = &state.sandbox {
        // In the sandbox the number is "configured in the console" here, as it would be on Twilio.
        let base = &state.config.public_base_url;
        sandbox.register_number(
            b.twilio_number.as_str(),
            &b.account_sid,
            &b.auth_token,
            &format!("{base}/webhook/voice/incoming"),
            &format!("{base}/webhook/sms/incoming"),
        );
    }
    Ok((StatusCode::CREATED, Json(json!({"id": id}))))
}

/// Checks the whole request before anything is stored; any mistake is a 422 naming the fields.
fn validate(req: Onboard, config: &crate::Config) -> Result<Onboarding, ApiError> {
    let mut bad = FieldErrors::new();
    let name = required_text(&mut bad, "name", req.name.as_deref());
    let owner_name = required_text(&mut bad, "owner_name", req.owner_name.as_deref());
    let owner_email = required_text(&mut bad, "owner_email", req.owner_email.as_deref());
    let account_sid = required_text(
        &mut bad,
        "twilio_account_sid",
        req.twilio_account_sid.as_deref(),
    );
    let auth_token = required_text(
        &mut bad,
        "twilio_auth_token",
        req.twilio_auth_token.as_deref(),
    );
    let timezone = required_text(&mut bad, "timezone", req.timezone.as_deref());
    let call_mode = required_text(&mut bad, "call_mode", req.call_mode.as_deref());
    check_formats(&mut bad, &owner_email, &account_sid, &timezone, &call_mode);
    let owner_phone = required_phone(&mut bad, "owner_phone", req.owner_phone.as_deref());
    let business_phone = required_phone(&mut bad, "business_phone", req.business_phone.as_deref());
    for (field, phone) in [
        ("owner_phone", &owner_phone),
        ("business_phone", &business_phone),
    ] {
        if let Some(why) = phone.as_ref().and_then(|p| config.unserved(p)) {
            bad.insert(field, why);
        }
    }
    let twilio_number = required_phone(&mut bad, "twilio_number", req.twilio_number.as_deref());
    if twilio_number.is_some() && twilio_number == business_phone {
        bad.insert(
            "twilio_number",
            "must differ from business_phone (calls would loop)".into(),
        );
    }
    let hours = business_hours(&mut bad, req.business_hours);
    check_greetings(
        &mut bad,
        req.greeting.as_deref(),
        req.after_hours_greeting.as_deref(),
    );
    check_owner_password(&mut bad, req.owner_password.as_deref());
    let messaging_status = messaging_status(&mut bad, req.messaging_status);
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    Ok(Onboarding {
        name,
        owner_name,
        owner_email,
        account_sid,
        auth_token,
        timezone,
        call_mode,
        owner_phone: owner_phone.unwrap(),
        business_phone: business_phone.unwrap(),
        twilio_number: twilio_number.unwrap(),
        hours,
        greeting: req.greeting,
        after_hours_greeting: req.after_hours_greeting,
        owner_password: req.owner_password,
        messaging_status,
    })
}

/// A field the business cannot run without, trimmed.
fn required_text(bad: &mut FieldErrors, name: &'static str, v: Option<&str>) -> String {
    let v = v.map(str::trim).unwrap_or_default();
    if v.is_empty() {
        bad.insert(name, "must not be empty".into());
    }
    v.to_owned()
}

/// A phone number the business cannot run without, parsed to E.164.
fn required_phone(bad: &mut FieldErrors, name: &'static str, v: Option<&str>) -> Option<E164> {
    match v.map(E164::parse) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            bad.insert(name, e.to_string());
            None
        }
        None => {
            bad.insert(name, "must not be empty".into());
            None
        }
    }
}

/// The owner's email, the Twilio account sid, the timezone and the call mode, when given, must
/// have their shapes (an empty one was already reported).
fn check_formats(
    bad: &mut FieldErrors,
    owner_email: &str,
    account_sid: &str,
    timezone: &str,
    call_mode: &str,
) {
    if !owner_email.is_empty() && Email::parse(owner_email).is_err() {
        bad.insert("owner_email", "not an email address".into());
    }
    let sid_shape_ok = account_sid.starts_with("AC") && account_sid.len() == 34;
    if !account_sid.is_empty() && !sid_shape_ok {
        bad.insert(
            "twilio_account_sid",
            "must be AC followed by 32 characters".into(),
        );
    }
    if !timezone.is_empty()
        && let Err(e) = Timezone::parse(timezone)
    {
        bad.insert("timezone", format!("{e} (like America/Chicago)"));
    }
    if !call_mode.is_empty() && call_mode != "dial_through" && call_mode != "forwarded" {
        bad.insert("call_mode", "must be dial_through or forwarded".into());
    }
}

/// The week's opening hours; none given means the default week.
fn business_hours(bad: &mut FieldErrors, hours: Option<Value>) -> BusinessHours {
    match hours {
        None | Some(Value::Null) => BusinessHours::default(),
        Some(v) => match serde_json::from_value::<BusinessHours>(v) {
            Ok(h) if h.invalid_days().is_empty() => h,
            Ok(h) => {
                bad.insert(
                    "business_hours",
                    format!(
                        "close must be after open on {}",
                        h.invalid_days().join(", ")
                    ),
                );
                BusinessHours::default()
            }
            Err(e) => {
                bad.insert("business_hours", e.to_string());
                BusinessHours::default()
            }
        },
    }
}

/// What the caller hears when the call is answered: optional, but not blank and not a speech.
fn check_greetings(bad: &mut FieldErrors, greeting: Option<&str>, after_hours: Option<&str>) {
    for (field, v) in [
        ("greeting", greeting),
        ("after_hours_greeting", after_hours),
    ] {
        if v.is_some_and(|t| t.trim().is_empty() || t.chars().count() > 640) {
            bad.insert(field, "must be 1 to 640 characters".into());
        }
    }
}

/// The owner's password, when given, has the length the sign-up form asks for.
fn check_owner_password(bad: &mut FieldErrors, password: Option<&str>) {
    if let Some(p) = password
        && (p.chars().count() < 10 || p.chars().count() > 128)
    {
        bad.insert("owner_password", "must be 10 to 128 characters".into());
    }
}

/// The business's A2P messaging registration; approved unless operations says otherwise.
fn messaging_status(bad: &mut FieldErrors, status: Option<String>) -> String {
    let status = status.unwrap_or_else(|| "approved".into());
    if !["not_registered", "submitted", "approved", "rejected"].contains(&status.as_str()) {
        bad.insert(
            "messaging_status",
            "one of not_registered, submitted, approved, rejected".into(),
        );
    }
    status
}

/// Gives the owner an account right away; an email already taken is a 409 on `owner_email`.
async fn add_owner_account(
    state: &AppState,
    id: Uuid,
    b: &Onboarding,
    password: &str,
) -> Result<(), ApiError> {
    let hash = crate::auth::hash_password(password).await?;
    nmc_store::accounts::add_user(
        &state.db,
        id,
        &b.owner_email.to_lowercase(),
        &b.owner_name,
        &hash,
        "owner",
    )
    .await
    .map_err(|e| match e {
        nmc_store::StoreError::Conflict { .. } => ApiError::Conflict {
            field: "owner_email",
        },
        other => other.into(),
    })?;
    Ok(())
}

async fn list(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<Vec<BusinessSummary>>, ApiError> {
    Ok(Json(business::list(&state.db).await?))
}
