//! What the Twilio webhooks record. Each function is one transaction and is safe to repeat:
//! Twilio retries, and a retry must have no second effect.

use nmc_domain::{E164, Keyword};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::Result;

/// A recorded event that the caller's workflow must hear about.
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    pub event_id: Uuid,
    /// An earlier delivery of the same webhook already reached the workflow.
    pub already_signalled: bool,
}

async fn upsert_lead(tx: &mut Transaction<'_, Postgres>, business_id: Uuid, phone: &E164, source: &str) -> Result<Uuid> {
    // `do update` (a no-op write) so the id comes back whether the lead is new or not.
    Ok(sqlx::query_scalar(
        "insert into leads (business_id, phone, source) values ($1, $2, $3)
         on conflict (business_id, phone) do update set updated_at = leads.updated_at
         returning id",
    )
    .bind(business_id)
    .bind(phone.as_str())
    .bind(source)
    .fetch_one(&mut **tx)
    .await?)
}

async fn record_event(tx: &mut Transaction<'_, Postgres>, business_id: Uuid, kind: &str, sid: &str) -> Result<Recorded> {
    let (event_id, signalled): (Uuid, Option<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "insert into webhook_events (business_id, kind, provider_sid) values ($1, $2, $3)
         on conflict (kind, provider_sid) do update set updated_at = now()
         returning id, signalled_at",
    )
    .bind(business_id)
    .bind(kind)
    .bind(sid)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Recorded { event_id, already_signalled: signalled.is_some() })
}

/// A call is ringing through to the business (dial-through mode). Only the first delivery counts.
pub async fn record_ringing_call(
    pool: &PgPool,
    business_id: Uuid,
    call_sid: &str,
    caller: Option<&E164>,
    after_hours: bool,
) -> Result<()> {
    sqlx::query(
        "insert into calls (business_id, twilio_call_sid, caller_phone, status, is_after_hours)
         values ($1, $2, $3, 'ringing', $4) on conflict (twilio_call_sid) do nothing",
    )
    .bind(business_id)
    .bind(call_sid)
    .bind(caller.map(E164::as_str))
    .bind(after_hours)
    .execute(pool)
    .await?;
    Ok(())
}

/// The business picked up: recorded as answered, nothing else happens.
pub async fn record_answered_call(
    pool: &PgPool,
    business_id: Uuid,
    call_sid: &str,
    caller: Option<&E164>,
    dial_status: &str,
    after_hours: bool,
) -> Result<()> {
    sqlx::query(
        "insert into calls (business_id, twilio_call_sid, caller_phone, status, dial_status, is_after_hours)
         values ($1, $2, $3, 'answered', $4, $5)
         on conflict (twilio_call_sid) do update set status = 'answered', dial_status = excluded.dial_status, updated_at = now()
         where calls.business_id = excluded.business_id",
    )
    .bind(business_id)
    .bind(call_sid)
    .bind(caller.map(E164::as_str))
    .bind(dial_status)
    .bind(after_hours)
    .execute(pool)
    .await?;
    Ok(())
}

/// A missed call from a caller we can text back: the call, the lead and the dedupe record,
/// in one transaction.
pub async fn record_missed_call(
    pool: &PgPool,
    business_id: Uuid,
    call_sid: &str,
    caller: &E164,
    dial_status: &str,
    after_hours: bool,
) -> Result<Recorded> {
    let mut tx = pool.begin().await?;
    let lead_id = upsert_lead(&mut tx, business_id, caller, "missed_call").await?;
    sqlx::query(
        "insert into calls (business_id, twilio_call_sid, caller_phone, lead_id, status, dial_status, is_after_hours)
         values ($1, $2, $3, $4, 'missed', $5, $6)
         on conflict (twilio_call_sid) do update
             set status = 'missed', dial_status = excluded.dial_status, lead_id = excluded.lead_id, updated_at = now()
         where calls.business_id = excluded.business_id",
    )
    .bind(business_id)
    .bind(call_sid)
    .bind(caller.as_str())
    .bind(lead_id)
    .bind(dial_status)
    .bind(after_hours)
    .execute(&mut *tx)
    .await?;
    let rec = record_event(&mut tx, business_id, "missed_call", call_sid).await?;
    tx.commit().await?;
    Ok(rec)
}

/// A missed call from a withheld number: recorded, nobody to text.
pub async fn record_missed_call_anonymous(pool: &PgPool, business_id: Uuid, call_sid: &str, dial_status: &str, after_hours: bool) -> Result<()> {
    sqlx::query(
        "insert into calls (business_id, twilio_call_sid, status, dial_status, is_after_hours)
         values ($1, $2, 'missed', $3, $4)
         on conflict (twilio_call_sid) do update set status = 'missed', dial_status = excluded.dial_status, updated_at = now()
         where calls.business_id = excluded.business_id",
    )
    .bind(business_id)
    .bind(call_sid)
    .bind(dial_status)
    .bind(after_hours)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn mark_signalled(pool: &PgPool, event_id: Uuid) -> Result<()> {
    sqlx::query("update webhook_events set signalled_at = now(), updated_at = now() where id = $1 and signalled_at is null")
        .bind(event_id)
        .execute(pool)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy)]
