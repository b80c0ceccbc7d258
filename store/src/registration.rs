//! What follows a texting-registration decision: the held greetings a newly approved business
//! still sends (the fresh ones) or leaves to the owner (the stale ones), and the owner's notice.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::Result;

/// A held greeting whose conversation is to be told texting is approved.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HeldGreeting {
    pub message_id: Uuid,
    pub business_id: Uuid,
    pub workflow_id: String,
}

/// Held greetings from the last 30 minutes, not yet released, of businesses that may text
/// again: approved (where registration is enforced) and with a plan in force.
pub async fn to_release(pool: &PgPool, limit: i64, enforced: bool) -> Result<Vec<HeldGreeting>> {
    Ok(sqlx::query_as(&format!(
        "select m.id as message_id, m.business_id, c.workflow_id from messages m
         join conversations c on c.id = m.conversation_id join businesses b on b.id = m.business_id
         where m.status = 'held' and m.kind = 'greeting' and m.release_requested_at is null
           and (not $2 or b.messaging_status = 'approved') and {served} and c.status = 'active'
           and m.created_at > now() - interval '30 minutes'
         order by m.created_at limit $1",
        served = crate::billing::SERVED
    ))
    .bind(limit)
    .bind(enforced)
    .fetch_all(pool)
    .await?)
}

pub async fn mark_released(pool: &PgPool, message_id: Uuid) -> Result<()> {
    sqlx::query("update messages set release_requested_at = now() where id = $1")
        .bind(message_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A caller whose greeting was held too long to send now: the owner texts them by hand.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaleCaller {
    pub conversation_id: Uuid,
    pub phone: String,
    pub name: Option<String>,
    pub called_at: DateTime<Utc>,
}

pub async fn stale_held(db: &mut PgConnection, business_id: Uuid) -> Result<Vec<StaleCaller>> {
    Ok(sqlx::query_as(
        "select m.conversation_id, l.phone::text as phone, l.name, m.created_at as called_at from messages m
         join leads l on l.id = m.lead_id
         where m.business_id = $1 and m.status = 'held' and m.kind = 'greeting' and m.conversation_id is not null
           and m.created_at <= now() - interval '30 minutes'
         order by m.created_at desc limit 50",
    )
    .bind(business_id)
    .fetch_all(db)
    .await?)
}

/// The decision in the owner's notification centre (no conversation: it is about the business).
pub async fn notify(
    db: &mut PgConnection,
    business_id: Uuid,
    status: &str,
    body: &str,
) -> Result<()> {
    sqlx::query(
        "insert into notifications (business_id, kind, priority, body, idempotency_key)
         values ($1, 'registration', $2, $3, 'registration:' || $4 || ':' || gen_random_uuid())",
    )
    .bind(business_id)
    .bind(status == "rejected")
    .bind(body)
    .bind(status)
    .execute(db)
    .await?;
    Ok(())
}

/// The owners to tell, by email.
pub async fn owner_emails(db: &mut PgConnection, business_id: Uuid) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "select email from users where business_id = $1 and role = 'owner' and active",
    )
    .bind(business_id)
    .fetch_all(db)
    .await?)
}
