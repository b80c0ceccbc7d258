//! Twilio webhooks. Each handler only verifies, records and signals, then answers; no text is
//! ever sent inside a request. Rejected requests record nothing.

pub mod agent;
pub mod screening;
pub mod sms;
pub mod voice;
pub mod voicemail;

use axum::body::Bytes;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use nmc_store::business::BusinessForWebhook;
use nmc_store::webhook::Recorded;

use crate::{AppState, error::ApiError};

/// A webhook's decoded form parameters, in the order sent (repeated names allowed).
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn required(&self, name: &'static str) -> Result<&str, ApiError> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::BadRequest(format!("missing {name}")))
    }
}

/// Parses a form body: the right content type and valid UTF-8, or a 4xx.
pub fn parse_form(headers: &HeaderMap, body: &Bytes) -> Result<Params, ApiError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(ApiError::UnsupportedMediaType);
    }
    if std::str::from_utf8(body).is_err() {
        return Err(ApiError::BadRequest("body is not valid UTF-8".into()));
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if pairs
        .iter()
        .any(|(k, v)| k.contains('\u{FFFD}') || v.contains('\u{FFFD}'))
    {
        return Err(ApiError::BadRequest("form value is not valid UTF-8".into()));
    }
    Ok(Params(pairs))
}

/// The request id the router set, for the webhook's own span: JSON logs show only the
/// innermost span, so the handler's carries the id too.
pub fn request_id(headers: &HeaderMap) -> &str {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Checks `X-Twilio-Signature` against the business's auth token and the URL Twilio called.
pub fn verify(
    state: &AppState,
    business: &BusinessForWebhook,
    uri: &Uri,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), ApiError> {
    let token = state
        .secrets
        .decrypt(&business.twilio_auth_token_enc)
        .map_err(|e| ApiError::Internal(e.into()))?;
    verify_with(state, &token, uri, headers, params).inspect_err(|_| {
        tracing::warn!(business_id = %business.id, "webhook signature mismatch");
    })
}

/// Checks `X-Twilio-Signature` against `token` (the account that placed or owns the call).
pub fn verify_with(
    state: &AppState,
    token: &str,
    uri: &Uri,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(), ApiError> {
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::BadSignature)?;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let url = format!("{}{path}", state.config.public_base_url);
    if nmc_twilio::signature::verify(token, &url, &params.0, signature) {
        Ok(())
    } else {
        Err(ApiError::BadSignature)
    }
}

pub(crate) const SIGNAL_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Signals a recorded call or text to the caller's conversation. When Temporal is away the row
/// stays unsignalled and the worker's outbox signals it within seconds; the webhook is answered
/// 200 either way, because Twilio does not redeliver a 5xx and the event is already safe.
pub async fn hand_over(
    state: &AppState,
    business_id: uuid::Uuid,
    caller: &nmc_domain::E164,
    rec: &Recorded,
) {
    if rec.already_signalled {
        return;
    }
    // Bounded: a Temporal that hangs must not hold the carrier's request (it gives up after 15 s).
    let signal = state
        .temporal
        .signal_caller_event(business_id, caller, rec.signal.clone());
    match tokio::time::timeout(SIGNAL_WAIT, signal).await {
        Ok(Ok(())) => crate::mark_signalled_later(state, rec.event_id),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not signal the conversation; the worker's outbox will");
        }
        Err(_) => tracing::warn!("signalling the conversation timed out; the worker's outbox will"),
    }
}

pub fn twiml(xml: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response()
}
