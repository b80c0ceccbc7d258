//! Voicemails: Twilio's recording on record first (with the signal for the caller's
//! conversation, in one transaction), then our stored copy, then its transcript, which joins the
//! conversation's thread as the caller's own words.

use nmc_domain::{BusinessProfile, CallerEvent, E164, VoicemailLeft};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::Result;
use crate::webhook::{Recorded, record_event};

/// A recording Twilio reported, as its callback carried it.
pub struct NewRecording<'a> {
    pub call_sid: &'a str,
    pub caller: &'a E164,
    pub recording_sid: &'a str,
    pub url: &'a str,
    pub duration_secs: i32,
}

/// Records a voicemail and the signal for the caller's conversation. Safe to repeat: a
/// redelivered callback finds the same rows.
pub async fn record_voicemail(
    pool: &PgPool,
    business_id: Uuid,
    rec: &NewRecording<'_>,
    profile: BusinessProfile,
) -> Result<Recorded> {
    let mut tx = pool.begin().await?;
    let lead_id: Option<Uuid> =
        sqlx::query_scalar("select id from leads where business_id = $1 and phone = $2")
            .bind(business_id)
            .bind(rec.caller.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let id: Uuid = sqlx::query_scalar(
        "insert into recordings (business_id, call_sid, lead_id, caller_phone, twilio_recording_sid, twilio_url, duration_secs)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (business_id, twilio_recording_sid) do update set updated_at = recordings.updated_at
         returning id",
    )
    .bind(business_id)
    .bind(rec.call_sid)
    .bind(lead_id)
    .bind(rec.caller.as_str())
    .bind(rec.recording_sid)
    .bind(rec.url)
    .bind(rec.duration_secs)
    .fetch_one(&mut *tx)
    .await?;
    let signal = CallerEvent::Voicemail(VoicemailLeft {
        call_sid: rec.call_sid.to_owned(),
        recording_id: Some(id),
        duration_secs: rec.duration_secs.max(0) as u32,
        profile,
    });
    let recorded =
        record_event(&mut tx, business_id, rec.recording_sid, rec.caller, signal).await?;
    tx.commit().await?;
    Ok(recorded)
}

/// The caller hung up without leaving a message: the conversation texts them at once.
pub async fn record_no_voicemail(
    pool: &PgPool,
    business_id: Uuid,
    call_sid: &str,
    caller: &E164,
    profile: BusinessProfile,
) -> Result<Recorded> {
    let mut tx = pool.begin().await?;
    let signal = CallerEvent::Voicemail(VoicemailLeft {
        call_sid: call_sid.to_owned(),
        recording_id: None,
        duration_secs: 0,
        profile,
    });
    let sid = format!("none:{call_sid}");
    let recorded = record_event(&mut tx, business_id, &sid, caller, signal).await?;
    tx.commit().await?;
    Ok(recorded)
}

/// What storing a recording needs: where Twilio keeps it and the account's credentials.
#[derive(sqlx::FromRow)]
pub struct ToStore {
    pub business_id: Uuid,
    pub twilio_recording_sid: String,
    pub twilio_url: String,
    pub twilio_account_sid: String,
    pub twilio_auth_token_enc: String,
    pub storage_key: Option<String>,
    pub twilio_deleted: bool,
}

pub async fn to_store(pool: &PgPool, id: Uuid) -> Result<Option<ToStore>> {
    Ok(sqlx::query_as(
        "select r.business_id, r.twilio_recording_sid, r.twilio_url, b.twilio_account_sid,
                b.twilio_auth_token_enc, r.storage_key, r.twilio_deleted_at is not null as twilio_deleted
         from recordings r join businesses b on b.id = r.business_id where r.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// False when the recording's row is gone (the caller was erased while it was being stored).
pub async fn mark_stored(
    pool: &PgPool,
    id: Uuid,
    key: &str,
    content_type: &str,
    bytes: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "update recordings set storage_key = $2, content_type = $3, bytes = $4,
             status = case when status = 'recorded' then 'stored' else status end, updated_at = now()
         where id = $1",
    )
    .bind(id)
    .bind(key)
    .bind(content_type)
    .bind(bytes)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn mark_twilio_deleted(pool: &PgPool, id: Uuid) -> Result<()> {
    sqlx::query("update recordings set twilio_deleted_at = coalesce(twilio_deleted_at, now()), updated_at = now() where id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Where our copy is, for the transcriber: `(storage_key, content_type)`.
pub async fn stored_media(pool: &PgPool, id: Uuid) -> Result<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "select storage_key, coalesce(content_type, 'audio/x-wav') from recordings where id = $1 and storage_key is not null",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// The transcript, and the caller's words on the conversation's thread (as an inbound
/// message of kind `voicemail`, keyed by the recording so a retry adds nothing). Returns the
/// message's id.
pub async fn save_transcript(
    pool: &PgPool,
    id: Uuid,
    transcript: &str,
    language: Option<&str>,
) -> Result<Uuid> {
    let mut tx = pool.begin().await?;
    let (business_id, sid, caller, lead, before): (Uuid, String, Option<String>, Option<Uuid>, String) = sqlx::query_as(
        "update recordings r set transcript = $2, transcript_language = $3, status = 'transcribed', error = null, updated_at = now()
         from (select status from recordings where id = $1) old
         where r.id = $1 returning r.business_id, r.twilio_recording_sid, r.caller_phone, r.lead_id, old.status",
    )
    .bind(id)
    .bind(transcript)
    .bind(language)
    .fetch_one(&mut *tx)
    .await?;
    let message_id =
        thread_message(&mut tx, business_id, &sid, caller.as_deref(), transcript).await?;
    // A transcribed voicemail is an interaction the business's CRMs hear about (once).
    if let (Some(lead), true) = (lead, before != "transcribed") {
        crate::crm::enqueue(&mut tx, business_id, lead, None, "voicemail").await?;
    }
    tx.commit().await?;
    Ok(message_id)
}

async fn thread_message(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    recording_sid: &str,
    caller: Option<&str>,
    transcript: &str,
) -> Result<Uuid> {
    Ok(sqlx::query_scalar(
        "insert into messages (business_id, lead_id, direction, sender, kind, from_phone, to_phone, body, twilio_message_sid, status)
         select $1, l.id, 'inbound', 'caller', 'voicemail', $3, b.twilio_number, $4, $2, 'received'
         from businesses b left join leads l on l.business_id = b.id and l.phone = $3
         where b.id = $1
         on conflict (business_id, twilio_message_sid) do update set body = excluded.body, updated_at = now()
         returning id",
    )
    .bind(business_id)
    .bind(recording_sid)
    .bind(caller)
    .bind(transcript)
    .fetch_one(&mut **tx)
    .await?)
}

/// Transcription gave up: the recording stays playable, the owner is told to listen.
pub async fn mark_failed(pool: &PgPool, id: Uuid, error: &str) -> Result<()> {
    sqlx::query("update recordings set status = 'failed', error = $2, updated_at = now() where id = $1 and status <> 'transcribed'")
        .bind(id)
        .bind(error)
        .execute(pool)
        .await?;
    Ok(())
}

/// A recording the owner plays: its stored key and type, only within their business.
pub async fn media_for_owner(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    id: Uuid,
) -> Result<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "select storage_key, coalesce(content_type, 'audio/x-wav') from recordings
         where business_id = $1 and id = $2 and storage_key is not null",
    )
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?)
}
