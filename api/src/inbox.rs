//! The owner's inbox: leads, calls, conversations (with takeover, hand-back and sending, all
//! through the conversation's workflow so they are durable), opt-outs and the audit log.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use nmc_domain::{E164, Mode};
use nmc_store::inbox::{
    self, AuditEntry, Call, CallFilter, ConversationFilter, ConversationSummary, Cursor, Lead,
    LeadEdit, Message, OptOut, Page,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Tenant;
use crate::owner::commit;
use crate::temporal::ModeChange;
use crate::{
    ApiJson, AppState,
    error::{ApiError, Params, invalid},
};

#[derive(Deserialize)]
pub struct PageQuery {
    pub(crate) cursor: Option<String>,
    pub(crate) limit: Option<i64>,
}

pub(crate) fn paging(q: &PageQuery) -> Result<(Option<Cursor>, i64), ApiError> {
    let cursor = match &q.cursor {
        Some(c) => {
            Some(Cursor::decode(c).ok_or_else(|| invalid("cursor", "not a cursor from this API"))?)
        }
        None => None,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "between 1 and 200"));
    }
    Ok((cursor, limit))
}

// ---- leads ---------------------------------------------------------------------------------

const LEAD_STATUSES: [&str; 10] = [
    "new",
    "contacted",
    "qualifying",
    "qualified",
    "booked",
    "completed",
    "unresponsive",
    "opted_out",
    "undeliverable",
    "lost",
];

#[derive(Deserialize)]
pub struct LeadQuery {
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn list_leads(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<LeadQuery>,
) -> Result<Json<Page<Lead>>, ApiError> {
    if q.status
        .as_deref()
        .is_some_and(|st| !LEAD_STATUSES.contains(&st))
    {
        return Err(invalid(
            "status",
            &format!("one of {}", LEAD_STATUSES.join(", ")),
        ));
    }
    let (cursor, limit) = paging(&PageQuery {
        cursor: q.cursor.clone(),
        limit: q.limit,
    })?;
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(
        inbox::leads(&mut tx, t.business_id, q.status.as_deref(), cursor, limit).await?,
    ))
}

pub async fn get_lead(
    t: Tenant,
    State(s): State<AppState>,
    Path(lead_id): Path<Uuid>,
) -> Result<Json<Lead>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(inbox::lead(&mut tx, t.business_id, lead_id).await?))
}

#[derive(Deserialize)]
pub struct LeadPatch {
    status: Option<String>,
    notes: Option<String>,
    name: Option<String>,
    address: Option<String>,
    service_needed: Option<String>,
    urgency: Option<String>,
    preferred_time: Option<String>,
}

/// Owner edits win: an edited field is never overwritten by the assistant afterwards.
pub async fn edit_lead(
    t: Tenant,
    State(s): State<AppState>,
    Path(lead_id): Path<Uuid>,
    ApiJson(p): ApiJson<LeadPatch>,
) -> Result<Json<Lead>, ApiError> {
    let mut bad = BTreeMap::new();
    if p.status
        .as_deref()
        .is_some_and(|st| !LEAD_STATUSES.contains(&st))
    {
        bad.insert("status", format!("one of {}", LEAD_STATUSES.join(", ")));
    }
    if p.urgency
        .as_deref()
        .is_some_and(|u| !["emergency", "soon", "flexible", "unknown"].contains(&u))
    {
        bad.insert(
            "urgency",
            "one of emergency, soon, flexible, unknown".to_owned(),
        );
    }
    for (field, v) in [
        ("notes", &p.notes),
        ("name", &p.name),
        ("address", &p.address),
        ("service_needed", &p.service_needed),
        ("preferred_time", &p.preferred_time),
    ] {
        if v.as_deref().is_some_and(|t| t.chars().count() > 2000) {
            bad.insert(field, "at most 2000 characters".to_owned());
        }
    }
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    let edit = LeadEdit {
        status: p.status,
        notes: p.notes,
        name: p.name,
        address: p.address,
        service_needed: p.service_needed,
        urgency: p.urgency,
        preferred_time: p.preferred_time,
    };
    let mut tx = t.begin(&s.db).await?;
    let lead = inbox::edit_lead(&mut tx, t.business_id, lead_id, &edit).await?;
    commit(tx).await?;
    Ok(Json(lead))
}

