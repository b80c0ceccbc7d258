//! Appointments. The database refuses overlapping bookings for a technician
//! (`appointments_no_overlap`); this module turns that refusal into a clear conflict.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use sqlx::postgres::types::PgRange;
use uuid::Uuid;

use crate::{Result, StoreError};

#[derive(Default)]
pub struct NewAppointment<'a> {
    pub technician_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub lead_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    pub catalog_item_id: Option<Uuid>,
    pub service_name: Option<&'a str>,
    pub customer_name: Option<&'a str>,
    pub customer_phone: Option<&'a str>,
    pub address: Option<&'a str>,
    pub price_cents: Option<i32>,
    pub notes: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Booked {
    Booked(Uuid),
    /// Another booking overlaps this technician's time: nothing was written.
    SlotTaken,
}

/// Books the slot or reports it taken. The same idempotency key books once and returns the
/// existing appointment. The technician must belong to the business (tenant scoping).
pub async fn book(
    db: &mut PgConnection,
    business_id: Uuid,
    a: &NewAppointment<'_>,
) -> Result<Booked> {
    if a.end <= a.start {
        return Err(StoreError::Conflict { field: "end" });
    }
    let during = PgRange::from(a.start..a.end);
    // A savepoint: a refused overlap leaves the caller's transaction usable (e.g. to try
    // another technician, or to read alternatives).
    let mut sp = sqlx::Connection::begin(&mut *db).await?;
    let inserted = sqlx::query_scalar::<_, Uuid>(
        "insert into appointments (business_id, technician_id, during, lead_id, catalog_item_id, address, price_cents, idempotency_key,
                                   conversation_id, service_name, customer_name, customer_phone, notes)
         select $1, t.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 from technicians t where t.id = $2 and t.business_id = $1 and t.active
         on conflict (business_id, idempotency_key) do update set updated_at = appointments.updated_at
         returning id",
    )
    .bind(business_id)
    .bind(a.technician_id)
    .bind(during)
    .bind(a.lead_id)
    .bind(a.catalog_item_id)
    .bind(a.address)
    .bind(a.price_cents)
    .bind(a.idempotency_key)
    .bind(a.conversation_id)
    .bind(a.service_name)
    .bind(a.customer_name)
    .bind(a.customer_phone)
    .bind(a.notes)
    .fetch_optional(&mut *sp)
    .await;
    match inserted {
        Ok(Some(id)) => {
            sp.commit().await?;
            Ok(Booked::Booked(id))
        }
        Ok(None) => Err(StoreError::NotFound),
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("appointments_no_overlap") => {
            Ok(Booked::SlotTaken)
        }
        Err(e) => Err(e.into()),
    }
}

/// Cancels an appointment; its time is free again at once.
pub async fn cancel(
    db: &mut PgConnection,
    business_id: Uuid,
    appointment_id: Uuid,
) -> Result<bool> {
    set_status(&mut *db, business_id, appointment_id, "cancelled", None).await
}

