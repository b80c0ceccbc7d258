//! The parts of a pushed record that come from the voice side, the booking and the thread.

use chrono::{DateTime, Utc};
use nmc_domain::crm::Appointment;
use sqlx::PgPool;
use uuid::Uuid;

use crate::Result;

/// The caller's latest voicemail or AI call.
pub(super) struct Voice {
    pub channel: &'static str,
    pub summary: Option<String>,
    pub transcript: Option<String>,
    pub recording_url: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AgentRow {
    summary: Option<String>,
    words: Option<String>,
    recording_url: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AppointmentRow {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    service: Option<String>,
    status: String,
}

pub(super) async fn voice(pool: &PgPool, lead_id: Uuid, base_url: &str) -> Result<Option<Voice>> {
    let voicemail: Option<(Uuid, Option<String>, DateTime<Utc>)> = sqlx::query_as(
        "select id, transcript, created_at from recordings where lead_id = $1 and status <> 'failed'
         order by created_at desc limit 1",
    )
    .bind(lead_id)
    .fetch_optional(pool)
    .await?;
    let agent: Option<AgentRow> =
        sqlx::query_as(
            "select summary, coalesce(caller_words, transcript) as words, recording_url, created_at from agent_calls
             where lead_id = $1 order by created_at desc limit 1",
        )
        .bind(lead_id)
        .fetch_optional(pool)
        .await?;
    let from_voicemail = voicemail.map(|(id, transcript, at)| Voice {
        channel: "voicemail",
        summary: None,
        transcript,
        // Our own page: it plays for a signed-in member of the business.
        recording_url: Some(format!("{base_url}/app/recordings/{id}")),
        at,
    });
    let from_agent = agent.map(|a| Voice {
        channel: "ai_voice",
        summary: a.summary,
        transcript: a.words,
        recording_url: a.recording_url,
        at: a.created_at,
    });
    Ok(match (from_voicemail, from_agent) {
        (Some(v), Some(a)) => Some(if a.at > v.at { a } else { v }),
        (v, a) => v.or(a),
    })
}

pub(super) async fn appointment(pool: &PgPool, lead_id: Uuid) -> Result<Option<Appointment>> {
    let row: Option<AppointmentRow> = sqlx::query_as(
        "select lower(a.during) as start, upper(a.during) as end, c.name as service, a.status from appointments a
         left join catalog_items c on c.id = a.catalog_item_id
         where a.lead_id = $1 order by a.created_at desc limit 1",
    )
    .bind(lead_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Appointment {
        start: r.start,
        end: r.end,
        service: r.service.unwrap_or_else(|| "Appointment".into()),
        status: r.status,
    }))
}

/// The text thread, oldest first, as "Caller: …" lines (the last 20, at most 2,000 characters).
pub(super) async fn thread(pool: &PgPool, conversation_id: Uuid) -> Result<Option<String>> {
    let lines: Vec<(String, String)> = sqlx::query_as(
        "select sender, body from (select sender, body, created_at from messages where conversation_id = $1
             order by created_at desc limit 20) m order by created_at",
    )
    .bind(conversation_id)
    .fetch_all(pool)
    .await?;
    if lines.is_empty() {
        return Ok(None);
    }
    let text = lines
        .iter()
        .map(|(sender, body)| {
            let who = match sender.as_str() {
                "caller" => "Caller",
                "owner" => "Owner",
                _ => "Assistant",
            };
            format!("{who}: {body}")
        })
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Some(text.chars().take(2000).collect()))
}
