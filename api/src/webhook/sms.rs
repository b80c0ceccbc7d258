//! `POST /webhook/sms/incoming` and `POST /webhook/sms/status`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::post;
use nmc_domain::{E164, Keyword};
use nmc_store::{business, team, webhook as store};
use nmc_twilio::twiml;
use tracing::instrument;

use super::{parse_form, twiml as xml, verify};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhook/sms/incoming", post(incoming))
        .route("/webhook/sms/status", post(status))
}

const STATUSES: &[&str] = &[
    "queued",
    "sending",
    "sent",
    "failed",
    "delivered",
    "undelivered",
    "receiving",
    "received",
    "accepted",
    "scheduled",
    "read",
    "canceled",
];

#[instrument(
    skip_all,
    fields(request_id = super::request_id(&headers), business_id, message_sid, caller)
)]
async fn incoming(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = parse_form(&headers, &body)?;
    let empty = || xml(twiml::Response::new().render());
    let Some(to) = params.get("To").and_then(|t| E164::parse(t).ok()) else {
        return Ok(empty());
    };
    let Some(b) = business::by_twilio_number(&state.db, to.as_str()).await? else {
        return Ok(empty());
    };
    verify(&state, &b, &uri, &headers, &params)?;
    let sid = params.required("MessageSid")?;
    tracing::Span::current()
        .record("business_id", tracing::field::display(b.id))
        .record("message_sid", sid);
    let from = E164::parse(params.required("From")?)
        .map_err(|e| ApiError::BadRequest(format!("From: {e}")))?;
    // The last four digits only: logs never hold a whole number.
    tracing::Span::current().record("caller", tracing::field::display(from.masked()));
    let text = params.get("Body").unwrap_or_default();
    // The team's own phones: a command or a reply to an alert, never a caller or a lead.
    if let Some(member) = team::member_by_phone(&state.db, b.id, from.as_str()).await? {
        let (id, started) = team::record(&state.db, b.id, member, sid, from.as_str(), text).await?;
        if !started {
            start_team_text(&state, b.id, id, sid).await;
        }
        return Ok(empty());
    }
    let keyword = Keyword::classify(text);
    // A blocked caller's text is dropped without a lead or an answer; a STOP (or START, HELP)
    // still counts, so consent is honoured whoever sends it.
    if keyword.is_none() && nmc_store::voice::is_blocked(&state.db, b.id, &from).await? {
        tracing::info!("blocked caller: text ignored");
        return Ok(empty());
    }

    let rec =
        store::record_inbound_sms(&state.db, b.id, sid, &from, &to, text, keyword, b.profile())
            .await?;
    super::hand_over(&state, b.id, &from, &rec.event).await;
    Ok(empty())
}

#[instrument(
    skip_all,
    fields(request_id = super::request_id(&headers), business_id, message_sid)
)]
async fn status(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = parse_form(&headers, &body)?;
    let sid = params.required("MessageSid")?;
    tracing::Span::current().record("message_sid", sid);
    let status = params.required("MessageStatus")?;
    if !STATUSES.contains(&status) {
        return Err(ApiError::BadRequest(format!(
            "unknown MessageStatus `{status}`"
        )));
    }
    // Whose token signs it: the sending number is ours and names one business (a sid is only
    // unique per business); a callback without it falls back to the sid.
    let by_number = match params.get("From").and_then(|f| E164::parse(f).ok()) {
        Some(from) => business::by_twilio_number(&state.db, from.as_str()).await?,
        None => None,
    };
    let b = match by_number {
        Some(b) => Some(b),
        None => business::by_message_sid(&state.db, sid).await?,
    };
    let b = b.ok_or(ApiError::BadSignature)?;
    verify(&state, &b, &uri, &headers, &params)?;
    tracing::Span::current().record("business_id", tracing::field::display(b.id));
    let error_code = params.get("ErrorCode").and_then(|c| c.parse::<i32>().ok());
    store::record_message_status(&state.db, b.id, sid, status, error_code).await?;
    Ok(xml(twiml::Response::new().render()))
}

/// Hands a recorded team text to its workflow, bounded like a caller's signal; the worker's
/// outbox starts it when Temporal is away.
async fn start_team_text(state: &AppState, business_id: uuid::Uuid, id: uuid::Uuid, sid: &str) {
    let Some(client) = state.temporal.client() else {
        return;
    };
    let task_queue = state.temporal.task_queue.clone();
    let start = nmc_temporal::signal::start_team_text(client, &task_queue, business_id, id, sid);
    match tokio::time::timeout(super::SIGNAL_WAIT, start).await {
        Ok(Ok(())) => {
            if let Err(e) = team::mark_started(&state.db, id).await {
                tracing::warn!(error = %e, "could not mark the team text started; the outbox will");
            }
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not start the team text; the worker's outbox will");
        }
        Err(_) => tracing::warn!("starting the team text timed out; the worker's outbox will"),
    }
}
