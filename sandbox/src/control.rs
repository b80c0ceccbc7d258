//! The control API (JSON; the admin token as a bearer, [`crate::auth::require_admin`]): what the
//! carrier accepted, faults to arm, and the caller's side of calls and texts.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::{CallRequest, Fault, Sandbox, SandboxMessage, SmsRequest};

pub(crate) fn router(sb: &Sandbox) -> Router {
    Router::new()
        .route("/api/messages", get(messages).delete(reset))
        .route("/api/stats", get(stats))
        .route("/api/calls", post(call))
        .route("/api/sms", post(sms))
        .route("/api/faults", post(fault))
        .with_state(sb.clone())
}

async fn messages(
    State(sb): State<Sandbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Vec<SandboxMessage>> {
    Json(
        sb.messages()
            .into_iter()
            .filter(|m| {
                q.get("to").is_none_or(|t| *t == m.to) && q.get("from").is_none_or(|f| *f == m.from)
            })
            .collect(),
    )
}

async fn reset(State(sb): State<Sandbox>) -> StatusCode {
    let mut inner = sb.inner.lock().unwrap();
    inner.messages.clear();
    inner.faults.clear();
    inner.attempts = 0;
    StatusCode::NO_CONTENT
}

async fn stats(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let inner = sb.inner.lock().unwrap();
    Json(
        json!({"attempts": inner.attempts, "messages": inner.messages.len(), "numbers": inner.numbers.len()}),
    )
}

async fn call(State(sb): State<Sandbox>, Json(req): Json<CallRequest>) -> Response {
    match sb.place_call(req).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn sms(State(sb): State<Sandbox>, Json(req): Json<SmsRequest>) -> Response {
    match sb.send_sms_as_caller(req).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> StatusCode {
    sb.add_fault(f);
    StatusCode::NO_CONTENT
}
