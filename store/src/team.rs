//! Texts from the team's own phones to the business number: who sent it, what alert it answers,
//! and what it came to. They are recorded here and never as a caller's message or a lead.

use sqlx::PgPool;
use uuid::Uuid;

use crate::Result;

/// The member whose phone this is: `Some(Some(user))`, `Some(None)` for the business's owner
/// phone without an account, `None` for anyone else (a caller).
pub async fn member_by_phone(
    pool: &PgPool,
    business_id: Uuid,
    phone: &str,
) -> Result<Option<Option<Uuid>>> {
    let user: Option<Uuid> = sqlx::query_scalar(
        "select u.id from users u join businesses b on b.id = u.business_id
         left join alert_preferences p on p.user_id = u.id
         where u.business_id = $1 and u.active
           and coalesce(p.phone::text, case when u.role = 'owner' then b.owner_phone::text end) = $2
           and case when p.phone is not null then p.phone_verified_at is not null
                    else b.owner_phone_verified_at is not null end
         order by u.role = 'owner' desc, u.created_at limit 1",
    )
    .bind(business_id)
    .bind(phone)
    .fetch_optional(pool)
    .await?;
    if user.is_some() {
        return Ok(Some(user));
    }
    let owner: Option<Option<Uuid>> = sqlx::query_scalar(
        "select (select u.id from users u where u.business_id = b.id and u.role = 'owner' and u.active order by u.created_at limit 1)
         from businesses b where b.id = $1 and b.owner_phone::text = $2 and b.owner_phone_verified_at is not null",
    )
    .bind(business_id)
    .bind(phone)
    .fetch_optional(pool)
    .await?;
    Ok(owner)
}

/// Records the member's text once per sid; returns its id and whether its workflow started.
pub async fn record(
    pool: &PgPool,
    business_id: Uuid,
    user_id: Option<Uuid>,
    message_sid: &str,
    from: &str,
    body: &str,
) -> Result<(Uuid, bool)> {
    Ok(sqlx::query_as(
        "insert into team_texts (business_id, user_id, message_sid, from_phone, body) values ($1, $2, $3, $4::e164, $5)
         on conflict (business_id, message_sid) do update set updated_at = team_texts.updated_at
         returning id, started_at is not null",
    )
    .bind(business_id)
    .bind(user_id)
    .bind(message_sid)
    .bind(from)
    .bind(body)
    .fetch_one(pool)
    .await?)
}

