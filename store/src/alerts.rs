//! Owner alerts on their channels: the notification with its number (#n), who on the team gets
//! it where, and one delivery row per member and channel, which is both the record of what went
//! out and the outbox for the channels the worker delivers (push, Slack).

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{PgPool, Result};

/// The conversation's caller, as an alert names them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Caller {
    pub phone: String,
    /// Known from this or an earlier conversation.
    pub name: Option<String>,
}

pub async fn caller(pool: &PgPool, business_id: Uuid, conversation_id: Uuid) -> Result<Caller> {
    Ok(sqlx::query_as(
        "select l.phone::text as phone, l.name from conversations c join leads l on l.id = c.lead_id
         where c.id = $2 and c.business_id = $1",
    )
    .bind(business_id)
    .bind(conversation_id)
    .fetch_one(pool)
    .await?)
}

/// One member's channels for alerts, with the defaults filled in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, sqlx::FromRow)]
pub struct Preferences {
    pub phone: Option<String>,
    pub sms_kinds: Vec<String>,
    pub email_kinds: Vec<String>,
    pub push_kinds: Vec<String>,
    pub quiet_start: Option<i16>,
    pub quiet_end: Option<i16>,
    /// The member texted STOP to the business number.
    pub sms_stopped: bool,
    /// The phone was proved by a one-time code (or entered by operations): only then do alert
    /// texts go to it, and only then are its texts commands. Never taken from a request.
    #[serde(default, skip_deserializing)]
    pub phone_verified: bool,
}

/// A member of the team an alert may reach.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub user_id: Uuid,
    pub email: String,
    #[sqlx(flatten)]
    pub prefs: Preferences,
}

/// The defaults for a member without saved choices: the owner keeps what alerts did before
/// (every alert by text to the owner's phone unless turned off, push when the browser allows),
/// a technician hears nothing until they choose.
const MEMBER_PREFERENCES: &str = "
    select u.id as user_id, u.email,
           coalesce(p.phone::text, case when u.role = 'owner' then b.owner_phone::text end) as phone,
           coalesce(p.sms_kinds, case when u.role = 'owner' and b.notify_by_text then $2::text[] else '{}' end) as sms_kinds,
           coalesce(p.email_kinds, '{}') as email_kinds,
           coalesce(p.push_kinds, $2::text[]) as push_kinds,
           p.quiet_start, p.quiet_end, coalesce(p.sms_stopped, false) as sms_stopped,
           case when p.phone is not null then p.phone_verified_at is not null
                else u.role = 'owner' and b.owner_phone_verified_at is not null end as phone_verified
    from users u join businesses b on b.id = u.business_id
    left join alert_preferences p on p.user_id = u.id
    where u.business_id = $1 and u.active";

/// Everyone on the team an alert may reach. A business without accounts yet (made through
/// the admin API) still alerts the owner's phone by text, as before accounts existed.
pub async fn recipients(
    pool: &PgPool,
    business_id: Uuid,
    all_kinds: &[&str],
) -> Result<Vec<Recipient>> {
    let members: Vec<Recipient> = sqlx::query_as(MEMBER_PREFERENCES)
        .bind(business_id)
        .bind(all_kinds)
        .fetch_all(pool)
        .await?;
    Ok(members)
}

/// The owner's phone for a business with no accounts, when texts are on.
pub async fn owner_phone_without_accounts(
    pool: &PgPool,
    business_id: Uuid,
) -> Result<Option<(String, bool)>> {
    Ok(sqlx::query_as(
        "select owner_phone::text, notify_by_text from businesses b
         where id = $1 and not exists (select 1 from users u where u.business_id = b.id and u.active)",
    )
    .bind(business_id)
    .fetch_optional(pool)
    .await?)
}

pub async fn preferences(
    db: &mut PgConnection,
    business_id: Uuid,
    user_id: Uuid,
    all_kinds: &[&str],
) -> Result<Preferences> {
    Ok(
        sqlx::query_as(&format!("{MEMBER_PREFERENCES} and u.id = $3"))
            .bind(business_id)
            .bind(all_kinds)
            .bind(user_id)
            .fetch_one(db)
            .await
            .map(|r: Recipient| r.prefs)?,
    )
}

