//! CRM sync: the business's connections, a push recorded per interaction (in the same
//! transaction as what resolved it), the record each push carries, every attempt in the
//! delivery log, and the CRM's id per caller so the next push updates.

use chrono::{DateTime, Utc};
use nmc_domain::crm::{FieldMap, Record, Vendor};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::Result;

mod record;
mod status;
pub use status::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConnectionRow {
    pub id: Uuid,
    pub vendor: String,
    pub settings: Value,
    pub field_map: sqlx::types::Json<FieldMap>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn connections(db: &mut PgConnection, business_id: Uuid) -> Result<Vec<ConnectionRow>> {
    Ok(sqlx::query_as(
        "select id, vendor, settings, field_map, enabled, created_at from crm_connections
         where business_id = $1 order by created_at",
    )
    .bind(business_id)
    .fetch_all(db)
    .await?)
}

/// One of the business's connections (none: not this business's).
pub async fn connection(
    db: &mut PgConnection,
    business_id: Uuid,
    id: Uuid,
) -> Result<Option<ConnectionRow>> {
    Ok(sqlx::query_as(
        "select id, vendor, settings, field_map, enabled, created_at from crm_connections
         where business_id = $1 and id = $2",
    )
    .bind(business_id)
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Connects (or reconnects, keeping what was pushed) one vendor.
pub async fn connect(
    db: &mut PgConnection,
    business_id: Uuid,
    vendor: Vendor,
    secret_enc: Option<&str>,
    settings: &Value,
    field_map: &FieldMap,
) -> Result<Uuid> {
    Ok(sqlx::query_scalar(
        "insert into crm_connections (business_id, vendor, secret_enc, settings, field_map)
         values ($1, $2, $3, $4, $5)
         on conflict (business_id, vendor) do update set secret_enc = excluded.secret_enc,
             refresh_token_enc = null, token_expires_at = null,
             settings = excluded.settings, field_map = excluded.field_map, enabled = true, updated_at = now()
         returning id",
    )
    .bind(business_id)
    .bind(vendor.as_str())
    .bind(secret_enc)
    .bind(settings)
    .bind(sqlx::types::Json(field_map))
    .fetch_one(db)
    .await?)
}

/// Connects a CRM through its OAuth grant: the tokens sealed, the settings it came with (the
/// GoHighLevel location), the field map kept on a reconnect.
pub async fn connect_oauth(
    db: &mut PgConnection,
    business_id: Uuid,
    vendor: Vendor,
    tokens: &SealedTokens,
    settings: &Value,
) -> Result<Uuid> {
    Ok(sqlx::query_scalar(
        "insert into crm_connections (business_id, vendor, secret_enc, refresh_token_enc, token_expires_at, settings)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (business_id, vendor) do update set secret_enc = excluded.secret_enc,
             refresh_token_enc = excluded.refresh_token_enc, token_expires_at = excluded.token_expires_at,
             settings = excluded.settings, enabled = true, updated_at = now()
         returning id",
    )
    .bind(business_id)
    .bind(vendor.as_str())
    .bind(&tokens.access_enc)
    .bind(tokens.refresh_enc.as_deref())
    .bind(tokens.expires_at)
    .bind(settings)
    .fetch_one(db)
    .await?)
}

/// An OAuth grant's tokens, sealed.
pub struct SealedTokens {
    pub access_enc: String,
    pub refresh_enc: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A connection's OAuth grant as it stands (sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Grant {
    pub access_enc: Option<String>,
    pub refresh_enc: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn grant(pool: &PgPool, connection_id: Uuid) -> Result<Grant> {
    Ok(sqlx::query_as(
        "select secret_enc as access_enc, refresh_token_enc as refresh_enc, token_expires_at as expires_at
         from crm_connections where id = $1",
    )
    .bind(connection_id)
    .fetch_one(pool)
    .await?)
}

/// A refreshed grant (a rotated refresh token replaces the old one; none keeps it).
pub async fn store_tokens(pool: &PgPool, connection_id: Uuid, t: &SealedTokens) -> Result<()> {
    sqlx::query(
        "update crm_connections set secret_enc = $2, refresh_token_enc = coalesce($3, refresh_token_enc),
             token_expires_at = $4, updated_at = now() where id = $1",
    )
    .bind(connection_id)
    .bind(&t.access_enc)
    .bind(t.refresh_enc.as_deref())
    .bind(t.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Changes the field map or pauses the connection; false if it is not this business's.
pub async fn update(
    db: &mut PgConnection,
    business_id: Uuid,
    id: Uuid,
    field_map: Option<&FieldMap>,
    enabled: Option<bool>,
) -> Result<bool> {
    let done = sqlx::query(
        "update crm_connections set field_map = coalesce($3, field_map), enabled = coalesce($4, enabled), updated_at = now()
         where business_id = $1 and id = $2",
    )
    .bind(business_id)
    .bind(id)
    .bind(field_map.map(sqlx::types::Json))
    .bind(enabled)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Disconnects: the secret and everything pushed through it go.
pub async fn disconnect(db: &mut PgConnection, business_id: Uuid, id: Uuid) -> Result<bool> {
    let done = sqlx::query("delete from crm_connections where business_id = $1 and id = $2")
        .bind(business_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Records a push to every enabled connection; the outbox starts their workflows.
pub async fn enqueue(
    db: &mut PgConnection,
    business_id: Uuid,
    lead_id: Uuid,
    conversation_id: Option<Uuid>,
    trigger: &str,
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "insert into crm_pushes (business_id, connection_id, lead_id, conversation_id, trigger)
         select $1, c.id, $2, $3, $4 from crm_connections c where c.business_id = $1 and c.enabled
         returning id",
    )
    .bind(business_id)
    .bind(lead_id)
    .bind(conversation_id)
    .bind(trigger)
    .fetch_all(db)
    .await?)
}

/// Pushes a conversation's resolution (its lead, from the row).
pub async fn enqueue_conversation(
    db: &mut PgConnection,
    business_id: Uuid,
    conversation_id: Uuid,
    trigger: &str,
) -> Result<()> {
    let lead: Option<Uuid> =
        sqlx::query_scalar("select lead_id from conversations where id = $1 and business_id = $2")
            .bind(conversation_id)
            .bind(business_id)
            .fetch_optional(&mut *db)
            .await?;
    if let Some(lead) = lead {
        enqueue(db, business_id, lead, Some(conversation_id), trigger).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Unstarted {
    pub id: Uuid,
    pub business_id: Uuid,
}

pub async fn unstarted(pool: &PgPool, limit: i64) -> Result<Vec<Unstarted>> {
    Ok(sqlx::query_as(
        "select id, business_id from crm_pushes where workflow_started_at is null order by created_at limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

pub async fn mark_started(pool: &PgPool, id: Uuid) -> Result<()> {
    sqlx::query("update crm_pushes set workflow_started_at = now() where id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// What one push needs: its connection (sealed) and what we know of the caller there.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub business_id: Uuid,
    pub connection_id: Uuid,
    pub lead_id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub trigger: String,
    pub status: String,
    pub attempts: i32,
    pub enabled: bool,
    pub vendor: String,
    pub secret_enc: Option<String>,
    pub refresh_token_enc: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub settings: Value,
    pub field_map: sqlx::types::Json<FieldMap>,
    pub phone: String,
    pub known_id: Option<String>,
    pub known_extra: Option<Value>,
}

pub async fn job(pool: &PgPool, push_id: Uuid) -> Result<Option<Job>> {
    Ok(sqlx::query_as(
        "select p.business_id, p.connection_id, p.lead_id, p.conversation_id, p.trigger, p.status, p.attempts, c.enabled,
                c.vendor, c.secret_enc, c.refresh_token_enc, c.token_expires_at, c.settings, c.field_map, l.phone::text as phone,
                k.remote_id as known_id, k.remote_extra as known_extra
         from crm_pushes p join crm_connections c on c.id = p.connection_id join leads l on l.id = p.lead_id
         left join crm_contacts k on k.connection_id = p.connection_id and k.phone = l.phone
         where p.id = $1",
    )
    .bind(push_id)
    .fetch_optional(pool)
    .await?)
}

/// One attempt's outcome, in the delivery log and on the push.
pub struct Attempt<'a> {
    pub push_id: Uuid,
    pub business_id: Uuid,
    pub ok: bool,
    pub http_status: Option<i32>,
    pub error: Option<&'a str>,
    pub duration_ms: i32,
    /// pending | retrying | synced | failed
    pub status: &'a str,
}

pub async fn record_attempt(pool: &PgPool, a: &Attempt<'_>) -> Result<i32> {
    let mut tx = pool.begin().await?;
    let attempt: i32 = sqlx::query_scalar(
        "update crm_pushes set attempts = attempts + 1, status = $2, last_error = $3,
             synced_at = case when $2 = 'synced' then now() else synced_at end, updated_at = now()
         where id = $1 returning attempts",
    )
    .bind(a.push_id)
    .bind(a.status)
    .bind(a.error)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "insert into crm_attempts (push_id, business_id, attempt, ok, http_status, error, duration_ms)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(a.push_id)
    .bind(a.business_id)
    .bind(attempt)
    .bind(a.ok)
    .bind(a.http_status)
    .bind(a.error)
    .bind(a.duration_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(attempt)
}

/// The CRM's id for the caller, kept as soon as a push found or made it (a failed attempt's
/// too), so the next attempt or push updates it.
pub async fn keep_contact(
    pool: &PgPool,
    push_id: Uuid,
    remote_id: &str,
    extra: &Value,
) -> Result<()> {
    sqlx::query(
        "insert into crm_contacts (connection_id, business_id, phone, remote_id, remote_extra)
         select p.connection_id, p.business_id, l.phone, $2, coalesce($3, '{}'::jsonb)
         from crm_pushes p join leads l on l.id = p.lead_id where p.id = $1
         on conflict (connection_id, phone) do update set remote_id = excluded.remote_id,
             remote_extra = excluded.remote_extra, updated_at = now()",
    )
    .bind(push_id)
    .bind(remote_id)
    .bind(extra.is_object().then_some(extra))
    .execute(pool)
    .await?;
    Ok(())
}

/// What the push found or made, on the push.
pub async fn note_remote(
    pool: &PgPool,
    push_id: Uuid,
    remote_id: Option<&str>,
    created: bool,
) -> Result<()> {
    sqlx::query("update crm_pushes set remote_id = coalesce($2, remote_id), created_remote = coalesce(created_remote, false) or $3, updated_at = now() where id = $1")
        .bind(push_id)
        .bind(remote_id)
        .bind(created)
        .execute(pool)
        .await?;
    Ok(())
}

/// The workflow gave up (retries spent): the push is failed, with its last error.
pub async fn give_up(pool: &PgPool, push_id: Uuid) -> Result<()> {
    sqlx::query("update crm_pushes set status = 'failed', updated_at = now() where id = $1 and status <> 'synced'")
        .bind(push_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// The record a push carries, read when it is pushed (so a retry sends the latest).
pub async fn record(pool: &PgPool, job: &Job, base_url: &str) -> Result<Record> {
    let lead: LeadRow = sqlx::query_as(
        "select l.phone::text as phone, l.name, l.address, l.service_needed, l.urgency, l.status, l.notes,
                l.created_at, l.updated_at, b.name as business_name
         from leads l join businesses b on b.id = l.business_id where l.id = $1",
    )
    .bind(job.lead_id)
    .fetch_one(pool)
    .await?;
    // The conversation this push is about (a manual push: the caller's latest).
    let (conversation, started): (Option<Uuid>, Option<DateTime<Utc>>) = sqlx::query_as(
        "select id, created_at from conversations where lead_id = $1 and ($2::uuid is null or id = $2)
         order by created_at desc limit 1",
    )
    .bind(job.lead_id)
    .bind(job.conversation_id)
    .fetch_optional(pool)
    .await?
    .map_or((job.conversation_id, None), |(id, at): (Uuid, DateTime<Utc>)| {
        (Some(id), Some(at))
    });
    // A voicemail or AI call belongs to this conversation only if it came with it, not from an
    // earlier one of the same caller's.
    let voice = record::voice(pool, job.lead_id, base_url)
        .await?
        .filter(|v| started.is_none_or(|at| v.at >= at - chrono::Duration::minutes(15)));
    let appointment = record::appointment(pool, job.lead_id).await?;
    let thread = match (&voice, conversation) {
        (None, Some(c)) => record::thread(pool, c).await?,
        _ => None,
    };
    let last = [Some(lead.updated_at), voice.as_ref().map(|v| v.at)]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(lead.updated_at);
    Ok(Record {
        lead_id: job.lead_id,
        conversation_id: conversation,
        business_name: lead.business_name,
        phone: lead.phone,
        name: lead.name,
        address: lead.address,
        channel: voice.as_ref().map_or("text", |v| v.channel).to_owned(),
        outcome: lead.status,
        summary: voice
            .as_ref()
            .and_then(|v| v.summary.clone())
            .or(lead.notes)
            .or_else(|| lead.service_needed.clone())
            .unwrap_or_default(),
        service: lead.service_needed,
        urgency: lead.urgency,
        transcript: voice.as_ref().and_then(|v| v.transcript.clone()).or(thread),
        appointment,
        recording_url: voice.and_then(|v| v.recording_url),
        link: conversation.map_or_else(
            || format!("{base_url}/app/inbox"),
            |c| format!("{base_url}/app/inbox/{c}"),
        ),
        first_contact_at: lead.created_at,
        last_activity_at: last,
        trigger: job.trigger.clone(),
    })
}

#[derive(sqlx::FromRow)]
struct LeadRow {
    phone: String,
    name: Option<String>,
    address: Option<String>,
    service_needed: Option<String>,
    urgency: Option<String>,
    status: String,
    notes: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    business_name: String,
}

/// What we pushed about an erased caller, and the CRMs' ids for them (the CRM's own copy is
/// the business's to erase there).
pub async fn erase_caller(
    db: &mut PgConnection,
    business_id: Uuid,
    phone: &str,
    leads: &[Uuid],
) -> Result<()> {
    // Wait for any push about them still running (it holds this lock while it keeps the CRM's
    // id), so nothing it keeps outlives the erasure.
    sqlx::query(
        "select pg_advisory_xact_lock(hashtextextended('crm:' || id::text || ':' || $2, 0))
         from crm_connections where business_id = $1",
    )
    .bind(business_id)
    .bind(phone)
    .execute(&mut *db)
    .await?;
    sqlx::query("delete from crm_pushes where business_id = $1 and lead_id = any($2)")
        .bind(business_id)
        .bind(leads)
        .execute(&mut *db)
        .await?;
    sqlx::query("delete from crm_contacts where business_id = $1 and phone::text = $2")
        .bind(business_id)
        .bind(phone)
        .execute(&mut *db)
        .await?;
    Ok(())
}
