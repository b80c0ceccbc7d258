//! The voice side of the carrier: it plays a caller ringing a number and follows our TwiML as
//! Twilio would — the `<Dial>` with its screening whisper on the answering leg, the `<Record>`
//! of a voicemail with both of its callbacks — and answers Lookup v2 and the Recordings API.
//!
//! - `GET  /v2/PhoneNumbers/{n}?Fields=…`            Lookup (line type, SMS pumping risk)
//! - `GET  /2010-04-01/Accounts/{a}/Recordings/{s}.wav`  a recording's media (Basic auth)
//! - `DELETE /2010-04-01/Accounts/{a}/Recordings/{s}.json`  204, then 404 / 20404
//! - control `POST /api/lookups {number, line_type, sms_pumping_risk?}`: what Lookup says

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{basic_auth, require_account};
use crate::{CallRequest, CallResult, NumberConfig, Sandbox, new_sid, twilio_error};

/// What Lookup answers for a number (mobile with no pumping risk unless told otherwise).
#[derive(Clone, Debug, Deserialize)]
pub struct LineSetup {
    pub number: String,
    pub line_type: String,
    #[serde(default)]
    pub sms_pumping_risk: Option<i32>,
}

/// A recording the carrier holds until it is deleted.
#[derive(Clone, Debug)]
pub(crate) struct Recording {
    account_sid: String,
    wav: Vec<u8>,
}

/// What the caller does once the voicemail greeting ends: speaks `audio_base64` (a WAV) for
/// `duration_secs`, or hangs up at once when the request has no voicemail.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
pub struct Voicemail {
    pub audio_base64: String,
    pub duration_secs: u32,
}

pub(crate) fn router(sb: &Sandbox) -> Router {
    let media = Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Recordings/{file}",
            get(recording_media).delete(delete_recording),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            sb.clone(),
            require_account,
        ));
    Router::new()
        .route("/v2/PhoneNumbers/{number}", get(lookup))
        .merge(media)
        .with_state(sb.clone())
}

pub(crate) fn control_router(sb: &Sandbox) -> Router {
    Router::new()
        .route("/api/lookups", post(set_line))
        .with_state(sb.clone())
}

async fn set_line(State(sb): State<Sandbox>, Json(l): Json<LineSetup>) -> StatusCode {
    sb.set_lookup(l);
    StatusCode::NO_CONTENT
}

async fn lookup(
    State(sb): State<Sandbox>,
    Path(number): Path<String>,
    headers: HeaderMap,
) -> Response {
    let known = basic_auth(&headers).is_some_and(|(user, token)| sb.knows_account(&user, &token));
    if !known {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let setup = {
        let mut inner = sb.inner.lock().unwrap();
        inner.lookups_made += 1;
        inner.lookups.get(&number).cloned()
    };
    let valid = number.starts_with('+') && number.len() >= 11;
    let (kind, risk) = setup.map_or(("mobile".to_owned(), 2), |s| {
        (s.line_type, s.sms_pumping_risk.unwrap_or(2))
    });
    let category = match risk {
        0..=59 => "low",
        60..=74 => "mild",
        75..=89 => "moderate",
        _ => "high",
    };
    // Lookup answers 200 even for an impossible number (`valid: false`, packages null).
    Json(json!({
        "calling_country_code": "1", "country_code": "US", "phone_number": number,
        "national_format": number, "valid": valid,
        "validation_errors": if valid { json!([]) } else { json!(["TOO_SHORT"]) },
        "caller_name": null, "sim_swap": null, "call_forwarding": null, "line_status": null,
        "identity_match": null, "reassigned_number": null, "pre_fill": null,
        "line_type_intelligence": if valid { json!({
            "carrier_name": if kind == "mobile" { json!("Sandbox Wireless") } else { json!(null) },
            "error_code": null, "mobile_country_code": "310", "mobile_network_code": "260", "type": kind,
        }) } else { json!(null) },
        "sms_pumping_risk": if valid { json!({
            "carrier_risk_category": category, "number_blocked": risk >= 90,
            "number_blocked_date": null, "number_blocked_last_3_months": null,
            "sms_pumping_risk_score": risk, "error_code": null,
        }) } else { json!(null) },
        "url": format!("https://lookups.twilio.com/v2/PhoneNumbers/{number}"),
    }))
    .into_response()
}

async fn recording_media(
    State(sb): State<Sandbox>,
    Path((account, file)): Path<(String, String)>,
) -> Response {
    let Some(sid) = file.strip_suffix(".wav") else {
        return twilio_error(StatusCode::NOT_FOUND, 20404, "only .wav is served here");
    };
    let found = sb.inner.lock().unwrap().recordings.get(sid).cloned();
    match found {
        Some(r) if r.account_sid == account => {
            ([(axum::http::header::CONTENT_TYPE, "audio/x-wav")], r.wav).into_response()
        }
        _ => twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        ),
    }
}