pub async fn save_preferences(
    db: &mut PgConnection,
    business_id: Uuid,
    user_id: Uuid,
    p: &Preferences,
) -> Result<()> {
    sqlx::query(
        "insert into alert_preferences (user_id, business_id, phone, sms_kinds, email_kinds, push_kinds, quiet_start, quiet_end, sms_stopped)
         values ($1, $2, $3::e164, $4, $5, $6, $7, $8, $9)
         on conflict (user_id) do update set phone = excluded.phone,
             phone_verified_at = case when alert_preferences.phone is not distinct from excluded.phone
                                      then alert_preferences.phone_verified_at end,
             sms_kinds = excluded.sms_kinds,
             email_kinds = excluded.email_kinds, push_kinds = excluded.push_kinds,
             quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,
             sms_stopped = excluded.sms_stopped, updated_at = now()",
    )
    .bind(user_id)
    .bind(business_id)
    .bind(&p.phone)
    .bind(&p.sms_kinds)
    .bind(&p.email_kinds)
    .bind(&p.push_kinds)
    .bind(p.quiet_start)
    .bind(p.quiet_end)
    .bind(p.sms_stopped)
    .execute(&mut *db)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => crate::StoreError::Conflict { field: "phone" },
        _ => e.into(),
    })?;
    crate::phone_codes::carry_owner_verification(&mut *db, user_id).await?;
    crate::audit(
        &mut *db,
        business_id,
        "user",
        Some(user_id),
        "alert_preferences_saved",
        serde_json::json!({}),
    )
    .await
}

/// The stored alert: its id (for the link) and number (for `#n`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recorded {
    pub id: Uuid,
    pub number: i32,
    pub timezone: String,
    pub business_name: String,
}

/// Stores the alert once per key, numbering it in the business's sequence; a re-run gets
/// the first row back.
pub async fn record(
    pool: &PgPool,
    business_id: Uuid,
    conversation_id: Uuid,
    kind: &str,
    priority: bool,
    body: &str,
    key: &str,
) -> Result<Recorded> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "with n as (update businesses set alert_seq = alert_seq + 1 where id = $1
                    and not exists (select 1 from notifications where business_id = $1 and idempotency_key = $6)
                    returning alert_seq)
         insert into notifications (business_id, conversation_id, lead_id, kind, priority, body, idempotency_key, number)
         select $1, c.id, c.lead_id, $3, $4, $5, $6, (select alert_seq from n) from conversations c where c.id = $2 and c.business_id = $1
         on conflict (business_id, idempotency_key) do nothing",
    )
    .bind(business_id)
    .bind(conversation_id)
    .bind(kind)
    .bind(priority)
    .bind(body)
    .bind(key)
    .execute(&mut *tx)
    .await?;
    let recorded = sqlx::query_as(
        "select n.id, coalesce(n.number, 0) as number, b.timezone, b.name as business_name
         from notifications n join businesses b on b.id = n.business_id
         where n.business_id = $1 and n.idempotency_key = $2",
    )
    .bind(business_id)
    .bind(key)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(recorded)
}

/// One member's copy of an alert on one channel.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    pub business_id: Uuid,
    pub notification_id: Uuid,
    pub user_id: Option<Uuid>,
    pub channel: &'a str,
    pub target: &'a str,
    pub status: &'a str,
    pub payload: Option<serde_json::Value>,
}

