//! What the activities record. The outbound message row is written *before* Twilio is called
//! and keyed by the activity's idempotency key: that row is how a retry knows what happened.

use chrono::{DateTime, Utc};
use nmc_domain::{ConversationStatus, OutboundSms};
use sqlx::PgPool;
use uuid::Uuid;

use crate::Result;

/// The outbound message as it stands, plus what is needed to send it.
#[derive(Debug, sqlx::FromRow)]
pub struct Outbound {
    pub message_id: Uuid,
    pub status: String,
    pub twilio_message_sid: Option<String>,
    pub error_code: Option<i32>,
    pub error_message: Option<String>,
    pub send_started_at: Option<DateTime<Utc>>,
    pub opted_out: bool,
    pub from_number: String,
    pub account_sid: String,
    pub auth_token_enc: String,
    /// not_registered | submitted | approved | rejected (10DLC).
    pub messaging_status: String,
    /// The business's plan lets it send automated texts ([`crate::billing::SERVED`]).
    pub billing_served: bool,
}

/// Records the intended text (once per idempotency key) and its conversation, and returns
/// the row with the caller's opt-out state and the business's Twilio account.
pub async fn prepare_outbound(pool: &PgPool, s: &OutboundSms) -> Result<Outbound> {
    let mut tx = pool.begin().await?;
    // An alert goes to the owner about the caller's (existing) conversation: the owner is not a lead.
    if s.kind != nmc_domain::SmsKind::OwnerAlert {
        ensure_conversation(
            &mut tx,
            s.business_id,
            s.conversation_id,
            &s.workflow_id,
            s.to.as_str(),
        )
        .await?;
    }
    sqlx::query(
        "insert into messages (business_id, lead_id, conversation_id, direction, sender, kind, from_phone, to_phone, body,
                               idempotency_key, status, note)
         select b.id, c.lead_id, c.id, 'outbound', $7, $3, b.twilio_number, $4, $5, $6, 'pending', $8
         from businesses b join conversations c on c.id = $2 and c.business_id = b.id
         where b.id = $1
         on conflict (business_id, idempotency_key) do nothing",
    )
    .bind(s.business_id)
    .bind(s.conversation_id)
    .bind(s.kind.as_str())
    .bind(s.to.as_str())
    .bind(&s.body)
    .bind(&s.idempotency_key)
    .bind(s.kind.sender())
    .bind(s.note.as_deref().map(|n| n.chars().take(300).collect::<String>()))
    .execute(&mut *tx)
    .await?;
    let row: Outbound = sqlx::query_as(&format!(
        "select m.id as message_id, m.status, m.twilio_message_sid, m.error_code, m.error_message, m.send_started_at,
                exists (select 1 from opt_outs o where o.business_id = m.business_id and o.phone = m.to_phone and o.opted_in_at is null) as opted_out,
                coalesce(b.twilio_number, '') as from_number, coalesce(b.twilio_account_sid, '') as account_sid,
                coalesce(b.twilio_auth_token_enc, '') as auth_token_enc, b.messaging_status,
                {served} as billing_served
         from messages m join businesses b on b.id = m.business_id
         where m.idempotency_key = $1 and m.business_id = $2",
        served = crate::billing::SERVED
    ))
    .bind(&s.idempotency_key)
    .bind(s.business_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Opens the conversation's row for the caller's lead if no text has yet: safe to repeat. The
/// lead must exist (the webhook made it with the call): an alert never brings back a caller
/// who was erased meanwhile.
pub async fn open_conversation(
    pool: &PgPool,
    business_id: Uuid,
    conversation_id: Uuid,
    workflow_id: &str,
    caller: &str,
) -> Result<()> {
    sqlx::query(
        "insert into conversations (id, business_id, lead_id, workflow_id)
         select $2, $1, l.id, $4 from leads l where l.business_id = $1 and l.phone = $3
         on conflict (id) do nothing",
    )
    .bind(business_id)
    .bind(conversation_id)
    .bind(caller)
    .bind(workflow_id)
    .execute(pool)
    .await?;
    Ok(())
}

async fn ensure_conversation(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    business_id: Uuid,
    conversation_id: Uuid,
    workflow_id: &str,
    caller: &str,
) -> Result<()> {
    // The lead is the webhook's (recorded with the call or text), never made here: a text still
    // in flight when the caller was erased must not bring them back.
    let opened: Option<Uuid> = sqlx::query_scalar(
        "insert into conversations (id, business_id, lead_id, workflow_id)
         select $2, $1, l.id, $4 from leads l where l.business_id = $1 and l.phone = $3
         on conflict (id) do nothing
         returning lead_id",
    )
    .bind(business_id)
    .bind(conversation_id)
    .bind(caller)
    .bind(workflow_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(lead_id) = opened {
        // A returning caller: remember who and where, but the job is a new one.
        sqlx::query(
            "update leads set last_service = coalesce(service_needed, last_service), service_needed = null, trade = null,
                 urgency = null, preferred_time = null, qualified_at = null, lost_reason = null,
                 status = case when status = 'opted_out' then status else 'contacted' end, updated_at = now()
             where id = $1 and business_id = $2
               and exists (select 1 from conversations c where c.lead_id = $1 and c.id <> $3)",
        )
        .bind(lead_id)
        .bind(business_id)
        .bind(conversation_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A send attempt is about to go out; the first attempt's start time is kept for reconciliation.
pub async fn mark_dispatching(
    pool: &PgPool,
    business_id: Uuid,
    message_id: Uuid,
) -> Result<DateTime<Utc>> {
    Ok(sqlx::query_scalar(
        "update messages set status = 'dispatching', send_started_at = coalesce(send_started_at, now()), updated_at = now()
         where id = $1 and business_id = $2 returning send_started_at",
    )
    .bind(message_id)
    .bind(business_id)
    .fetch_one(pool)
    .await?)
}

/// Twilio accepted the text. Any delivery status that raced ahead of us is applied too.
pub async fn mark_accepted(
    pool: &PgPool,
    business_id: Uuid,
    message_id: Uuid,
    sid: &str,
    status: &str,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "update messages set twilio_message_sid = $3, status = case when message_status_rank($4) > message_status_rank(status) then $4 else status end,
             updated_at = now() where id = $1 and business_id = $2",
    )
    .bind(message_id)
    .bind(business_id)
    .bind(sid)
    .bind(status)
    .execute(&mut *tx)
    .await?;
    let early: Vec<(String, Option<i32>)> =
        sqlx::query_as("select status, error_code from message_status_events where business_id = $1 and twilio_message_sid = $2")
            .bind(business_id)
            .bind(sid)
            .fetch_all(&mut *tx)
            .await?;
    for (status, code) in early {
        crate::webhook::apply_status(&mut tx, business_id, sid, &status, code).await?;
    }
    // The first text reached the carrier: the lead has been contacted.
    sqlx::query("update leads set status = 'contacted', updated_at = now() where id = (select lead_id from messages where id = $1) and status = 'new'")
        .bind(message_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The caller opted out before this text went out: it is never sent.
pub async fn mark_suppressed(pool: &PgPool, business_id: Uuid, message_id: Uuid) -> Result<()> {
    sqlx::query("update messages set status = 'suppressed', updated_at = now() where id = $1 and business_id = $2 and status in ('pending', 'dispatching')")
        .bind(message_id)
        .bind(business_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Twilio refused the text for good. Recorded on the message and on the lead; 21610 (the
/// caller unsubscribed at the carrier) also lands on our opt-out list.
/// Not sent: the business may not send automated texts until its registration is approved.
/// Error 30034 is the carrier's own code for traffic from an unregistered number.
pub async fn mark_held(
    pool: &PgPool,
    business_id: Uuid,
    message_id: Uuid,
    reason: &str,
) -> Result<()> {
    sqlx::query("update messages set status = 'held', error_code = 30034, error_message = $3, release_requested_at = null, updated_at = now() where id = $1 and business_id = $2")
        .bind(message_id)
        .bind(business_id)
        .bind(reason)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn mark_rejected(
    pool: &PgPool,
    business_id: Uuid,
    message_id: Uuid,
    code: i64,
    message: &str,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let (lead_id, to_phone): (Uuid, String) = sqlx::query_as(
        "update messages set status = 'failed', error_code = $3, error_message = $4, updated_at = now()
         where id = $1 and business_id = $2 returning lead_id, to_phone",
    )
    .bind(message_id)
    .bind(business_id)
    .bind(code as i32)
    .bind(message)
    .fetch_one(&mut *tx)
    .await?;
    let lead_status = if code == 21610 {
        "opted_out"
    } else {
        "undeliverable"
    };
    sqlx::query(
        "update leads set last_error_code = $2, status = $3, updated_at = now() where id = $1",
    )
    .bind(lead_id)
    .bind(code as i32)
    .bind(lead_status)
    .execute(&mut *tx)
    .await?;
    if code == 21610 {
        sqlx::query("insert into opt_outs (business_id, phone, source) values ($1, $2, 'carrier') on conflict (business_id, phone) where opted_in_at is null do nothing")
            .bind(business_id)
            .bind(&to_phone)
            .execute(&mut *tx)
            .await?;
    }
    crate::audit(
        &mut *tx,
        business_id,
        "message",
        Some(message_id),
        "send_rejected",
        serde_json::json!({"code": code}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A second missed call while the conversation is open: recorded, no second text.
pub async fn mark_repeat_call(pool: &PgPool, business_id: Uuid, call_sid: &str) -> Result<()> {
    sqlx::query("update calls set is_repeat = true, updated_at = now() where business_id = $1 and twilio_call_sid = $2")
        .bind(business_id)
        .bind(call_sid)
        .execute(pool)
        .await?;
    Ok(())
}

/// Attaches a caller's stored text to the conversation that received it.
pub async fn attach_inbound(
    pool: &PgPool,
    business_id: Uuid,
    conversation_id: Uuid,
    workflow_id: &str,
    message_id: Uuid,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let caller: String =
        sqlx::query_scalar("select from_phone from messages where id = $1 and business_id = $2")
            .bind(message_id)
            .bind(business_id)
            .fetch_one(&mut *tx)
            .await?;
    ensure_conversation(&mut tx, business_id, conversation_id, workflow_id, &caller).await?;
    sqlx::query("update messages set conversation_id = $3, updated_at = now() where id = $1 and business_id = $2 and conversation_id is null")
        .bind(message_id)
        .bind(business_id)
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn close_conversation(
    pool: &PgPool,
    business_id: Uuid,
    conversation_id: Uuid,
    status: ConversationStatus,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let closed = sqlx::query(
        "update conversations set status = $3, closed_at = now(), updated_at = now()
         where id = $1 and business_id = $2 and closed_at is null",
    )
    .bind(conversation_id)
    .bind(business_id)
    .bind(status.as_str())
    .execute(&mut *tx)
    .await?;
    if status == ConversationStatus::ClosedNoResponse {
        sqlx::query(
            "update leads set status = 'unresponsive', updated_at = now()
             where id = (select lead_id from conversations where id = $1 and business_id = $2) and status in ('new', 'contacted', 'qualifying')",
        )
        .bind(conversation_id)
        .bind(business_id)
        .execute(&mut *tx)
        .await?;
    }
    if closed.rows_affected() > 0 {
        crate::audit(
            &mut *tx,
            business_id,
            "conversation",
            Some(conversation_id),
            "closed",
            serde_json::json!({"status": status.as_str()}),
        )
        .await?;
        // The interaction resolved: it goes to the business's CRMs (recorded here, pushed by
        // its own workflow).
        let trigger = if status == ConversationStatus::ClosedBooked {
            "booked"
        } else {
            "ended"
        };
        crate::crm::enqueue_conversation(&mut tx, business_id, conversation_id, trigger).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The caller ended it: a wrong number or a decline (not counted as a recovery).
pub async fn mark_lead_lost(
    pool: &PgPool,
    business_id: Uuid,
    conversation_id: Uuid,
    reason: &str,
) -> Result<()> {
    sqlx::query(
        "update leads set lost_reason = $3, updated_at = now()
         where business_id = $1 and id = (select lead_id from conversations where id = $2 and business_id = $1)",
    )
    .bind(business_id)
    .bind(conversation_id)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(())
}

/// Is this Twilio sid already recorded on one of our messages?
pub async fn sid_is_claimed(pool: &PgPool, sid: &str) -> Result<bool> {
    Ok(
        sqlx::query_scalar("select exists (select 1 from messages where twilio_message_sid = $1)")
            .bind(sid)
            .fetch_one(pool)
            .await?,
    )
}

/// The conversation so far, oldest first, as the assistant sees it.
pub async fn history(
    pool: &PgPool,
    business_id: Uuid,
    conversation_id: Uuid,
) -> Result<Vec<nmc_domain::turn::Line>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select sender, body from messages
         where business_id = $1 and conversation_id = $2 and kind <> 'owner_alert' and status <> 'suppressed'
         order by created_at, id",
    )
    .bind(business_id)
    .bind(conversation_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(from, text)| nmc_domain::turn::Line { from, text })
        .collect())
}

/// What we know about the conversation's lead, including the owner's edits.
pub async fn lead_fields(
    pool: &PgPool,
    business_id: Uuid,
    conversation_id: Uuid,
) -> Result<nmc_domain::lead::LeadFields> {
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Row = sqlx::query_as(
        "select l.name, l.service_needed, l.trade, l.urgency, l.address, l.preferred_time
         from leads l join conversations c on c.lead_id = l.id
         where c.id = $1 and c.business_id = $2",
    )
    .bind(conversation_id)
    .bind(business_id)
    .fetch_one(pool)
    .await?;
    Ok(nmc_domain::lead::LeadFields {
        name: row.0,
        service_needed: row.1,
        trade: row.2,
        urgency: row.3.filter(|u| u != "unknown"),
        address: row.4,
        preferred_time: row.5,
    })
}

/// Stores what the assistant learned as soon as it is learned: only empty fields are filled and
/// never one the owner edited; urgency may rise to emergency. Moves the lead along
/// contacted → qualifying → qualified; returns true when this call made it qualified.
pub async fn record_learned(
    pool: &PgPool,
    business_id: Uuid,
    conversation_id: Uuid,
    learned: &nmc_domain::lead::LeadFields,
    qualified: bool,
) -> Result<bool> {
    let newly: Option<bool> = sqlx::query_scalar(
        "update leads l set
             name = case when l.name is null and not ('name' = any(l.owner_edited)) then $3 else l.name end,
             service_needed = case when l.service_needed is null and not ('service_needed' = any(l.owner_edited)) then $4 else l.service_needed end,
             trade = case when l.trade is null and not ('trade' = any(l.owner_edited)) then $5 else l.trade end,
             urgency = case when 'urgency' = any(l.owner_edited) then l.urgency
                            when $6 = 'emergency' then 'emergency'
                            when l.urgency is null or l.urgency = 'unknown' then coalesce($6, l.urgency)
                            else l.urgency end,
             address = case when l.address is null and not ('address' = any(l.owner_edited)) then $7 else l.address end,
             preferred_time = case when l.preferred_time is null and not ('preferred_time' = any(l.owner_edited)) then $8 else l.preferred_time end,
             status = case when l.status in ('new', 'contacted', 'qualifying') then (case when $9 then 'qualified' else 'qualifying' end) else l.status end,
             qualified_at = case when $9 and l.qualified_at is null then now() else l.qualified_at end,
             updated_at = now()
         from conversations c
         where c.id = $2 and c.business_id = $1 and l.id = c.lead_id
         returning (l.qualified_at is not null and l.qualified_at >= now())",
    )
    .bind(business_id)
    .bind(conversation_id)
    .bind(&learned.name)
    .bind(&learned.service_needed)
    .bind(&learned.trade)
    .bind(&learned.urgency)
    .bind(&learned.address)
    .bind(&learned.preferred_time)
    .bind(qualified)
    .fetch_optional(pool)
    .await?;
    Ok(newly.unwrap_or(false))
}

/// Who answers the caller, and the flags the owner sees on the conversation.
pub async fn set_conversation_flags(
    pool: &PgPool,
    business_id: Uuid,
    conversation_id: Uuid,
    mode: Option<&str>,
    emergency: bool,
    needs_owner: bool,
) -> Result<()> {
    sqlx::query(
        "update conversations set mode = coalesce($3, mode), emergency = emergency or $4, needs_owner = $5, updated_at = now()
         where id = $1 and business_id = $2",
    )
    .bind(conversation_id)
    .bind(business_id)
    .bind(mode)
    .bind(emergency)
    .bind(needs_owner)
    .execute(pool)
    .await?;
    Ok(())
}

/// When what this text answers happened, for the latency metrics: the missed call for a
/// greeting, the caller's latest text before it for a reply.
pub async fn text_origin(
    pool: &PgPool,
    business_id: Uuid,
    message_id: Uuid,
    call_sid: Option<&str>,
) -> Result<Option<DateTime<Utc>>> {
    let at: Option<DateTime<Utc>> = match call_sid {
        // The moment the call was known to be missed (after the ringing, for dial-through).
        Some(sid) => sqlx::query_scalar("select updated_at from calls where business_id = $1 and twilio_call_sid = $2 and status = 'missed'")
            .bind(business_id)
            .bind(sid)
            .fetch_optional(pool)
            .await?,
        None => sqlx::query_scalar(
            "select max(i.created_at) from messages o join messages i on i.conversation_id = o.conversation_id
             where o.business_id = $1 and o.id = $2 and i.business_id = $1 and i.direction = 'inbound' and i.created_at <= o.created_at",
        )
        .bind(business_id)
        .bind(message_id)
        .fetch_one(pool)
        .await?,
    };
    Ok(at)
}
