//! The numbers that show the money recovered: per period and per day, in the business's time.
//! A missed call is *recovered* when the caller answered our text or got booked.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Result;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Totals {
    pub missed: i64,
    pub answered: i64,
    pub recovered: i64,
    pub booked: i64,
    pub revenue_cents: i64,
    pub emergencies: i64,
    pub opt_outs: i64,
    /// Missed call → first text accepted by the carrier, median seconds.
    pub median_first_text_secs: Option<f64>,
}

/// Totals for `[from, to)`.
/// A missed call the business got back: the caller booked, or texted back and did not end it
/// (an opt-out, a wrong number or a decline is an answer, not a recovery). `m` is the missed call.
const RECOVERED: &str = "(exists (select 1 from appointments a where a.business_id = $1 and a.lead_id = m.lead_id and a.created_at > m.created_at)
    or (exists (select 1 from messages x where x.business_id = $1 and x.lead_id = m.lead_id and x.direction = 'inbound'
                and x.kind = 'text' and x.created_at > m.created_at)
        and not exists (select 1 from leads l where l.id = m.lead_id and (l.status = 'opted_out' or l.lost_reason is not null))))";

pub async fn totals(
    db: &mut PgConnection,
    business_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Totals> {
    Ok(sqlx::query_as(&format!(
        "with missed as (
             select c.id, c.lead_id, c.created_at from calls c
             where c.business_id = $1 and c.status = 'missed' and not c.is_repeat and c.created_at >= $2 and c.created_at < $3)
         select
             (select count(*) from missed) as missed,
             (select count(*) from calls where business_id = $1 and status = 'answered' and created_at >= $2 and created_at < $3) as answered,
             (select count(*) from missed m where {RECOVERED}) as recovered,
             (select count(*) from appointments where business_id = $1 and status <> 'cancelled' and created_at >= $2 and created_at < $3) as booked,
             (select coalesce(sum(price_cents), 0)::bigint from appointments
               where business_id = $1 and status <> 'cancelled' and conversation_id is not null and created_at >= $2 and created_at < $3) as revenue_cents,
             (select count(*) from conversations where business_id = $1 and emergency and created_at >= $2 and created_at < $3) as emergencies,
             (select count(*) from opt_outs where business_id = $1 and created_at >= $2 and created_at < $3) as opt_outs,
             (select percentile_cont(0.5) within group (order by extract(epoch from (x.first_at - m.created_at)))
                from missed m join lateral (select min(created_at) as first_at from messages
                     where business_id = $1 and lead_id = m.lead_id and direction = 'outbound' and kind = 'greeting' and created_at >= m.created_at) x on x.first_at is not null
             ) as median_first_text_secs"
    ))
    .bind(business_id)
    .bind(from)
    .bind(to)
    .fetch_one(db)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Day {
    pub day: NaiveDate,
    pub missed: i64,
    pub recovered: i64,
    pub booked: i64,
    pub revenue_cents: i64,
}

/// One row per local day in `[from_day, to_day]` (days with nothing included).
pub async fn daily(
    db: &mut PgConnection,
    business_id: Uuid,
    timezone: &str,
    from_day: NaiveDate,
    to_day: NaiveDate,
) -> Result<Vec<Day>> {
    Ok(sqlx::query_as(&format!(
        // Grouped once per day, not a subquery per day: the per-day form cost the planner enough
        // to JIT-compile it, which took longer than running it (docs/PERFORMANCE.md).
        "with days as (select generate_series($3::date, $4::date, interval '1 day')::date as day),
         missed as (
             select c.lead_id, c.created_at, (c.created_at at time zone $2)::date as day from calls c
             where c.business_id = $1 and c.status = 'missed' and not c.is_repeat
               and c.created_at >= ($3::date::timestamp at time zone $2) and c.created_at < (($4::date + 1)::timestamp at time zone $2)),
         per_day as (
             select m.day, count(*) as missed, count(*) filter (where {RECOVERED}) as recovered
             from missed m group by m.day),
         jobs as (
             select (a.created_at at time zone $2)::date as day, count(*) as booked,
                 coalesce(sum(a.price_cents) filter (where a.conversation_id is not null), 0)::bigint as revenue_cents
             from appointments a
             where a.business_id = $1 and a.status <> 'cancelled'
               and a.created_at >= ($3::date::timestamp at time zone $2) and a.created_at < (($4::date + 1)::timestamp at time zone $2)
             group by 1)
         select d.day, coalesce(p.missed, 0) as missed, coalesce(p.recovered, 0) as recovered,
             coalesce(j.booked, 0) as booked, coalesce(j.revenue_cents, 0) as revenue_cents
         from days d left join per_day p on p.day = d.day left join jobs j on j.day = d.day
         order by d.day"
    ))
    .bind(business_id)
    .bind(timezone)
    .bind(from_day)
    .bind(to_day)
    .fetch_all(db)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Recent {
    pub id: i64,
    pub kind: String,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// The business's latest activity with its callers; the owner's own alert texts are not
/// activity (they would crowd out the calls and texts they are about).
pub async fn recent(db: &mut PgConnection, business_id: Uuid, limit: i64) -> Result<Vec<Recent>> {
    Ok(sqlx::query_as(
        "select id, kind, data, created_at from events
         where business_id = $1 and not (kind like 'message.%' and data->>'kind' = 'owner_alert')
         order by id desc limit $2",
    )
    .bind(business_id)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The live feed's log keeps `days` days (reconnects and the activity list need no more);
/// returns how many events were dropped.
pub async fn prune_events(db: &mut PgConnection, days: i64) -> Result<u64> {
    Ok(
        sqlx::query("delete from events where created_at < now() - make_interval(days => $1)")
            .bind(days as i32)
            .execute(db)
            .await?
            .rows_affected(),
    )
}
