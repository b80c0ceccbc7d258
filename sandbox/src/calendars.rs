//! Doubles of the calendar endpoints we call, speaking their HTTP: Google's OAuth token
//! endpoint, Calendar v3 events insert/patch/delete and freeBusy, and Jobber's GraphQL
//! mutations. Control API under `/api/calendars` (behind the sandbox's admin token) to inspect
//! what arrived, add busy time, and make a provider fail.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Default)]
pub(crate) struct Calendars {
    google_events: BTreeMap<String, Value>,
    pub(crate) jobber_clients: BTreeMap<String, Value>,
    pub(crate) jobber_requests: BTreeMap<String, Value>,
    /// Notes on requests (the CRM sync's `requestCreateNote`).
    pub(crate) jobber_notes: Vec<Value>,
    busy: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// provider → (HTTP status to answer, how many more times).
    failing: BTreeMap<String, (u16, u32)>,
    pub(crate) token_requests: Vec<Value>,
    requests: u64,
    /// Codes the authorize endpoints issued: code → what the token request must match.
    pub(crate) codes: BTreeMap<String, Value>,
    /// The next consent: `deny`, or granted (with Google scopes, when set).
    pub(crate) next_consent: Option<Value>,
    /// Tokens revoked (Google) or disconnected (Jobber): refused from then on.
    pub(crate) revoked: Vec<String>,
}

#[derive(Clone, Default)]
pub struct CalendarDoubles {
    pub(crate) inner: Arc<Mutex<Calendars>>,
}

/// Tokens the doubles accept (what their token endpoint hands out, or what tests connect
/// with), unless revoked.
pub(crate) fn authorized(d: &CalendarDoubles, headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| !t.is_empty() && !d.inner.lock().unwrap().revoked.iter().any(|r| r == t))
}

impl CalendarDoubles {
    pub fn router(&self) -> Router {
        Router::new()
            .route("/google/token", post(crate::oauth::token))
            .route("/jobber/oauth/token", post(crate::oauth::token))
            .route("/google/authorize", get(crate::oauth::authorize))
            .route("/jobber/oauth/authorize", get(crate::oauth::authorize))
            .route("/hubspot/oauth/authorize", get(crate::oauth::authorize))
            .route("/hubspot/oauth/v1/token", post(crate::oauth::token))
            .route(
                "/gohighlevel/oauth/chooselocation",
                get(crate::oauth::authorize),
            )
            .route("/gohighlevel/oauth/token", post(crate::oauth::token))
            .route("/google/revoke", post(crate::oauth::revoke))
            .route(
                "/google/calendar/v3/users/me/calendarList",
                get(crate::oauth::calendar_list),
            )
            .route(
                "/google/calendar/v3/calendars/{cal}/events",
                post(insert_event),
            )
            .route(
                "/google/calendar/v3/calendars/{cal}/events/{id}",
                patch(patch_event).delete(delete_event),
            )
            .route("/google/calendar/v3/freeBusy", post(free_busy))
            .route("/jobber/api/graphql", post(crate::jobber::graphql))
            .with_state(self.clone())
    }

    /// The next OAuth consent: `{"decision": "deny"}`, or granted with a narrower `scope`.
    pub fn arm_consent(&self, consent: Value) {
        self.inner.lock().unwrap().next_consent = Some(consent);
    }

    /// Every token-endpoint request (form fields), oldest first.
    pub fn token_requests(&self) -> Vec<Value> {
        self.inner.lock().unwrap().token_requests.clone()
    }

    /// Whether this token was revoked or its app disconnected.
    pub fn revoked(&self, token_prefix: &str) -> bool {
        self.inner
            .lock()
            .unwrap()
            .revoked
            .iter()
            .any(|t| t.starts_with(token_prefix))
    }

    /// Inspect, reset, add busy time, arm faults: the sandbox mounts these behind its admin token.
    pub fn control_router(&self) -> Router {
        Router::new()
            .route("/api/calendars", get(inspect).delete(reset))
            .route("/api/calendars/busy", post(add_busy))
            .route("/api/calendars/faults", post(add_fault))
            .route("/api/calendars/consent", post(crate::oauth::arm_consent))
            .with_state(self.clone())
    }

    /// An injected failure for this provider, if one is armed.
    pub(crate) fn fault(&self, provider: &str) -> Option<Response> {
        let mut c = self.inner.lock().unwrap();
        c.requests += 1;
        let (status, left) = c.failing.get_mut(provider)?;
        if *left == 0 {
            return None;
        }
        *left -= 1;
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        Some((status, Json(json!({"error": {"code": status.as_u16(), "message": "injected by the sandbox"}}))).into_response())
    }
}

