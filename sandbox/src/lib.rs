//! A Twilio-compatible carrier for development and tests. It answers the same REST calls as
//! Twilio (`Messages.json`, `IncomingPhoneNumbers.json`), keeps every message, posts signed
//! status callbacks, and plays the caller: it rings a number and lets it go unanswered, or
//! texts it, by posting correctly signed webhooks to the URLs registered for that number.
//!
//! Control API (JSON), next to the Twilio paths:
//! - `GET  /api/messages?to=&from=`  messages the carrier accepted (newest last)
//! - `DELETE /api/messages`          forget messages, attempts and faults
//! - `GET  /api/stats`               send attempts, including refused ones
//! - `POST /api/calls`  `{from, to, outcome?, call_sid?, deliveries?}`  place a call
//! - `POST /api/sms`    `{from, to, body, message_sid?, deliveries?}`   text a number
//! - `POST /api/faults` `{to?, status, code?, count?, delay_ms?}`       make the next sends fail or stall

use std::collections::HashMap;
pub mod calendars;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Clone, Debug)]
struct NumberConfig {
    sid: String,
    account_sid: String,
    auth_token: String,
    voice_url: String,
    sms_url: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct SandboxMessage {
    pub sid: String,
    pub account_sid: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub status: String,
    pub date_created: String,
    /// When the carrier received the send request (µs since the Unix epoch): for benchmarks.
    pub received_unix_us: u128,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Fault {
    /// Only sends to this number; any number when absent.
    #[serde(default)]
    pub to: Option<String>,
    /// HTTP status to answer with (e.g. 503, 429, 400). 200 with `delay_ms` just stalls.
    pub status: u16,
    /// Twilio error code in the body (e.g. 21610).
    #[serde(default)]
    pub code: Option<i64>,
    /// How many sends it applies to.
    #[serde(default = "one")]
    pub count: u32,
    /// Wait this long before answering (a stalled carrier; the message is still accepted).
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}

#[derive(Default)]
struct Inner {
    numbers: HashMap<String, NumberConfig>,
    messages: Vec<SandboxMessage>,
    attempts: u64,
    faults: Vec<Fault>,
}

#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Mutex<Inner>>,
    /// Google Calendar and Jobber doubles, mounted beside the carrier.
    pub calendars: calendars::CalendarDoubles,
    http: reqwest::Client,
    /// Delay before each status callback (sent, then delivered).
    status_delay: Duration,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

fn now_us() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_micros()
}

fn new_sid(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn twilio_error(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16()}))).into_response()
}

impl Sandbox {
    pub fn new() -> Self {
        nmc_twilio::install_tls_provider();
        Self {
            inner: Arc::default(),
            calendars: Default::default(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client"),
            status_delay: Duration::from_millis(50),
        }
    }

    /// Registers a number as Twilio's console would: its account, and where its webhooks go.
    pub fn register_number(&self, number: &str, account_sid: &str, auth_token: &str, voice_url: &str, sms_url: &str) {
        self.inner.lock().unwrap().numbers.insert(
            number.to_owned(),
            NumberConfig {
                sid: format!("PN{}", uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, number.as_bytes()).simple()),
                account_sid: account_sid.to_owned(),
                auth_token: auth_token.to_owned(),
                voice_url: voice_url.to_owned(),
                sms_url: sms_url.to_owned(),
            },
        );
    }

    pub fn messages(&self) -> Vec<SandboxMessage> {
        self.inner.lock().unwrap().messages.clone()
    }

    /// The messages after the first `offset` (a load generator reads only what is new).
    pub fn messages_since(&self, offset: usize) -> Vec<SandboxMessage> {
        self.inner.lock().unwrap().messages.iter().skip(offset).cloned().collect()
    }

    pub fn attempts(&self) -> u64 {
        self.inner.lock().unwrap().attempts
    }

