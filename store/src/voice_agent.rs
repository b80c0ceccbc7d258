//! The AI voice agent: each business's Vapi connection (key and server secret sealed by the
//! caller), and each call the agent took, recorded from Vapi's end-of-call report together with
//! the signal for the caller's conversation (one transaction, as for texts and voicemails).

use chrono::{DateTime, Utc};
use nmc_domain::voice_agent::{AgentCallEnded, AgentOutcome};
use nmc_domain::{BusinessProfile, CallerEvent, E164};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::Result;
use crate::webhook::{Recorded, record_event};

/// A business's Vapi connection as stored (secrets sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Connection {
    pub business_id: Uuid,
    pub api_key_sealed: String,
    pub secret_sealed: String,
    pub assistant_id: Option<String>,
    pub phone_number_id: Option<String>,
    pub sip_uri: Option<String>,
    pub sip_username: Option<String>,
    pub sip_password_sealed: Option<String>,
    pub voice: String,
    pub greeting: Option<String>,
    pub checklist: Vec<String>,
    pub health: String,
    pub last_error: Option<String>,
    pub synced_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "business_id, api_key_sealed, secret_sealed, assistant_id, phone_number_id, sip_uri, sip_username, sip_password_sealed, voice, greeting, checklist, health, last_error, synced_at";

pub async fn connection<'e>(
    db: impl sqlx::PgExecutor<'e>,
    business_id: Uuid,
) -> Result<Option<Connection>> {
    Ok(sqlx::query_as(&format!(
        "select {COLUMNS} from voice_agents where business_id = $1"
    ))
    .bind(business_id)
    .fetch_optional(db)
    .await?)
}

