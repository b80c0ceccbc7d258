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

use crate::{ApiJson, AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/admin/businesses", get(list).post(create))
        .route(
            "/api/admin/businesses/{id}/messaging",
            axum::routing::post(crate::numbers::decide),
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

#[expect(
    clippy::too_many_lines,
    reason = "one decision in order; to split into named steps (issue 13 note)"
)]
async fn create(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<Onboard>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut bad: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut text = |name: &'static str, v: &Option<String>| -> String {
        let v = v.as_deref().map(str::trim).unwrap_or_default();
        if v.is_empty() {
            bad.insert(name, "must not be empty".into());
        }
        v.to_owned()
    };
    let name = text("name", &req.name);
    let owner_name = text("owner_name", &req.owner_name);
    let owner_email = text("owner_email", &req.owner_email);
    let account_sid = text("twilio_account_sid", &req.twilio_account_sid);
    let auth_token = text("twilio_auth_token", &req.twilio_auth_token);
    let timezone = text("timezone", &req.timezone);
    let call_mode = text("call_mode", &req.call_mode);
    if !owner_email.is_empty() && Email::parse(&owner_email).is_err() {
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
        && let Err(e) = Timezone::parse(&timezone)
    {
        bad.insert("timezone", format!("{e} (like America/Chicago)"));
    }
    if !call_mode.is_empty() && call_mode != "dial_through" && call_mode != "forwarded" {
        bad.insert("call_mode", "must be dial_through or forwarded".into());
    }
    let mut phone = |name: &'static str, v: &Option<String>| -> Option<E164> {
        match v.as_deref().map(E164::parse) {
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
    };
    let owner_phone = phone("owner_phone", &req.owner_phone);
    let business_phone = phone("business_phone", &req.business_phone);
    let twilio_number = phone("twilio_number", &req.twilio_number);
    if twilio_number.is_some() && twilio_number == business_phone {
        bad.insert(
            "twilio_number",
            "must differ from business_phone (calls would loop)".into(),
        );
    }
    let hours = match req.business_hours {
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
    };
    for (field, v) in [
        ("greeting", &req.greeting),
        ("after_hours_greeting", &req.after_hours_greeting),
    ] {
        if v.as_deref()
            .is_some_and(|t| t.trim().is_empty() || t.chars().count() > 640)
        {
            bad.insert(field, "must be 1 to 640 characters".into());
        }
    }
    if let Some(p) = req.owner_password.as_deref()
        && (p.chars().count() < 10 || p.chars().count() > 128)
    {
        bad.insert("owner_password", "must be 10 to 128 characters".into());
    }
    let messaging_status = req
        .messaging_status
        .clone()
        .unwrap_or_else(|| "approved".into());
    if !["not_registered", "submitted", "approved", "rejected"].contains(&messaging_status.as_str())
    {
        bad.insert(
            "messaging_status",
            "one of not_registered, submitted, approved, rejected".into(),
        );
    }
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    let (owner_phone, business_phone, twilio_number) = (
        owner_phone.unwrap(),
        business_phone.unwrap(),
        twilio_number.unwrap(),
    );
    let id = business::insert(
        &state.db,
        &NewBusiness {
            name: &name,
            owner_name: &owner_name,
            owner_phone: owner_phone.as_str(),
            owner_email: &owner_email,
            business_phone: business_phone.as_str(),
            twilio_number: twilio_number.as_str(),
            twilio_account_sid: &account_sid,
            twilio_auth_token_enc: state.secrets.encrypt(&auth_token),
            timezone: &timezone,
            call_mode: &call_mode,
            greeting: req.greeting.as_deref().map(str::trim),
            after_hours_greeting: req.after_hours_greeting.as_deref().map(str::trim),
            business_hours: &hours,
        },
    )
    .await?;
    if messaging_status != "approved" {
        business::set_messaging_status(&state.db, id, &messaging_status).await?;
    }
    if let Some(password) = req.owner_password.as_deref() {
        let hash = crate::auth::hash_password(password).await?;
        nmc_store::accounts::add_user(
            &state.db,
            id,
            &owner_email.to_lowercase(),
            &owner_name,
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
    }
    tracing::info!(business_id = %id, "business onboarded");
    if let Some(sandbox) = &state.sandbox {
        // In the sandbox the number is "configured in the console" here, as it would be on Twilio.
        let base = &state.config.public_base_url;
        sandbox.register_number(
            twilio_number.as_str(),
            &account_sid,
            &auth_token,
            &format!("{base}/webhook/voice/incoming"),
            &format!("{base}/webhook/sms/incoming"),
        );
    }
    Ok((StatusCode::CREATED, Json(json!({"id": id}))))
}

async fn list(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<Vec<BusinessSummary>>, ApiError> {
    Ok(Json(business::list(&state.db).await?))
}
