//! One error type for the HTTP layer: JSON `{error: {code, message, fields}}`; unexpected
//! errors are logged and never shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or wrong credentials")]
    Unauthorized,
    /// Signed in, but this role may not do that (technicians and owner-only actions).
    #[error("your role does not allow this")]
    Forbidden,
    #[error("{0}")]
    TooManyRequests(String),
    #[error("signature check failed")]
    BadSignature,
    #[error("{0}")]
    BadRequest(String),
    #[error("unsupported content type; expected application/x-www-form-urlencoded")]
    UnsupportedMediaType,
    #[error("invalid fields")]
    Invalid(BTreeMap<&'static str, String>),
    #[error("{field} is already in use")]
    Conflict { field: &'static str },
    /// Not found, or not this tenant's: the same answer, so ids leak nothing.
    #[error("not found")]
    NotFound,
    /// The slot was booked by someone else first; `alternatives` are open slots right now.
    #[error("that time is no longer available")]
    SlotTaken { alternatives: serde_json::Value },
    /// A dependency is down; Twilio retries webhooks answered with 503.
    #[error("{0} unavailable")]
    Unavailable(&'static str),
    /// The body could not be read (over the size limit, or the connection broke): answered as
    /// axum answers it, and `json_for_framework_errors` gives that our shape.
    #[error(transparent)]
    Body(axum::extract::rejection::BytesRejection),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<nmc_store::StoreError> for ApiError {
    fn from(e: nmc_store::StoreError) -> Self {
        match e {
            nmc_store::StoreError::Conflict { field } => ApiError::Conflict { field },
            nmc_store::StoreError::NotFound => ApiError::NotFound,
            nmc_store::StoreError::Db(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed,
            ) => ApiError::Unavailable("database"),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Body(rejection) = self {
            return rejection.into_response();
        }
        let (status, code) = match &self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            ApiError::BadSignature => (StatusCode::FORBIDDEN, "bad_signature"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::SlotTaken { .. } => (StatusCode::CONFLICT, "slot_taken"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            // Answered above, in axum's words.
            ApiError::Body(r) => (r.status(), "bad_request"),
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        let message = match &self {
            ApiError::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let fields = match &self {
            ApiError::Invalid(f) => json!(f),
            ApiError::Conflict { field } => json!({ *field: "already in use" }),
            _ => json!({}),
        };
        let mut body = json!({"error": {"code": code, "message": message, "fields": fields}});
        if let ApiError::SlotTaken { alternatives } = self {
            body["alternatives"] = alternatives;
        }
        (status, Json(body)).into_response()
    }
}

/// Query parameters with our JSON error on a bad value (axum's own rejection is plain text).
pub struct Params<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for Params<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::BadRequest(format!("query: {}", e.body_text())))
    }
}

/// Axum answers a bad path parameter, an unknown route or a wrong method with plain text; on
/// `/api` we keep one error shape everywhere.
pub async fn json_for_framework_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    if !api {
        return response;
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let twiml = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/xml"));
    if !(status.is_client_error() || status.is_server_error()) || is_json || twiml {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&body).trim().to_owned();
    let code = match status.as_u16() {
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        s if s >= 500 => "internal",
        _ => "bad_request",
    };
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        message
    };
    (
        status,
        Json(json!({"error": {"code": code, "message": message, "fields": {}}})),
    )
        .into_response()
}

/// A 422 naming one field.
pub fn invalid(field: &'static str, message: &str) -> ApiError {
    ApiError::Invalid(BTreeMap::from([(field, message.to_owned())]))
}
