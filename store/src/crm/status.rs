//! What the owner sees of the sync: health per connection, each caller's latest push per CRM,
//! the delivery log, and how many manual pushes were asked for lately.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Result;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Health {
    pub connection_id: Uuid,
    pub vendor: String,
    pub enabled: bool,
    pub synced_24h: i64,
    pub failed_24h: i64,
    /// Pushes whose last attempt failed and which are being retried now.
    pub retrying: i64,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

impl Health {
    /// healthy | retrying | failing | paused | idle
    pub fn state(&self) -> &'static str {
        if !self.enabled {
            "paused"
        } else if self.failed_24h > 0 && self.last_error_at > self.last_synced_at {
            "failing"
        } else if self.retrying > 0 {
            "retrying"
        } else if self.last_synced_at.is_some() {
            "healthy"
        } else {
            "idle"
        }
    }
}

pub async fn health(db: &mut PgConnection, business_id: Uuid) -> Result<Vec<Health>> {
    Ok(sqlx::query_as(
        "select c.id as connection_id, c.vendor, c.enabled,
            (select count(*) from crm_pushes p where p.connection_id = c.id and p.status = 'synced' and p.updated_at > now() - interval '1 day') as synced_24h,
            (select count(*) from crm_pushes p where p.connection_id = c.id and p.status = 'failed' and p.updated_at > now() - interval '1 day') as failed_24h,
            (select count(*) from crm_pushes p where p.connection_id = c.id and p.status = 'retrying') as retrying,
            (select max(synced_at) from crm_pushes p where p.connection_id = c.id) as last_synced_at,
            e.last_error, e.updated_at as last_error_at
         from crm_connections c
         left join lateral (select last_error, updated_at from crm_pushes p
                            where p.connection_id = c.id and p.status in ('retrying', 'failed') and p.last_error is not null
                            order by updated_at desc limit 1) e on true
         where c.business_id = $1 order by c.created_at",
    )
    .bind(business_id)
    .fetch_all(db)
    .await?)
}

/// A caller's latest push to one CRM.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LeadSync {
    pub push_id: Uuid,
    pub lead_id: Uuid,
    pub vendor: String,
    pub trigger: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub remote_id: Option<String>,
    pub created_remote: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub synced_at: Option<DateTime<Utc>>,
}

/// The latest push per CRM for each of these callers.
pub async fn latest_for_leads(
    db: &mut PgConnection,
    business_id: Uuid,
    leads: &[Uuid],
) -> Result<Vec<LeadSync>> {
    Ok(sqlx::query_as(
        "select distinct on (p.lead_id, p.connection_id) p.id as push_id, p.lead_id, c.vendor, p.trigger, p.status,
                p.attempts, p.last_error, p.remote_id, p.created_remote, p.created_at, p.synced_at
         from crm_pushes p join crm_connections c on c.id = p.connection_id
         where p.business_id = $1 and p.lead_id = any($2)
         order by p.lead_id, p.connection_id, p.created_at desc",
    )
    .bind(business_id)
    .bind(leads)
    .fetch_all(db)
    .await?)
}

/// Every push about one caller, newest first.
pub async fn pushes_for_lead(
    db: &mut PgConnection,
    business_id: Uuid,
    lead_id: Uuid,
) -> Result<Vec<LeadSync>> {
    Ok(sqlx::query_as(
        "select p.id as push_id, p.lead_id, c.vendor, p.trigger, p.status, p.attempts, p.last_error, p.remote_id,
                p.created_remote, p.created_at, p.synced_at
         from crm_pushes p join crm_connections c on c.id = p.connection_id
         where p.business_id = $1 and p.lead_id = $2 order by p.created_at desc limit 100",
    )
    .bind(business_id)
    .bind(lead_id)
    .fetch_all(db)
    .await?)
}

/// One attempt in the delivery log.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub push_id: Uuid,
    pub lead_id: Uuid,
    pub trigger: String,
    pub attempt: i32,
    pub ok: bool,
    pub http_status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub attempted_at: DateTime<Utc>,
}

pub async fn deliveries(
    db: &mut PgConnection,
    business_id: Uuid,
    connection_id: Uuid,
    limit: i64,
) -> Result<Vec<Delivery>> {
    Ok(sqlx::query_as(
        "select a.push_id, p.lead_id, p.trigger, a.attempt, a.ok, a.http_status, a.error, a.duration_ms, a.attempted_at
         from crm_attempts a join crm_pushes p on p.id = a.push_id
         where a.business_id = $1 and p.connection_id = $2 order by a.attempted_at desc, a.id desc limit $3",
    )
    .bind(business_id)
    .bind(connection_id)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Manual pushes asked for: this caller's in the last minute, the business's in the last hour.
pub async fn recent_manual(
    db: &mut PgConnection,
    business_id: Uuid,
    lead_id: Uuid,
) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "select count(*) filter (where lead_id = $2 and created_at > now() - interval '1 minute'),
                count(*) filter (where created_at > now() - interval '1 hour')
         from (select distinct on (lead_id, created_at) lead_id, created_at from crm_pushes
               where business_id = $1 and trigger = 'manual' and created_at > now() - interval '1 hour') m",
    )
    .bind(business_id)
    .bind(lead_id)
    .fetch_one(db)
    .await?)
}

/// Whether the lead is this business's (a manual push names it in the path).
pub async fn lead_exists(db: &mut PgConnection, business_id: Uuid, lead_id: Uuid) -> Result<bool> {
    Ok(
        sqlx::query_scalar(
            "select exists (select 1 from leads where business_id = $1 and id = $2)",
        )
        .bind(business_id)
        .bind(lead_id)
        .fetch_one(db)
        .await?,
    )
}

/// The webhook's sealed signing secret, for the owner's settings page.
pub async fn webhook_secret(db: &mut PgConnection, business_id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "select secret_enc from crm_connections where business_id = $1 and vendor = 'webhook'",
    )
    .bind(business_id)
    .fetch_optional(db)
    .await?
    .flatten())
}
