//! Review requests after completed jobs: what the review workflow needs, what it did, the
//! short link's opens, and the counts the reports show.

use chrono::{DateTime, Utc};
use nmc_domain::hours::QuietHours;
use nmc_domain::review::Plan;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::Result;

#[derive(sqlx::FromRow)]
struct Row {
    status: String,
    phone: Option<String>,
    name: Option<String>,
    conversation_id: Option<Uuid>,
    business_name: String,
    place_id: Option<String>,
    message: Option<String>,
    delay_secs: i32,
    reminder_secs: i32,
    completed_at: DateTime<Utc>,
    timezone: String,
    quiet_start: chrono::NaiveTime,
    quiet_end: chrono::NaiveTime,
}

/// The plan for a completed appointment (`None` when it is not completed or has no phone),
/// its request row made with a fresh link token the first time; `base` is `PUBLIC_BASE_URL`.
pub async fn plan(
    pool: &PgPool,
    business_id: Uuid,
    appointment_id: Uuid,
    base: &str,
) -> Result<Option<Plan>> {
    let row: Option<Row> = sqlx::query_as(
        "select a.status, coalesce(a.customer_phone, l.phone)::text as phone, coalesce(a.customer_name, l.name) as name,
                coalesce(a.conversation_id, (select c.id from conversations c where c.lead_id = a.lead_id order by c.created_at desc limit 1)) as conversation_id,
                b.name as business_name, b.google_place_id as place_id, b.review_message as message,
                b.review_delay_secs as delay_secs, b.review_reminder_secs as reminder_secs, a.updated_at as completed_at,
                b.timezone, b.quiet_start, b.quiet_end
         from appointments a join businesses b on b.id = a.business_id left join leads l on l.id = a.lead_id
         where a.id = $2 and a.business_id = $1",
    )
    .bind(business_id)
    .bind(appointment_id)
    .fetch_optional(pool)
    .await?;
    let Some(r) = row.filter(|r| r.status == "completed") else {
        return Ok(None);
    };
    // No number, nobody to ask (a job booked by hand without one).
    let Some(phone) = r.phone.clone() else {
        return Ok(None);
    };
    let token = Uuid::new_v4().simple().to_string();
    let (token, sent, reminded): (String, bool, bool) = sqlx::query_as(
        "insert into review_requests (business_id, appointment_id, phone, token) values ($1, $2, $3, $4)
         on conflict (business_id, appointment_id) do update set updated_at = review_requests.updated_at
         returning token, sent_at is not null, reminded_at is not null",
    )
    .bind(business_id)
    .bind(appointment_id)
    .bind(&phone)
    .bind(&token)
    .fetch_one(pool)
    .await?;
    Ok(Some(Plan {
        link: r.place_id.map(|_| format!("{base}/r/{token}")),
        phone,
        name: r.name,
        conversation_id: r.conversation_id,
        business_name: r.business_name,
        message: r.message,
        delay_secs: i64::from(r.delay_secs),
        reminder_secs: i64::from(r.reminder_secs),
        completed_at: r.completed_at,
        quiet: QuietHours {
            timezone: r.timezone,
            start: r.quiet_start,
            end: r.quiet_end,
        },
        sent,
        reminded,
    }))
}

/// Nothing (more) goes: why.
pub async fn skip(pool: &PgPool, business_id: Uuid, appointment_id: Uuid, why: &str) -> Result<()> {
    sqlx::query(
        "update review_requests set skipped = $3, updated_at = now() where business_id = $1 and appointment_id = $2",
    )
    .bind(business_id)
    .bind(appointment_id)
    .bind(why)
    .execute(pool)
    .await?;
    Ok(())
}

/// The request (or, `reminder`, its reminder) went out.
pub async fn mark_sent(
    pool: &PgPool,
    business_id: Uuid,
    appointment_id: Uuid,
    reminder: bool,
) -> Result<()> {
    let column = if reminder { "reminded_at" } else { "sent_at" };
    sqlx::query(&format!(
        "update review_requests set {column} = coalesce({column}, now()), updated_at = now()
         where business_id = $1 and appointment_id = $2"
    ))
    .bind(business_id)
    .bind(appointment_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Has the customer opened the link?
pub async fn opened(pool: &PgPool, business_id: Uuid, appointment_id: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select coalesce(bool_or(opened_at is not null), false) from review_requests where business_id = $1 and appointment_id = $2",
    )
    .bind(business_id)
    .bind(appointment_id)
    .fetch_one(pool)
    .await?)
}

/// Counts an open of `/r/{token}`; the business's Place ID to send the customer on to.
pub async fn open_link(pool: &PgPool, token: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "update review_requests r set opened_at = coalesce(r.opened_at, now()), opens = r.opens + 1, updated_at = now()
         from businesses b where r.token = $1 and b.id = r.business_id and b.google_place_id is not null
         returning b.google_place_id",
    )
    .bind(token)
    .fetch_optional(pool)
    .await?)
}

/// Requests made in [from, to): sent, opened, and answered by a text.
#[derive(Debug, Default, Clone, Serialize, sqlx::FromRow)]
pub struct Counts {
    pub sent: i64,
    pub opened: i64,
    pub replied: i64,
}

pub async fn counts(
    db: &mut PgConnection,
    business_id: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Counts> {
    Ok(sqlx::query_as(
        "select count(*) filter (where r.sent_at is not null) as sent,
                count(*) filter (where r.opened_at is not null) as opened,
                count(*) filter (where exists (select 1 from messages m where m.business_id = r.business_id
                    and m.direction = 'inbound' and m.from_phone = r.phone and m.created_at > r.sent_at)) as replied
         from review_requests r where r.business_id = $1 and r.created_at >= $2 and r.created_at < $3",
    )
    .bind(business_id)
    .bind(from)
    .bind(to)
    .fetch_one(db)
    .await?)
}

/// The business's review settings, as the owner edits them.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Settings {
    pub google_place_id: Option<String>,
    pub review_delay_secs: i32,
    pub review_reminder_secs: i32,
    pub review_message: Option<String>,
}

pub async fn settings(db: &mut PgConnection, business_id: Uuid) -> Result<Settings> {
    Ok(sqlx::query_as(
        "select google_place_id, review_delay_secs, review_reminder_secs, review_message from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_one(db)
    .await?)
}

/// What the owner edits: the Place ID, the delay and the wording (the reminder's delay stays).
pub async fn put_settings(
    db: &mut PgConnection,
    business_id: Uuid,
    place_id: Option<&str>,
    delay_secs: i32,
    message: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "update businesses set google_place_id = $2, review_delay_secs = $3, review_message = $4, updated_at = now() where id = $1",
    )
    .bind(business_id)
    .bind(place_id)
    .bind(delay_secs)
    .bind(message)
    .execute(&mut *db)
    .await?;
    Ok(())
}
