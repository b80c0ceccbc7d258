//! The weekly email: who gets it, what it says (from the insights queries), and which
//! businesses' Temporal schedules are not yet what they should be.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::Result;

/// The owners who still want the email.
pub async fn recipients(pool: &PgPool, business_id: Uuid) -> Result<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "select id, email from users where business_id = $1 and role = 'owner' and active and weekly_digest order by created_at",
    )
    .bind(business_id)
    .fetch_all(pool)
    .await?)
}

/// The business's name and timezone.
pub async fn business(db: &mut PgConnection, business_id: Uuid) -> Result<(String, String)> {
    Ok(
        sqlx::query_as("select name, timezone from businesses where id = $1")
            .bind(business_id)
            .fetch_one(db)
            .await?,
    )
}

/// A schedule to bring in line: the timezone it should run in, or `None` to delete it (no
/// owner wants the email).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleChange {
    pub business_id: Uuid,
    pub timezone: Option<String>,
}

const WANTED: &str = "case when exists (select 1 from users u where u.business_id = b.id and u.role = 'owner' and u.active and u.weekly_digest)
                      then b.timezone end";

pub async fn schedules_to_change(pool: &PgPool, limit: i64) -> Result<Vec<ScheduleChange>> {
    Ok(sqlx::query_as(&format!(
        "select b.id as business_id, {WANTED} as timezone from businesses b
         where b.digest_schedule_tz is distinct from {WANTED} order by b.created_at limit $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Records what the schedule now is.
pub async fn schedule_set(pool: &PgPool, business_id: Uuid, timezone: Option<&str>) -> Result<()> {
    sqlx::query("update businesses set digest_schedule_tz = $2 where id = $1")
        .bind(business_id)
        .bind(timezone)
        .execute(pool)
        .await?;
    Ok(())
}

/// One owner's choice (the settings page, or the email's one-click unsubscribe).
pub async fn set_wanted(
    db: &mut PgConnection,
    business_id: Uuid,
    user_id: Uuid,
    wanted: bool,
) -> Result<bool> {
    let done = sqlx::query("update users set weekly_digest = $3, updated_at = now() where business_id = $1 and id = $2")
        .bind(business_id)
        .bind(user_id)
        .bind(wanted)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The one-click unsubscribe knows the user (from its signed token), not the business.
pub async fn unsubscribe(pool: &PgPool, user_id: Uuid) -> Result<bool> {
    let done =
        sqlx::query("update users set weekly_digest = false, updated_at = now() where id = $1")
            .bind(user_id)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn wanted(db: &mut PgConnection, business_id: Uuid, user_id: Uuid) -> Result<bool> {
    Ok(
        sqlx::query_scalar("select weekly_digest from users where business_id = $1 and id = $2")
            .bind(business_id)
            .bind(user_id)
            .fetch_one(db)
            .await?,
    )
}

/// The week's figures as the email shows them.
pub async fn figures(
    db: &mut PgConnection,
    business_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<nmc_domain::digest::WeekFigures> {
    let t = crate::insights::totals(db, business_id, from, to).await?;
    Ok(nmc_domain::digest::WeekFigures {
        missed: t.missed,
        recovered: t.recovered,
        booked: t.booked,
        revenue_cents: t.revenue_cents,
    })
}

/// Everything the email says, for the week before the one `at` falls in (in the business's
/// timezone), or for `week` when given (the reports page previews the week it shows).
#[derive(Debug, Clone)]
pub struct DigestData {
    pub business: String,
    pub week: (chrono::NaiveDate, chrono::NaiveDate),
    pub figures: nmc_domain::digest::WeekFigures,
    pub waiting: Vec<crate::team::AlertedConversation>,
}

pub async fn gather(
    pool: &PgPool,
    business_id: Uuid,
    at: DateTime<Utc>,
    week: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> Result<DigestData> {
    let mut db = pool.acquire().await?;
    let (name, timezone) = business(&mut db, business_id).await?;
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    let week =
        week.unwrap_or_else(|| nmc_domain::digest::last_week(at.with_timezone(&tz).date_naive()));
    let midnight = |d: chrono::NaiveDate| {
        use chrono::TimeZone;
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map_or(at, |t| t.with_timezone(&Utc))
    };
    let figures = figures(
        &mut db,
        business_id,
        midnight(week.0),
        midnight(week.1 + chrono::Duration::days(1)),
    )
    .await?;
    drop(db);
    let waiting = crate::team::waiting(pool, business_id).await?;
    Ok(DigestData {
        business: name,
        week,
        figures,
        waiting,
    })
}

impl DigestData {
    /// The email, its links under `base` (`PUBLIC_BASE_URL`).
    pub fn mail(&self, base: &str, unsubscribe: &str) -> nmc_domain::digest::DigestMail {
        use nmc_domain::digest::{DigestLinks, StillWaiting, weekly_digest};
        let waiting: Vec<StillWaiting> = self
            .waiting
            .iter()
            .map(|c| StillWaiting {
                who: nmc_domain::phone::named(c.name.as_deref(), &c.caller),
                emergency: c.emergency,
                link: format!("{base}/app/inbox/{}", c.conversation_id),
            })
            .collect();
        let links = DigestLinks {
            report: format!("{base}/app/reports?start={}", self.week.0),
            inbox: format!("{base}/app/inbox"),
            unsubscribe: unsubscribe.to_owned(),
        };
        weekly_digest(&self.business, self.week, &self.figures, &waiting, &links)
    }
}
