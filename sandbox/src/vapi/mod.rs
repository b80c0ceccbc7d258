//! A Vapi double (docs/research/vapi.md): the REST API our adapter uses, under `/vapi`, with
//! Vapi's awkward parts — Bearer keys (401 in NestJS's shape), the 400 "property … should not
//! exist" for fields Vapi dropped, 404s, 429 with `Retry-After` on demand, and a voice library
//! that is not in the published spec. The carrier's `<Dial><Sip>` to one of its SIP numbers
//! reaches [`VapiDouble::take_call`] (`caller.rs`), which plays a scripted caller.
//!
//! - `GET /vapi/assistant`, `POST /vapi/assistant` (201), `GET|PATCH|DELETE /vapi/assistant/{id}`
//! - `POST /vapi/phone-number` (201, `provider: vapi` SIP numbers), `DELETE /vapi/phone-number/{id}`
//! - `GET /vapi/voice-library/vapi` (voices with `previewUrl`), `GET /vapi/samples/{name}.wav`

mod caller;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub use caller::{AgentScript, ScriptedTool, ToolAnswer};

/// The key the built-in sandbox's Vapi account takes (`scripts/dev`; loopback only, like the
/// carrier's built-in account).
pub const DEV_KEY: &str = "vapi-sandbox-private-key";

/// Fields Vapi removed from its assistant: it rejects them since.
const GONE: [&str; 6] = [
    "serverUrl",
    "serverUrlSecret",
    "recordingEnabled",
    "endCallFunctionEnabled",
    "silenceTimeoutSeconds",
    "summaryPrompt",
];

#[derive(Default)]
struct Inner {
    keys: Vec<String>,
    /// id → (the key's account, the assistant as Vapi returns it).
    assistants: HashMap<String, (String, Value)>,
    /// id → the phone number.
    numbers: HashMap<String, (String, Value)>,
    /// The next requests answered 429.
    rate_limited: u32,
    /// The whole service unreachable: REST 503, SIP calls fail.
    down: bool,
    script: Option<AgentScript>,
    /// Server URLs must be under this (the API's built-in sandbox): see `Sandbox::with_webhook_base`.
    webhook_base: Option<String>,
    /// What the agent's tools answered on the calls played so far.
    answers: Vec<ToolAnswer>,
    reports_sent: u32,
}

#[derive(Clone)]
pub struct VapiDouble {
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
}

impl Default for VapiDouble {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            // Never following a redirect: the base check covers the URL it was given only.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(25))
                .build()
                .expect("a client"),
        }
    }
}

/// A refusal in NestJS's shape (`{"message", "error", "statusCode"}`), as Vapi answers; a 429
/// carries `Retry-After`.
struct Refusal {
    status: StatusCode,
    message: Value,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let reason = self.status.canonical_reason().unwrap_or("Error");
        let body =
            json!({"message": self.message, "error": reason, "statusCode": self.status.as_u16()});
        let mut r = (self.status, Json(body)).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        r
    }
}

fn nest_error(status: StatusCode, message: Value) -> Refusal {
    Refusal { status, message }
}

