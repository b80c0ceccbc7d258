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

pub(super) async fn voice(pool: &PgPool, lead_id: Uuid, base_url: &str) -> Result<Option<Voice>> {
    let voicemail: Option<(Uuid, Option<String>, DateTime<Utc>)> = sqlx::query_as(
        "select id, transcript, updated_at from recordings where lead_id = $1 and status <> 'failed'
         order by created_at desc limit 1",
    )
    .bind(lead_id)
    .fetch_optional(pool)
    .await?;
    let agent: Option<(Option<String>, Option<String>, Option<String>, DateTime<Utc>)> =
        sqlx::query_as(
            "select summary, coalesce(caller_words, transcript), recording_url, created_at from agent_calls
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
    let from_agent = agent.map(|(summary, transcript, recording_url, at)| Voice {
        channel: "ai_voice",
        summary,
        transcript,
        recording_url,
        at,
    });
    Ok(match (from_voicemail, from_agent) {
        (Some(v), Some(a)) => Some(if a.at > v.at { a } else { v }),
        (v, a) => v.or(a),
    })
}

pub(super) async fn appointment(pool: &PgPool, lead_id: Uuid) -> Result<Option<Appointment>> {
    let row: Option<(DateTime<Utc>, DateTime<Utc>, Option<String>, String)> = sqlx::query_as(
        "select lower(a.during), upper(a.during), c.name, a.status from appointments a
         left join catalog_items c on c.id = a.catalog_item_id
         where a.lead_id = $1 order by a.created_at desc limit 1",
    )
    .bind(lead_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(start, end, service, status)| Appointment {
        start,
        end,
        service: service.unwrap_or_else(|| "Appointment".into()),
        status,
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
