//! The phone network beyond Twilio, for the test call that proves forwarding: outgoing calls
//! (`POST /2010-04-01/Accounts/{account}/Calls.json`, as Twilio takes them) ring a business's
//! own line, which rings out, goes to voicemail, is busy or unreachable, and, when its owner
//! has turned no-answer forwarding on, forwards the call to a number here (Twilio's
//! `ForwardedFrom`). The platform's call then ends with the final `CallStatus` Twilio would
//! report to its `StatusCallback`.
//!
//! Control API (admin token): `POST /api/lines {number, behaviour?, forward_to?}` sets how a
//! line answers; `GET /api/lines/calls` lists the calls placed.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::require_account;
use crate::{CallRequest, Sandbox, new_sid, twilio_error};

/// How a line outside Twilio treats a call nobody picks up.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Line {
    /// `rings_out` (the default), `voicemail` (its voicemail answers), `answers` (someone picks
    /// up), `busy` (declined or on another call), `unreachable` (off or out of coverage).
    #[serde(default)]
    pub behaviour: Option<String>,
    /// Where unanswered and busy calls are forwarded to, when forwarding is on.
    #[serde(default)]
    pub forward_to: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlacedCall {
    pub sid: String,
    pub account_sid: String,
    pub from: String,
    pub to: String,
    pub status: String,
    pub forwarded_to: Option<String>,
}

#[derive(Deserialize)]
struct LineSetting {
    number: String,
    #[serde(flatten)]
    line: Line,
}

pub(crate) fn router(sb: &Sandbox) -> Router {
    Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Calls.json",
            post(create_call),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            sb.clone(),
            require_account,
        ))
        .with_state(sb.clone())
}

pub(crate) fn control_router(sb: &Sandbox) -> Router {
    Router::new()
        .route("/api/lines", post(set_line))
        .route("/api/lines/calls", get(placed_calls))
        .with_state(sb.clone())
}

async fn set_line(State(sb): State<Sandbox>, Json(s): Json<LineSetting>) -> StatusCode {
    sb.set_line(&s.number, s.line);
    StatusCode::NO_CONTENT
}

async fn placed_calls(State(sb): State<Sandbox>) -> Json<Vec<PlacedCall>> {
    Json(sb.placed_calls())
}

#[derive(Deserialize)]
struct CallForm {
    #[serde(rename = "To")]
    to: String,
    #[serde(rename = "From")]
    from: String,
    #[serde(rename = "Url")]
    url: Option<String>,
    #[serde(rename = "Twiml")]
    twiml: Option<String>,
    #[serde(rename = "StatusCallback")]
    status_callback: Option<String>,
}

async fn create_call(
    State(sb): State<Sandbox>,
    Path(account): Path<String>,
    Form(f): Form<CallForm>,
) -> Response {
    if !is_e164(&f.to) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("Invalid 'To' Phone Number: {}", f.to),
        );
    }
    let owned = sb.number(&f.from).filter(|n| n.account_sid == account);
    let Some(caller) = owned else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21210,
            &format!(
                "The source phone number provided, {}, is not yet verified for your account.",
                f.from
            ),
        );
    };
    if f.url.is_none() && f.twiml.is_none() {
        return twilio_error(StatusCode::BAD_REQUEST, 21205, "Url or Twiml is required.");
    }
    if let Some(cb) = f
        .status_callback
        .as_deref()
        .filter(|u| !sb.webhook_allowed(u))
    {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21609,
            &format!("Invalid StatusCallback url: {cb} is not under this sandbox's base URL"),
        );
    }
    let call = PlacedCall {
        sid: new_sid("CA"),
        account_sid: account.clone(),
        from: f.from.clone(),
        to: f.to.clone(),
        status: "queued".into(),
        forwarded_to: None,
    };
    sb.inner.lock().unwrap().placed_calls.push(call.clone());
    let runner = sb.clone();
    let (sid, token, callback) = (call.sid.clone(), caller.auth_token, f.status_callback);
    tokio::spawn(async move { runner.ring(&sid, &token, callback).await });
    (
        StatusCode::CREATED,
        Json(json!({
            "sid": call.sid, "account_sid": account, "to": f.to, "from": f.from, "status": "queued",
            "direction": "outbound-api", "api_version": "2010-04-01", "start_time": null,
            "end_time": null, "duration": null, "price": null, "answered_by": null,
        })),
    )
        .into_response()
}

