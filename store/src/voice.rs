//! What the voice side keeps beside calls: screening key presses, the block list, Lookup's
//! answers per caller, and the routing grid with its holidays.

use chrono::NaiveDate;
use nmc_domain::E164;
use nmc_domain::routing::{Grid, Holiday, Method};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::Result;

/// The person who answered a screened call pressed the key: the call is theirs.
pub async fn mark_screened(pool: &PgPool, business_id: Uuid, call_sid: &str) -> Result<()> {
    sqlx::query(
        "update calls set screened_at = coalesce(screened_at, now()), updated_at = now()
         where business_id = $1 and twilio_call_sid = $2",
    )
    .bind(business_id)
    .bind(call_sid)
    .execute(pool)
    .await?;
    Ok(())
}

/// Did a person take this screened call?
pub async fn was_screened(pool: &PgPool, business_id: Uuid, call_sid: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from calls where business_id = $1 and twilio_call_sid = $2 and screened_at is not null)",
    )
    .bind(business_id)
    .bind(call_sid)
    .fetch_one(pool)
    .await?)
}

/// The caller's number on a recorded call (`None`: unknown call, or a withheld number).
pub async fn caller_of(pool: &PgPool, business_id: Uuid, call_sid: &str) -> Result<Option<E164>> {
    let phone: Option<Option<String>> = sqlx::query_scalar(
        "select caller_phone from calls where business_id = $1 and twilio_call_sid = $2",
    )
    .bind(business_id)
    .bind(call_sid)
    .fetch_optional(pool)
    .await?;
    Ok(phone.flatten().and_then(|p| E164::parse(&p).ok()))
}

/// The business's uploaded voicemail greeting: `(storage key, content type)`. `db`: the pool
/// (Twilio fetching it) or the owner's transaction (the settings preview).
pub async fn greeting_audio<'e>(
    db: impl sqlx::PgExecutor<'e>,
    business_id: Uuid,
) -> Result<Option<(String, String)>> {
    Ok(sqlx::query_as(
        "select voicemail_audio_key, coalesce(voicemail_audio_type, 'audio/mpeg') from businesses
         where id = $1 and voicemail_audio_key is not null",
    )
    .bind(business_id)
    .fetch_optional(db)
    .await?)
}

pub async fn is_blocked(pool: &PgPool, business_id: Uuid, phone: &E164) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from blocked_callers where business_id = $1 and phone = $2)",
    )
    .bind(business_id)
    .bind(phone.as_str())
    .fetch_one(pool)
    .await?)
}