pub async fn mark_started(pool: &PgPool, id: Uuid) -> Result<()> {
    sqlx::query("update team_texts set started_at = coalesce(started_at, now()), updated_at = now() where id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A recorded text whose workflow has not started after `grace_secs`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Unstarted {
    pub id: Uuid,
    pub business_id: Uuid,
    pub message_sid: String,
}

pub async fn unstarted(pool: &PgPool, grace_secs: i64, limit: i64) -> Result<Vec<Unstarted>> {
    Ok(sqlx::query_as(
        "select id, business_id, message_sid from team_texts
         where started_at is null and created_at < now() - make_interval(secs => $1::bigint)
         order by created_at limit $2",
    )
    .bind(grace_secs)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TeamText {
    pub user_id: Option<Uuid>,
    pub message_sid: String,
    pub from_phone: String,
    pub body: String,
    pub twilio_number: String,
    pub account_sid: String,
    pub auth_token_enc: String,
    pub reply_status: Option<String>,
}

pub async fn get(pool: &PgPool, business_id: Uuid, id: Uuid) -> Result<TeamText> {
    Ok(sqlx::query_as(
        "select t.user_id, t.message_sid, t.from_phone::text as from_phone, t.body, b.twilio_number::text as twilio_number,
                b.twilio_account_sid as account_sid, b.twilio_auth_token_enc as auth_token_enc, t.reply_status
         from team_texts t join businesses b on b.id = t.business_id where t.business_id = $1 and t.id = $2",
    )
    .bind(business_id)
    .bind(id)
    .fetch_one(pool)
    .await?)
}

/// A conversation an alert was about, as a command acts on it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertedConversation {
    pub number: i32,
    pub conversation_id: Uuid,
    pub workflow_id: String,
    pub caller: String,
    pub name: Option<String>,
    pub emergency: bool,
}

const ALERTED: &str = "select coalesce(n.number, 0) as number, c.id as conversation_id, c.workflow_id, l.phone::text as caller, l.name, c.emergency
     from notifications n join conversations c on c.id = n.conversation_id join leads l on l.id = c.lead_id";

/// The conversation of the latest alert texted to this phone.
pub async fn latest_alert(
    pool: &PgPool,
    business_id: Uuid,
    phone: &str,
) -> Result<Option<AlertedConversation>> {
    Ok(sqlx::query_as(&format!(
        "{ALERTED} join alert_deliveries d on d.notification_id = n.id
         where d.business_id = $1 and d.channel = 'sms' and d.target = $2 and d.status = 'sent'
         order by d.created_at desc, n.number desc limit 1"
    ))
    .bind(business_id)
    .bind(phone)
    .fetch_optional(pool)
    .await?)
}

/// Alert #number of this business.
pub async fn alert_by_number(
    pool: &PgPool,
    business_id: Uuid,
    number: i32,
) -> Result<Option<AlertedConversation>> {
    Ok(sqlx::query_as(&format!(
        "{ALERTED} where n.business_id = $1 and n.number = $2"
    ))
    .bind(business_id)
    .bind(number)
    .fetch_optional(pool)
    .await?)
}

/// Open conversations that wait on the team (an emergency, or the caller asked for a person),
/// each with its latest alert's number, most urgent first.
pub async fn waiting(pool: &PgPool, business_id: Uuid) -> Result<Vec<AlertedConversation>> {
    Ok(sqlx::query_as(
        "select coalesce((select max(n.number) from notifications n where n.conversation_id = c.id), 0) as number,
                c.id as conversation_id, c.workflow_id, l.phone::text as caller, l.name, c.emergency
         from conversations c join leads l on l.id = c.lead_id
         where c.business_id = $1 and c.status = 'active' and (c.needs_owner or c.emergency)
         order by c.emergency desc, c.updated_at desc limit 5",
    )
    .bind(business_id)
    .fetch_all(pool)
    .await?)
}

/// What came of the text, for the record (and the inbox's audit of who said what).
pub async fn set_outcome(
    pool: &PgPool,
    business_id: Uuid,
    id: Uuid,
    outcome: &str,
    conversation_id: Option<Uuid>,
) -> Result<()> {
    sqlx::query("update team_texts set outcome = $3, conversation_id = $4, updated_at = now() where business_id = $1 and id = $2")
        .bind(business_id)
        .bind(id)
        .bind(outcome)
        .bind(conversation_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Claims the reply before the carrier hears of it: false when an earlier attempt already
/// did (at most once: a crash mid-send loses a confirmation, never doubles it).
pub async fn claim_reply(pool: &PgPool, business_id: Uuid, id: Uuid, body: &str) -> Result<bool> {
    let claimed = sqlx::query(
        "update team_texts set reply_status = 'dispatching', reply_body = $3, updated_at = now()
         where business_id = $1 and id = $2 and reply_status is null",
    )
    .bind(business_id)
    .bind(id)
    .bind(body)
    .execute(pool)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

pub async fn finish_reply(
    pool: &PgPool,
    business_id: Uuid,
    id: Uuid,
    sid: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "update team_texts set reply_status = case when $3::text is null then 'failed' else 'sent' end, reply_sid = $3, updated_at = now()
         where business_id = $1 and id = $2",
    )
    .bind(business_id)
    .bind(id)
    .bind(sid)
    .execute(pool)
    .await?;
    Ok(())
}

/// STOP and START from a member's phone: alert texts off (emergencies too) or on again.
pub async fn set_texts_stopped(
    pool: &PgPool,
    business_id: Uuid,
    user_id: Uuid,
    phone: &str,
    stopped: bool,
) -> Result<()> {
    sqlx::query(
        "insert into alert_preferences (user_id, business_id, phone, sms_kinds, push_kinds, sms_stopped)
         select u.id, u.business_id, $3::e164,
                case when u.role = 'owner' and b.notify_by_text then $5::text[] else '{}' end, $5::text[], $4
         from users u join businesses b on b.id = u.business_id where u.id = $2 and u.business_id = $1
         on conflict (user_id) do update set sms_stopped = $4, updated_at = now()",
    )
    .bind(business_id)
    .bind(user_id)
    .bind(phone)
    .bind(stopped)
    .bind(nmc_domain::team::ALERT_KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>())
    .execute(pool)
    .await?;
    let mut db = pool.acquire().await?;
    crate::phone_codes::carry_owner_verification(&mut db, user_id).await
}

/// Whether this member texted STOP (and not START since).
pub async fn texts_stopped(
    pool: &PgPool,
    business_id: Uuid,
    user_id: Option<Uuid>,
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select coalesce((select sms_stopped from alert_preferences where business_id = $1 and user_id = $2), false)",
    )
    .bind(business_id)
    .bind(user_id)
    .fetch_one(pool)
    .await?)
}