async fn delete_recording(
    State(sb): State<Sandbox>,
    Path((account, file)): Path<(String, String)>,
) -> Response {
    let sid = file.trim_end_matches(".json");
    let mut inner = sb.inner.lock().unwrap();
    match inner.recordings.get(sid) {
        Some(r) if r.account_sid == account => {
            inner.recordings.remove(sid);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        ),
    }
}

impl Sandbox {
    pub fn set_lookup(&self, l: LineSetup) {
        self.inner
            .lock()
            .unwrap()
            .lookups
            .insert(l.number.clone(), l);
    }

    /// How many Lookup requests were answered (a cached number is looked up once).
    pub fn lookups_made(&self) -> u64 {
        self.inner.lock().unwrap().lookups_made
    }

    /// Whether the carrier still holds a recording (deleted once we store our copy).
    pub fn has_recording(&self, sid: &str) -> bool {
        self.inner.lock().unwrap().recordings.contains_key(sid)
    }

    /// Plays a caller ringing `to`: the voice webhook, then whatever our TwiML asks for — the
    /// screened `<Dial>` and its action, a `<Record>` and its two callbacks.
    pub async fn place_call(&self, req: CallRequest) -> Result<CallResult, String> {
        let cfg = self
            .number(&req.to)
            .ok_or_else(|| format!("{} is not a sandbox number", req.to))?;
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
        if let Some(via) = &req.forwarded_from {
            incoming.push(("ForwardedFrom".to_owned(), via.clone()));
        }
        let mut voice = (0, String::new());
        for _ in 0..req.deliveries.max(1) {
            voice = self
                .post_signed(&cfg.voice_url, &cfg.auth_token, &incoming)
                .await?;
        }
        let mut result = CallResult {
            call_sid,
            voice_status: voice.0,
            voice_twiml: voice.1.clone(),
            dial_status: None,
            dial_twiml: None,
            recording_sid: None,
            agent_status: None,
        };
        let mut last = voice.1;
        // The business's phone, then (when it says so) the AI voice agent's SIP number.
        for _ in 0..2 {
            let Some(action) = attr(&last, "<Dial", "action") else {
                break;
            };
            let dial = match inner_text(&last, "Sip") {
                Some(sip) => {
                    let credentials =
                        attr(&last, "<Sip", "username").zip(attr(&last, "<Sip", "password"));
                    let status = self.vapi.take_call(&sip, credentials, &req.from).await?;
                    result.agent_status = Some(status.to_owned());
                    self.dial_ended(&req, &cfg, &base, &action, status).await?
                }
                None => self.dial(&req, &cfg, &base, &last, &action).await?,
            };
            last.clone_from(&dial.1);
            result.dial_status = Some(dial.0);
            result.dial_twiml = Some(dial.1);
        }
        if last.contains("<Record") {
            result.recording_sid = self.record(&req, &cfg, &base, &last).await?;
        }
        Ok(result)
    }

