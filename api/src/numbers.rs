//! Going live: a local number in the business's area code bought through Twilio's REST API (or a
//! number the business already has on Twilio), its webhooks pointed at us, and the messaging
//! registration (10DLC brand + campaign) that carriers require before automated texts flow.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use nmc_domain::E164;
use nmc_store::settings;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Tenant;
use crate::owner::commit;
use crate::{
    ApiJson, AppState,
    error::{ApiError, Params, invalid},
};

fn twilio(s: &AppState) -> nmc_twilio::TwilioClient {
    nmc_twilio::TwilioClient::new(s.config.twilio_api_base.clone())
}

fn carrier_error(e: nmc_twilio::TwilioError) -> ApiError {
    match e {
        nmc_twilio::TwilioError::Api {
            status, message, ..
        } if (400..500).contains(&status) => {
            invalid("phone_number", &format!("Twilio refused: {message}"))
        }
        _ => ApiError::Unavailable("twilio"),
    }
}

#[derive(Deserialize)]
pub struct Search {
    area_code: Option<String>,
}

/// The route table's layer has checked the caller; the search needs no tenant data.
pub async fn available(
    _: Tenant,
    State(s): State<AppState>,
    Params(q): Params<Search>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({"numbers": search(&s, &q.area_code.unwrap_or_default()).await?}),
    ))
}

/// Local numbers with voice and SMS in an area code (the API's search and the set-up page's).
pub async fn search(
    s: &AppState,
    area: &str,
) -> Result<Vec<nmc_twilio::client::AvailableNumber>, ApiError> {
    if area.len() != 3 || !area.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid("area_code", "three digits, like 512"));
    }
    let (sid, token) = s.config.platform_twilio();
    twilio(s)
        .search_local(&sid, &token, area)
        .await
        .map_err(carrier_error)
}

#[derive(Deserialize)]
pub struct Buy {
    phone_number: Option<String>,
}

/// Buys the number on the platform's Twilio account, with its webhooks set to us.
pub async fn buy(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(b): ApiJson<Buy>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let number = E164::parse(b.phone_number.as_deref().unwrap_or_default())
        .map_err(|e| invalid("phone_number", &e.to_string()))?;
    let mut tx = t.begin(&s.db).await?;
    if settings::number(&mut tx, t.business_id).await?.is_some() {
        return Err(ApiError::Conflict { field: "number" });
    }
    let (sid, token) = s.config.platform_twilio();
    let base = &s.config.public_base_url;
    let bought = twilio(&s)
        .buy_number(
            &sid,
            &token,
            number.as_str(),
            &format!("{base}/webhook/voice/incoming"),
            &format!("{base}/webhook/sms/incoming"),
        )
        .await
        .map_err(carrier_error)?;
    settings::set_number(
        &mut tx,
        t.business_id,
        &bought.phone_number,
        &sid,
        &s.secrets.encrypt(&token),
    )
    .await?;
    commit(tx).await?;
    tracing::info!(business_id = %t.business_id, "number bought");
    Ok((
        StatusCode::CREATED,
        Json(json!({"phone_number": bought.phone_number, "sid": bought.sid})),
    ))
}

#[derive(Deserialize)]
pub struct Existing {
    phone_number: Option<String>,
    account_sid: Option<String>,
    auth_token: Option<String>,
}

/// A number the business already has on its own Twilio account: we check it is there and point
/// its webhooks at us. The auth token is sealed like every other.
pub async fn register_existing(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(e): ApiJson<Existing>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let number = E164::parse(e.phone_number.as_deref().unwrap_or_default())
        .map_err(|x| invalid("phone_number", &x.to_string()))?;
    let sid = e.account_sid.unwrap_or_default();
    if !(sid.starts_with("AC") && sid.len() == 34) {
        return Err(invalid("account_sid", "AC followed by 32 characters"));
    }
    let token = e.auth_token.unwrap_or_default();
    if token.is_empty() {
        return Err(invalid("auth_token", "required"));
    }
    let mut tx = t.begin(&s.db).await?;
    if settings::number(&mut tx, t.business_id).await?.is_some() {
        return Err(ApiError::Conflict { field: "number" });
    }
    let client = twilio(&s);
    let found = client
        .find_incoming(&sid, &token, number.as_str())
        .await
        .map_err(|e| match e {
            nmc_twilio::TwilioError::Api { status: 401, .. } => {
                invalid("auth_token", "Twilio did not accept these credentials")
            }
            other => carrier_error(other),
        })?;
    let Some(found) = found else {
        return Err(invalid(
            "phone_number",
            "this number is not on that Twilio account",
        ));
    };
    let base = &s.config.public_base_url;
    client
        .set_webhooks(
            &sid,
            &token,
            &found.sid,
            &format!("{base}/webhook/voice/incoming"),
            &format!("{base}/webhook/sms/incoming"),
        )
        .await
        .map_err(carrier_error)?;
    settings::set_number(
        &mut tx,
        t.business_id,
        number.as_str(),
        &sid,
        &s.secrets.encrypt(&token),
    )
    .await?;
    commit(tx).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"phone_number": number.as_str(), "sid": found.sid})),
    ))
}
