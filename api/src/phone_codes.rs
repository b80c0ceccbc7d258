//! Proving a member's alert phone (`POST /api/me/phone/code`, `POST /api/me/phone/verify`):
//! a six-digit code texted from the platform's number, since the business's own number may not
//! be approved for texting yet. Alerts are texted only to a proved phone, and only a proved
//! phone's texts are commands.
//!
//! The code is sent while the member waits, not through a workflow: it is worth something for
//! ten minutes, so a failure is best told now ("try again") rather than retried later.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use nmc_store::phone_codes::{self, Check, NotIssued};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Tenant;
use crate::error::{ApiError, invalid};
use crate::owner::commit;
use crate::{ApiJson, AppState};

/// A six-digit code from the operating system's randomness (UUIDv4 is 122 random bits).
fn new_code() -> String {
    let n = u128::from_le_bytes(*uuid::Uuid::new_v4().as_bytes()) % 1_000_000;
    format!("{n:06}")
}

/// `POST /api/me/phone/code`: texts a code to this member's alert phone (202), or says it is
/// already proved (200).
pub async fn send_code(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some((from, (sid, token))) = s.config.platform_caller() else {
        return Err(ApiError::Unavailable(
            "texting codes (NMC_PLATFORM_NUMBER is not set)",
        ));
    };
    let mut tx = t.begin(&s.db).await?;
    let (phone, verified) = phone_codes::alert_phone(&mut tx, t.business_id, t.user_id).await?;
    let phone = phone.ok_or_else(|| invalid("phone", "add the phone alerts go to first"))?;
    if verified {
        return Ok((
            StatusCode::OK,
            Json(json!({"phone": phone, "verified": true})),
        ));
    }
    let code = new_code();
    let expires = match phone_codes::issue(&mut tx, t.business_id, t.user_id, &phone, &code).await?
    {
        Ok(at) => at,
        Err(NotIssued::TooSoon(secs)) => {
            return Err(ApiError::TooManyRequests(format!(
                "a code was just sent; ask again in {secs} s"
            )));
        }
    };
    commit(tx).await?;
    let body = format!(
        "{code} is your NeverMissCall code. It expires in 10 minutes. If you did not ask for it, ignore this text."
    );
    nmc_twilio::TwilioClient::new(s.config.twilio_api_base.clone())
        .send_message(&sid, &token, &from, &phone, &body, "")
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "the one-time code was not sent");
            ApiError::Unavailable("twilio")
        })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"phone": phone, "verified": false, "expires_at": expires})),
    ))
}

#[derive(Deserialize)]
pub struct Verify {
    code: Option<String>,
}

/// `POST /api/me/phone/verify {code}`: proves the phone (200) or says why not (422).
pub async fn verify(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(v): ApiJson<Verify>,
) -> Result<Json<Value>, ApiError> {
    let code = v.code.unwrap_or_default();
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("code", "the code is six digits"));
    }
    let mut tx = t.begin(&s.db).await?;
    let (phone, _) = phone_codes::alert_phone(&mut tx, t.business_id, t.user_id).await?;
    let phone = phone.ok_or_else(|| invalid("phone", "add the phone alerts go to first"))?;
    let result = phone_codes::check(&mut tx, t.user_id, &phone, code).await?;
    // Committed either way: a wrong code uses up one of the five tries.
    commit(tx).await?;
    match result {
        Check::Verified => Ok(Json(json!({"phone": phone, "verified": true}))),
        Check::Wrong => Err(invalid(
            "code",
            "that code is not right; check the text and try again",
        )),
        Check::NoCode => Err(invalid(
            "code",
            "that code has expired or was used up; ask for a new one",
        )),
    }
}