    /// The `<Dial>`: the business's phone rings; with a screening whisper the answering leg
    /// runs it and presses `req.press` (a carrier voicemail presses nothing). Returns what the
    /// Dial action answered.
    async fn dial(
        &self,
        req: &CallRequest,
        cfg: &NumberConfig,
        base: &[(String, String)],
        twiml: &str,
        action: &str,
    ) -> Result<(u16, String), String> {
        let outcome = req
            .outcome
            .clone()
            .unwrap_or_else(|| "no-answer".to_owned());
        let child = new_sid("CA");
        let mut bridged = outcome == "completed";
        if outcome == "completed"
            && let Some(whisper) = attr(twiml, "<Number", "url")
        {
            // Twilio does not bridge a leg whose whisper hung up; it still says the dialled
            // call completed, so only our own record of the key press tells them apart.
            bridged = self.screen(req, cfg, base, &child, &whisper).await?;
        }
        let mut completed = base.to_vec();
        completed.push((
            "CallStatus".to_owned(),
            if bridged { "completed" } else { "in-progress" }.to_owned(),
        ));
        completed.push(("DialCallStatus".to_owned(), outcome));
        completed.push(("DialCallSid".to_owned(), child));
        completed.push((
            "DialCallDuration".to_owned(),
            if bridged {
                req.talk_secs.unwrap_or(42)
            } else {
                0
            }
            .to_string(),
        ));
        completed.push(("DialBridged".to_owned(), bridged.to_string()));
        let mut last = (0, String::new());
        for _ in 0..req.deliveries.max(1) {
            last = self
                .post_signed(action, &cfg.auth_token, &completed)
                .await?;
        }
        Ok(last)
    }

    /// The agent's `<Dial>` ended with `status`: its action answered.
    async fn dial_ended(
        &self,
        req: &CallRequest,
        cfg: &NumberConfig,
        base: &[(String, String)],
        action: &str,
        status: &str,
    ) -> Result<(u16, String), String> {
        let mut ended = base.to_vec();
        ended.push(("CallStatus".to_owned(), "in-progress".to_owned()));
        ended.push(("DialCallStatus".to_owned(), status.to_owned()));
        ended.push(("DialCallSid".to_owned(), new_sid("CA")));
        let mut last = (0, String::new());
        for _ in 0..req.deliveries.max(1) {
            last = self.post_signed(action, &cfg.auth_token, &ended).await?;
        }
        Ok(last)
    }

    /// Runs the whisper on the answering leg; true when the key press bridged the caller.
    async fn screen(
        &self,
        req: &CallRequest,
        cfg: &NumberConfig,
        base: &[(String, String)],
        child: &str,
        whisper: &str,
    ) -> Result<bool, String> {
        let parent = base
            .iter()
            .find(|(k, _)| k == "CallSid")
            .map(|(_, v)| v.clone());
        let leg = vec![
            ("AccountSid".to_owned(), cfg.account_sid.clone()),
            ("CallSid".to_owned(), child.to_owned()),
            ("CallStatus".to_owned(), "in-progress".to_owned()),
            ("Direction".to_owned(), "outbound-dial".to_owned()),
            ("From".to_owned(), req.from.clone()),
            ("ParentCallSid".to_owned(), parent.unwrap_or_default()),
            ("To".to_owned(), "+15125550100".to_owned()),
        ];
        let (_, gather) = self.post_signed(whisper, &cfg.auth_token, &leg).await?;
        let (Some(action), Some(digit)) = (attr(&gather, "<Gather", "action"), req.press.clone())
        else {
            // Nobody pressed anything: the Gather times out into <Hangup/>.
            return Ok(false);
        };
        let mut pressed = leg;
        pressed.push(("Digits".to_owned(), digit));
        let (status, answer) = self.post_signed(&action, &cfg.auth_token, &pressed).await?;
        Ok(status < 300 && !answer.contains("<Hangup"))
    }

