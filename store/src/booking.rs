//! Appointments. The database refuses overlapping bookings for a technician
//! (`appointments_no_overlap`); this module turns that refusal into a clear conflict.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::types::PgRange;
use uuid::Uuid;

use crate::{Result, StoreError};

pub struct NewAppointment<'a> {
    pub technician_id: Uuid,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub lead_id: Option<Uuid>,
    pub catalog_item_id: Option<Uuid>,
    pub address: Option<&'a str>,
    pub price_cents: Option<i32>,
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
pub async fn book(pool: &PgPool, business_id: Uuid, a: &NewAppointment<'_>) -> Result<Booked> {
    if a.end <= a.start {
        return Err(StoreError::Conflict { field: "end" });
    }
    let during = PgRange::from(a.start..a.end);
    let inserted = sqlx::query_scalar::<_, Uuid>(
        "insert into appointments (business_id, technician_id, during, lead_id, catalog_item_id, address, price_cents, idempotency_key)
         select $1, t.id, $3, $4, $5, $6, $7, $8 from technicians t where t.id = $2 and t.business_id = $1 and t.active
         on conflict (idempotency_key) do update set updated_at = appointments.updated_at
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
    .fetch_optional(pool)
    .await;
    match inserted {
        Ok(Some(id)) => Ok(Booked::Booked(id)),
        Ok(None) => Err(StoreError::NotFound),
        Err(sqlx::Error::Database(d)) if d.constraint() == Some("appointments_no_overlap") => Ok(Booked::SlotTaken),
        Err(e) => Err(e.into()),
    }
}

/// Cancels an appointment; its time is free again at once.
pub async fn cancel(pool: &PgPool, business_id: Uuid, appointment_id: Uuid) -> Result<bool> {
    let done = sqlx::query("update appointments set status = 'cancelled', updated_at = now() where id = $1 and business_id = $2 and status <> 'cancelled'")
        .bind(appointment_id)
        .bind(business_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn add_technician(pool: &PgPool, business_id: Uuid, name: &str) -> Result<Uuid> {
    Ok(sqlx::query_scalar("insert into technicians (business_id, name) values ($1, $2) returning id")
        .bind(business_id)
        .bind(name)
        .fetch_one(pool)
        .await?)
}

/// Copies a trade's starter catalog into the business's catalog; items it already has (by name)
/// are left as the owner edited them. Returns how many were added.
pub async fn adopt_starter_catalog(pool: &PgPool, business_id: Uuid, trade: &str) -> Result<usize> {
    let mut tx = pool.begin().await?;
    let mut added = 0;
    for item in nmc_assistant::catalog::starter(trade) {
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
