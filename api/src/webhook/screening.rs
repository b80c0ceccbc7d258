//! Call screening (dial-through): before Twilio bridges the caller, the person who answered
//! hears "Call for Joe's Plumbing — press 1 to take it" and must press 1. A carrier voicemail
//! cannot, so a declined or voicemail-answered call reaches `call-completed` unscreened and is
//! handled as missed. The whisper runs on the answering leg, whose `To` is the business's own
//! phone, so the URLs name the business and the caller's call.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use nmc_store::{business, voice};
use nmc_twilio::twiml;
use serde::Deserialize;
use tracing::instrument;
use uuid::Uuid;

use super::{parse_form, twiml as xml, verify};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhook/voice/screen", post(whisper))
        .route("/webhook/voice/screen-key", post(key_pressed))
}

/// Seconds the answering person has to press 1.
const PRESS_WITHIN_SECS: u32 = 8;

#[derive(Deserialize)]
pub struct Leg {
    /// The business.
    b: Uuid,
    /// The caller's call (the parent of the answering leg).
    call: String,
}

pub fn whisper_url(state: &AppState, business_id: Uuid, call_sid: &str) -> String {
    format!(
        "{}/webhook/voice/screen?b={business_id}&call={}",
        state.config.public_base_url,
        form_urlencoded::byte_serialize(call_sid.as_bytes()).collect::<String>()
    )
}

/// Checks the leg's signature against its business; `None` when the business is unknown.
async fn verified(
    state: &AppState,
    leg: &Leg,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Option<(super::Params, business::BusinessForWebhook)>, ApiError> {
    let params = parse_form(headers, body)?;
    let Some(b) = business::for_webhook(&state.db, leg.b).await? else {
        return Ok(None);
    };
    verify(state, &b, uri, headers, &params)?;
    tracing::Span::current().record("business_id", tracing::field::display(b.id));
    Ok(Some((params, b)))
}

#[instrument(skip_all, fields(request_id = super::request_id(&headers), business_id))]
async fn whisper(
    State(state): State<AppState>,
    Query(leg): Query<Leg>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some((_, b)) = verified(&state, &leg, &uri, &headers, &body).await? else {
        return Ok(xml(twiml::Response::new().hangup().render()));
    };
    let action = format!(
        "{}/webhook/voice/screen-key?b={}&call={}",
        state.config.public_base_url,
        b.id,
        form_urlencoded::byte_serialize(leg.call.as_bytes()).collect::<String>()
    );
    let prompt = format!("Call for {}. Press 1 to take it.", b.name);
    // No key press: the answering leg hangs up and the caller is never bridged.
    Ok(xml(twiml::Response::new()
        .gather_digit(&action, PRESS_WITHIN_SECS, &prompt)
        .hangup()
        .render()))
}

#[instrument(skip_all, fields(request_id = super::request_id(&headers), business_id))]
async fn key_pressed(
    State(state): State<AppState>,
    Query(leg): Query<Leg>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some((params, b)) = verified(&state, &leg, &uri, &headers, &body).await? else {
        return Ok(xml(twiml::Response::new().hangup().render()));
    };
    if params.get("Digits") != Some("1") {
        return Ok(xml(twiml::Response::new().hangup().render()));
    }
    voice::mark_screened(&state.db, b.id, &leg.call).await?;
    // An empty answer ends the whisper: Twilio bridges the caller now.
    Ok(xml(twiml::Response::new().render()))
}
