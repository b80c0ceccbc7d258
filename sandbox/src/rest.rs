//! The Twilio-shaped REST API (`/2010-04-01/Accounts/{account}/...`): sends, the message list,
//! numbers for sale, and the account's incoming numbers. Every route takes HTTP Basic auth with
//! a known account's SID and auth token ([`crate::auth::require_account`]), as Twilio does.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{basic_auth, require_account};
use crate::{NumberConfig, Sandbox, SandboxMessage, new_sid, now_us, twilio_error};

pub(crate) fn router(sb: &Sandbox) -> Router {
    Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            post(send_message).get(list_messages),
        )
        .route(
            "/2010-04-01/Accounts/{account}/IncomingPhoneNumbers.json",
            post(register_number).get(list_incoming),
        )
        .route(
            "/2010-04-01/Accounts/{account}/IncomingPhoneNumbers/{sid}",
            post(update_incoming).delete(release_incoming),
        )
        .route(
            "/2010-04-01/Accounts/{account}/AvailablePhoneNumbers/US/Local.json",
            get(available_local),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            sb.clone(),
            require_account,
        ))
        .with_state(sb.clone())
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

async fn send_message(
    State(sb): State<Sandbox>,
    Path(account): Path<String>,
    Form(f): Form<SendForm>,
) -> Response {
    let received = now_us();
    let (fault, cfg) = sb.take_fault(&f.to, &f.from);
    let Some(cfg) = cfg.filter(|c| c.account_sid == account) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21606,
            "The 'From' phone number provided is not a valid message-capable Twilio phone number for this account.",
        );
    };
    if f.status_callback
        .as_deref()
        .is_some_and(|u| !sb.webhook_allowed(u))
    {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21609,
            "Invalid StatusCallback url: not under this sandbox's base URL",
        );
    }
    if f.body.chars().count() > 1600 {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
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
            let code = fault.code.unwrap_or(i64::from(fault.status));
            let status =
                StatusCode::from_u16(fault.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            return twilio_error(status, code, "sandbox fault");
        }
    }
    let msg = sb.accept(&account, &f, received);
    sb.spawn_status_callbacks(&cfg, &msg, f.status_callback);
    (StatusCode::CREATED, Json(message_json(&msg))).into_response()
}

impl Sandbox {
    /// Counts the attempt and consumes the first armed fault for `to`; returns it with the
    /// sending number's configuration.
    fn take_fault(&self, to: &str, from: &str) -> (Option<crate::Fault>, Option<NumberConfig>) {
        let mut inner = self.inner.lock().unwrap();
        inner.attempts += 1;
        let idx = inner
            .faults
            .iter()
            .position(|x| x.count > 0 && x.to.as_deref().is_none_or(|t| t == to));
        let fault = idx.map(|i| {
            inner.faults[i].count -= 1;
            let fault = inner.faults[i].clone();
            if inner.faults[i].count == 0 {
                inner.faults.remove(i);
            }
            fault
        });
        (fault, inner.numbers.get(from).cloned())
    }

    fn accept(&self, account: &str, f: &SendForm, received: u128) -> SandboxMessage {
        let msg = SandboxMessage {
            sid: new_sid("SM"),
            account_sid: account.to_owned(),
            from: f.from.clone(),
            to: f.to.clone(),
            body: f.body.clone(),
            status: "queued".to_owned(),
            date_created: chrono::Utc::now().to_rfc2822(),
            date_sent: None,
            received_unix_us: received,
        };
        self.inner.lock().unwrap().messages.push(msg.clone());
        msg
    }