/// Saves the whole connection (a new one, or changed settings and what Vapi answered).
pub async fn save(tx: &mut Transaction<'_, Postgres>, c: &Connection) -> Result<()> {
    sqlx::query(
        "insert into voice_agents (business_id, api_key_sealed, secret_sealed, assistant_id, phone_number_id, sip_uri, voice, greeting, checklist, health, last_error, synced_at, sip_username, sip_password_sealed)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         on conflict (business_id) do update set api_key_sealed = excluded.api_key_sealed,
             secret_sealed = excluded.secret_sealed, assistant_id = excluded.assistant_id,
             phone_number_id = excluded.phone_number_id, sip_uri = excluded.sip_uri,
             sip_username = excluded.sip_username, sip_password_sealed = excluded.sip_password_sealed,
             voice = excluded.voice, greeting = excluded.greeting, checklist = excluded.checklist,
             health = excluded.health, last_error = excluded.last_error,
             synced_at = excluded.synced_at, updated_at = now()",
    )
    .bind(c.business_id)
    .bind(&c.api_key_sealed)
    .bind(&c.secret_sealed)
    .bind(&c.assistant_id)
    .bind(&c.phone_number_id)
    .bind(&c.sip_uri)
    .bind(&c.voice)
    .bind(&c.greeting)
    .bind(&c.checklist)
    .bind(&c.health)
    .bind(&c.last_error)
    .bind(c.synced_at)
    .bind(&c.sip_username)
    .bind(&c.sip_password_sealed)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A re-sync's outcome, written only over the same connection (same key) it started from, and
/// never bringing back one the owner disconnected meanwhile.
pub async fn save_sync(pool: &PgPool, c: &Connection) -> Result<bool> {
    let done = sqlx::query(
        "update voice_agents set assistant_id = $3, phone_number_id = $4, sip_uri = $5,
             sip_username = $6, sip_password_sealed = $7, health = $8, last_error = $9,
             synced_at = $10, updated_at = now()
         where business_id = $1 and api_key_sealed = $2",
    )
    .bind(c.business_id)
    .bind(&c.api_key_sealed)
    .bind(&c.assistant_id)
    .bind(&c.phone_number_id)
    .bind(&c.sip_uri)
    .bind(&c.sip_username)
    .bind(&c.sip_password_sealed)
    .bind(&c.health)
    .bind(&c.last_error)
    .bind(c.synced_at)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete(tx: &mut Transaction<'_, Postgres>, business_id: Uuid) -> Result<bool> {
    let gone = sqlx::query("delete from voice_agents where business_id = $1")
        .bind(business_id)
        .execute(&mut **tx)
        .await?;
    Ok(gone.rows_affected() > 0)
}

/// Where calls go to reach the agent: its SIP number and credentials.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AgentLine {
    pub sip_uri: String,
    pub sip_username: Option<String>,
    pub sip_password_sealed: Option<String>,
}

/// The agent's line, when it is connected and in sync.
pub async fn line(pool: &PgPool, business_id: Uuid) -> Result<Option<AgentLine>> {
    Ok(sqlx::query_as(
        "select sip_uri, sip_username, sip_password_sealed from voice_agents
         where business_id = $1 and sip_uri is not null",
    )
    .bind(business_id)
    .fetch_optional(pool)
    .await?)
}

/// A call the agent took, from its end-of-call report.
pub struct NewAgentCall<'a> {
    pub vapi_call_id: &'a str,
    /// Our Twilio call, as the SIP header we sent came back (Vapi's `variableValues`).
    pub our_call: Option<&'a str>,
    pub caller: &'a E164,
    pub ended_reason: &'a str,
    pub outcome: AgentOutcome,
    pub transcript: Option<&'a str>,
    pub caller_words: Option<&'a str>,
    pub summary: Option<&'a str>,
    pub structured: Option<&'a Value>,
    pub recording_url: Option<&'a str>,
    pub duration_secs: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// Records the report, its transcript on the caller's thread, and the signal for their
/// conversation. Safe to repeat: a redelivered report finds the same rows (by Vapi's call id).
pub async fn record_call(
    pool: &PgPool,
    business_id: Uuid,
    call: &NewAgentCall<'_>,
    profile: BusinessProfile,
) -> Result<Recorded> {
    let mut tx = pool.begin().await?;
    let caller = call.caller.as_str();
    // Our Twilio call handed to the agent: the one the SIP header named, if it is this
    // caller's; else their latest call routed to it that began before this one and has no
    // report yet (a caller who redials at once has two).
    let (call_sid, lead_id): (Option<String>, Option<Uuid>) = sqlx::query_as(
        "select coalesce(
                  (select twilio_call_sid from calls where business_id = $1 and caller_phone = $2
                     and twilio_call_sid = $3),
                  (select c.twilio_call_sid from calls c where c.business_id = $1 and c.caller_phone = $2
                     and c.route in ('ai_voice', 'both')
                     and c.created_at <= coalesce($4, now()) + interval '5 seconds'
                     and not exists (select 1 from agent_calls a where a.business_id = $1
                                     and a.call_sid = c.twilio_call_sid and a.vapi_call_id <> $5)
                   order by c.created_at desc limit 1)),
                (select id from leads where business_id = $1 and phone = $2)",
    )
    .bind(business_id)
    .bind(caller)
    .bind(call.our_call)
    .bind(call.started_at)
    .bind(call.vapi_call_id)
    .fetch_one(&mut *tx)
    .await?;
    let secs = i32::try_from(call.duration_secs).unwrap_or(i32::MAX);
    let id: Uuid = sqlx::query_scalar(
        "insert into agent_calls (business_id, vapi_call_id, call_sid, caller_phone, lead_id, ended_reason, outcome,
             transcript, caller_words, summary, structured, recording_url, duration_secs, started_at, ended_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         on conflict (business_id, vapi_call_id) do update set ended_reason = agent_calls.ended_reason
         returning id",
    )
    .bind(business_id)
    .bind(call.vapi_call_id)
    .bind(&call_sid)
    .bind(caller)
    .bind(lead_id)
    .bind(call.ended_reason)
    .bind(call.outcome.as_str())
    .bind(call.transcript)
    .bind(call.caller_words)
    .bind(call.summary)
    .bind(call.structured)
    .bind(call.recording_url)
    .bind(secs)
    .bind(call.started_at)
    .bind(call.ended_at)
    .fetch_one(&mut *tx)
    .await?;
    let message_id = match call.transcript {
        Some(t) => Some(thread_message(&mut tx, business_id, call.vapi_call_id, caller, t).await?),
        None => None,
    };
    let signal = CallerEvent::AgentCall(AgentCallEnded {
        // Without a call of ours (a report for a call we never routed) the report still stands;
        // the conversation just has nothing waiting for it.
        call_sid: call_sid.unwrap_or_else(|| format!("vapi:{}", call.vapi_call_id)),
        agent_call_id: id,
        message_id,
        outcome: call.outcome,
        caller_words: call.caller_words.map(str::to_owned),
        summary: call.summary.map(str::to_owned),
        collected: nmc_domain::voice_agent::collected_fields(call.structured),
        duration_secs: call.duration_secs,
        profile,
    });
    let sid = format!("agent:{}", call.vapi_call_id);
    let recorded = record_event(&mut tx, business_id, &sid, call.caller, signal).await?;
    tx.commit().await?;
    Ok(recorded)
}

/// The call's transcript on the thread, so the owner reads what was said on their behalf.
async fn thread_message(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    vapi_call_id: &str,
    caller: &str,
    transcript: &str,
) -> Result<Uuid> {
    Ok(sqlx::query_scalar(
        "insert into messages (business_id, lead_id, direction, sender, kind, from_phone, to_phone, body, twilio_message_sid, status)
         select $1, l.id, 'inbound', 'caller', 'agent_call', $3, b.twilio_number, $4, $2, 'received'
         from businesses b left join leads l on l.business_id = b.id and l.phone = $3
         where b.id = $1
         on conflict (business_id, twilio_message_sid) do update set updated_at = now()
         returning id",
    )
    .bind(business_id)
    .bind(format!("agent:{vapi_call_id}"))
    .bind(caller)
    .bind(transcript)
    .fetch_one(&mut **tx)
    .await?)
}
