//! The test call that proves a business's calls reach its NeverMissCall number: started by the
//! owner, recognised by the voice webhook when the forwarded call arrives, or ended by the
//! platform call's final status.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::Result;

/// What a test call needs to know about the business.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Line {
    pub business_phone: Option<String>,
    pub twilio_number: Option<String>,
    pub call_mode: String,
    pub phone_carrier: Option<String>,
    pub forwarding_verified_at: Option<DateTime<Utc>>,
}

pub async fn line(db: &mut PgConnection, business_id: Uuid) -> Result<Line> {
    Ok(sqlx::query_as(
        "select business_phone::text as business_phone, twilio_number::text as twilio_number,
                call_mode, phone_carrier, forwarding_verified_at
         from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_one(db)
    .await?)
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Test {
    pub id: Uuid,
    pub from_phone: String,
    pub to_phone: String,
    pub carrier: Option<String>,
    pub status: String,
    pub outcome: Option<String>,
    pub call_status: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const TEST_COLUMNS: &str =
    "id, from_phone::text as from_phone, to_phone::text as to_phone, carrier, status, outcome,
    call_status, started_at, finished_at";

pub async fn latest(db: &mut PgConnection, business_id: Uuid) -> Result<Option<Test>> {
    Ok(sqlx::query_as(&format!(
        "select {TEST_COLUMNS} from forwarding_tests where business_id = $1 order by started_at desc limit 1"
    ))
    .bind(business_id)
    .fetch_optional(db)
    .await?)
}

/// Records a test call about to be placed (and the carrier the owner named); `None` when one
/// is still ringing, so a double tap never rings the owner twice.
pub async fn start(
    db: &mut PgConnection,
    business_id: Uuid,
    (from, to): (&str, &str),
    carrier: Option<&str>,
    window_secs: i32,
) -> Result<Option<Uuid>> {
    // Serialises starts for this business: the check and the insert see the same rows.
    sqlx::query("select id from businesses where id = $1 for update")
        .bind(business_id)
        .execute(&mut *db)
        .await?;
    let ringing: bool = sqlx::query_scalar(
        "select exists (select 1 from forwarding_tests where business_id = $1 and status = 'calling'
                          and started_at > now() - make_interval(secs => $2))",
    )
    .bind(business_id)
    .bind(window_secs)
    .fetch_one(&mut *db)
    .await?;
    if ringing {
        return Ok(None);
    }
    sqlx::query("update businesses set phone_carrier = coalesce($2, phone_carrier) where id = $1")
        .bind(business_id)
        .bind(carrier)
        .execute(&mut *db)
        .await?;
    Ok(Some(
        sqlx::query_scalar(
            "insert into forwarding_tests (business_id, from_phone, to_phone, carrier)
             values ($1, $2::e164, $3::e164, $4) returning id",
        )
        .bind(business_id)
        .bind(from)
        .bind(to)
        .bind(carrier)
        .fetch_one(db)
        .await?,
    ))
}

pub async fn placed(pool: &PgPool, id: Uuid, call_sid: &str) -> Result<()> {
    sqlx::query("update forwarding_tests set call_sid = $2 where id = $1")
        .bind(id)
        .bind(call_sid)
        .execute(pool)
        .await?;
    Ok(())
}

/// The test ends without the call arriving (`outcome` from `domain::forwarding::Outcome`);
/// a test already verified stays verified.
pub async fn failed(
    pool: &PgPool,
    id: Uuid,
    outcome: &str,
    call_status: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "update forwarding_tests set status = 'failed', outcome = $2,
             call_status = coalesce($3, call_status), finished_at = now()
         where id = $1 and status <> 'verified'",
    )
    .bind(id)
    .bind(outcome)
    .bind(call_status)
    .execute(pool)
    .await?;
    Ok(())
}

/// A call from the platform's test number reached the business's number: the latest test from
/// that number in the last two minutes is verified, even if the platform call's status came
/// first. Returns whether there was one.
pub async fn arrived(pool: &PgPool, business_id: Uuid, from: &str) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let id: Option<Uuid> = sqlx::query_scalar(
        "update forwarding_tests set status = 'verified', outcome = 'verified', finished_at = now()
         where id = (select id from forwarding_tests where business_id = $1 and from_phone::text = $2
                       and started_at > now() - interval '2 minutes'
                     order by started_at desc limit 1)
         returning id",
    )
    .bind(business_id)
    .bind(from)
    .fetch_optional(&mut *tx)
    .await?;
    if id.is_some() {
        sqlx::query("update businesses set forwarding_verified_at = now() where id = $1")
            .bind(business_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(id.is_some())
}
