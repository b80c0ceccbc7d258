//! Peers the tests talk to over real HTTP: an OpenAI-compatible model server, and a
//! server-sent-events client for the owner's live feed.

use std::time::Duration;

use serde_json::{Value, json};

/// A local OpenAI-compatible server speaking the real chat-completions HTTP, for the LLM engine.
#[derive(Clone, Default)]
pub struct LlmDouble {
    /// ok | error500 | hang | garbage
    pub mode: std::sync::Arc<std::sync::Mutex<String>>,
    /// The JSON content an `ok` answer carries.
    pub content: std::sync::Arc<std::sync::Mutex<Value>>,
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    /// What `/v1/audio/transcriptions` hears (its multipart bodies are kept in `uploads`).
    pub heard: std::sync::Arc<std::sync::Mutex<String>>,
    pub uploads: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl LlmDouble {
    /// Starts it; returns the base URL to give as OPENAI_BASE_URL.
    pub async fn start(&self) -> String {
        use axum::routing::post;
        let me = self.clone();
        let listener = self.clone();
        let router = axum::Router::new().route(
            "/v1/audio/transcriptions",
            post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let me = listener.clone();
                    async move { me.transcribe(&headers, body.to_vec()) }
                },
            ),
        );
        let router = router.route(
            "/v1/chat/completions",
            post(move |axum::Json(body): axum::Json<Value>| {
                let me = me.clone();
                async move {
                    me.requests.lock().unwrap().push(body);
                    let mode = me.mode.lock().unwrap().clone();
                    match mode.as_str() {
                        "error500" => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"error": {"message": "boom", "type": "server_error", "param": null, "code": null}}))),
                        "hang" => {
                            tokio::time::sleep(Duration::from_mins(1)).await;
                            (axum::http::StatusCode::OK, axum::Json(json!({})))
                        }
                        other => {
                            let content = if other == "garbage" { "this is not json".to_owned() } else { me.content.lock().unwrap().to_string() };
                            (axum::http::StatusCode::OK, axum::Json(json!({
                                "id": "chatcmpl-test", "object": "chat.completion", "created": 1, "model": "test-model",
                                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                            })))
                        }
                    }
                }
            }),
        );
        format!("{}/v1", crate::serve(router).await)
    }

    /// OpenAI's `createTranscription`: a multipart body with `file` and `model`; `{"text"}`
    /// back. Mode `error400` refuses the file for good, `error500` fails for now.
    fn transcribe(
        &self,
        headers: &axum::http::HeaderMap,
        body: Vec<u8>,
    ) -> (axum::http::StatusCode, axum::Json<Value>) {
        use axum::http::StatusCode;
        let multipart = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data; boundary="));
        let text = String::from_utf8_lossy(&body).to_string();
        let parts = text.contains("name=\"file\"") && text.contains("name=\"model\"");
        self.uploads.lock().unwrap().push(body);
        let error = |status: StatusCode, message: &str| {
            (
                status,
                axum::Json(
                    json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}}),
                ),
            )
        };
        if !multipart || !parts {
            return error(StatusCode::BAD_REQUEST, "expected multipart file and model");
        }
        match self.mode.lock().unwrap().as_str() {
            "error400" => error(StatusCode::BAD_REQUEST, "Invalid file format."),
            "error500" => error(StatusCode::INTERNAL_SERVER_ERROR, "boom"),
            _ => (
                StatusCode::OK,
                axum::Json(json!({"text": self.heard.lock().unwrap().clone()})),
            ),
        }
    }
}

/// A server-sent events client for the owner feed: events as (id, kind, data).
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

#[derive(Debug, Clone)]
pub struct FeedEvent {
    pub id: i64,
    pub kind: String,
    pub data: Value,
}

