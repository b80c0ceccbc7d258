//! `POST /webhook/voice/incoming` and `POST /webhook/voice/call-completed`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use chrono::Utc;
use nmc_domain::routing::Method;
use nmc_domain::{DialOutcome, E164};
use nmc_store::business::BusinessForWebhook;
use nmc_store::{business, forwarding, voice, webhook as store};
use nmc_twilio::twiml;
use tracing::instrument;

use super::{Params, parse_form, twiml as xml, verify};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhook/voice/incoming", post(incoming))
        .route("/webhook/voice/call-completed", post(call_completed))
        .route("/webhook/voice/test-call", post(test_call_status))
        .merge(super::screening::router())
        .merge(super::voicemail::router())
        .merge(super::agent::router())
}

/// Parses a voice webhook, finds the business it is for (by `To`) and checks the signature.
/// `None`: the number is not one of ours.
pub(super) async fn verified_call(
    state: &AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Option<(Params, BusinessForWebhook)>, ApiError> {
    let params = parse_form(headers, body)?;
    let Some(to) = params.get("To").and_then(|t| E164::parse(t).ok()) else {
        return Ok(None);
    };
    let Some(b) = business::by_twilio_number(&state.db, to.as_str()).await? else {
        return Ok(None);
    };
    verify(state, &b, uri, headers, &params)?;
    let span = tracing::Span::current();
    span.record("business_id", tracing::field::display(b.id));
    if let Some(sid) = params.get("CallSid") {
        span.record("call_sid", sid);
    }
    // The caller's last four digits only: logs never hold a whole number.
    if let Some(caller) = params.get("From").and_then(|f| E164::parse(f).ok()) {
        span.record("caller", tracing::field::display(caller.masked()));
    }
    Ok(Some((params, b)))
}

fn not_in_service() -> Response {
    xml(twiml::Response::new()
        .say("Sorry, this number is not in service. Goodbye.")
        .hangup()
        .render())
}

pub(super) fn after_hours(b: &BusinessForWebhook) -> bool {
    nmc_domain::hours::parse_timezone(&b.timezone)
        .is_none_or(|tz| !b.business_hours.0.is_open(tz, Utc::now()))
}

#[instrument(
    skip_all,
    fields(request_id = super::request_id(&headers), business_id, call_sid, caller)
)]
async fn incoming(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some((params, b)) = verified_call(&state, &uri, &headers, &body).await? else {
        return Ok(not_in_service());
    };
    let call_sid = params.required("CallSid")?;
    let caller = params.get("From").and_then(|f| E164::parse(f).ok());
    if let Some(c) = &caller
        && state.config.platform_number.as_deref() == Some(c.as_str())
    {
        return test_call_arrived(&state, &b, c).await;
    }

    if let Some(c) = &caller
        && voice::is_blocked(&state.db, b.id, c).await?
    {
        tracing::info!("blocked caller: call dropped");
        voice::record_blocked_call(&state.db, b.id, call_sid, c).await?;
        return Ok(xml(twiml::Response::new().reject().render()));
    }
    if b.call_mode == "forwarded" {
        // The business's own line already rang out and forwarded the caller here: missed.
        return unanswered(&state, &b, call_sid, caller.as_ref(), "forwarded").await;
    }
    store::record_ringing_call(&state.db, b.id, call_sid, caller.as_ref(), after_hours(&b)).await?;
    // Whether this call is screened is fixed when it is dialled (the owner may change the
    // setting while it rings); the signed action URL carries it.
    let action = format!(
        "{}/webhook/voice/call-completed{}",
        state.config.public_base_url,
        if b.call_screening { "?screened=1" } else { "" }
    );
    let dial = if b.call_screening {
        let whisper = super::screening::whisper_url(&state, b.id, call_sid);
        twiml::Response::new().dial_screened(&b.business_phone, 20, &action, &whisper)
    } else {
        twiml::Response::new().dial(&b.business_phone, 20, &action)
    };
    Ok(xml(dial.render()))
}