/// A blocked caller's call: on record (so the owner can see it was dropped), nothing else.
pub async fn record_blocked_call(
    pool: &PgPool,
    business_id: Uuid,
    call_sid: &str,
    caller: &E164,
) -> Result<()> {
    sqlx::query(
        "insert into calls (business_id, twilio_call_sid, caller_phone, status)
         values ($1, $2, $3, 'blocked') on conflict (business_id, twilio_call_sid) do nothing",
    )
    .bind(business_id)
    .bind(call_sid)
    .bind(caller.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Blocked {
    pub phone: String,
    pub note: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn blocked(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
) -> Result<Vec<Blocked>> {
    Ok(sqlx::query_as(
        "select phone, note, created_at from blocked_callers where business_id = $1 order by created_at desc",
    )
    .bind(business_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Blocks a caller; blocking twice keeps the first entry. True when newly blocked.
pub async fn block(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    phone: &E164,
    note: Option<&str>,
    by: Uuid,
) -> Result<bool> {
    let done = sqlx::query(
        "insert into blocked_callers (business_id, phone, note, created_by) values ($1, $2, $3, $4)
         on conflict do nothing",
    )
    .bind(business_id)
    .bind(phone.as_str())
    .bind(note)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// True when the caller was blocked.
pub async fn unblock(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    phone: &E164,
) -> Result<bool> {
    let done = sqlx::query("delete from blocked_callers where business_id = $1 and phone = $2")
        .bind(business_id)
        .bind(phone.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Lookup's answer about a caller, as kept.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineCheck {
    pub line_type: Option<String>,
    pub sms_pumping_risk: Option<i32>,
}

/// The kept answer, if it is younger than `max_age_days` (numbers get ported between
/// carriers, so a very old answer is asked again).
pub async fn line_check(
    pool: &PgPool,
    business_id: Uuid,
    phone: &E164,
    max_age_days: i32,
) -> Result<Option<LineCheck>> {
    Ok(sqlx::query_as(
        "select line_type, sms_pumping_risk from line_checks
         where business_id = $1 and phone = $2 and checked_at > now() - make_interval(days => $3)",
    )
    .bind(business_id)
    .bind(phone.as_str())
    .bind(max_age_days)
    .fetch_optional(pool)
    .await?)
}

pub async fn save_line_check(
    pool: &PgPool,
    business_id: Uuid,
    phone: &E164,
    line_type: Option<&str>,
    carrier_name: Option<&str>,
    sms_pumping_risk: Option<i32>,
) -> Result<()> {
    sqlx::query(
        "insert into line_checks (business_id, phone, line_type, carrier_name, sms_pumping_risk)
         values ($1, $2, $3, $4, $5)
         on conflict (business_id, phone) do update set line_type = excluded.line_type,
             carrier_name = excluded.carrier_name, sms_pumping_risk = excluded.sms_pumping_risk,
             checked_at = now()",
    )
    .bind(business_id)
    .bind(phone.as_str())
    .bind(line_type)
    .bind(carrier_name)
    .bind(sms_pumping_risk)
    .execute(pool)
    .await?;
    Ok(())
}

/// The business's routing: its grid (`None`: every call is texted, the product's default) and
/// its holidays from `from` on.
pub async fn routing(
    pool: &PgPool,
    business_id: Uuid,
    from: NaiveDate,
) -> Result<(Option<Grid>, Vec<Holiday>)> {
    let mut tx = pool.begin().await?;
    let (grid, holidays) = routing_in(&mut tx, business_id, from).await?;
    tx.commit().await?;
    Ok((grid, holidays))
}

/// As [`routing`], inside the caller's (tenant) transaction.
pub async fn routing_in(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    from: NaiveDate,
) -> Result<(Option<Grid>, Vec<Holiday>)> {
    let grid: Option<String> =
        sqlx::query_scalar("select grid from routing_rules where business_id = $1")
            .bind(business_id)
            .fetch_optional(&mut **tx)
            .await?;
    let rows: Vec<(NaiveDate, String, Option<String>)> = sqlx::query_as(
        "select day, method, label from routing_holidays where business_id = $1 and day >= $2 order by day",
    )
    .bind(business_id)
    .bind(from)
    .fetch_all(&mut **tx)
    .await?;
    let holidays = rows
        .into_iter()
        .filter_map(|(day, m, label)| {
            Some(Holiday {
                day,
                method: Method::from_code(m.chars().next()?)?,
                label,
            })
        })
        .collect();
    Ok((grid.and_then(|g| Grid::from_codes(&g).ok()), holidays))
}

/// Replaces the grid and the holidays from `from` on (past ones are history).
pub async fn save_routing(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    grid: &Grid,
    holidays: &[Holiday],
    from: NaiveDate,
) -> Result<()> {
    sqlx::query(
        "insert into routing_rules (business_id, grid) values ($1, $2)
         on conflict (business_id) do update set grid = excluded.grid, updated_at = now()",
    )
    .bind(business_id)
    .bind(grid.codes())
    .execute(&mut **tx)
    .await?;
    sqlx::query("delete from routing_holidays where business_id = $1 and day >= $2")
        .bind(business_id)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    for h in holidays {
        put_holiday(tx, business_id, h).await?;
    }
    Ok(())
}

/// How the business's calls sound: screening and the voicemail greeting.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct VoiceSettings {
    pub call_screening: bool,
    pub call_mode: String,
    pub voicemail_greeting: Option<String>,
    pub voicemail_voice: String,
    pub voicemail_language: String,
    pub voicemail_max_secs: i32,
    /// An uploaded greeting plays instead of the spoken one.
    pub voicemail_audio: bool,
}

pub async fn settings(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
) -> Result<VoiceSettings> {
    Ok(sqlx::query_as(
        "select call_screening, call_mode, voicemail_greeting, voicemail_voice, voicemail_language,
                voicemail_max_secs, voicemail_audio_key is not null as voicemail_audio
         from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// Saves the settings (already checked by the caller).
pub async fn save_settings(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    s: &VoiceSettings,
) -> Result<()> {
    sqlx::query(
        "update businesses set call_screening = $2, voicemail_greeting = $3, voicemail_voice = $4,
             voicemail_language = $5, voicemail_max_secs = $6, updated_at = now()
         where id = $1",
    )
    .bind(business_id)
    .bind(s.call_screening)
    .bind(s.voicemail_greeting.as_deref())
    .bind(&s.voicemail_voice)
    .bind(&s.voicemail_language)
    .bind(s.voicemail_max_secs)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Points the business at its uploaded greeting (or at none); returns the key it replaces,
/// for the caller to delete once committed.
pub async fn set_greeting_audio(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    key_and_type: Option<(&str, &str)>,
) -> Result<Option<String>> {
    let old: Option<String> =
        sqlx::query_scalar("select voicemail_audio_key from businesses where id = $1 for update")
            .bind(business_id)
            .fetch_one(&mut **tx)
            .await?;
    sqlx::query(
        "update businesses set voicemail_audio_key = $2, voicemail_audio_type = $3, updated_at = now() where id = $1",
    )
    .bind(business_id)
    .bind(key_and_type.map(|(k, _)| k))
    .bind(key_and_type.map(|(_, t)| t))
    .execute(&mut **tx)
    .await?;
    Ok(old)
}

/// Adds (or changes) one holiday.
pub async fn put_holiday(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    h: &Holiday,
) -> Result<()> {
    sqlx::query(
        "insert into routing_holidays (business_id, day, method, label) values ($1, $2, $3, $4)
         on conflict (business_id, day) do update set method = excluded.method, label = excluded.label",
    )
    .bind(business_id)
    .bind(h.day)
    .bind(h.method.code().to_string())
    .bind(h.label.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// True when the day was a holiday.
pub async fn remove_holiday(
    tx: &mut Transaction<'_, Postgres>,
    business_id: Uuid,
    day: NaiveDate,
) -> Result<bool> {
    let done = sqlx::query("delete from routing_holidays where business_id = $1 and day = $2")
        .bind(business_id)
        .bind(day)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}