    /// The `<Record>`: the caller speaks `req.voicemail` (or hangs up at once), then the action
    /// and, for a message, the recording status callback.
    async fn record(
        &self,
        req: &CallRequest,
        cfg: &NumberConfig,
        base: &[(String, String)],
        twiml: &str,
    ) -> Result<Option<String>, String> {
        let action = attr(twiml, "<Record", "action").ok_or("<Record> without an action")?;
        let status_url = attr(twiml, "<Record", "recordingStatusCallback");
        let mut done = base.to_vec();
        done.push(("CallStatus".to_owned(), "completed".to_owned()));
        done.push(("Digits".to_owned(), "hangup".to_owned()));
        let Some(vm) = &req.voicemail else {
            done.push(("RecordingDuration".to_owned(), "0".to_owned()));
            self.post_signed(&action, &cfg.auth_token, &done).await?;
            return Ok(None);
        };
        let wav = base64::engine::general_purpose::STANDARD
            .decode(&vm.audio_base64)
            .map_err(|e| format!("voicemail audio: {e}"))?;
        let sid = new_sid("RE");
        self.inner.lock().unwrap().recordings.insert(
            sid.clone(),
            Recording {
                account_sid: cfg.account_sid.clone(),
                wav,
            },
        );
        let rest = self.public_base();
        let url = format!(
            "{rest}/2010-04-01/Accounts/{}/Recordings/{sid}",
            cfg.account_sid
        );
        let duration = vm.duration_secs.to_string();
        done.push(("RecordingDuration".to_owned(), duration.clone()));
        done.push(("RecordingUrl".to_owned(), url.clone()));
        self.post_signed(&action, &cfg.auth_token, &done).await?;
        if let Some(status_url) = status_url {
            let call_sid = base
                .iter()
                .find(|(k, _)| k == "CallSid")
                .map(|(_, v)| v.clone());
            let ready = vec![
                ("AccountSid".to_owned(), cfg.account_sid.clone()),
                ("CallSid".to_owned(), call_sid.unwrap_or_default()),
                ("RecordingChannels".to_owned(), "1".to_owned()),
                ("RecordingDuration".to_owned(), duration),
                ("RecordingSid".to_owned(), sid.clone()),
                ("RecordingSource".to_owned(), "RecordVerb".to_owned()),
                ("RecordingStatus".to_owned(), "completed".to_owned()),
                ("RecordingUrl".to_owned(), url),
            ];
            for _ in 0..req.deliveries.max(1) {
                self.post_signed(&status_url, &cfg.auth_token, &ready)
                    .await?;
            }
        }
        Ok(Some(sid))
    }
}

/// The text inside the first `<tag>…</tag>` in a TwiML answer, unescaped.
pub(crate) fn inner_text(twiml: &str, tag: &str) -> Option<String> {
    let open = twiml
        .find(&format!("<{tag}>"))
        .or_else(|| twiml.find(&format!("<{tag} ")))?;
    let start = open + twiml[open..].find('>')? + 1;
    let end = start + twiml[start..].find(&format!("</{tag}>"))?;
    Some(
        twiml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}

/// The value of `name="…"` on the first `tag` in a TwiML answer, unescaped.
pub(crate) fn attr(twiml: &str, tag: &str, name: &str) -> Option<String> {
    let el = &twiml[twiml.find(tag)?..];
    let el = &el[..el.find('>')?];
    let key = format!(" {name}=\"");
    let start = el.find(&key)? + key.len();
    let end = el[start..].find('"')? + start;
    Some(
        el[start..end]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_attributes() {
        let t = r#"<?xml version="1.0"?><Response><Dial timeout="20" action="https://x.example/cb?a=1&amp;b=2" method="POST"><Number url="https://x.example/w" method="POST">+1</Number></Dial></Response>"#;
        assert_eq!(
            super::attr(t, "<Dial", "action").as_deref(),
            Some("https://x.example/cb?a=1&b=2")
        );
        assert_eq!(
            super::attr(t, "<Number", "url").as_deref(),
            Some("https://x.example/w")
        );
        assert_eq!(
            super::attr("<Response><Say>hi</Say></Response>", "<Dial", "action"),
            None
        );
    }
}