/// `+` and 7–15 digits, as Twilio wants a phone `To`.
fn is_e164(n: &str) -> bool {
    n.strip_prefix('+').is_some_and(|d| {
        (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

impl Sandbox {
    /// The calls placed through `Calls.json`, oldest first.
    pub fn placed_calls(&self) -> Vec<PlacedCall> {
        self.inner.lock().unwrap().placed_calls.clone()
    }

    /// Sets how a line outside Twilio answers (and where it forwards).
    pub fn set_line(&self, number: &str, line: Line) {
        self.inner
            .lock()
            .unwrap()
            .lines
            .insert(number.to_owned(), line);
    }

    /// Plays the network for a placed call: rings the line, forwards it if the line says so,
    /// and reports the final status to the placer.
    async fn ring(&self, sid: &str, token: &str, callback: Option<String>) {
        let Some(call) = self.placed(sid) else { return };
        // A moment of ringing, so the placer has recorded the call before anything comes back.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let line = self.inner.lock().unwrap().lines.get(&call.to).cloned();
        let ours = self.number(&call.to).filter(|n| !n.voice_url.is_empty());
        let behaviour = line
            .as_ref()
            .and_then(|l| l.behaviour.clone())
            .unwrap_or_else(|| "rings_out".into());
        let forward_to = line.and_then(|l| l.forward_to);
        let (status, forwarded) = match (ours, behaviour.as_str(), forward_to) {
            // A Twilio number here: the call arrives at its voice webhook directly.
            (Some(_), _, _) => (self.deliver(&call, &call.to, None).await, None),
            (None, "rings_out" | "busy", Some(to)) => {
                let status = self.deliver(&call, &to, Some(&call.to)).await;
                (status, Some(to))
            }
            (None, "rings_out", None) => ("no-answer", None),
            (None, "voicemail" | "answers", _) => ("completed", None),
            (None, "busy", None) => ("busy", None),
            _ => ("failed", None),
        };
        self.finish(sid, status, forwarded);
        if let Some(url) = callback {
            let params = [
                ("AccountSid", call.account_sid.as_str()),
                ("ApiVersion", "2010-04-01"),
                ("CallSid", sid),
                ("CallStatus", status),
                ("Direction", "outbound-api"),
                ("From", call.from.as_str()),
                ("To", call.to.as_str()),
                ("CallDuration", "0"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
            if let Err(e) = self.post_signed(&url, token, &params).await {
                tracing::warn!(error = %e, "sandbox call status callback failed");
            }
        }
    }

    /// The call arrives at one of our numbers (forwarded from `via`, if it was): its voice
    /// webhook answers, so the platform's call counts as completed.
    async fn deliver(&self, call: &PlacedCall, to: &str, via: Option<&str>) -> &'static str {
        let req = CallRequest {
            from: call.from.clone(),
            to: to.to_owned(),
            outcome: None,
            call_sid: None,
            deliveries: 1,
            forwarded_from: via.map(str::to_owned),
            ..Default::default()
        };
        match self.place_call(req).await {
            Ok(r) if r.voice_status < 300 => "completed",
            _ => "failed",
        }
    }

    fn placed(&self, sid: &str) -> Option<PlacedCall> {
        let inner = self.inner.lock().unwrap();
        inner.placed_calls.iter().find(|c| c.sid == sid).cloned()
    }

    fn finish(&self, sid: &str, status: &str, forwarded_to: Option<String>) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(c) = inner.placed_calls.iter_mut().find(|c| c.sid == sid) {
            status.clone_into(&mut c.status);
            c.forwarded_to = forwarded_to;
        }
    }
}