/// A call nobody took: the routing rule for this moment says what the caller gets.
async fn unanswered(
    state: &AppState,
    b: &BusinessForWebhook,
    call_sid: &str,
    caller: Option<&E164>,
    dial_status: &str,
) -> Result<Response, ApiError> {
    let (route, agent) = super::voicemail::route_now(state, b).await?;
    missed(state, b, call_sid, caller, dial_status, route).await?;
    if let (Some(line), Some(_)) = (&agent, caller) {
        return super::agent::hand_to_agent(state, line, call_sid);
    }
    if route == Method::Voicemail && caller.is_some() {
        return Ok(super::voicemail::prompt(state, b));
    }
    let say = match (caller, dial_status) {
        (Some(_), "forwarded") => format!(
            "Thanks for calling {}. Sorry we can't take your call right now. We'll text you in a moment.",
            b.name
        ),
        (None, "forwarded") => format!(
            "Thanks for calling {}. Sorry we can't take your call right now. Please call back later.",
            b.name
        ),
        (Some(_), _) => format!(
            "Sorry we missed your call. {} will text you right away.",
            b.name
        ),
        (None, _) => format!(
            "Sorry we missed your call. Please call {} back later.",
            b.name
        ),
    };
    Ok(xml(twiml::Response::new().say(&say).hangup().render()))
}

#[instrument(
    skip_all,
    fields(request_id = super::request_id(&headers), business_id, call_sid, caller)
)]
async fn call_completed(
    State(state): State<AppState>,
    Query(dialled): Query<Dialled>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some((params, b)) = verified_call(&state, &uri, &headers, &body).await? else {
        return Ok(not_in_service());
    };
    let call_sid = params.required("CallSid")?;
    let dial_status = params.required("DialCallStatus")?;
    let outcome = DialOutcome::from_dial_status(dial_status)
        .ok_or_else(|| ApiError::BadRequest(format!("unknown DialCallStatus `{dial_status}`")))?;
    let caller = params.get("From").and_then(|f| E164::parse(f).ok());
    // Screened: only a key press on the answering leg makes it answered; a carrier voicemail
    // that picked up (which Twilio reports as `completed`) cannot press one.
    let answered = outcome == DialOutcome::Answered
        && (dialled.screened.is_none() || voice::was_screened(&state.db, b.id, call_sid).await?);
    if !answered {
        return unanswered(&state, &b, call_sid, caller.as_ref(), dial_status).await;
    }
    let secs = params
        .get("DialCallDuration")
        .and_then(|d| d.parse::<i32>().ok());
    store::record_answered_call(
        &state.db,
        b.id,
        call_sid,
        caller.as_ref(),
        dial_status,
        after_hours(&b),
        secs,
    )
    .await?;
    Ok(xml(twiml::Response::new().hangup().render()))
}

/// How the call was dialled (`?screened=1`: behind the whisper).
#[derive(serde::Deserialize)]
pub struct Dialled {
    screened: Option<u8>,
}

/// The platform's own test call reached this number: forwarding (or the number) works. It is
/// never a caller: no lead, no text.
async fn test_call_arrived(
    state: &AppState,
    b: &BusinessForWebhook,
    from: &E164,
) -> Result<Response, ApiError> {
    let say = if forwarding::arrived(&state.db, b.id, from.as_str()).await? {
        tracing::info!("test call arrived: forwarding verified");
        "Forwarding works. Calls you miss now reach NeverMissCall. Goodbye."
    } else {
        "This NeverMissCall number works. Goodbye."
    };
    Ok(xml(twiml::Response::new().say(say).hangup().render()))
}

/// `POST /webhook/voice/test-call?test=…`: the final status of the platform's test call,
/// signed with the platform account's token.
#[instrument(skip_all, fields(request_id = super::request_id(&headers)))]
async fn test_call_status(
    State(state): State<AppState>,
    Query(q): Query<crate::forwarding::StatusQuery>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = parse_form(&headers, &body)?;
    let Some((_, (_, token))) = state.config.platform_caller() else {
        return Err(ApiError::BadSignature);
    };
    super::verify_with(&state, &token, &uri, &headers, &params)?;
    crate::forwarding::call_status(&state, q.test, params.required("CallStatus")?).await?;
    Ok(xml(twiml::Response::new().render()))
}

/// Records the missed call and hands it to the caller's conversation workflow.
async fn missed(
    state: &AppState,
    b: &BusinessForWebhook,
    call_sid: &str,
    caller: Option<&E164>,
    dial_status: &str,
    route: Method,
) -> Result<(), ApiError> {
    let after_hours = after_hours(b);
    let Some(caller) = caller else {
        // A withheld number: recorded, but there is nobody to text.
        store::record_missed_call_anonymous(&state.db, b.id, call_sid, dial_status, after_hours)
            .await?;
        return Ok(());
    };
    let rec = store::record_missed_call(
        &state.db,
        b.id,
        call_sid,
        caller,
        dial_status,
        after_hours,
        b.profile(),
        route,
    )
    .await?;
    super::hand_over(state, b.id, caller, &rec).await;
    Ok(())
}