impl VapiDouble {
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/vapi/assistant",
                get(list_assistants).post(create_assistant),
            )
            .route(
                "/vapi/assistant/{id}",
                get(get_assistant)
                    .patch(update_assistant)
                    .delete(delete_assistant),
            )
            .route("/vapi/phone-number", post(create_number))
            .route("/vapi/phone-number/{id}", delete(delete_number))
            .route("/vapi/voice-library/vapi", get(voice_library))
            .route("/vapi/samples/{file}", get(sample))
            .with_state(self.clone())
    }

    /// Posts to assistants' server URLs only under `base`.
    pub fn posts_only_under(&self, base: &str) {
        self.inner.lock().unwrap().webhook_base = Some(base.trim_end_matches('/').to_owned());
    }

    pub(crate) fn may_post(&self, url: &str) -> bool {
        crate::auth::under_base(self.inner.lock().unwrap().webhook_base.as_deref(), url)
    }

    /// A private key this double accepts (an account).
    pub fn add_key(&self, key: &str) {
        self.inner.lock().unwrap().keys.push(key.to_owned());
    }

    /// The next `n` requests get 429 with `Retry-After: 1`.
    pub fn rate_limit(&self, n: u32) {
        self.inner.lock().unwrap().rate_limited = n;
    }

    /// Vapi unreachable (or back): REST answers 503 and SIP calls to it fail.
    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }

    /// How the next call the agent takes goes.
    pub fn script(&self, script: AgentScript) {
        self.inner.lock().unwrap().script = Some(script);
    }

    /// The assistants as Vapi holds them.
    pub fn assistants(&self) -> Vec<Value> {
        let inner = self.inner.lock().unwrap();
        inner.assistants.values().map(|(_, a)| a.clone()).collect()
    }

    pub fn phone_numbers(&self) -> Vec<Value> {
        let inner = self.inner.lock().unwrap();
        inner.numbers.values().map(|(_, n)| n.clone()).collect()
    }

    /// What our server answered to each tool call, oldest first.
    pub fn tool_answers(&self) -> Vec<ToolAnswer> {
        self.inner.lock().unwrap().answers.clone()
    }

    pub fn reports_sent(&self) -> u32 {
        self.inner.lock().unwrap().reports_sent
    }

    /// Bearer check, rate limit and outage, as Vapi answers them; the account's key on success.
    fn admit(&self, headers: &HeaderMap) -> Result<String, Refusal> {
        let mut inner = self.inner.lock().unwrap();
        if inner.down {
            return Err(nest_error(
                StatusCode::SERVICE_UNAVAILABLE,
                json!("Service Unavailable"),
            ));
        }
        if inner.rate_limited > 0 {
            inner.rate_limited -= 1;
            return Err(nest_error(
                StatusCode::TOO_MANY_REQUESTS,
                json!("Too Many Requests"),
            ));
        }
        let key = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|k| inner.keys.iter().any(|known| known == k));
        key.map(str::to_owned).ok_or_else(|| {
            nest_error(
                StatusCode::UNAUTHORIZED,
                json!("Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa."),
            )
        })
    }
}

/// NestJS's whitelist: a field Vapi dropped is a 400 naming it.
fn refuse_gone(body: &Value) -> Option<Refusal> {
    let mut wrong: Vec<String> = GONE
        .iter()
        .filter(|f| body.get(**f).is_some())
        .map(|f| format!("property {f} should not exist"))
        .collect();
    if body["server"].get("secret").is_some() {
        wrong.push("server.property secret should not exist".into());
    }
    if body["name"]
        .as_str()
        .is_some_and(|n| n.chars().count() > 40)
    {
        wrong.push("name must be shorter than or equal to 40 characters".into());
    }
    (!wrong.is_empty()).then(|| nest_error(StatusCode::BAD_REQUEST, json!(wrong)))
}

fn stamp(mut v: Value, id: &str, created: Option<&Value>) -> Value {
    let now = chrono::Utc::now().to_rfc3339();
    v["id"] = json!(id);
    v["orgId"] = json!("org-sandbox");
    v["createdAt"] = created.cloned().unwrap_or_else(|| json!(now));
    v["updatedAt"] = json!(now);
    v
}

async fn list_assistants(State(d): State<VapiDouble>, headers: HeaderMap) -> Response {
    let key = match d.admit(&headers) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let inner = d.inner.lock().unwrap();
    let mine: Vec<Value> = inner
        .assistants
        .values()
        .filter(|(k, _)| *k == key)
        .map(|(_, a)| a.clone())
        .collect();
    Json(mine).into_response()
}

async fn create_assistant(
    State(d): State<VapiDouble>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let key = match d.admit(&headers) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    if let Some(r) = refuse_gone(&body) {
        return r.into_response();
    }
    let id = uuid::Uuid::new_v4().to_string();
    let made = stamp(body, &id, None);
    d.inner
        .lock()
        .unwrap()
        .assistants
        .insert(id, (key, made.clone()));
    (StatusCode::CREATED, Json(made)).into_response()
}

/// The account's own assistant, or Vapi's 404.
fn owned(d: &VapiDouble, key: &str, id: &str) -> Result<Value, Refusal> {
    let inner = d.inner.lock().unwrap();
    match inner.assistants.get(id) {
        Some((k, a)) if k == key => Ok(a.clone()),
        _ => Err(nest_error(
            StatusCode::NOT_FOUND,
            json!("Couldn't Get Assistant. Assistant Not Found."),
        )),
    }
}

