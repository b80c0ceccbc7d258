//! Calendar connections (tokens sealed like the Twilio token), per-appointment sync state, the
//! busy-time projection from Google, and the secret iCalendar feed token.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use sqlx::postgres::types::PgRange;
use uuid::Uuid;

use crate::{Result, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Connection {
    pub provider: String,
    pub access_token_enc: String,
    pub refresh_token_enc: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub calendar_id: String,
    /// The calendars busy time is read from (the picker's); empty: the one jobs go to.
    pub busy_calendar_ids: Vec<String>,
}

impl Connection {
    pub fn busy_ids(&self) -> Vec<String> {
        if self.busy_calendar_ids.is_empty() {
            vec![self.calendar_id.clone()]
        } else {
            self.busy_calendar_ids.clone()
        }
    }
}

/// What the owner sees about a connection: never a token.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConnectionStatus {
    pub provider: String,
    pub status: String,
    pub calendar_id: String,
    pub busy_calendar_ids: Vec<String>,
    pub granted_scope: Option<String>,
    pub last_error: Option<String>,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub busy_refreshed_at: Option<DateTime<Utc>>,
    /// Appointments whose latest change has not reached this calendar yet, and those that failed.
    pub pending: i64,
    pub failed: i64,
}

pub async fn connect(
    db: &mut PgConnection,
    business_id: Uuid,
    provider: &str,
    access_token_enc: &str,
    refresh_token_enc: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
    calendar_id: &str,
) -> Result<()> {
    sqlx::query(
        "insert into calendar_connections (business_id, provider, access_token_enc, refresh_token_enc, expires_at, calendar_id)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (business_id, provider) do update set access_token_enc = $3, refresh_token_enc = coalesce($4, calendar_connections.refresh_token_enc),
             expires_at = $5, calendar_id = $6, busy_calendar_ids = '{}', status = 'connected', last_error = null, updated_at = now()",
    )
    .bind(business_id)
    .bind(provider)
    .bind(access_token_enc)
    .bind(refresh_token_enc)
    .bind(expires_at)
    .bind(calendar_id)
    .execute(&mut *db)
    .await?;
    crate::audit(
        &mut *db,
        business_id,
        "calendar_connection",
        None,
        "connected",
        serde_json::json!({"provider": provider}),
    )
    .await
}

/// Marks the connection disconnected and drops its tokens; returns the sealed (access,
/// refresh) tokens it had, for revoking at the provider.
pub async fn disconnect(
    db: &mut PgConnection,
    business_id: Uuid,
    provider: &str,
) -> Result<(Option<String>, Option<String>)> {
    let had: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "select access_token_enc, refresh_token_enc from calendar_connections
         where business_id = $1 and provider = $2 for update",
    )
    .bind(business_id)
    .bind(provider)
    .fetch_optional(&mut *db)
    .await?;
    let had = had.ok_or(StoreError::NotFound)?;
    sqlx::query(
        "update calendar_connections set status = 'disconnected', access_token_enc = null,
             refresh_token_enc = null, expires_at = null, updated_at = now()
         where business_id = $1 and provider = $2",
    )
    .bind(business_id)
    .bind(provider)
    .execute(&mut *db)
    .await?;
    crate::audit(
        &mut *db,
        business_id,
        "calendar_connection",
        None,
        "disconnected",
        serde_json::json!({"provider": provider}),
    )
    .await?;
    Ok(had)
}