pub struct RecordedSms {
    pub event: Recorded,
    pub message_id: Uuid,
    /// For STOP: this very text created the opt-out (so it earns the one confirmation).
    pub newly_opted_out: bool,
}

/// A text from a caller. It is stored before anything else happens; a carrier keyword
/// updates the opt-out list in the same transaction so it is honoured at once.
pub async fn record_inbound_sms(
    pool: &PgPool,
    business_id: Uuid,
    message_sid: &str,
    from: &E164,
    to: &E164,
    body: &str,
    keyword: Option<Keyword>,
) -> Result<RecordedSms> {
    let mut tx = pool.begin().await?;
    let lead_id = upsert_lead(&mut tx, business_id, from, "inbound_sms").await?;
    let message_id: Uuid = sqlx::query_scalar(
        "insert into messages (business_id, lead_id, direction, sender, kind, from_phone, to_phone, body, twilio_message_sid, status)
         values ($1, $2, 'inbound', 'caller', $3, $4, $5, $6, $7, 'received')
         on conflict (twilio_message_sid) do update set updated_at = messages.updated_at
         returning id",
    )
    .bind(business_id)
    .bind(lead_id)
    .bind(match keyword {
        Some(Keyword::OptOut) => "opt_out",
        Some(Keyword::OptIn) => "opt_in",
        Some(Keyword::Help) => "help",
        None => "text",
    })
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(body)
    .bind(message_sid)
    .fetch_one(&mut *tx)
    .await?;

    let mut newly_opted_out = false;
    match keyword {
        Some(Keyword::OptOut) => {
            let source_sid: String = sqlx::query_scalar(
                "insert into opt_outs (business_id, phone, source, source_message_sid) values ($1, $2, 'stop_keyword', $3)
                 on conflict (business_id, phone) do update set updated_at = opt_outs.updated_at
                 returning coalesce(source_message_sid, '')",
            )
            .bind(business_id)
            .bind(from.as_str())
            .bind(message_sid)
            .fetch_one(&mut *tx)
            .await?;
            newly_opted_out = source_sid == message_sid;
            sqlx::query("update leads set status = 'opted_out', updated_at = now() where id = $1")
                .bind(lead_id)
                .execute(&mut *tx)
                .await?;
            if newly_opted_out {
                crate::audit(&mut *tx, business_id, "lead", Some(lead_id), "opted_out", serde_json::json!({"message_sid": message_sid})).await?;
            }
        }
        Some(Keyword::OptIn) => {
            let removed = sqlx::query("delete from opt_outs where business_id = $1 and phone = $2")
                .bind(business_id)
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?;
            if removed.rows_affected() > 0 {
                sqlx::query("update leads set status = 'contacted', updated_at = now() where id = $1 and status = 'opted_out'")
                    .bind(lead_id)
                    .execute(&mut *tx)
                    .await?;
                crate::audit(&mut *tx, business_id, "lead", Some(lead_id), "opted_in", serde_json::json!({"message_sid": message_sid})).await?;
            }
        }
        _ => {}
    }
    let event = record_event(&mut tx, business_id, "inbound_sms", message_sid).await?;
    tx.commit().await?;
    Ok(RecordedSms { event, message_id, newly_opted_out })
}

/// A delivery status from Twilio. Kept as an event (it may arrive before we know the sid),
/// and applied to the message only if it moves it forward.
pub async fn record_message_status(pool: &PgPool, business_id: Uuid, message_sid: &str, status: &str, error_code: Option<i32>) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "insert into message_status_events (business_id, twilio_message_sid, status, error_code) values ($1, $2, $3, $4)
         on conflict (twilio_message_sid, status) do nothing",
    )
    .bind(business_id)
    .bind(message_sid)
    .bind(status)
    .bind(error_code)
    .execute(&mut *tx)
    .await?;
    apply_status(&mut tx, business_id, message_sid, status, error_code).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn apply_status(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    message_sid: &str,
    status: &str,
    error_code: Option<i32>,
) -> Result<()> {
    sqlx::query(
        "update messages set status = $3, error_code = coalesce($4, error_code), updated_at = now()
         where business_id = $1 and twilio_message_sid = $2 and message_status_rank($3) > message_status_rank(status)",
    )
    .bind(business_id)
    .bind(message_sid)
    .bind(status)
    .bind(error_code)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