async fn insert_event(
    State(d): State<CalendarDoubles>,
    headers: HeaderMap,
    Path(_cal): Path<String>,
    Json(event): Json<Value>,
) -> Response {
    if !authorized(&d, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if let Some(f) = d.fault("google") {
        return f;
    }
    let id = event
        .get("id")
        .and_then(Value::as_str)
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned);
    let mut c = d.inner.lock().unwrap();
    if c.google_events.contains_key(&id) {
        return (StatusCode::CONFLICT, Json(json!({"error": {"code": 409, "message": "The requested identifier already exists."}}))).into_response();
    }
    let mut stored = event.clone();
    stored["status"] = json!("confirmed");
    c.google_events.insert(id.clone(), stored.clone());
    (StatusCode::OK, Json(stored)).into_response()
}

async fn patch_event(
    State(d): State<CalendarDoubles>,
    headers: HeaderMap,
    Path((_cal, id)): Path<(String, String)>,
    Json(changes): Json<Value>,
) -> Response {
    if !authorized(&d, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if let Some(f) = d.fault("google") {
        return f;
    }
    let mut c = d.inner.lock().unwrap();
    let Some(event) = c.google_events.get_mut(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let (Some(e), Some(ch)) = (event.as_object_mut(), changes.as_object()) {
        for (k, v) in ch {
            e.insert(k.clone(), v.clone());
        }
    }
    Json(event.clone()).into_response()
}

async fn delete_event(
    State(d): State<CalendarDoubles>,
    headers: HeaderMap,
    Path((_cal, id)): Path<(String, String)>,
) -> Response {
    if !authorized(&d, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if let Some(f) = d.fault("google") {
        return f;
    }
    let mut c = d.inner.lock().unwrap();
    match c.google_events.get_mut(&id) {
        Some(e) if e["status"] != "cancelled" => {
            e["status"] = json!("cancelled");
            StatusCode::NO_CONTENT.into_response()
        }
        _ => StatusCode::GONE.into_response(),
    }
}

async fn free_busy(
    State(d): State<CalendarDoubles>,
    headers: HeaderMap,
    Json(q): Json<Value>,
) -> Response {
    if !authorized(&d, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if let Some(f) = d.fault("google") {
        return f;
    }
    let c = d.inner.lock().unwrap();
    let mut busy: Vec<Value> = c
        .busy
        .iter()
        .map(|(s, e)| json!({"start": s.to_rfc3339(), "end": e.to_rfc3339()}))
        .collect();
    // Google counts the calendar's own events as busy too.
    for e in c
        .google_events
        .values()
        .filter(|e| e["status"] != "cancelled")
    {
        busy.push(json!({"start": e["start"]["dateTime"], "end": e["end"]["dateTime"]}));
    }
    // One answer per calendar asked about: the test's busy time on the first, none on the rest.
    let mut calendars = serde_json::Map::new();
    for (i, item) in q["items"].as_array().into_iter().flatten().enumerate() {
        let id = item["id"].as_str().unwrap_or("primary").to_owned();
        let times = if i == 0 { busy.clone() } else { vec![] };
        calendars.insert(id, json!({ "busy": times }));
    }
    Json(json!({"kind": "calendar#freeBusy", "timeMin": q["timeMin"], "timeMax": q["timeMax"], "calendars": calendars})).into_response()
}

async fn inspect(State(d): State<CalendarDoubles>) -> Json<Value> {
    let c = d.inner.lock().unwrap();
    Json(json!({
        "google_events": c.google_events,
        "jobber_clients": c.jobber_clients,
        "jobber_requests": c.jobber_requests,
        "jobber_notes": c.jobber_notes,
        "busy": c.busy.iter().map(|(s, e)| json!({"start": s, "end": e})).collect::<Vec<_>>(),
        "token_requests": c.token_requests,
        "requests": c.requests,
    }))
}

async fn reset(State(d): State<CalendarDoubles>) -> StatusCode {
    *d.inner.lock().unwrap() = Calendars::default();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct BusyBlock {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

async fn add_busy(State(d): State<CalendarDoubles>, Json(b): Json<BusyBlock>) -> StatusCode {
    d.inner.lock().unwrap().busy.push((b.start, b.end));
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Fault {
    provider: String,
    status: u16,
    count: u32,
}

async fn add_fault(State(d): State<CalendarDoubles>, Json(f): Json<Fault>) -> StatusCode {
    d.inner
        .lock()
        .unwrap()
        .failing
        .insert(f.provider, (f.status, f.count));
    StatusCode::NO_CONTENT
}
