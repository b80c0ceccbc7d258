//! The AI voice agent's calls. A missed call routed to it is dialled to the business's Vapi SIP
//! number; the Dial's action learns whether the agent picked up (if not, voicemail: VTCR 3.5a).
//! During the call Vapi posts to `/webhook/vapi?b=` (its server URL, docs.vapi.ai/server-url):
//! tool calls, answered by the caller's conversation workflow through an update, and the
//! end-of-call report, recorded with its signal first and then handed over, like a voicemail.
//! Every request must carry the business's secret header (`X-Vapi-Secret`).

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use nmc_domain::E164;
use nmc_domain::voice_agent::{AgentOutcome, AgentTool};
use nmc_store::voice_agent::{self as store, NewAgentCall};
use nmc_twilio::twiml;
use nmc_vapi::assistant::{BOOK_APPOINTMENT, CHECK_AVAILABILITY, SECRET_HEADER};
use nmc_vapi::events::{self, Report, ServerMessage, ToolCall};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::instrument;
use uuid::Uuid;

use super::twiml as xml;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhook/vapi", post(vapi_event))
        .route("/webhook/voice/agent-done", post(agent_done))
}

/// How long the agent has to pick up before the caller goes to voicemail.
const RING_SECS: u32 = 15;
/// Vapi waits 20 s for a message's answer (`server.timeoutSeconds`); every tool in it is
/// answered within this, all together.
const TOOL_WAIT: Duration = Duration::from_secs(15);

/// The TwiML that hands the caller to the agent: its SIP number with our credentials, and our
/// call's sid as a header (Vapi keeps `x-` headers as template variables, so the report names
/// the call it belongs to).
pub fn hand_to_agent(
    state: &AppState,
    line: &nmc_store::voice_agent::AgentLine,
    call_sid: &str,
) -> Result<Response, ApiError> {
    let action = format!("{}/webhook/voice/agent-done", state.config.public_base_url);
    let password = match &line.sip_password_sealed {
        Some(sealed) => Some(state.secrets.decrypt(sealed)?),
        None => None,
    };
    let credentials = line.sip_username.as_deref().zip(password.as_deref());
    let uri = format!("{}?{CALL_HEADER}={call_sid}", line.sip_uri);
    Ok(xml(twiml::Response::new()
        .dial_sip(&uri, credentials, RING_SECS, &action)
        .render()))
}

/// The SIP header naming our call (Vapi's variable `nmc_call`).
const CALL_HEADER: &str = "X-nmc_call";

/// The agent's `<Dial>` ended. Answered and finished: goodbye. Not answered (Vapi down, busy,
/// failing): the caller gets the voicemail prompt, and the conversation, which waits on this
/// call, takes the message (or the lack of one) as it would any voicemail.
#[instrument(
    skip_all,
    fields(request_id = super::request_id(&headers), business_id, call_sid, caller)
)]
async fn agent_done(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some((params, b)) = super::voice::verified_call(&state, &uri, &headers, &body).await?
    else {
        return Ok(xml(twiml::Response::new().hangup().render()));
    };
    let status = params.required("DialCallStatus")?;
    if status == "completed" {
        return Ok(xml(twiml::Response::new().hangup().render()));
    }
    tracing::warn!(
        dial_status = status,
        "the AI voice agent did not pick up: voicemail instead"
    );
    Ok(super::voicemail::prompt(&state, &b))
}

#[derive(Deserialize)]
pub struct ForBusiness {
    b: Uuid,
}

/// `POST /webhook/vapi?b=…`: Vapi's server messages for one business's assistant.
#[instrument(skip_all, fields(request_id = super::request_id(&headers), business_id = %q.b, caller))]
async fn vapi_event(
    State(state): State<AppState>,
    Query(q): Query<ForBusiness>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(conn) = store::connection(&state.db, q.b).await? else {
        return Err(ApiError::BadSignature);
    };
    let secret = state.secrets.decrypt(&conn.secret_sealed)?;
    let sent = headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok());
    if !events::secret_matches(sent, &secret) {
        return Err(ApiError::BadSignature);
    }
    let message = events::parse(&body).map_err(ApiError::BadRequest)?;
    let Some(b) = nmc_store::business::for_webhook(&state.db, q.b).await? else {
        return Err(ApiError::BadSignature);
    };
    match message {
        ServerMessage::ToolCalls { call, calls } => {
            let caller = caller_of(call.customer_number.as_deref());
            let owner = b.profile().owner_name;
            // One after another (a booking needs the times offered before it), under one deadline.
            let deadline = tokio::time::Instant::now() + TOOL_WAIT;
            let mut results = Vec::new();
            for c in &calls {
                let said = answer_tool(&state, (q.b, caller.as_ref()), c, &owner, deadline).await;
                results.push((c.id.clone(), said));
            }
            Ok(Json(events::tool_results(&results)).into_response())
        }
        ServerMessage::EndOfCall(report) => {
            end_of_call(&state, &b, report).await?;
            Ok(Json(json!({})).into_response())
        }
        ServerMessage::Other(_) => Ok(Json(json!({})).into_response()),
    }
}