    pub fn add_fault(&self, fault: Fault) {
        self.inner.lock().unwrap().faults.push(fault);
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/2010-04-01/Accounts/{account}/Messages.json", post(send_message).get(list_messages))
            .route("/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json", post(register_number).get(list_incoming))
            .route("/2010-04-01/Accounts/{account}/IncomingPhoneNumbers/{sid}", post(update_incoming))
            .route("/2010-04-01/Accounts/{account}/AvailablePhoneNumbers/US/Local.json", get(available_local))
            .route("/api/messages", get(api_messages).delete(api_reset))
            .route("/api/stats", get(api_stats))
            .route("/api/calls", post(api_call))
            .route("/api/sms", post(api_sms))
            .route("/api/faults", post(api_fault))
            .with_state(self.clone())
            .merge(self.calendars.router())
    }

    fn number(&self, number: &str) -> Option<NumberConfig> {
        self.inner.lock().unwrap().numbers.get(number).cloned()
    }

    /// Posts a form webhook signed the way Twilio signs it; returns (status, body).
    pub async fn post_signed(&self, url: &str, auth_token: &str, params: &[(String, String)]) -> Result<(u16, String), String> {
        let signature = nmc_twilio::signature::sign(auth_token, url, params);
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await.unwrap_or_default()))
    }

    /// Plays a caller ringing `to`: the voice webhook, then (for dial-through numbers) the
    /// `<Dial action>` callback with the given outcome. Returns what each step answered.
    pub async fn place_call(&self, req: CallRequest) -> Result<CallResult, String> {
        let cfg = self.number(&req.to).ok_or_else(|| format!("{} is not a sandbox number", req.to))?;
        let call_sid = req.call_sid.clone().unwrap_or_else(|| new_sid("CA"));
        let base = vec![
            ("AccountSid".to_owned(), cfg.account_sid.clone()),
            ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
            ("CallSid".to_owned(), call_sid.clone()),
            ("Direction".to_owned(), "inbound".to_owned()),
            ("From".to_owned(), req.from.clone()),
            ("To".to_owned(), req.to.clone()),
        ];
        let mut incoming = base.clone();
        incoming.push(("CallStatus".to_owned(), "ringing".to_owned()));
        let mut voice = (0, String::new());
        for _ in 0..req.deliveries.max(1) {
            voice = self.post_signed(&cfg.voice_url, &cfg.auth_token, &incoming).await?;
        }
        let mut dial = None;
        if let Some(action) = dial_action(&voice.1) {
            let outcome = req.outcome.clone().unwrap_or_else(|| "no-answer".to_owned());
            let mut completed = base.clone();
            completed.push(("CallStatus".to_owned(), if outcome == "completed" { "completed" } else { "in-progress" }.to_owned()));
            completed.push(("DialCallStatus".to_owned(), outcome));
            completed.push(("DialCallSid".to_owned(), new_sid("CA")));
            completed.push(("DialCallDuration".to_owned(), "0".to_owned()));
            let mut last = (0, String::new());
            for _ in 0..req.deliveries.max(1) {
                last = self.post_signed(&action, &cfg.auth_token, &completed).await?;
            }
            dial = Some(last);
        }
        Ok(CallResult {
            call_sid,
            voice_status: voice.0,
            voice_twiml: voice.1,
            dial_status: dial.as_ref().map(|d| d.0),
            dial_twiml: dial.map(|d| d.1),
        })
    }

    /// Plays a caller texting `to`.
    pub async fn send_sms_as_caller(&self, req: SmsRequest) -> Result<SmsResult, String> {
        let cfg = self.number(&req.to).ok_or_else(|| format!("{} is not a sandbox number", req.to))?;
        let sid = req.message_sid.clone().unwrap_or_else(|| new_sid("SM"));
        let params = vec![
            ("AccountSid".to_owned(), cfg.account_sid.clone()),
            ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
            ("Body".to_owned(), req.body.clone()),
            ("From".to_owned(), req.from.clone()),
            ("MessageSid".to_owned(), sid.clone()),
            ("NumMedia".to_owned(), "0".to_owned()),
            ("NumSegments".to_owned(), "1".to_owned()),
            ("SmsMessageSid".to_owned(), sid.clone()),
            ("SmsSid".to_owned(), sid.clone()),
            ("SmsStatus".to_owned(), "received".to_owned()),
            ("To".to_owned(), req.to.clone()),
        ];
        let mut last = (0, String::new());
        for _ in 0..req.deliveries.max(1) {
            last = self.post_signed(&cfg.sms_url, &cfg.auth_token, &params).await?;
        }
        Ok(SmsResult { message_sid: sid, status: last.0, twiml: last.1 })
    }
}

