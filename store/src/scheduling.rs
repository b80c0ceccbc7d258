//! Schedule rules, technicians and the catalog: what availability is computed from.

use chrono::{DateTime, NaiveDate, Utc};
use nmc_domain::BusinessHours;
use nmc_domain::availability::{Busy, ScheduleRules, Technician, WeekSchedule};
use nmc_domain::catalog::CatalogItem;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use sqlx::postgres::types::PgRange;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{Result, StoreError};

/// A business's schedule rules as the owner edits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub hours: WeekSchedule,
    pub closures: Vec<NaiveDate>,
    pub buffer_minutes: i32,
    pub max_jobs_per_day: i32,
    pub booking_window_days: i32,
    pub min_lead_minutes: i32,
    pub step_minutes: i32,
    pub default_job_minutes: i32,
    pub reminder_minutes: Vec<i32>,
}

impl Rules {
    /// Until the owner sets rules: the business hours, and what most trades keep.
    pub fn defaults(hours: &BusinessHours) -> Self {
        Self {
            hours: WeekSchedule::from_business_hours(hours),
            closures: vec![],
            buffer_minutes: 30,
            max_jobs_per_day: 6,
            booking_window_days: 14,
            min_lead_minutes: 120,
            step_minutes: 30,
            default_job_minutes: 60,
            reminder_minutes: vec![1440, 60],
        }
    }

    pub fn for_availability(&self) -> ScheduleRules {
        ScheduleRules {
            hours: self.hours.clone(),
            closures: self.closures.clone(),
            buffer_minutes: i64::from(self.buffer_minutes),
            max_jobs_per_day: self.max_jobs_per_day.max(0) as usize,
            booking_window_days: i64::from(self.booking_window_days),
            min_lead_minutes: i64::from(self.min_lead_minutes),
            step_minutes: i64::from(self.step_minutes),
        }
    }
}

#[derive(sqlx::FromRow)]
struct RulesRow {
    hours: Json<WeekSchedule>,
    closures: Vec<NaiveDate>,
    buffer_minutes: i32,
    max_jobs_per_day: i32,
    booking_window_days: i32,
    min_lead_minutes: i32,
    step_minutes: i32,
    default_job_minutes: i32,
    reminder_minutes: Vec<i32>,
}

pub async fn rules(db: &mut PgConnection, business_id: Uuid) -> Result<Rules> {
    let row: Option<RulesRow> = sqlx::query_as(
        "select hours, closures, buffer_minutes, max_jobs_per_day, booking_window_days, min_lead_minutes, step_minutes,
                default_job_minutes, reminder_minutes
         from schedule_rules where business_id = $1",
    )
    .bind(business_id)
    .fetch_optional(&mut *db)
    .await?;
    if let Some(r) = row {
        return Ok(Rules {
            hours: r.hours.0,
            closures: r.closures,
            buffer_minutes: r.buffer_minutes,
            max_jobs_per_day: r.max_jobs_per_day,
            booking_window_days: r.booking_window_days,
            min_lead_minutes: r.min_lead_minutes,
            step_minutes: r.step_minutes,
            default_job_minutes: r.default_job_minutes,
            reminder_minutes: r.reminder_minutes,
        });
    }
    let hours: Json<BusinessHours> =
        sqlx::query_scalar("select business_hours from businesses where id = $1")
            .bind(business_id)
            .fetch_optional(&mut *db)
            .await?
            .ok_or(StoreError::NotFound)?;
    Ok(Rules::defaults(&hours.0))
}