/// Moves an appointment to a new technician/time in one statement: the exclusion constraint
/// checks the new time, and on a clash nothing changes (`SlotTaken`).
pub async fn reschedule(
    db: &mut PgConnection,
    business_id: Uuid,
    appointment_id: Uuid,
    technician_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Booked> {
    if end <= start {
        return Err(StoreError::Conflict { field: "end" });
    }
    let mut sp = sqlx::Connection::begin(&mut *db).await?;
    let moved = sqlx::query_scalar::<_, Uuid>(
        "update appointments a set technician_id = t.id, during = $4, status = 'scheduled', confirmed_at = null,
             version = a.version + 1, updated_at = now()
         from technicians t
         where a.id = $1 and a.business_id = $2 and t.id = $3 and t.business_id = $2 and t.active
           and a.status in ('scheduled', 'confirmed')
         returning a.id",
    )
    .bind(appointment_id)
    .bind(business_id)
    .bind(technician_id)
    .bind(PgRange::from(start..end))
    .fetch_optional(&mut *sp)
    .await;
    match moved {
        Ok(Some(id)) => {
            sp.commit().await?;
            Ok(Booked::Booked(id))
        }
        Ok(None) => Err(StoreError::NotFound),
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("appointments_no_overlap") => {
            Ok(Booked::SlotTaken)
        }
        Err(e) => Err(e.into()),
    }
}

/// scheduled → confirmed / completed / cancelled / no_show. Returns false when nothing changed
/// (already in that status, or a cancelled appointment).
pub async fn set_status(
    db: &mut PgConnection,
    business_id: Uuid,
    appointment_id: Uuid,
    status: &str,
    by: Option<&str>,
) -> Result<bool> {
    let exists: Option<String> =
        sqlx::query_scalar("select status from appointments where id = $1 and business_id = $2")
            .bind(appointment_id)
            .bind(business_id)
            .fetch_optional(&mut *db)
            .await?;
    if exists.is_none() {
        return Err(StoreError::NotFound);
    }
    let done = sqlx::query(
        "update appointments set status = $3, cancelled_by = case when $3 = 'cancelled' then $4 else cancelled_by end,
             confirmed_at = case when $3 = 'confirmed' then now() else confirmed_at end,
             version = version + 1, updated_at = now()
         where id = $1 and business_id = $2 and status <> $3 and status <> 'cancelled'",
    )
    .bind(appointment_id)
    .bind(business_id)
    .bind(status)
    .bind(by)
    .execute(&mut *db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One appointment as the owner, the texts and the calendars see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Appointment {
    pub id: Uuid,
    pub technician_id: Uuid,
    pub technician_name: String,
    pub lead_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
    pub catalog_item_id: Option<Uuid>,
    pub service_name: Option<String>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub address: Option<String>,
    pub price_cents: Option<i32>,
    pub notes: Option<String>,
    pub status: String,
    pub version: i32,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const APPOINTMENT_SELECT: &str = "select a.id, a.technician_id, t.name as technician_name, a.lead_id, a.conversation_id, a.catalog_item_id,
        a.service_name, a.customer_name, a.customer_phone, a.address, a.price_cents, a.notes, a.status, a.version,
        lower(a.during) as start_at, upper(a.during) as end_at, a.created_at, a.updated_at
    from appointments a join technicians t on t.id = a.technician_id";

pub async fn get(db: &mut PgConnection, business_id: Uuid, id: Uuid) -> Result<Appointment> {
    sqlx::query_as(&format!(
        "{APPOINTMENT_SELECT} where a.business_id = $1 and a.id = $2"
    ))
    .bind(business_id)
    .bind(id)
    .fetch_optional(&mut *db)
    .await?
    .ok_or(StoreError::NotFound)
}

/// Appointments overlapping `[from, to)`, by start time.
pub async fn list(
    db: &mut PgConnection,
    business_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Appointment>> {
    Ok(sqlx::query_as(&format!("{APPOINTMENT_SELECT} where a.business_id = $1 and a.during && $2 order by lower(a.during), a.id"))
        .bind(business_id)
        .bind(PgRange::from(from..to))
        .fetch_all(&mut *db)
        .await?)
}

/// The caller's next appointment that has not started yet and is still on.
pub async fn upcoming_for_caller(
    db: &mut PgConnection,
    business_id: Uuid,
    phone: &str,
    now: DateTime<Utc>,
) -> Result<Option<Appointment>> {
    Ok(sqlx::query_as(&format!(
        "{APPOINTMENT_SELECT} where a.business_id = $1 and a.customer_phone = $2 and a.status in ('scheduled', 'confirmed')
           and lower(a.during) > $3 order by lower(a.during) limit 1"
    ))
    .bind(business_id)
    .bind(phone)
    .bind(now)
    .fetch_optional(&mut *db)
    .await?)
}

/// The lead of a booked conversation is booked.
pub async fn mark_lead_booked(
    db: &mut PgConnection,
    business_id: Uuid,
    lead_id: Uuid,
) -> Result<()> {
    sqlx::query("update leads set status = 'booked', updated_at = now() where id = $1 and business_id = $2 and status <> 'opted_out'")
        .bind(lead_id)
        .bind(business_id)
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// A lead for a booking the owner makes by hand (a phone call, a walk-in).
pub async fn ensure_manual_lead(
    db: &mut PgConnection,
    business_id: Uuid,
    phone: &str,
    name: Option<&str>,
    address: Option<&str>,
) -> Result<Uuid> {
    Ok(sqlx::query_scalar(
        "insert into leads (business_id, phone, name, address, source, status) values ($1, $2, $3, $4, 'manual', 'booked')
         on conflict (business_id, phone) do update set name = coalesce(leads.name, excluded.name),
             address = coalesce(leads.address, excluded.address), status = 'booked', updated_at = now()
         returning id",
    )
    .bind(business_id)
    .bind(phone)
    .bind(name)
    .bind(address)
    .fetch_one(&mut *db)
    .await?)
}

/// Copies a trade's starter catalog into the business's catalog; items it already has (by name)
/// are left as the owner edited them. Returns how many were added.
pub async fn adopt_starter_catalog(
    db: &mut PgConnection,
    business_id: Uuid,
    trade: &str,
) -> Result<usize> {
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    let mut added = 0;
    for item in nmc_domain::catalog::starter(trade) {
        let done = sqlx::query(
            "insert into catalog_items (business_id, name, keywords, duration_minutes, price_cents, price_min_cents, price_max_cents, emergency_surcharge_cents)
             values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (business_id, name) do nothing",
        )
        .bind(business_id)
        .bind(&item.name)
        .bind(&item.keywords)
        .bind(item.duration_minutes)
        .bind(item.price_cents)
        .bind(item.price_min_cents)
        .bind(item.price_max_cents)
        .bind(item.emergency_surcharge_cents)
        .execute(&mut *tx)
        .await?;
        added += done.rows_affected() as usize;
    }
    tx.commit().await?;
    Ok(added)
}

/// The lead behind a conversation, with the business's name and timezone.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationLead {
    pub lead_id: Uuid,
    pub phone: String,
    pub name: Option<String>,
    pub address: Option<String>,
    pub service_needed: Option<String>,
    pub business_name: String,
    pub owner_name: String,
    pub timezone: String,
}

pub async fn conversation_lead(
    db: &mut PgConnection,
    business_id: Uuid,
    conversation_id: Uuid,
) -> Result<ConversationLead> {
    sqlx::query_as(
        "select l.id as lead_id, l.phone, l.name, l.address, l.service_needed, b.name as business_name, b.owner_name, b.timezone
         from conversations c join leads l on l.id = c.lead_id join businesses b on b.id = c.business_id
         where c.id = $2 and c.business_id = $1",
    )
    .bind(business_id)
    .bind(conversation_id)
    .fetch_optional(&mut *db)
    .await?
    .ok_or(StoreError::NotFound)
}

/// Texts about a booking made by hand go on a conversation of their own (closed, booked), so the
/// caller's thread shows them. Returns its id; safe to call again.
pub async fn ensure_appointment_conversation(
    db: &mut PgConnection,
    business_id: Uuid,
    appointment_id: Uuid,
    workflow_id: &str,
) -> Result<Option<Uuid>> {
    let row: Option<(Option<Uuid>, Option<Uuid>)> = sqlx::query_as(
        "select conversation_id, lead_id from appointments where id = $1 and business_id = $2",
    )
    .bind(appointment_id)
    .bind(business_id)
    .fetch_optional(&mut *db)
    .await?;
    let Some((existing, lead_id)) = row else {
        return Err(StoreError::NotFound);
    };
    if existing.is_some() {
        return Ok(existing);
    }
    let Some(lead_id) = lead_id else {
        return Ok(None);
    };
    let id = Uuid::new_v5(&appointment_id, b"conversation");
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    sqlx::query(
        "insert into conversations (id, business_id, lead_id, workflow_id, status, closed_at) values ($1, $2, $3, $4, 'closed_booked', now())
         on conflict (id) do nothing",
    )
    .bind(id)
    .bind(business_id)
    .bind(lead_id)
    .bind(workflow_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update appointments set conversation_id = $1 where id = $2 and business_id = $3")
        .bind(id)
        .bind(appointment_id)
        .bind(business_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Business name, owner name and timezone, for texts.
pub async fn business_basics(
    db: &mut PgConnection,
    business_id: Uuid,
) -> Result<(String, String, String)> {
    sqlx::query_as("select name, owner_name, timezone from businesses where id = $1")
        .bind(business_id)
        .fetch_optional(&mut *db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The business's quiet hours, in its timezone.
pub async fn quiet_hours(
    db: &mut PgConnection,
    business_id: Uuid,
) -> Result<nmc_domain::hours::QuietHours> {
    let (timezone, start, end): (String, chrono::NaiveTime, chrono::NaiveTime) =
        sqlx::query_as("select timezone, quiet_start, quiet_end from businesses where id = $1")
            .bind(business_id)
            .fetch_optional(&mut *db)
            .await?
            .ok_or(StoreError::NotFound)?;
    Ok(nmc_domain::hours::QuietHours {
        timezone,
        start,
        end,
    })
}

/// The owner changed the appointment in a way the caller must hear about (moved, cancelled).
pub async fn flag_caller_notice(
    db: &mut PgConnection,
    business_id: Uuid,
    appointment_id: Uuid,
) -> Result<()> {
    sqlx::query(
        "update appointments set caller_notice_pending = true where id = $1 and business_id = $2",
    )
    .bind(appointment_id)
    .bind(business_id)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// The appointment's workflow has been told about everything up to `version`.
pub async fn mark_workflow_told(
    db: &mut PgConnection,
    business_id: Uuid,
    appointment_id: Uuid,
    version: i32,
    notice_sent: bool,
) -> Result<()> {
    sqlx::query(
        "update appointments set workflow_version = greatest(workflow_version, $3),
             caller_notice_pending = caller_notice_pending and not $4
         where id = $1 and business_id = $2",
    )
    .bind(appointment_id)
    .bind(business_id)
    .bind(version)
    .bind(notice_sent)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// An appointment whose workflow has not been told about its latest change.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Untold {
    pub business_id: Uuid,
    pub id: Uuid,
    pub version: i32,
    pub caller_notice_pending: bool,
}

/// Appointments changed more than `grace_secs` ago whose workflow is behind (a signal that failed).
pub async fn untold(db: &mut PgConnection, grace_secs: i64, limit: i64) -> Result<Vec<Untold>> {
    Ok(sqlx::query_as(
        "select business_id, id, version, caller_notice_pending from appointments
         where version > workflow_version and updated_at < now() - make_interval(secs => $1) and upper(during) > now() - interval '1 day'
         order by updated_at limit $2",
    )
    .bind(grace_secs as f64)
    .bind(limit)
    .fetch_all(&mut *db)
    .await?)
}

pub async fn caller_notice_pending(
    db: &mut PgConnection,
    business_id: Uuid,
    appointment_id: Uuid,
) -> Result<bool> {
    sqlx::query_scalar(
        "select caller_notice_pending from appointments where id = $1 and business_id = $2",
    )
    .bind(appointment_id)
    .bind(business_id)
    .fetch_optional(&mut *db)
    .await?
    .ok_or(StoreError::NotFound)
}