// ---- calls ---------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct CallQuery {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    outcome: Option<String>,
    after_hours: Option<bool>,
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn list_calls(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<CallQuery>,
) -> Result<Json<Page<Call>>, ApiError> {
    if q.outcome
        .as_deref()
        .is_some_and(|o| !["missed", "answered", "ringing", "blocked"].contains(&o))
    {
        return Err(invalid(
            "outcome",
            "one of missed, answered, ringing, blocked",
        ));
    }
    let (cursor, limit) = paging(&PageQuery {
        cursor: q.cursor.clone(),
        limit: q.limit,
    })?;
    let day =
        |d: NaiveDate| -> DateTime<Utc> { d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() };
    let filter = CallFilter {
        from: q.from.map(day),
        to: q.to.map(|d| day(d + chrono::Duration::days(1))),
        outcome: q.outcome,
        after_hours: q.after_hours,
    };
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(
        inbox::calls(&mut tx, t.business_id, &filter, cursor, limit).await?,
    ))
}

// ---- conversations -------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct ConversationQuery {
    status: Option<String>,
    needs_owner: Option<bool>,
    emergency: Option<bool>,
    mode: Option<String>,
    booked: Option<bool>,
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn list_conversations(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<ConversationQuery>,
) -> Result<Json<Page<ConversationSummary>>, ApiError> {
    if q.mode
        .as_deref()
        .is_some_and(|m| m != "assistant" && m != "owner")
    {
        return Err(invalid("mode", "assistant or owner"));
    }
    let (cursor, limit) = paging(&PageQuery {
        cursor: q.cursor.clone(),
        limit: q.limit,
    })?;
    let f = ConversationFilter {
        status: q.status,
        needs_owner: q.needs_owner,
        emergency: q.emergency,
        mode: q.mode,
        booked: q.booked,
    };
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(
        inbox::conversations(&mut tx, t.business_id, &f, cursor, limit).await?,
    ))
}

/// A conversation with its lead and every message.
#[derive(Serialize)]
pub struct ConversationView {
    pub conversation: ConversationSummary,
    pub lead: Lead,
    pub messages: Vec<Message>,
}

pub async fn get_conversation(
    t: Tenant,
    State(s): State<AppState>,
    Path(conversation_id): Path<Uuid>,
) -> Result<Json<ConversationView>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let conversation = inbox::conversation(&mut tx, t.business_id, conversation_id).await?;
    let lead = inbox::lead(&mut tx, t.business_id, conversation.lead_id).await?;
    let messages = inbox::messages(&mut tx, t.business_id, conversation_id).await?;
    Ok(Json(ConversationView {
        conversation,
        lead,
        messages,
    }))
}

/// The conversation's workflow, if the conversation is still open.
pub(crate) async fn open_workflow(
    t: &Tenant,
    s: &AppState,
    conversation_id: Uuid,
) -> Result<String, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let c = inbox::conversation(&mut tx, t.business_id, conversation_id).await?;
    if c.status != "active" {
        return Err(ApiError::Conflict {
            field: "conversation",
        });
    }
    Ok(c.workflow_id)
}

/// Who answers the conversation: 200 once the workflow has recorded it, 202 with
/// `pending: true` when it has not answered in time (it applies the change when it gets to it).
#[derive(Serialize)]
pub struct ModeChanged {
    pub mode: Mode,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
}

fn mode_changed(change: ModeChange, asked: Mode) -> Response {
    match change {
        ModeChange::Done(mode) => Json(ModeChanged {
            mode,
            pending: false,
        })
        .into_response(),
        ModeChange::Pending => (
            StatusCode::ACCEPTED,
            Json(ModeChanged {
                mode: asked,
                pending: true,
            }),
        )
            .into_response(),
    }
}