/// Records a delivery once; true when this call made it (a re-run activity finds its earlier one).
pub async fn record_delivery(pool: &PgPool, d: &Delivery<'_>) -> Result<bool> {
    let done = sqlx::query(
        "insert into alert_deliveries (business_id, notification_id, user_id, channel, target, status, payload)
         values ($1, $2, $3, $4, $5, $6, $7) on conflict (notification_id, channel, target) do nothing",
    )
    .bind(d.business_id)
    .bind(d.notification_id)
    .bind(d.user_id)
    .bind(d.channel)
    .bind(d.target)
    .bind(d.status)
    .bind(&d.payload)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_delivery_status(
    pool: &PgPool,
    notification_id: Uuid,
    channel: &str,
    target: &str,
    status: &str,
) -> Result<()> {
    sqlx::query(
        "update alert_deliveries set status = $4, sent_at = case when $4 = 'sent' then now() end, updated_at = now()
         where notification_id = $1 and channel = $2 and target = $3",
    )
    .bind(notification_id)
    .bind(channel)
    .bind(target)
    .bind(status)
    .execute(pool)
    .await?;
    Ok(())
}

/// What the business's Slack channel hears, when one is connected.
pub async fn slack_kinds(pool: &PgPool, business_id: Uuid) -> Result<Option<Vec<String>>> {
    Ok(sqlx::query_scalar(
        "select slack_kinds from businesses where id = $1 and slack_webhook_enc is not null",
    )
    .bind(business_id)
    .fetch_optional(pool)
    .await?)
}

/// The Slack connection as the owner sees it: never the sealed URL itself.
pub async fn slack(db: &mut PgConnection, business_id: Uuid) -> Result<(bool, Vec<String>)> {
    Ok(sqlx::query_as(
        "select slack_webhook_enc is not null, slack_kinds from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_one(db)
    .await?)
}

/// Connects (a sealed URL), changes what it hears, or disconnects (`None` URL, `clear`).
pub async fn save_slack(
    db: &mut PgConnection,
    business_id: Uuid,
    webhook_enc: Option<&str>,
    clear: bool,
    kinds: &[String],
) -> Result<()> {
    sqlx::query(
        "update businesses set slack_webhook_enc = case when $4 then null else coalesce($2, slack_webhook_enc) end,
             slack_kinds = $3, updated_at = now() where id = $1",
    )
    .bind(business_id)
    .bind(webhook_enc)
    .bind(kinds)
    .bind(clear)
    .execute(&mut *db)
    .await?;
    crate::audit(
        &mut *db,
        business_id,
        "business",
        Some(business_id),
        "slack_saved",
        serde_json::json!({ "connected": !clear }),
    )
    .await
}

/// A push or Slack alert the worker claimed; its lease is the pushed-back `next_attempt_at`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: Uuid,
    pub business_id: Uuid,
    pub channel: String,
    pub target: String,
    pub payload: Option<serde_json::Value>,
    pub attempts: i32,
    /// Slack: the business's sealed webhook URL.
    pub slack_webhook_enc: Option<String>,
}

pub async fn due_deliveries(pool: &PgPool, limit: i64) -> Result<Vec<DueDelivery>> {
    Ok(sqlx::query_as(
        "with due as (select id from alert_deliveries where status = 'pending' and channel in ('slack', 'push')
                      and next_attempt_at <= now() order by next_attempt_at limit $1 for update skip locked)
         update alert_deliveries d set attempts = d.attempts + 1, next_attempt_at = now() + interval '2 minutes', updated_at = now()
         from due, businesses b where d.id = due.id and b.id = d.business_id
         returning d.id, d.business_id, d.channel, d.target, d.payload, d.attempts, b.slack_webhook_enc",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// What came of one attempt: sent, again after `retry_secs`, or given up (`failed`, `gone`).
/// Written only by the claim that made the attempt (its attempt count unchanged).
pub async fn finish_delivery(
    pool: &PgPool,
    d: &DueDelivery,
    status: &str,
    error: Option<&str>,
    retry_secs: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "update alert_deliveries set status = $2, last_error = $3,
             sent_at = case when $2 = 'sent' then now() end,
             next_attempt_at = case when $4::bigint is null then next_attempt_at else now() + make_interval(secs => $4::bigint) end,
             updated_at = now()
         where id = $1 and attempts = $5",
    )
    .bind(d.id)
    .bind(status)
    .bind(error)
    .bind(retry_secs)
    .bind(d.attempts)
    .execute(pool)
    .await?;
    Ok(())
}

/// Whether the business is approved to text (10DLC); alerts go by email and push until it is.
/// Whether the business is approved for texting, and whether its plan lets it text
/// ([`crate::billing::SERVED`]).
pub async fn texting_state(pool: &PgPool, business_id: Uuid) -> Result<(bool, bool)> {
    Ok(sqlx::query_as(&format!(
        "select b.messaging_status = 'approved', {} from businesses b where b.id = $1",
        crate::billing::SERVED
    ))
    .bind(business_id)
    .fetch_one(pool)
    .await?)
}

/// Whether `phone` has called or texted this business (it has a lead).
pub async fn is_callers_phone(
    db: &mut PgConnection,
    business_id: Uuid,
    phone: &str,
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from leads where business_id = $1 and phone::text = $2)",
    )
    .bind(business_id)
    .bind(phone)
    .fetch_one(db)
    .await?)
}
