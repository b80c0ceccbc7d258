//! A Twilio-compatible carrier for development and tests. It answers the same REST calls as
//! Twilio (`Messages.json`, `IncomingPhoneNumbers.json`), keeps every message, posts signed
//! status callbacks, and plays the caller: it rings a number and lets it go unanswered, or
//! texts it, by posting correctly signed webhooks to the URLs registered for that number.
//!
//! The Twilio-shaped routes take HTTP Basic auth with a known account's SID and auth token
//! (20003 otherwise). The control API (JSON), next to them, takes `Authorization: Bearer
//! <admin token>` and answers nobody when the sandbox has no admin token:
//! - `GET  /api/messages?to=&from=`  messages the carrier accepted (newest last)
//! - `DELETE /api/messages`          forget messages, attempts and faults
//! - `GET  /api/stats`               send attempts, including refused ones
//! - `POST /api/calls`  `{from, to, outcome?, press?, voicemail?, call_sid?, deliveries?}`  place a call
//! - `POST /api/sms`    `{from, to, body, message_sid?, deliveries?}`   text a number
//! - `POST /api/faults` `{to?, status, code?, count?, delay_ms?}`       make the next sends fail or stall
//! - `POST /api/lines`  `{number, behaviour?, forward_to?}`  a line outside Twilio (see [`lines`])
//! - `POST /api/lookups` `{number, line_type, sms_pumping_risk?}` what Lookup says (see [`voice`])
//! - `/api/calendars…`  the calendar doubles' control routes
//!
//! Beside the carrier: the Vapi double under `/vapi` (see [`vapi`]), which the carrier's
//! `<Dial><Sip>` reaches.

pub mod auth;
pub mod calendars;
mod control;
pub mod crm;
pub mod geocode;
mod jobber;
pub mod lines;
mod oauth;
pub mod places;
pub mod push;
mod rest;
pub mod slack;
pub mod stripe;
pub mod vapi;
pub mod voice;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
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
    /// Empty while the message is queued, as Twilio leaves it; set when it is sent.
    pub date_sent: Option<String>,
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
    /// Accounts known without a number yet (the platform's, where numbers are bought): SID → auth token.
    accounts: HashMap<String, String>,
    numbers: HashMap<String, NumberConfig>,
    messages: Vec<SandboxMessage>,
    attempts: u64,
    faults: Vec<Fault>,
    /// Lines outside Twilio (a business's own phone) and the calls placed to them.
    lines: HashMap<String, lines::Line>,
    placed_calls: Vec<lines::PlacedCall>,
    /// What Lookup says per number, and how often it was asked.
    lookups: HashMap<String, voice::LineSetup>,
    lookups_made: u64,
    /// Voicemails held until deleted: RecordingSid → media.
    recordings: HashMap<String, voice::Recording>,
    /// Where the sandbox itself is served (recording URLs point here).
    public_base: Option<String>,
}

