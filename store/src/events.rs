//! The event log as the live feed reads it. The database writes each event (triggers, in the
//! same transaction as the change) and NOTIFYs on commit; the API's feed reads them from here.

use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::Result;

/// One event from the log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LiveEvent {
    pub id: i64,
    pub business_id: Uuid,
    pub kind: String,
    pub data: Value,
}

/// The event a notification names, if it is still in the log.
pub async fn by_id(pool: &PgPool, id: i64) -> Result<Option<LiveEvent>> {
    Ok(
        sqlx::query_as("select id, business_id, kind, data from events where id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// Up to a thousand of the business's events after `after`, oldest first (a feed catching up).
pub async fn after(pool: &PgPool, business_id: Uuid, after: i64) -> Result<Vec<LiveEvent>> {
    Ok(sqlx::query_as("select id, business_id, kind, data from events where business_id = $1 and id > $2 order by id limit 1000")
        .bind(business_id)
        .bind(after)
        .fetch_all(pool)
        .await?)
}

/// The business's newest event id, if it has any: where a new feed starts.
pub async fn latest_id(pool: &PgPool, business_id: Uuid) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar::<_, Option<i64>>("select max(id) from events where business_id = $1")
            .bind(business_id)
            .fetch_one(pool)
            .await?,
    )
}
