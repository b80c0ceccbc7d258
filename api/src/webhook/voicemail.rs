//! Voicemail: the routing rule for the moment of the call decides whether a missed caller is
//! texted or hears the business's greeting and leaves a message. `<Record>` reports twice:
//! its `action` when the caller stops (or hangs up), and `recordingStatusCallback` once the
//! media is ready. The second is recorded with the signal for the caller's conversation, which
//! stores, transcribes and answers it; the first only matters when nothing was said.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use nmc_domain::E164;
use nmc_domain::routing::{Method, method_at};
use nmc_store::business::{self, BusinessForWebhook};
use nmc_store::voicemail::{self as store, NewRecording};
use nmc_twilio::twiml;
use serde::Deserialize;
use tracing::instrument;
use uuid::Uuid;

use super::{parse_form, twiml as xml, verify};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhook/voice/voicemail-done", post(recording_ended))
        .route("/webhook/voice/recording", post(recording_ready))
        .route("/media/voicemail-greeting/{token}", get(greeting_audio))
}

/// What a missed call gets now, by the business's routing grid and holidays (text when it has
/// none), with the voice agent's line for its methods. Without a connected agent those fall
/// back to voicemail, the fallback seed 004 names (VTCR 3.5a).
pub async fn route_now(
    state: &AppState,
    b: &BusinessForWebhook,
) -> Result<(Method, Option<nmc_store::voice_agent::AgentLine>), ApiError> {
    let Some(tz) = nmc_domain::hours::parse_timezone(&b.timezone) else {
        return Ok((Method::Text, None));
    };
    let now = Utc::now();
    let today = now.with_timezone(&tz).date_naive();
    let (grid, holidays) = nmc_store::voice::routing(&state.db, b.id, today).await?;
    let Some(grid) = grid else {
        return Ok((Method::Text, None));
    };
    let method = method_at(&grid, &holidays, tz, now);
    if !method.needs_voice_agent() {
        return Ok((method, None));
    }
    Ok(match nmc_store::voice_agent::line(&state.db, b.id).await? {
        Some(line) => (method, Some(line)),
        None => (Method::Voicemail, None),
    })
}

/// The greeting (the owner's recording, or their words in the chosen voice), then the beep.
pub fn prompt(state: &AppState, b: &BusinessForWebhook) -> Response {
    let base = &state.config.public_base_url;
    let greeting = Greeting {
        business_id: b.id,
        business: &b.name,
        uploaded: b.voicemail_audio_key.is_some(),
        text: b.voicemail_greeting.as_deref(),
        voice: &b.voicemail_voice,
        language: &b.voicemail_language,
    };
    let max = b.voicemail_max_secs.clamp(10, 300) as u32;
    let status = format!("{base}/webhook/voice/recording?b={}", b.id);
    xml(greeting
        .twiml(state)
        .record(
            &format!("{base}/webhook/voice/voicemail-done"),
            &status,
            max,
        )
        .render())
}

/// What a caller hears before the beep.
pub struct Greeting<'a> {
    pub business_id: Uuid,
    pub business: &'a str,
    /// The owner uploaded a recording: it plays instead of the words.
    pub uploaded: bool,
    /// The owner's words (the default greeting when `None`).
    pub text: Option<&'a str>,
    pub voice: &'a str,
    pub language: &'a str,
}

impl Greeting<'_> {
    /// `<Play>` of the uploaded recording by a signed URL, or `<Say>` in the chosen voice.
    pub fn twiml(&self, state: &AppState) -> twiml::Response {
        if self.uploaded {
            let token = state.links.greeting_token(self.business_id, Utc::now());
            let base = &state.config.public_base_url;
            return twiml::Response::new()
                .play(&format!("{base}/media/voicemail-greeting/{token}"));
        }
        let text = self.text.map_or_else(
            || nmc_domain::default_voicemail_greeting(self.business),
            str::to_owned,
        );
        twiml::Response::new().say_as(&text, self.voice, self.language)
    }
}

