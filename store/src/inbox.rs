//! What the owner reads and edits: leads, calls, conversations with their messages, opt-outs and
//! the audit log. Every function takes the tenant; lists page by an opaque cursor (newest first).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{Result, StoreError};

/// Where the next page starts: the last row's (created_at, id), as an opaque string.
#[derive(Debug, Clone, Copy)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!(
            "{}_{}",
            self.created_at.timestamp_micros(),
            self.id.simple()
        )
    }

    pub fn decode(s: &str) -> Option<Self> {
        let (t, id) = s.split_once('_')?;
        Some(Self {
            created_at: DateTime::from_timestamp_micros(t.parse().ok()?)?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub(crate) fn page<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> Cursor) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| key(r).encode())
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

pub(crate) fn after(c: Option<Cursor>) -> (Option<DateTime<Utc>>, Option<Uuid>) {
    (c.map(|c| c.created_at), c.map(|c| c.id))
}

// ---- leads ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Lead {
    pub id: Uuid,
    pub phone: String,
    pub name: Option<String>,
    pub address: Option<String>,
    pub service_needed: Option<String>,
    pub trade: Option<String>,
    pub urgency: Option<String>,
    pub preferred_time: Option<String>,
    pub status: String,
    pub source: String,
    pub notes: Option<String>,
    pub owner_edited: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const LEAD_COLUMNS: &str = "id, phone, name, address, service_needed, trade, urgency, preferred_time, status, source, notes, owner_edited, created_at, updated_at";

pub async fn leads(
    db: &mut PgConnection,
    business_id: Uuid,
    status: Option<&str>,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<Page<Lead>> {
    let (ts, id) = after(cursor);
    let rows: Vec<Lead> = sqlx::query_as(&format!(
        "select {LEAD_COLUMNS} from leads where business_id = $1 and ($2::text is null or status = $2)
           and ($3::timestamptz is null or (created_at, id) < ($3, $4)) order by created_at desc, id desc limit $5"
    ))
    .bind(business_id)
    .bind(status)
    .bind(ts)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    Ok(page(rows, limit, |l| Cursor {
        created_at: l.created_at,
        id: l.id,
    }))
}

pub async fn lead(db: &mut PgConnection, business_id: Uuid, id: Uuid) -> Result<Lead> {
    sqlx::query_as(&format!(
        "select {LEAD_COLUMNS} from leads where business_id = $1 and id = $2"
    ))
    .bind(business_id)
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(StoreError::NotFound)
}

/// The owner's edit. Field edits are remembered, so the assistant never overwrites them.
#[derive(Debug, Default)]
pub struct LeadEdit {
    pub status: Option<String>,
    pub notes: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub service_needed: Option<String>,
    pub urgency: Option<String>,
    pub preferred_time: Option<String>,
}

pub async fn edit_lead(
    db: &mut PgConnection,
    business_id: Uuid,
    id: Uuid,
    e: &LeadEdit,
) -> Result<Lead> {
    let edited: Vec<&str> = [
        ("name", &e.name),
        ("address", &e.address),
        ("service_needed", &e.service_needed),
        ("urgency", &e.urgency),
        ("preferred_time", &e.preferred_time),
    ]
    .iter()
    .filter(|(_, v)| v.is_some())
    .map(|(k, _)| *k)
    .collect();
    let done = sqlx::query(
        "update leads set status = coalesce($3, status), notes = coalesce($4, notes), name = coalesce($5, name),
             address = coalesce($6, address), service_needed = coalesce($7, service_needed), urgency = coalesce($8, urgency),
             preferred_time = coalesce($9, preferred_time),
             owner_edited = array(select distinct unnest(owner_edited || $10::text[])), updated_at = now()
         where business_id = $1 and id = $2",
    )
    .bind(business_id)
    .bind(id)
    .bind(&e.status)
    .bind(&e.notes)
    .bind(&e.name)
    .bind(&e.address)
    .bind(&e.service_needed)
    .bind(&e.urgency)
    .bind(&e.preferred_time)
    .bind(&edited)
    .execute(&mut *db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    crate::audit(
        &mut *db,
        business_id,
        "lead",
        Some(id),
        "edited",
        serde_json::json!({"fields": edited, "status": e.status}),
    )
    .await?;
    lead(db, business_id, id).await
}

/// Every lead's name by id (the calls log shows who called).
pub async fn lead_names(
    db: &mut PgConnection,
    business_id: Uuid,
) -> Result<HashMap<Uuid, Option<String>>> {
    Ok(sqlx::query_as::<_, (Uuid, Option<String>)>(
        "select id, name from leads where business_id = $1",
    )
    .bind(business_id)
    .fetch_all(db)
    .await?
    .into_iter()
    .collect())
}

/// Each lead's latest conversation, to open the thread from the lead's card.
pub async fn latest_conversations(
    db: &mut PgConnection,
    business_id: Uuid,
) -> Result<HashMap<Uuid, Uuid>> {
    Ok(sqlx::query_as::<_, (Uuid, Uuid)>(
        "select distinct on (lead_id) lead_id, id from conversations where business_id = $1 order by lead_id, created_at desc",
    )
    .bind(business_id)
    .fetch_all(db)
    .await?
    .into_iter()
    .collect())
}

// ---- calls ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Call {
    pub id: Uuid,
    pub caller_phone: Option<String>,
    pub lead_id: Option<Uuid>,
    pub status: String,
    pub dial_status: Option<String>,
    pub is_after_hours: bool,
    pub is_repeat: bool,
    pub created_at: DateTime<Utc>,
    /// What the routing rule gave a missed call: text, voicemail, ai_voice, both.
    pub route: Option<String>,
    /// How long an answered call lasted.
    pub answered_secs: Option<i32>,
    /// The caller's voicemail, if they left one: play it at `/app/recordings/{id}`.
    pub recording_id: Option<Uuid>,
    pub recording_secs: Option<i32>,
    pub transcript: Option<String>,
    /// recorded | stored | transcribed | failed
    pub recording_status: Option<String>,
    /// The AI voice agent took it: completed | hung_up | failed, its summary, length and
    /// recording (kept in the business's Vapi account).
    pub agent_outcome: Option<String>,
    pub agent_summary: Option<String>,
    pub agent_secs: Option<i32>,
    pub agent_recording_url: Option<String>,
}

pub struct CallFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// missed | answered
    pub outcome: Option<String>,
    pub after_hours: Option<bool>,
}

pub async fn calls(
    db: &mut PgConnection,
    business_id: Uuid,
    f: &CallFilter,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<Page<Call>> {
    let (ts, id) = after(cursor);
    let rows: Vec<Call> = sqlx::query_as(
        "select c.id, c.caller_phone, c.lead_id, c.status, c.dial_status, c.is_after_hours, c.is_repeat, c.created_at,
                c.route, c.answered_secs, r.rec_id as recording_id, r.rec_secs as recording_secs,
                r.rec_text as transcript, r.rec_status as recording_status,
                a.outcome as agent_outcome, a.summary as agent_summary, a.duration_secs as agent_secs,
                a.recording_url as agent_recording_url
         from calls c
         left join lateral (
             select id as rec_id, duration_secs as rec_secs, transcript as rec_text, status as rec_status
             from recordings where business_id = c.business_id and call_sid = c.twilio_call_sid
             order by created_at desc limit 1) r on true
         left join lateral (
             select outcome, summary, duration_secs, recording_url from agent_calls
             where business_id = c.business_id and call_sid = c.twilio_call_sid
             order by created_at desc limit 1) a on true
         where c.business_id = $1 and ($2::timestamptz is null or c.created_at >= $2) and ($3::timestamptz is null or c.created_at < $3)
           and ($4::text is null or c.status = $4) and ($5::boolean is null or c.is_after_hours = $5)
           and ($6::timestamptz is null or (c.created_at, c.id) < ($6, $7))
         order by c.created_at desc, c.id desc limit $8",
    )
    .bind(business_id)
    .bind(f.from)
    .bind(f.to)
    .bind(&f.outcome)
    .bind(f.after_hours)
    .bind(ts)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    Ok(page(rows, limit, |c| Cursor {
        created_at: c.created_at,
        id: c.id,
    }))
}

// ---- conversations -----------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConversationSummary {
    pub id: Uuid,
    pub workflow_id: String,
    pub status: String,
    pub mode: String,
    pub emergency: bool,
    pub needs_owner: bool,
    pub lead_id: Uuid,
    pub caller_phone: String,
    pub caller_name: Option<String>,
    pub service_needed: Option<String>,
    pub last_message: Option<String>,
    pub last_message_at: Option<DateTime<Utc>>,
    /// The latest text other than our greeting (what the conversation is about so far).
    pub preview: Option<String>,
    /// It began with a missed call (a greeting went out).
    pub missed_call: bool,
    pub created_at: DateTime<Utc>,
}

pub struct ConversationFilter {
    /// active | closed | a specific closed_* status
    pub status: Option<String>,
    pub needs_owner: Option<bool>,
    pub emergency: Option<bool>,
    /// assistant | owner
    pub mode: Option<String>,
    pub booked: Option<bool>,
}

/// Conversations picked by `chosen` (a query over `conversations`), with the caller, the last
/// text and the preview. The texts are looked up only for the chosen page, not for every
/// conversation the filter matches.
fn conversation_select(chosen: &str) -> String {
    format!(
        "select c.id, c.workflow_id, c.status, c.mode, c.emergency, c.needs_owner, c.lead_id, l.phone as caller_phone,
        l.name as caller_name, l.service_needed, m.body as last_message, m.created_at as last_message_at,
        p.body as preview, exists(select 1 from messages g where g.conversation_id = c.id and g.kind = 'greeting') as missed_call, c.created_at
    from ({chosen}) c join leads l on l.id = c.lead_id
    left join lateral (select body, created_at from messages where conversation_id = c.id and kind <> 'owner_alert' order by created_at desc limit 1) m on true
    left join lateral (select body from messages where conversation_id = c.id and kind not in ('owner_alert', 'greeting') order by created_at desc limit 1) p on true"
    )
}

pub async fn conversations(
    db: &mut PgConnection,
    business_id: Uuid,
    f: &ConversationFilter,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<Page<ConversationSummary>> {
    let (ts, id) = after(cursor);
    let chosen = "select * from conversations c
         where c.business_id = $1
           and ($2::text is null or ($2 = 'closed' and c.status <> 'active') or c.status = $2)
           and ($3::boolean is null or c.needs_owner = $3) and ($4::boolean is null or c.emergency = $4)
           and ($5::text is null or c.mode = $5) and ($6::boolean is null or (c.status = 'closed_booked') = $6)
           and ($7::timestamptz is null or (c.created_at, c.id) < ($7, $8))
         order by c.created_at desc, c.id desc limit $9";
    let rows: Vec<ConversationSummary> = sqlx::query_as(&format!(
        "{} order by c.created_at desc, c.id desc",
        conversation_select(chosen)
    ))
    .bind(business_id)
    .bind(&f.status)
    .bind(f.needs_owner)
    .bind(f.emergency)
    .bind(&f.mode)
    .bind(f.booked)
    .bind(ts)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    Ok(page(rows, limit, |c| Cursor {
        created_at: c.created_at,
        id: c.id,
    }))
}

pub async fn conversation(
    db: &mut PgConnection,
    business_id: Uuid,
    id: Uuid,
) -> Result<ConversationSummary> {
    sqlx::query_as(&conversation_select(
        "select * from conversations where business_id = $1 and id = $2",
    ))
    .bind(business_id)
    .bind(id)
    .fetch_optional(db)
    .await?
    .ok_or(StoreError::NotFound)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Message {
    pub id: Uuid,
    pub direction: String,
    pub sender: String,
    pub kind: String,
    pub body: String,
    pub status: String,
    pub error_code: Option<i32>,
    pub created_at: DateTime<Utc>,
    /// A voicemail's recording (its transcript is the body).
    pub recording_id: Option<Uuid>,
    /// What the owner should know about it ("From your FAQ: …").
    pub note: Option<String>,
}

pub async fn messages(
    db: &mut PgConnection,
    business_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<Message>> {
    Ok(sqlx::query_as(
        "select m.id, m.direction, m.sender, m.kind, m.body, m.status, m.error_code, m.created_at,
                r.id as recording_id, m.note
         from messages m
         left join recordings r on m.kind = 'voicemail' and r.business_id = m.business_id
                               and r.twilio_recording_sid = m.twilio_message_sid
         where m.business_id = $1 and m.conversation_id = $2 and m.kind <> 'owner_alert'
         order by m.created_at, m.id",
    )
    .bind(business_id)
    .bind(conversation_id)
    .fetch_all(db)
    .await?)
}

/// Texts since `since` that did not reach the caller: how many, and the latest one's conversation.
pub async fn failed_deliveries(
    db: &mut PgConnection,
    business_id: Uuid,
    since: DateTime<Utc>,
) -> Result<(i64, Option<Uuid>)> {
    Ok(sqlx::query_as(
        "select count(*), (array_agg(conversation_id order by created_at desc) filter (where conversation_id is not null))[1]
         from messages where business_id = $1 and direction = 'outbound' and status in ('failed', 'undelivered') and created_at > $2",
    )
    .bind(business_id)
    .bind(since)
    .fetch_one(db)
    .await?)
}

/// The texts between the business and one caller, as the dev phone shows them: (direction,
/// body, status, sent at), oldest first, without owner alerts or texts that never went out.
pub async fn caller_thread(
    db: &mut PgConnection,
    business_id: Uuid,
    caller: &str,
) -> Result<Vec<(String, String, String, DateTime<Utc>)>> {
    Ok(sqlx::query_as(
        "select m.direction, m.body, m.status, m.created_at from messages m join leads l on l.id = m.lead_id
         where m.business_id = $1 and l.phone = $2 and m.kind <> 'owner_alert' and m.status not in ('pending', 'suppressed', 'held')
         order by m.created_at, m.id limit 200",
    )
    .bind(business_id)
    .bind(caller)
    .fetch_all(db)
    .await?)
}

// ---- opt-outs and the audit log ------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OptOut {
    pub id: Uuid,
    pub phone: String,
    pub source: String,
    pub created_at: DateTime<Utc>,
    /// The caller re-subscribed (START/YES/UNSTOP) at this time; the opt-out is history.
    pub opted_in_at: Option<DateTime<Utc>>,
}

pub async fn opt_outs(
    db: &mut PgConnection,
    business_id: Uuid,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<Page<OptOut>> {
    let (ts, id) = after(cursor);
    let rows: Vec<OptOut> = sqlx::query_as(
        "select id, phone, source, created_at, opted_in_at from opt_outs where business_id = $1 and ($2::timestamptz is null or (created_at, id) < ($2, $3))
         order by created_at desc, id desc limit $4",
    )
    .bind(business_id)
    .bind(ts)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    Ok(page(rows, limit, |o| Cursor {
        created_at: o.created_at,
        id: o.id,
    }))
}

/// The owner puts a number on the do-not-text list (honoured by every send at once).
pub async fn add_opt_out(db: &mut PgConnection, business_id: Uuid, phone: &str) -> Result<bool> {
    let added = sqlx::query("insert into opt_outs (business_id, phone, source) values ($1, $2, 'owner') on conflict (business_id, phone) where opted_in_at is null do nothing")
        .bind(business_id)
        .bind(phone)
        .execute(&mut *db)
        .await?
        .rows_affected()
        == 1;
    if added {
        crate::audit(
            &mut *db,
            business_id,
            "opt_out",
            None,
            "added_by_owner",
            serde_json::json!({}),
        )
        .await?;
    }
    Ok(added)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: Uuid,
    pub entity_type: String,
    pub entity_id: Option<Uuid>,
    pub action: String,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

pub async fn audit_log(
    db: &mut PgConnection,
    business_id: Uuid,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<Page<AuditEntry>> {
    let (ts, id) = after(cursor);
    let rows: Vec<AuditEntry> = sqlx::query_as(
        "select id, entity_type, entity_id, action, details, created_at from audit_log
         where business_id = $1 and ($2::timestamptz is null or (created_at, id) < ($2, $3)) order by created_at desc, id desc limit $4",
    )
    .bind(business_id)
    .bind(ts)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    Ok(page(rows, limit, |a| Cursor {
        created_at: a.created_at,
        id: a.id,
    }))
}