pub async fn take_over(
    t: Tenant,
    State(s): State<AppState>,
    Path(conversation_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let wf = open_workflow(&t, &s, conversation_id).await?;
    let change = s
        .temporal
        .owner_takeover(&wf, &t.user_id.to_string())
        .await
        .map_err(|_| ApiError::Unavailable("temporal"))?;
    audit(&t, &s, conversation_id, "taken_over", json!({})).await?;
    Ok(mode_changed(change, Mode::Owner))
}

pub async fn return_to_assistant(
    t: Tenant,
    State(s): State<AppState>,
    Path(conversation_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let wf = open_workflow(&t, &s, conversation_id).await?;
    let change = s
        .temporal
        .owner_release(&wf, &t.user_id.to_string())
        .await
        .map_err(|_| ApiError::Unavailable("temporal"))?;
    audit(&t, &s, conversation_id, "returned_to_assistant", json!({})).await?;
    Ok(mode_changed(change, Mode::Assistant))
}

/// Records a member's action on a conversation (the audit log shows who did what, when).
async fn audit(
    t: &Tenant,
    s: &AppState,
    conversation_id: Uuid,
    action: &str,
    mut details: serde_json::Value,
) -> Result<(), ApiError> {
    details["by"] = json!(t.user_id);
    let mut tx = t.begin(&s.db).await?;
    nmc_store::audit_member(
        &mut tx,
        t.business_id,
        ("conversation", conversation_id),
        action,
        details,
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct OwnerText {
    body: Option<String>,
    /// The client's idempotency key (or the `Idempotency-Key` header): a retried send is sent once.
    idempotency_key: Option<String>,
}

/// A client's idempotency key (1–100 letters, digits, `-`, `_`), or a fresh one.
pub fn send_key(given: Option<&str>) -> Result<String, ApiError> {
    match given.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(Uuid::new_v4().to_string()),
        Some(k)
            if k.len() <= 100
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Ok(k.to_owned())
        }
        Some(_) => Err(invalid(
            "idempotency_key",
            "1 to 100 letters, digits, - or _",
        )),
    }
}

/// What became of an owner's text: sent (201), or accepted and still with the carrier (202).
#[derive(Serialize)]
#[serde(untagged)]
pub enum SendOutcome {
    Sent {
        message_id: Uuid,
        idempotency_key: String,
    },
    Sending {
        /// Always `"sending"`.
        status: &'static str,
        idempotency_key: String,
    },
}

/// Sends through the workflow's update: durable, counted as the owner's answer, and refused
/// (422) when the caller opted out or the carrier will not take it.
pub async fn send_message(
    t: Tenant,
    State(s): State<AppState>,
    Path(conversation_id): Path<Uuid>,
    headers: axum::http::HeaderMap,
    ApiJson(m): ApiJson<OwnerText>,
) -> Result<(StatusCode, Json<SendOutcome>), ApiError> {
    let header = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let key = send_key(m.idempotency_key.as_deref().or(header))?;
    let text = m
        .body
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    // The same rule the workflow's update validator applies.
    if nmc_domain::check_owner_text(&text).is_err() {
        return Err(invalid("body", "1 to 1600 characters"));
    }
    let wf = open_workflow(&t, &s, conversation_id).await?;
    let sent = s.temporal.owner_message(&wf, &text, &key).await;
    if matches!(sent, Ok(_) | Err(crate::temporal::SendError::StillSending)) {
        audit(
            &t,
            &s,
            conversation_id,
            "owner_texted",
            json!({ "idempotency_key": key }),
        )
        .await?;
    }
    match sent {
        Ok(message_id) => Ok((
            StatusCode::CREATED,
            Json(SendOutcome::Sent {
                message_id,
                idempotency_key: key,
            }),
        )),
        // Accepted by the workflow, still with the carrier: repeat with the same key to learn the outcome.
        Err(crate::temporal::SendError::StillSending) => Ok((
            StatusCode::ACCEPTED,
            Json(SendOutcome::Sending {
                status: "sending",
                idempotency_key: key,
            }),
        )),
        Err(crate::temporal::SendError::Refused(reason)) => Err(invalid("body", &reason)),
        Err(crate::temporal::SendError::Unavailable) => Err(ApiError::Unavailable("temporal")),
    }
}

// ---- opt-outs and the audit log ------------------------------------------------------------------

pub async fn list_opt_outs(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Page<OptOut>>, ApiError> {
    let (cursor, limit) = paging(&q)?;
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(
        inbox::opt_outs(&mut tx, t.business_id, cursor, limit).await?,
    ))
}

#[derive(Deserialize)]
pub struct NewOptOut {
    phone: Option<String>,
}

/// The number now opted out, and whether this request added it (`false`: it already was).
#[derive(Serialize)]
pub struct OptOutAdded {
    pub phone: String,
    pub added: bool,
}

pub async fn add_opt_out(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(o): ApiJson<NewOptOut>,
) -> Result<(StatusCode, Json<OptOutAdded>), ApiError> {
    let phone = E164::parse(o.phone.as_deref().unwrap_or_default())
        .map_err(|e| invalid("phone", &e.to_string()))?;
    let mut tx = t.begin(&s.db).await?;
    let added = inbox::add_opt_out(&mut tx, t.business_id, phone.as_str()).await?;
    commit(tx).await?;
    Ok((
        if added {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(OptOutAdded {
            phone: phone.into(),
            added,
        }),
    ))
}

pub async fn audit_log(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let (cursor, limit) = paging(&q)?;
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(
        inbox::audit_log(&mut tx, t.business_id, cursor, limit).await?,
    ))
}