/// `<Record action>`: the caller finished or hung up. With nothing recorded the conversation
/// texts them now instead of waiting for a message that will not come.
#[instrument(
    skip_all,
    fields(request_id = super::request_id(&headers), business_id, call_sid, caller)
)]
async fn recording_ended(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some((params, b)) = super::voice::verified_call(&state, &uri, &headers, &body).await?
    else {
        return Ok(xml(twiml::Response::new().hangup().render()));
    };
    let call_sid = params.required("CallSid")?;
    let said_something = params.get("RecordingUrl").is_some_and(|u| !u.is_empty())
        && params
            .get("RecordingDuration")
            .and_then(|d| d.parse::<u32>().ok())
            .is_some_and(|d| d > 0);
    let caller = params.get("From").and_then(|f| E164::parse(f).ok());
    if !said_something && let Some(caller) = &caller {
        let rec =
            store::record_no_voicemail(&state.db, b.id, call_sid, caller, b.profile()).await?;
        super::hand_over(&state, b.id, caller, &rec).await;
    }
    let say = if said_something {
        format!("Thanks, {} has your message. Goodbye.", b.name)
    } else {
        "We didn't get a message. We'll text you instead. Goodbye.".to_owned()
    };
    Ok(xml(twiml::Response::new().say(&say).hangup().render()))
}

#[derive(Deserialize)]
pub struct ForBusiness {
    b: Uuid,
}

/// `recordingStatusCallback`: the media is ready. Recorded with the conversation's signal
/// before anything else; the callback carries no `To`, so its URL names the business.
#[instrument(skip_all, fields(request_id = super::request_id(&headers), business_id, call_sid))]
async fn recording_ready(
    State(state): State<AppState>,
    Query(q): Query<ForBusiness>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = parse_form(&headers, &body)?;
    let Some(b) = business::for_webhook(&state.db, q.b).await? else {
        return Err(ApiError::BadSignature);
    };
    verify(&state, &b, &uri, &headers, &params)?;
    let call_sid = params.required("CallSid")?;
    tracing::Span::current().record("call_sid", call_sid);
    let Some(caller) = nmc_store::voice::caller_of(&state.db, b.id, call_sid).await? else {
        // A call we have no record of (or a withheld number): nobody to answer.
        tracing::warn!("recording for an unknown call ignored");
        return Ok(xml(twiml::Response::new().render()));
    };
    let completed = params
        .get("RecordingStatus")
        .is_none_or(|s| s == "completed");
    let duration = params
        .get("RecordingDuration")
        .and_then(|d| d.parse::<i32>().ok())
        .unwrap_or(0);
    let rec = if completed && duration > 0 {
        let recording_sid = params.required("RecordingSid")?;
        let url = params.required("RecordingUrl")?;
        // Twilio's shapes only: the sid goes into a URL path, and the media must be this
        // business's own account's.
        if !is_sid(recording_sid, "RE")
            || !url.contains(&format!(
                "/Accounts/{}/Recordings/{recording_sid}",
                b.twilio_account_sid
            ))
        {
            return Err(ApiError::BadRequest(
                "RecordingSid or RecordingUrl is not Twilio's".into(),
            ));
        }
        let new = NewRecording {
            call_sid,
            caller: &caller,
            recording_sid,
            url,
            duration_secs: duration,
        };
        store::record_voicemail(&state.db, b.id, &new, b.profile()).await?
    } else {
        store::record_no_voicemail(&state.db, b.id, call_sid, &caller, b.profile()).await?
    };
    super::hand_over(&state, b.id, &caller, &rec).await;
    Ok(xml(twiml::Response::new().render()))
}

/// A Twilio sid: its two-letter prefix and 32 hex digits.
fn is_sid(sid: &str, prefix: &str) -> bool {
    sid.len() == 34 && sid.starts_with(prefix) && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The uploaded greeting, for Twilio's `<Play>`: only with a fresh signed token.
async fn greeting_audio(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let business_id = state
        .links
        .open_greeting(&token, Utc::now())
        .map_err(|_| ApiError::NotFound)?;
    let Some((key, content_type)) =
        nmc_store::voice::greeting_audio(&state.db, business_id).await?
    else {
        return Err(ApiError::NotFound);
    };
    let bytes = state
        .storage
        .get(&key)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}