fn caller_of(number: Option<&str>) -> Option<E164> {
    let caller = number.and_then(|n| E164::parse(n).ok());
    if let Some(c) = &caller {
        tracing::Span::current().record("caller", tracing::field::display(c.masked()));
    }
    caller
}

/// One tool call, answered by the caller's conversation; whatever goes wrong, the agent gets a
/// line it can say (Vapi ignores anything but a 200 with results).
async fn answer_tool(
    state: &AppState,
    (business_id, caller): (Uuid, Option<&E164>),
    call: &ToolCall,
    owner: &str,
    deadline: tokio::time::Instant,
) -> String {
    let owner = owner.split_whitespace().next().unwrap_or("The owner");
    let fallback =
        format!("That cannot be done right now. Tell the caller {owner} will call them back.");
    let (Some(caller), Some(tool)) = (caller, tool_of(call)) else {
        tracing::warn!(tool = %call.name, "a tool call we cannot read");
        return fallback;
    };
    if tokio::time::Instant::now() >= deadline {
        // No time left to start it: nothing has been done, and the agent says so.
        return fallback;
    }
    let booking = matches!(tool, AgentTool::BookAppointment { .. });
    let asked = state
        .temporal
        .agent_tool(business_id, caller, &call.id, tool);
    match tokio::time::timeout_at(deadline, asked).await {
        Ok(Ok(said)) => said,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the conversation could not answer the tool");
            fallback
        }
        Err(_) if booking => {
            // The conversation has it and finishes it; a booking texts its confirmation.
            tracing::warn!("the booking did not answer in time");
            "Still booking that. Tell the caller they will get a text to confirm.".to_owned()
        }
        Err(_) => {
            tracing::warn!("the conversation did not answer the tool in time");
            fallback
        }
    }
}

fn tool_of(call: &ToolCall) -> Option<AgentTool> {
    let a = &call.arguments;
    let text = |k: &str| {
        a[k].as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(300).collect::<String>())
    };
    match call.name.as_str() {
        CHECK_AVAILABILITY => Some(AgentTool::CheckAvailability {
            need: text("need").unwrap_or_default(),
        }),
        BOOK_APPOINTMENT => {
            let slot = a["slot"]
                .as_u64()
                .or_else(|| a["slot"].as_str().and_then(|s| s.trim().parse().ok()))?;
            Some(AgentTool::BookAppointment {
                slot: u32::try_from(slot).ok()?,
                name: text("name"),
                address: text("address"),
                need: text("need"),
            })
        }
        _ => None,
    }
}

/// The report: on record (once, by Vapi's call id) with the signal for the conversation.
async fn end_of_call(
    state: &AppState,
    b: &nmc_store::business::BusinessForWebhook,
    r: Report,
) -> Result<(), ApiError> {
    let Some(call_id) = r.call.call_id.as_deref() else {
        return Err(ApiError::BadRequest(
            "an end-of-call report without call.id".into(),
        ));
    };
    let Some(caller) = caller_of(r.call.customer_number.as_deref()) else {
        // A withheld or unreadable number: nobody to text or file it under.
        tracing::warn!("an AI call report without the caller's number: not recorded");
        return Ok(());
    };
    let structured: Option<Value> = r.structured.clone();
    let new = NewAgentCall {
        vapi_call_id: call_id,
        our_call: r.our_call.as_deref(),
        caller: &caller,
        ended_reason: &r.ended_reason,
        outcome: AgentOutcome::from_report(
            &r.ended_reason,
            &nmc_domain::voice_agent::collected_fields(structured.as_ref()),
        ),
        transcript: r.transcript.as_deref(),
        caller_words: r.caller_words.as_deref(),
        summary: r.summary.as_deref(),
        structured: structured.as_ref(),
        recording_url: r.recording_url.as_deref(),
        duration_secs: r.duration_secs(),
        started_at: r.started_at,
        ended_at: r.ended_at,
    };
    let rec = store::record_call(&state.db, b.id, &new, b.profile()).await?;
    super::hand_over(state, b.id, &caller, &rec).await;
    Ok(())
}