async fn get_assistant(
    State(d): State<VapiDouble>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match d.admit(&headers).and_then(|key| owned(&d, &key, &id)) {
        Ok(a) => Json(a).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn update_assistant(
    State(d): State<VapiDouble>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let key = match d.admit(&headers) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let mut was = match owned(&d, &key, &id) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    if let Some(r) = refuse_gone(&body) {
        return r.into_response();
    }
    if let (Some(w), Some(changes)) = (was.as_object_mut(), body.as_object()) {
        for (k, v) in changes {
            w.insert(k.clone(), v.clone());
        }
    }
    let created = was["createdAt"].clone();
    let updated = stamp(was, &id, Some(&created));
    d.inner
        .lock()
        .unwrap()
        .assistants
        .insert(id, (key, updated.clone()));
    Json(updated).into_response()
}

async fn delete_assistant(
    State(d): State<VapiDouble>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let gone = d
        .admit(&headers)
        .and_then(|key| owned(&d, &key, &id))
        .inspect(|_| {
            d.inner.lock().unwrap().assistants.remove(&id);
        });
    match gone {
        Ok(a) => Json(a).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn create_number(
    State(d): State<VapiDouble>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let key = match d.admit(&headers) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let uri = body["sipUri"].as_str().unwrap_or_default().to_owned();
    let well_formed = uri
        .strip_prefix("sip:")
        .and_then(|rest| rest.split_once('@'))
        .is_some_and(|(user, host)| !user.is_empty() && host.ends_with("vapi.ai"));
    if body["provider"] != "vapi" || !well_formed {
        return nest_error(
            StatusCode::BAD_REQUEST,
            json!(["sipUri must be a valid SIP URI (sip:username@sip.vapi.ai)"]),
        )
        .into_response();
    }
    let assistant = body["assistantId"].as_str().unwrap_or_default();
    if let Err(r) = owned(&d, &key, assistant) {
        return r.into_response();
    }
    let mut inner = d.inner.lock().unwrap();
    if inner.numbers.values().any(|(_, n)| n["sipUri"] == uri) {
        return nest_error(StatusCode::BAD_REQUEST, json!("sipUri is already in use"))
            .into_response();
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut made = stamp(body, &id, None);
    made["status"] = json!("active");
    inner.numbers.insert(id, (key, made.clone()));
    (StatusCode::CREATED, Json(made)).into_response()
}

async fn delete_number(
    State(d): State<VapiDouble>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let key = match d.admit(&headers) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let mut inner = d.inner.lock().unwrap();
    match inner.numbers.get(&id) {
        Some((k, _)) if *k == key => {
            let (_, n) = inner.numbers.remove(&id).unwrap_or_default();
            Json(n).into_response()
        }
        _ => nest_error(StatusCode::NOT_FOUND, json!("Phone Number Not Found")).into_response(),
    }
}

async fn voice_library(State(d): State<VapiDouble>, headers: HeaderMap) -> Response {
    if let Err(r) = d.admit(&headers) {
        return r.into_response();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let voices: Vec<Value> = ["Elliot", "Savannah", "Emma", "Clara", "Nico", "Kai"]
        .iter()
        .map(|name| {
            json!({"provider": "vapi", "providerId": name, "name": name, "gender": "female",
                   "previewUrl": format!("http://{host}/vapi/samples/{}.wav", name.to_lowercase())})
        })
        .collect();
    Json(voices).into_response()
}

/// A short silent WAV standing in for a voice's sample.
async fn sample(Path(file): Path<String>) -> Response {
    if !std::path::Path::new(&file)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    ([(header::CONTENT_TYPE, "audio/wav")], silent_wav(8000)).into_response()
}

/// `samples` of 16-bit mono silence at 8 kHz, as a RIFF/WAVE file.
fn silent_wav(samples: u32) -> Vec<u8> {
    let data = samples * 2;
    let mut w = Vec::with_capacity(44 + data as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&16000u32.to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data.to_le_bytes());
    w.resize(44 + data as usize, 0);
    w
}