/// The picker's choice: where jobs are written and which calendars busy time comes from.
pub async fn choose(
    db: &mut PgConnection,
    business_id: Uuid,
    provider: &str,
    write_id: &str,
    busy_ids: &[String],
) -> Result<()> {
    let done = sqlx::query(
        "update calendar_connections set calendar_id = $3, busy_calendar_ids = $4, busy_refreshed_at = null, updated_at = now()
         where business_id = $1 and provider = $2 and status <> 'disconnected'",
    )
    .bind(business_id)
    .bind(provider)
    .bind(write_id)
    .bind(busy_ids)
    .execute(&mut *db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// What the provider granted at the last connect.
pub async fn set_granted_scope(
    db: &mut PgConnection,
    business_id: Uuid,
    provider: &str,
    scope: Option<&str>,
) -> Result<()> {
    sqlx::query("update calendar_connections set granted_scope = $3 where business_id = $1 and provider = $2")
        .bind(business_id)
        .bind(provider)
        .bind(scope)
        .execute(&mut *db)
        .await?;
    Ok(())
}

/// Connected calendars of a business (those in error are still tried: errors pass).
pub async fn connections(db: &mut PgConnection, business_id: Uuid) -> Result<Vec<Connection>> {
    Ok(sqlx::query_as(
        "select provider, access_token_enc, refresh_token_enc, expires_at, calendar_id, busy_calendar_ids
         from calendar_connections where business_id = $1 and status <> 'disconnected' order by provider",
    )
    .bind(business_id)
    .fetch_all(&mut *db)
    .await?)
}

pub async fn statuses(db: &mut PgConnection, business_id: Uuid) -> Result<Vec<ConnectionStatus>> {
    Ok(sqlx::query_as(
        "select c.provider, c.status, c.calendar_id, c.busy_calendar_ids, c.granted_scope, c.last_error, c.last_synced_at, c.busy_refreshed_at,
                (select count(*) from appointments a where a.business_id = c.business_id and not exists (
                     select 1 from calendar_syncs s where s.appointment_id = a.id and s.provider = c.provider and s.synced_version >= a.version)) as pending,
                (select count(*) from calendar_syncs s where s.business_id = c.business_id and s.provider = c.provider and s.status = 'error') as failed
         from calendar_connections c where c.business_id = $1 order by c.provider",
    )
    .bind(business_id)
    .fetch_all(&mut *db)
    .await?)
}

pub async fn store_refreshed_token(
    db: &mut PgConnection,
    business_id: Uuid,
    provider: &str,
    access_token_enc: &str,
    refresh_token_enc: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<()> {
    sqlx::query(
        "update calendar_connections set access_token_enc = $3, refresh_token_enc = coalesce($4, refresh_token_enc), expires_at = $5, updated_at = now()
         where business_id = $1 and provider = $2 and status <> 'disconnected'",
    )
    .bind(business_id)
    .bind(provider)
    .bind(access_token_enc)
    .bind(refresh_token_enc)
    .bind(expires_at)
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// The external id this appointment has in a calendar, if it was pushed before.
pub async fn external_id(
    db: &mut PgConnection,
    appointment_id: Uuid,
    provider: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "select external_id from calendar_syncs where appointment_id = $1 and provider = $2",
    )
    .bind(appointment_id)
    .bind(provider)
    .fetch_optional(&mut *db)
    .await?
    .flatten())
}

pub async fn record_sync(
    db: &mut PgConnection,
    business_id: Uuid,
    appointment_id: Uuid,
    provider: &str,
    outcome: std::result::Result<(&str, i32), &str>,
) -> Result<()> {
    let (external_id, version, error) = match outcome {
        Ok((id, v)) => (Some(id), v, None),
        Err(e) => (None, 0, Some(e)),
    };
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    sqlx::query(
        "insert into calendar_syncs (appointment_id, provider, business_id, external_id, synced_version, status, last_error, attempts)
         values ($1, $2, $3, $4, $5, case when $6::text is null then 'synced' else 'error' end, $6, 1)
         on conflict (appointment_id, provider) do update set
             external_id = coalesce($4, calendar_syncs.external_id),
             synced_version = greatest(calendar_syncs.synced_version, $5),
             status = case when $6::text is null then 'synced' else 'error' end,
             last_error = $6, attempts = calendar_syncs.attempts + 1, updated_at = now()",
    )
    .bind(appointment_id)
    .bind(provider)
    .bind(business_id)
    .bind(external_id)
    .bind(version)
    .bind(error)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update calendar_connections set status = case when $3::text is null then 'connected' else 'error' end, last_error = $3,
             last_synced_at = case when $3::text is null then now() else last_synced_at end, updated_at = now()
         where business_id = $1 and provider = $2 and status <> 'disconnected'",
    )
    .bind(business_id)
    .bind(provider)
    .bind(error)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SyncState {
    pub provider: String,
    pub status: String,
    pub external_id: Option<String>,
    pub synced_version: i32,
    pub last_error: Option<String>,
    pub attempts: i32,
}

pub async fn sync_states(
    db: &mut PgConnection,
    business_id: Uuid,
    appointment_id: Uuid,
) -> Result<Vec<SyncState>> {
    Ok(sqlx::query_as(
        "select provider, status, external_id, synced_version, last_error, attempts from calendar_syncs
         where business_id = $1 and appointment_id = $2 order by provider",
    )
    .bind(business_id)
    .bind(appointment_id)
    .fetch_all(&mut *db)
    .await?)
}

/// Replaces the projection of a calendar's busy time in `[from, to)` with what it reported.
pub async fn replace_busy(
    db: &mut PgConnection,
    business_id: Uuid,
    provider: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    blocks: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Result<()> {
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    sqlx::query(
        "delete from external_busy where business_id = $1 and provider = $2 and during && $3",
    )
    .bind(business_id)
    .bind(provider)
    .bind(PgRange::from(from..to))
    .execute(&mut *tx)
    .await?;
    for (s, e) in blocks.iter().filter(|(s, e)| e > s) {
        sqlx::query(
            "insert into external_busy (business_id, provider, during) values ($1, $2, $3)",
        )
        .bind(business_id)
        .bind(provider)
        .bind(PgRange::from(*s..*e))
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("update calendar_connections set busy_refreshed_at = now(), updated_at = now() where business_id = $1 and provider = $2")
        .bind(business_id)
        .bind(provider)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Businesses with a connected Google Calendar (their busy time is refreshed every minute).
pub async fn businesses_with_google(db: &mut PgConnection) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar("select business_id from calendar_connections where provider = 'google' and status <> 'disconnected'")
        .fetch_all(&mut *db)
        .await?)
}

/// Sets a new feed token (hash for lookup, sealed copy to show the URL again); the old URL dies.
pub async fn rotate_ics(
    db: &mut PgConnection,
    business_id: Uuid,
    token_hash: &str,
    token_enc: &str,
) -> Result<()> {
    let done = sqlx::query("update businesses set ics_token_hash = $2, ics_token_enc = $3, updated_at = now() where id = $1")
        .bind(business_id)
        .bind(token_hash)
        .bind(token_enc)
        .execute(&mut *db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    crate::audit(
        &mut *db,
        business_id,
        "ics_feed",
        None,
        "rotated",
        serde_json::json!({}),
    )
    .await
}

pub async fn revoke_ics(db: &mut PgConnection, business_id: Uuid) -> Result<()> {
    sqlx::query("update businesses set ics_token_hash = null, ics_token_enc = null, updated_at = now() where id = $1").bind(business_id).execute(&mut *db).await?;
    crate::audit(
        &mut *db,
        business_id,
        "ics_feed",
        None,
        "revoked",
        serde_json::json!({}),
    )
    .await
}

pub async fn ics_token_enc(db: &mut PgConnection, business_id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "select ics_token_enc from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_optional(&mut *db)
    .await?
    .flatten())
}

/// The business a feed token belongs to, and its name and timezone.
pub async fn business_by_ics_hash(
    db: &mut PgConnection,
    token_hash: &str,
) -> Result<Option<(Uuid, String, String)>> {
    Ok(
        sqlx::query_as("select id, name, timezone from businesses where ics_token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&mut *db)
            .await?,
    )
}