#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Mutex<Inner>>,
    /// Google Calendar and Jobber doubles, mounted beside the carrier.
    pub calendars: calendars::CalendarDoubles,
    /// The Slack incoming-webhook double.
    pub slack: slack::SlackDouble,
    /// The Stripe double (billing).
    pub stripe: stripe::StripeDouble,
    /// The Web Push service double.
    pub push: push::PushDouble,
    /// The Vapi double (the AI voice agent), reached by `<Dial><Sip>` too.
    pub vapi: vapi::VapiDouble,
    /// The Nominatim double (service-area radii).
    pub geocode: geocode::GeocodeDouble,
    /// The CRM doubles (HubSpot, GoHighLevel, ServiceTitan, Housecall Pro).
    pub crm: crm::CrmDoubles,
    http: reqwest::Client,
    /// Delay before each status callback (sent, then delivered).
    status_delay: Duration,
    /// The bearer the control API takes; without one it answers nobody.
    admin_token: Option<Arc<str>>,
    /// When set, webhooks go only to URLs under this base (the API's built-in sandbox).
    webhook_base: Option<Arc<str>>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
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
            slack: Default::default(),
            stripe: Default::default(),
            push: Default::default(),
            vapi: Default::default(),
            geocode: Default::default(),
            crm: Default::default(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client"),
            status_delay: Duration::from_millis(50),
            admin_token: None,
            webhook_base: None,
        }
    }

    /// The control API answers only a bearer of this token (an empty one opens nothing).
    pub fn with_admin_token(mut self, token: &str) -> Self {
        self.admin_token = (!token.is_empty()).then(|| Arc::from(token));
        self
    }

    /// Posts webhooks only to URLs under `base`: an authenticated account still must not make
    /// the server that hosts the sandbox fetch its internal URLs.
    pub fn with_webhook_base(mut self, base: &str) -> Self {
        self.webhook_base = Some(Arc::from(base.trim_end_matches('/')));
        self.vapi.posts_only_under(base);
        self
    }

    /// Lets an account use the REST API before it has a number (as a Twilio account with none).
    pub fn register_account(&self, account_sid: &str, auth_token: &str) {
        self.inner
            .lock()
            .unwrap()
            .accounts
            .insert(account_sid.to_owned(), auth_token.to_owned());
    }

    /// Whether these are a known account's credentials: registered, or carried by one of its numbers.
    pub fn knows_account(&self, account_sid: &str, auth_token: &str) -> bool {
        let inner = self.inner.lock().unwrap();
        let same = |t: &str| auth::constant_time_eq(t.as_bytes(), auth_token.as_bytes());
        inner
            .accounts
            .get(account_sid)
            .is_some_and(|t| same(t.as_str()))
            || inner
                .numbers
                .values()
                .any(|n| n.account_sid == account_sid && same(n.auth_token.as_str()))
    }

    /// Whether a webhook may be posted to `url` (always, unless a base was set).
    pub fn webhook_allowed(&self, url: &str) -> bool {
        auth::under_base(self.webhook_base.as_deref(), url)
    }

    /// Registers a number as Twilio's console would: its account, and where its webhooks go.
    pub fn register_number(
        &self,
        number: &str,
        account_sid: &str,
        auth_token: &str,
        voice_url: &str,
        sms_url: &str,
    ) {
        let mut inner = self.inner.lock().unwrap();
        // The account is known from now on (the map makes the check quick with thousands of numbers).
        inner
            .accounts
            .entry(account_sid.to_owned())
            .or_insert_with(|| auth_token.to_owned());
        inner.numbers.insert(
            number.to_owned(),
            NumberConfig {
                sid: format!(
                    "PN{}",
                    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, number.as_bytes()).simple()
                ),
                account_sid: account_sid.to_owned(),
                auth_token: auth_token.to_owned(),
                voice_url: voice_url.to_owned(),
                sms_url: sms_url.to_owned(),
            },
        );
    }

    /// Whether `number` is still on one of the sandbox's accounts (not released).
    pub fn has_number(&self, number: &str) -> bool {
        self.inner.lock().unwrap().numbers.contains_key(number)
    }

    pub fn messages(&self) -> Vec<SandboxMessage> {
        self.inner.lock().unwrap().messages.clone()
    }

    /// The messages after the first `offset` (a load generator reads only what is new).
    pub fn messages_since(&self, offset: usize) -> Vec<SandboxMessage> {
        self.inner
            .lock()
            .unwrap()
            .messages
            .iter()
            .skip(offset)
            .cloned()
            .collect()
    }

    pub fn attempts(&self) -> u64 {
        self.inner.lock().unwrap().attempts
    }

    pub fn add_fault(&self, fault: Fault) {
        self.inner.lock().unwrap().faults.push(fault);
    }

    pub fn router(&self) -> Router {
        let control = control::router(self)
            .merge(lines::control_router(self))
            .merge(voice::control_router(self))
            .merge(stripe::control_router(&self.stripe))
            .merge(self.calendars.control_router())
            .merge(self.crm.control_router())
            .route_layer(axum::middleware::from_fn_with_state(
                self.admin_token.clone(),
                auth::require_admin,
            ));
        rest::router(self)
            .merge(lines::router(self))
            .merge(voice::router(self))
            .merge(control)
            .merge(self.calendars.router())
            .merge(self.slack.router())
            .merge(self.stripe.router())
            .merge(self.push.router())
            .merge(self.vapi.router())
            .merge(self.geocode.router())
            .merge(self.crm.router())
            .merge(places::router())
    }

    /// Where the sandbox is served (its REST base): recording URLs in callbacks point here.
    pub fn set_public_base(&self, base: &str) {
        self.inner.lock().unwrap().public_base = Some(base.trim_end_matches('/').to_owned());
    }

    pub(crate) fn public_base(&self) -> String {
        self.inner
            .lock()
            .unwrap()
            .public_base
            .clone()
            .unwrap_or_else(|| "https://api.twilio.com".to_owned())
    }

    fn number(&self, number: &str) -> Option<NumberConfig> {
        self.inner.lock().unwrap().numbers.get(number).cloned()
    }

    /// Posts a form webhook signed the way Twilio signs it; returns (status, body).
    pub async fn post_signed(
        &self,
        url: &str,
        auth_token: &str,
        params: &[(String, String)],
    ) -> Result<(u16, String), String> {
        if !self.webhook_allowed(url) {
            return Err(format!("{url} is not under the sandbox's base URL"));
        }
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

    /// Plays a caller texting `to`.
    pub async fn send_sms_as_caller(&self, req: SmsRequest) -> Result<SmsResult, String> {
        let cfg = self
            .number(&req.to)
            .ok_or_else(|| format!("{} is not a sandbox number", req.to))?;
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
            last = self
                .post_signed(&cfg.sms_url, &cfg.auth_token, &params)
                .await?;
        }
        Ok(SmsResult {
            message_sid: sid,
            status: last.0,
            twiml: last.1,
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
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
    /// The line that forwarded the call here (Twilio's `ForwardedFrom`), if one did.
    #[serde(default)]
    pub forwarded_from: Option<String>,
    /// The key the person answering a screened call presses (`None`: a carrier voicemail or
    /// a decline, which press nothing).
    #[serde(default)]
    pub press: Option<String>,
    /// How long a bridged call lasts (`DialCallDuration`).
    #[serde(default)]
    pub talk_secs: Option<u32>,
    /// What the caller says after the beep, if they are sent to voicemail.
    #[serde(default)]
    pub voicemail: Option<voice::Voicemail>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CallResult {
    pub call_sid: String,
    pub voice_status: u16,
    pub voice_twiml: String,
    pub dial_status: Option<u16>,
    pub dial_twiml: Option<String>,
    /// The voicemail's `RecordingSid`, if one was left.
    #[serde(default)]
    pub recording_sid: Option<String>,
    /// How the AI voice agent's `<Dial><Sip>` ended, when the call went to it.
    #[serde(default)]
    pub agent_status: Option<String>,
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
