//! A Slack incoming-webhook double, as Slack documents them ("Sending messages using incoming
//! webhooks", api.slack.com/messaging/webhooks): `POST /slack/services/T…/B…/…` with a JSON
//! body holding `text` (or `blocks`) answers `200 ok` in plain text; a bad body is
//! `400 invalid_payload`, a removed webhook `404 no_service`, an archived channel
//! `410 channel_is_archived`, and more than one message a second `429` with `Retry-After`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

#[derive(Default)]
struct Inner {
    /// (webhook path, body) of every message taken.
    posts: Vec<(String, Value)>,
    /// Paths answering 404 `no_service` (the owner removed the app).
    removed: Vec<String>,
    /// How many of the next posts answer 429.
    rate_limited: u32,
}

#[derive(Clone, Default)]
pub struct SlackDouble {
    inner: Arc<Mutex<Inner>>,
}

impl SlackDouble {
    pub fn router(&self) -> Router {
        Router::new()
            .route("/slack/services/{team}/{bot}/{secret}", post(incoming))
            .with_state(self.clone())
    }

    /// Every message taken so far: (`T…/B…/…`, JSON body).
    pub fn posts(&self) -> Vec<(String, Value)> {
        self.inner.lock().unwrap().posts.clone()
    }

    /// The webhook at `T…/B…/…` answers 404 `no_service` from now on.
    pub fn remove(&self, path: &str) {
        self.inner.lock().unwrap().removed.push(path.to_owned());
    }

    /// The next `n` posts answer 429 with `Retry-After: 1`.
    pub fn rate_limit(&self, n: u32) {
        self.inner.lock().unwrap().rate_limited = n;
    }
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

async fn incoming(
    State(slack): State<SlackDouble>,
    Path((team, bot, secret)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("{team}/{bot}/{secret}");
    let mut inner = slack.inner.lock().unwrap();
    if inner.removed.contains(&path) {
        return text(StatusCode::NOT_FOUND, "no_service");
    }
    if inner.rate_limited > 0 {
        inner.rate_limited -= 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "rate_limited",
        )
            .into_response();
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let payload: Option<Value> = serde_json::from_slice(&body).ok();
    let has_text = payload.as_ref().is_some_and(|p| {
        p.get("text")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.trim().is_empty())
            || p.get("blocks").is_some_and(Value::is_array)
    });
    match payload {
        Some(p) if json_type && has_text => {
            inner.posts.push((path, p));
            text(StatusCode::OK, "ok")
        }
        _ => text(StatusCode::BAD_REQUEST, "invalid_payload"),
    }
}