pub async fn put_rules(db: &mut PgConnection, business_id: Uuid, r: &Rules) -> Result<()> {
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    sqlx::query(
        "insert into schedule_rules (business_id, hours, closures, buffer_minutes, max_jobs_per_day, booking_window_days,
                                     min_lead_minutes, step_minutes, default_job_minutes, reminder_minutes)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (business_id) do update set hours = $2, closures = $3, buffer_minutes = $4, max_jobs_per_day = $5,
             booking_window_days = $6, min_lead_minutes = $7, step_minutes = $8, default_job_minutes = $9,
             reminder_minutes = $10, updated_at = now()",
    )
    .bind(business_id)
    .bind(Json(&r.hours))
    .bind(&r.closures)
    .bind(r.buffer_minutes)
    .bind(r.max_jobs_per_day)
    .bind(r.booking_window_days)
    .bind(r.min_lead_minutes)
    .bind(r.step_minutes)
    .bind(r.default_job_minutes)
    .bind(&r.reminder_minutes)
    .execute(&mut *tx)
    .await?;
    crate::audit(
        &mut *tx,
        business_id,
        "schedule_rules",
        None,
        "updated",
        serde_json::to_value(r).unwrap_or_default(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TechnicianRow {
    pub id: Uuid,
    pub name: String,
    pub active: bool,
    pub hours: Option<Json<WeekSchedule>>,
}

pub const MAX_TECHNICIANS: i64 = 5;

pub async fn technicians(db: &mut PgConnection, business_id: Uuid) -> Result<Vec<TechnicianRow>> {
    Ok(sqlx::query_as("select id, name, active, hours from technicians where business_id = $1 order by created_at, id")
        .bind(business_id)
        .fetch_all(&mut *db)
        .await?)
}

/// Adds a technician; a business has at most five active ones (`Conflict` on the sixth).
pub async fn add_technician(
    db: &mut PgConnection,
    business_id: Uuid,
    name: &str,
    hours: Option<&WeekSchedule>,
) -> Result<Uuid> {
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    // Serialise concurrent adds for this business so the cap holds.
    sqlx::query("select id from businesses where id = $1 for update")
        .bind(business_id)
        .execute(&mut *tx)
        .await?;
    let n: i64 =
        sqlx::query_scalar("select count(*) from technicians where business_id = $1 and active")
            .bind(business_id)
            .fetch_one(&mut *tx)
            .await?;
    if n >= MAX_TECHNICIANS {
        return Err(StoreError::Conflict {
            field: "technicians",
        });
    }
    let id = sqlx::query_scalar(
        "insert into technicians (business_id, name, hours) values ($1, $2, $3) returning id",
    )
    .bind(business_id)
    .bind(name)
    .bind(hours.map(Json))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update_technician(
    db: &mut PgConnection,
    business_id: Uuid,
    id: Uuid,
    name: Option<&str>,
    active: Option<bool>,
    hours: Option<Option<&WeekSchedule>>,
) -> Result<()> {
    let done = sqlx::query(
        "update technicians set name = coalesce($3, name), active = coalesce($4, active),
             hours = case when $5 then $6 else hours end, updated_at = now()
         where id = $1 and business_id = $2",
    )
    .bind(id)
    .bind(business_id)
    .bind(name)
    .bind(active)
    .bind(hours.is_some())
    .bind(hours.flatten().map(Json))
    .execute(&mut *db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct CatalogRow {
    pub id: Uuid,
    pub name: String,
    pub keywords: Vec<String>,
    pub duration_minutes: i32,
    pub price_cents: Option<i32>,
    pub price_min_cents: Option<i32>,
    pub price_max_cents: Option<i32>,
    pub emergency_surcharge_cents: Option<i32>,
    pub active: bool,
}

impl CatalogRow {
    pub fn item(&self) -> CatalogItem {
        CatalogItem {
            name: self.name.clone(),
            keywords: self.keywords.clone(),
            duration_minutes: self.duration_minutes,
            price_cents: self.price_cents,
            price_min_cents: self.price_min_cents,
            price_max_cents: self.price_max_cents,
            emergency_surcharge_cents: self.emergency_surcharge_cents,
        }
    }
}

const CATALOG_COLUMNS: &str = "id, name, keywords, duration_minutes, price_cents, price_min_cents, price_max_cents, emergency_surcharge_cents, active";

pub async fn catalog(
    db: &mut PgConnection,
    business_id: Uuid,
    only_active: bool,
) -> Result<Vec<CatalogRow>> {
    Ok(sqlx::query_as(&format!("select {CATALOG_COLUMNS} from catalog_items where business_id = $1 and (active or not $2) order by name"))
        .bind(business_id)
        .bind(only_active)
        .fetch_all(&mut *db)
        .await?)
}

pub async fn catalog_item(
    db: &mut PgConnection,
    business_id: Uuid,
    id: Uuid,
) -> Result<CatalogRow> {
    sqlx::query_as(&format!(
        "select {CATALOG_COLUMNS} from catalog_items where business_id = $1 and id = $2"
    ))
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *db)
    .await?
    .ok_or(StoreError::NotFound)
}

fn catalog_conflict(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict { field: "name" }
        }
        _ => e.into(),
    }
}

/// Creates (id `None`) or replaces an item.
pub async fn save_catalog_item(
    db: &mut PgConnection,
    business_id: Uuid,
    id: Option<Uuid>,
    item: &CatalogItem,
    active: bool,
) -> Result<Uuid> {
    let q = match id {
        None => "insert into catalog_items (business_id, name, keywords, duration_minutes, price_cents, price_min_cents, price_max_cents, emergency_surcharge_cents, active)
                 values ($1, $3, $4, $5, $6, $7, $8, $9, $10) returning id",
        Some(_) => "update catalog_items set name = $3, keywords = $4, duration_minutes = $5, price_cents = $6, price_min_cents = $7,
                        price_max_cents = $8, emergency_surcharge_cents = $9, active = $10, updated_at = now()
                    where business_id = $1 and id = $2 returning id",
    };
    sqlx::query_scalar(q)
        .bind(business_id)
        .bind(id)
        .bind(&item.name)
        .bind(&item.keywords)
        .bind(item.duration_minutes)
        .bind(item.price_cents)
        .bind(item.price_min_cents)
        .bind(item.price_max_cents)
        .bind(item.emergency_surcharge_cents)
        .bind(active)
        .fetch_optional(&mut *db)
        .await
        .map_err(catalog_conflict)?
        .ok_or(StoreError::NotFound)
}

/// Deletes an item; one that appointments point to is retired (inactive) instead, so their
/// history keeps its service.
pub async fn delete_catalog_item(db: &mut PgConnection, business_id: Uuid, id: Uuid) -> Result<()> {
    let used: Option<bool> = sqlx::query_scalar("select exists (select 1 from appointments where catalog_item_id = $2) from catalog_items where business_id = $1 and id = $2")
        .bind(business_id)
        .bind(id)
        .fetch_optional(&mut *db)
        .await?;
    let q = match used {
        None => return Err(StoreError::NotFound),
        Some(true) => {
            "update catalog_items set active = false, updated_at = now() where business_id = $1 and id = $2"
        }
        Some(false) => "delete from catalog_items where business_id = $1 and id = $2",
    };
    sqlx::query(q)
        .bind(business_id)
        .bind(id)
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// Everything the availability function needs for a business between two instants.
pub struct AvailabilityInputs {
    pub timezone: String,
    pub rules: Rules,
    pub technicians: Vec<Technician>,
    pub busy: Vec<Busy>,
}

pub async fn availability_inputs(
    db: &mut PgConnection,
    business_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<AvailabilityInputs> {
    let timezone: String = sqlx::query_scalar("select timezone from businesses where id = $1")
        .bind(business_id)
        .fetch_optional(&mut *db)
        .await?
        .ok_or(StoreError::NotFound)?;
    let rules = rules(&mut *db, business_id).await?;
    let technicians = technicians(&mut *db, business_id)
        .await?
        .into_iter()
        .filter(|t| t.active)
        .map(|t| Technician {
            id: t.id,
            hours: t.hours.map(|h| h.0),
        })
        .collect();
    let window = PgRange::from(from..to);
    let rows: Vec<(Option<Uuid>, PgRange<DateTime<Utc>>)> = sqlx::query_as(
        "select technician_id, during from appointments where business_id = $1 and status <> 'cancelled' and during && $2
         union all
         select null, during from external_busy where business_id = $1 and during && $2",
    )
    .bind(business_id)
    .bind(window)
    .fetch_all(&mut *db)
    .await?;
    let busy = rows
        .into_iter()
        .filter_map(|(technician, r)| match (r.start, r.end) {
            (
                std::ops::Bound::Included(s) | std::ops::Bound::Excluded(s),
                std::ops::Bound::Included(e) | std::ops::Bound::Excluded(e),
            ) => Some(Busy {
                technician,
                start: s,
                end: e,
            }),
            _ => None,
        })
        .collect();
    Ok(AvailabilityInputs {
        timezone,
        rules,
        technicians,
        busy,
    })
}

/// Every open slot for a job of `duration_minutes` from now (or after `after`) through the
/// booking window, in the business's timezone. Reads the database, then runs the pure function.
pub async fn open_slots(
    db: &mut PgConnection,
    business_id: Uuid,
    duration_minutes: i32,
    after: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(String, Vec<nmc_domain::availability::Slot>)> {
    use chrono::{Duration, TimeZone};
    let rules = rules(&mut *db, business_id).await?;
    let to = now + Duration::days(i64::from(rules.booking_window_days) + 2);
    let inputs = availability_inputs(&mut *db, business_id, now - Duration::days(1), to).await?;
    let tz: chrono_tz::Tz = inputs.timezone.parse().unwrap_or(chrono_tz::UTC);
    let today = tz.from_utc_datetime(&now.naive_utc()).date_naive();
    let schedule = inputs.rules.for_availability();
    let slots = nmc_domain::availability::available_slots(&nmc_domain::availability::Request {
        tz,
        rules: &schedule,
        technicians: &inputs.technicians,
        busy: &inputs.busy,
        now: after.map_or(now, |a| a.max(now)),
        from: today,
        to: today + Duration::days(i64::from(rules.booking_window_days)),
        duration_minutes: i64::from(duration_minutes),
    });
    Ok((
        inputs.timezone,
        slots
            .into_iter()
            .filter(|s| after.is_none_or(|a| s.start > a))
            .collect(),
    ))
}