impl EventStream {
    pub async fn connect(
        http: &reqwest::Client,
        api: &str,
        token: &str,
        last_event_id: Option<i64>,
    ) -> Self {
        let mut req = http.get(format!("{api}/api/events")).bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event, or `None` if none arrives within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<FeedEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        v.trim().clone_into(&mut kind);
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if let Some(id) = id {
                    return Some(FeedEvent {
                        id,
                        kind,
                        data: serde_json::from_str(&data).unwrap_or(Value::Null),
                    });
                }
            }
            let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// Whether the server closes the stream within `timeout` without sending another event
    /// (keep-alive comments aside).
    pub async fn ends_within(&mut self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.buffer.lines().any(|l| l.starts_with("id:")) {
                return false;
            }
            let Some(left) = deadline.checked_duration_since(tokio::time::Instant::now()) else {
                return false;
            };
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None) | Err(_)) => return !self.buffer.lines().any(|l| l.starts_with("id:")),
                Err(_) => return false,
            }
        }
    }

    /// Events until one of `kind` arrives (returned last), within `timeout`.
    pub async fn until(&mut self, kind: &str, timeout: Duration) -> Vec<FeedEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = vec![];
        while let Some(left) = deadline.checked_duration_since(tokio::time::Instant::now()) {
            match self.next(left).await {
                Some(e) => {
                    let done = e.kind == kind;
                    seen.push(e);
                    if done {
                        return seen;
                    }
                }
                None => break,
            }
        }
        panic!(
            "no `{kind}` event within {timeout:?}; saw {:?}",
            seen.iter().map(|e| &e.kind).collect::<Vec<_>>()
        );
    }
}

/// Where the calendar adapters (API and worker) find the sandbox's Google and Jobber doubles
/// and the OAuth clients they connect as, and where the worker finds the geocoder double.
pub fn vendor_env(sandbox_url: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "GOOGLE_CALENDAR_API_BASE",
            format!("{sandbox_url}/google/calendar/v3"),
        ),
        (
            "GOOGLE_OAUTH_AUTHORIZE_URL",
            format!("{sandbox_url}/google/authorize"),
        ),
        (
            "GOOGLE_OAUTH_TOKEN_URL",
            format!("{sandbox_url}/google/token"),
        ),
        (
            "GOOGLE_OAUTH_REVOKE_URL",
            format!("{sandbox_url}/google/revoke"),
        ),
        (
            "GOOGLE_CLIENT_ID",
            "nmc-test.apps.googleusercontent.com".into(),
        ),
        ("GOOGLE_CLIENT_SECRET", "google-test-secret".into()),
        ("JOBBER_API_BASE", format!("{sandbox_url}/jobber")),
        (
            "JOBBER_OAUTH_AUTHORIZE_URL",
            format!("{sandbox_url}/jobber/oauth/authorize"),
        ),
        (
            "JOBBER_OAUTH_TOKEN_URL",
            format!("{sandbox_url}/jobber/oauth/token"),
        ),
        ("JOBBER_CLIENT_ID", "nmc-test-jobber".into()),
        ("NMC_GEOCODER_URL", format!("{sandbox_url}/geocode")),
        ("JOBBER_CLIENT_SECRET", "jobber-test-secret".into()),
        ("HUBSPOT_API_BASE", format!("{sandbox_url}/hubspot")),
        ("GOHIGHLEVEL_API_BASE", format!("{sandbox_url}/gohighlevel")),
        (
            "SERVICETITAN_API_BASE",
            format!("{sandbox_url}/servicetitan"),
        ),
        (
            "SERVICETITAN_AUTH_URL",
            format!("{sandbox_url}/servicetitan/connect/token"),
        ),
        ("HOUSECALLPRO_API_BASE", format!("{sandbox_url}/housecall")),
        (
            "HUBSPOT_OAUTH_AUTHORIZE_URL",
            format!("{sandbox_url}/hubspot/oauth/authorize"),
        ),
        (
            "HUBSPOT_OAUTH_TOKEN_URL",
            format!("{sandbox_url}/hubspot/oauth/v1/token"),
        ),
        ("HUBSPOT_CLIENT_ID", "nmc-test-hubspot".into()),
        ("HUBSPOT_CLIENT_SECRET", "hubspot-test-secret".into()),
        (
            "GOHIGHLEVEL_OAUTH_AUTHORIZE_URL",
            format!("{sandbox_url}/gohighlevel/oauth/chooselocation"),
        ),
        (
            "GOHIGHLEVEL_OAUTH_TOKEN_URL",
            format!("{sandbox_url}/gohighlevel/oauth/token"),
        ),
        ("GOHIGHLEVEL_CLIENT_ID", "nmc-test-ghl".into()),
        ("GOHIGHLEVEL_CLIENT_SECRET", "ghl-test-secret".into()),
    ]
}