    fn spawn_status_callbacks(
        &self,
        cfg: &NumberConfig,
        msg: &SandboxMessage,
        url: Option<String>,
    ) {
        let Some(url) = url else { return };
        let (sb, token, msg) = (self.clone(), cfg.auth_token.clone(), msg.clone());
        tokio::spawn(async move {
            for status in ["sent", "delivered"] {
                tokio::time::sleep(sb.status_delay).await;
                if let Some(m) = sb
                    .inner
                    .lock()
                    .unwrap()
                    .messages
                    .iter_mut()
                    .find(|m| m.sid == msg.sid)
                {
                    status.clone_into(&mut m.status);
                    m.date_sent
                        .get_or_insert_with(|| chrono::Utc::now().to_rfc2822());
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
        "date_created": m.date_created, "date_sent": m.date_sent, "direction": "outbound-api", "api_version": "2010-04-01",
    })
}

/// Newest first, as Twilio lists them. `DateSent>` (YYYY-MM-DD) matches on the send date, which
/// stays empty while a message is queued: such a message is not listed under that filter.
async fn list_messages(
    State(sb): State<Sandbox>,
    Path(account): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let since = q.get("DateSent>").cloned().unwrap_or_default();
    let page_size = q
        .get("PageSize")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let sent_on_or_after = |m: &SandboxMessage| {
        let sent = m
            .date_sent
            .as_deref()
            .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok());
        sent.is_some_and(|d| d.format("%Y-%m-%d").to_string() >= since)
    };
    let mut list: Vec<SandboxMessage> = sb
        .messages()
        .into_iter()
        .filter(|m| m.account_sid == account)
        .filter(|m| {
            q.get("To").is_none_or(|t| *t == m.to) && q.get("From").is_none_or(|f| *f == m.from)
        })
        .filter(|m| since.is_empty() || sent_on_or_after(m))
        .collect();
    list.reverse();
    let list: Vec<_> = list.iter().take(page_size).map(message_json).collect();
    Json(json!({"messages": list, "page": 0, "page_size": page_size})).into_response()
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

fn invalid_url() -> Response {
    twilio_error(
        StatusCode::BAD_REQUEST,
        21402,
        "Invalid Url: not under this sandbox's base URL",
    )
}

async fn register_number(
    State(sb): State<Sandbox>,
    Path(account): Path<String>,
    headers: axum::http::HeaderMap,
    Form(f): Form<NumberForm>,
) -> Response {
    // The middleware checked these credentials; the number keeps them for signing its webhooks.
    let token = basic_auth(&headers).map(|(_, t)| t).unwrap_or_default();
    if !sb.webhook_allowed(&f.voice_url) || !sb.webhook_allowed(&f.sms_url) {
        return invalid_url();
    }
    if sb
        .number(&f.phone_number)
        .is_some_and(|n| n.account_sid != account)
    {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21422,
            "Phone number is not available",
        );
    }
    sb.register_number(&f.phone_number, &account, &token, &f.voice_url, &f.sms_url);
    let sid = sb
        .number(&f.phone_number)
        .map(|n| n.sid)
        .unwrap_or_default();
    (StatusCode::CREATED, Json(json!({"sid": sid, "phone_number": f.phone_number, "voice_url": f.voice_url, "sms_url": f.sms_url}))).into_response()
}

/// Numbers for sale in an area code: the sandbox makes them up (555-01xx, never real), minus
/// the ones already taken.
async fn available_local(
    State(sb): State<Sandbox>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let area = q.get("AreaCode").cloned().unwrap_or_else(|| "512".into());
    if area.len() != 3 || !area.chars().all(|c| c.is_ascii_digit()) {
        return twilio_error(StatusCode::BAD_REQUEST, 21452, "AreaCode is invalid");
    }
    let taken = sb
        .inner
        .lock()
        .unwrap()
        .numbers
        .keys()
        .cloned()
        .collect::<HashSet<_>>();
    let numbers: Vec<serde_json::Value> = (100..120)
        .map(|n| format!("+1{area}555{n:04}"))
        .filter(|n| !taken.contains(n))
        .take(10)
        .map(|n| json!({"phone_number": n, "friendly_name": format!("({}) 555-{}", &n[2..5], &n[8..]), "locality": "Sandbox", "region": "TX"}))
        .collect();
    Json(json!({"available_phone_numbers": numbers})).into_response()
}

async fn list_incoming(
    State(sb): State<Sandbox>,
    Path(account): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let inner = sb.inner.lock().unwrap();
    let list: Vec<serde_json::Value> = inner
        .numbers
        .iter()
        .filter(|(n, c)| c.account_sid == account && q.get("PhoneNumber").is_none_or(|p| p == *n))
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

async fn update_incoming(
    State(sb): State<Sandbox>,
    Path((account, sid)): Path<(String, String)>,
    Form(f): Form<UpdateForm>,
) -> Response {
    if [&f.voice_url, &f.sms_url]
        .into_iter()
        .flatten()
        .any(|u| !sb.webhook_allowed(u))
    {
        return invalid_url();
    }
    let sid = sid.trim_end_matches(".json").to_owned();
    let mut inner = sb.inner.lock().unwrap();
    let Some((number, c)) = inner
        .numbers
        .iter_mut()
        .find(|(_, c)| c.sid == sid && c.account_sid == account)
    else {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    };
    if let Some(v) = f.voice_url {
        c.voice_url = v;
    }
    if let Some(v) = f.sms_url {
        c.sms_url = v;
    }
    Json(json!({"sid": c.sid, "phone_number": number, "voice_url": c.voice_url, "sms_url": c.sms_url})).into_response()
}

/// `DELETE IncomingPhoneNumbers/{sid}.json`: the number is released (204; 20404 if unknown).
async fn release_incoming(
    State(sb): State<Sandbox>,
    Path((account, sid)): Path<(String, String)>,
) -> Response {
    let sid = sid.trim_end_matches(".json");
    let mut inner = sb.inner.lock().unwrap();
    let before = inner.numbers.len();
    inner
        .numbers
        .retain(|_, c| !(c.sid == sid && c.account_sid == account));
    if inner.numbers.len() == before {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    }
    StatusCode::NO_CONTENT.into_response()
}