/// The `action` URL of a `<Dial>` in a TwiML answer, if there is one.
fn dial_action(twiml: &str) -> Option<String> {
    let dial = &twiml[twiml.find("<Dial")?..];
    let start = dial.find("action=\"")? + "action=\"".len();
    let end = dial[start..].find('"')? + start;
    Some(dial[start..end].replace("&quot;", "\"").replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(value).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

#[derive(Deserialize)]
struct SendForm {
    #[serde(rename = "To")]
    to: String,
    #[serde(rename = "From")]
    from: String,
    #[serde(rename = "Body")]
    body: String,
    #[serde(rename = "StatusCallback")]
    status_callback: Option<String>,
}

async fn send_message(State(sb): State<Sandbox>, Path(account): Path<String>, headers: HeaderMap, Form(f): Form<SendForm>) -> Response {
    let received = now_us();
    let (fault, cfg) = {
        let mut inner = sb.inner.lock().unwrap();
        inner.attempts += 1;
        let idx = inner.faults.iter().position(|x| x.count > 0 && x.to.as_deref().is_none_or(|t| t == f.to));
        let fault = idx.map(|i| {
            inner.faults[i].count -= 1;
            let fault = inner.faults[i].clone();
            if inner.faults[i].count == 0 {
                inner.faults.remove(i);
            }
            fault
        });
        (fault, inner.numbers.get(&f.from).cloned())
    };
    let Some(cfg) = cfg.filter(|c| c.account_sid == account) else {
        return twilio_error(StatusCode::BAD_REQUEST, 21606, "The 'From' phone number provided is not a valid message-capable Twilio phone number for this account.");
    };
    if basic_auth(&headers) != Some((cfg.account_sid.clone(), cfg.auth_token.clone())) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    if f.body.chars().count() > 1600 {
        return twilio_error(StatusCode::BAD_REQUEST, 21617, "The concatenated message body exceeds the 1600 character limit.");
    }
    if let Some(fault) = &fault {
        if fault.delay_ms > 0 {
            // A stalled carrier: the message is accepted now, the answer comes late.
            let msg = sb.accept(&account, &f, received);
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
            if fault.status < 300 {
                sb.spawn_status_callbacks(&cfg, &msg, f.status_callback.clone());
                return (StatusCode::CREATED, Json(message_json(&msg))).into_response();
            }
        }
        if fault.status >= 300 {
            let code = fault.code.unwrap_or(fault.status as i64);
            let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return twilio_error(status, code, "sandbox fault");
        }
    }
    let msg = sb.accept(&account, &f, received);
    sb.spawn_status_callbacks(&cfg, &msg, f.status_callback);
    (StatusCode::CREATED, Json(message_json(&msg))).into_response()
}

impl Sandbox {
    fn accept(&self, account: &str, f: &SendForm, received: u128) -> SandboxMessage {
        let msg = SandboxMessage {
            sid: new_sid("SM"),
            account_sid: account.to_owned(),
            from: f.from.clone(),
            to: f.to.clone(),
            body: f.body.clone(),
            status: "queued".to_owned(),
            date_created: chrono::Utc::now().to_rfc2822(),
            received_unix_us: received,
        };
        self.inner.lock().unwrap().messages.push(msg.clone());
        msg
    }

    fn spawn_status_callbacks(&self, cfg: &NumberConfig, msg: &SandboxMessage, url: Option<String>) {
        let Some(url) = url else { return };
        let (sb, token, msg) = (self.clone(), cfg.auth_token.clone(), msg.clone());
        tokio::spawn(async move {
            for status in ["sent", "delivered"] {
                tokio::time::sleep(sb.status_delay).await;
                if let Some(m) = sb.inner.lock().unwrap().messages.iter_mut().find(|m| m.sid == msg.sid) {
                    m.status = status.to_owned();
                }
                let params = vec![
                    ("AccountSid".to_owned(), msg.account_sid.clone()),
                    ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
                    ("From".to_owned(), msg.from.clone()),
                    ("MessageSid".to_owned(), msg.sid.clone()),
                    ("MessageStatus".to_owned(), status.to_owned()),
                    ("SmsSid".to_owned(), msg.sid.clone()),
                    ("SmsStatus".to_owned(), status.to_owned()),
                    ("To".to_owned(), msg.to.clone()),
                ];
                let _ = sb.post_signed(&url, &token, &params).await;
            }
        });
    }
}

fn message_json(m: &SandboxMessage) -> serde_json::Value {
    json!({
        "sid": m.sid, "account_sid": m.account_sid, "to": m.to, "from": m.from, "body": m.body,
        "status": m.status, "num_segments": "1", "error_code": null, "error_message": null,
        "date_created": m.date_created, "direction": "outbound-api", "api_version": "2010-04-01",
    })
}

async fn list_messages(State(sb): State<Sandbox>, Path(account): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    let since = q.get("DateSent>").cloned().unwrap_or_default();
    let list: Vec<_> = sb
        .messages()
        .into_iter()
        .filter(|m| m.account_sid == account)
        .filter(|m| q.get("To").is_none_or(|t| *t == m.to) && q.get("From").is_none_or(|f| *f == m.from))
        .filter(|m| {
            since.is_empty()
                || chrono::DateTime::parse_from_rfc2822(&m.date_created).is_ok_and(|d| d.format("%Y-%m-%d").to_string() >= since)
        })
        .map(|m| message_json(&m))
        .collect();
    Json(json!({"messages": list, "page": 0, "page_size": 50})).into_response()
}

#[derive(Deserialize)]
struct NumberForm {
    #[serde(rename = "PhoneNumber")]
    phone_number: String,
    #[serde(rename = "VoiceUrl")]
    voice_url: String,
    #[serde(rename = "SmsUrl")]
    sms_url: String,
}

async fn register_number(State(sb): State<Sandbox>, Path(account): Path<String>, headers: HeaderMap, Form(f): Form<NumberForm>) -> Response {
    let Some((user, token)) = basic_auth(&headers).filter(|(u, _)| *u == account) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    if sb.number(&f.phone_number).is_some_and(|n| n.account_sid != user) {
        return twilio_error(StatusCode::BAD_REQUEST, 21422, "Phone number is not available");
    }
    sb.register_number(&f.phone_number, &user, &token, &f.voice_url, &f.sms_url);
    let sid = sb.number(&f.phone_number).map(|n| n.sid).unwrap_or_default();
    (StatusCode::CREATED, Json(json!({"sid": sid, "phone_number": f.phone_number, "voice_url": f.voice_url, "sms_url": f.sms_url}))).into_response()
}

/// Numbers for sale in an area code: the sandbox makes them up (555-01xx, never real), minus
/// the ones already taken.
async fn available_local(State(sb): State<Sandbox>, Path(account): Path<String>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    if basic_auth(&headers).filter(|(u, _)| *u == account).is_none() {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let area = q.get("AreaCode").cloned().unwrap_or_else(|| "512".into());
    if area.len() != 3 || !area.chars().all(|c| c.is_ascii_digit()) {
        return twilio_error(StatusCode::BAD_REQUEST, 21452, "AreaCode is invalid");
    }
    let taken = sb.inner.lock().unwrap().numbers.keys().cloned().collect::<std::collections::HashSet<_>>();
    let numbers: Vec<serde_json::Value> = (100..120)
        .map(|n| format!("+1{area}555{n:04}"))
        .filter(|n| !taken.contains(n))
        .take(10)
        .map(|n| json!({"phone_number": n, "friendly_name": format!("({}) 555-{}", &n[2..5], &n[8..]), "locality": "Sandbox", "region": "TX"}))
        .collect();
    Json(json!({"available_phone_numbers": numbers})).into_response()
}

async fn list_incoming(State(sb): State<Sandbox>, Path(account): Path<String>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some((user, token)) = basic_auth(&headers).filter(|(u, _)| *u == account) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    let inner = sb.inner.lock().unwrap();
    let list: Vec<serde_json::Value> = inner
        .numbers
        .iter()
        .filter(|(n, c)| c.account_sid == user && c.auth_token == token && q.get("PhoneNumber").is_none_or(|p| p == *n))
        .map(|(n, c)| json!({"sid": c.sid, "phone_number": n, "voice_url": c.voice_url, "sms_url": c.sms_url}))
        .collect();
    Json(json!({"incoming_phone_numbers": list})).into_response()
}

#[derive(Deserialize)]
struct UpdateForm {
    #[serde(rename = "VoiceUrl")]
    voice_url: Option<String>,
    #[serde(rename = "SmsUrl")]
    sms_url: Option<String>,
}

async fn update_incoming(State(sb): State<Sandbox>, Path((account, sid)): Path<(String, String)>, headers: HeaderMap, Form(f): Form<UpdateForm>) -> Response {
    let Some((user, _)) = basic_auth(&headers).filter(|(u, _)| *u == account) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    let sid = sid.trim_end_matches(".json").to_owned();
    let mut inner = sb.inner.lock().unwrap();
    let Some((number, c)) = inner.numbers.iter_mut().find(|(_, c)| c.sid == sid && c.account_sid == user) else {
        return twilio_error(StatusCode::NOT_FOUND, 20404, "The requested resource was not found");
    };
    if let Some(v) = f.voice_url {
        c.voice_url = v;
    }
    if let Some(v) = f.sms_url {
        c.sms_url = v;
    }
    Json(json!({"sid": c.sid, "phone_number": number, "voice_url": c.voice_url, "sms_url": c.sms_url})).into_response()
}

async fn api_messages(State(sb): State<Sandbox>, Query(q): Query<HashMap<String, String>>) -> Json<Vec<SandboxMessage>> {
    Json(
        sb.messages()
            .into_iter()
            .filter(|m| q.get("to").is_none_or(|t| *t == m.to) && q.get("from").is_none_or(|f| *f == m.from))
            .collect(),
    )
}

async fn api_reset(State(sb): State<Sandbox>) -> StatusCode {
    let mut inner = sb.inner.lock().unwrap();
    inner.messages.clear();
    inner.faults.clear();
    inner.attempts = 0;
    StatusCode::NO_CONTENT
}

async fn api_stats(State(sb): State<Sandbox>) -> Json<serde_json::Value> {
    let inner = sb.inner.lock().unwrap();
    Json(json!({"attempts": inner.attempts, "messages": inner.messages.len(), "numbers": inner.numbers.len()}))
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CallRequest {
    pub from: String,
    pub to: String,
    /// The `DialCallStatus` to report: no-answer (default), busy, failed, canceled, completed.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub call_sid: Option<String>,
    /// Deliver each webhook this many times, as a retrying carrier would.
    #[serde(default = "one")]
    pub deliveries: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CallResult {
    pub call_sid: String,
    pub voice_status: u16,
    pub voice_twiml: String,
    pub dial_status: Option<u16>,
    pub dial_twiml: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SmsRequest {
    pub from: String,
    pub to: String,
    pub body: String,
    #[serde(default)]
    pub message_sid: Option<String>,
    #[serde(default = "one")]
    pub deliveries: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SmsResult {
    pub message_sid: String,
    pub status: u16,
    pub twiml: String,
}

async fn api_call(State(sb): State<Sandbox>, Json(req): Json<CallRequest>) -> Response {
    match sb.place_call(req).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn api_sms(State(sb): State<Sandbox>, Json(req): Json<SmsRequest>) -> Response {
    match sb.send_sms_as_caller(req).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response(),
    }
}

async fn api_fault(State(sb): State<Sandbox>, Json(f): Json<Fault>) -> StatusCode {
    sb.add_fault(f);
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_dial_action() {
        let t = r#"<?xml version="1.0"?><Response><Dial timeout="20" action="https://x.example/cb?a=1&amp;b=2" method="POST">+1</Dial></Response>"#;
        assert_eq!(super::dial_action(t).as_deref(), Some("https://x.example/cb?a=1&b=2"));
        assert_eq!(super::dial_action("<Response><Say>hi</Say></Response>"), None);
    }
}
