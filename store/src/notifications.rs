//! The notification centre: every alert the business got, newest first, with each member's
//! own read state (the owner reading an alert does not read it for a technician).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::inbox::{Cursor, Page, after, page};
use crate::{Result, StoreError};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Notification {
    pub id: Uuid,
    /// caller_text | emergency | needs_owner | qualified | booked …
    pub kind: String,
    pub priority: bool,
    pub body: String,
    pub conversation_id: Option<Uuid>,
    pub read: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn list(
    db: &mut PgConnection,
    business_id: Uuid,
    user_id: Uuid,
    unread_only: bool,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<Page<Notification>> {
    let (ts, id) = after(cursor);
    let rows: Vec<Notification> = sqlx::query_as(
        "select n.id, n.kind, n.priority, n.body, n.conversation_id, r.user_id is not null as read, n.created_at
         from notifications n
         left join notification_reads r on r.notification_id = n.id and r.user_id = $2
         where n.business_id = $1 and (not $3 or r.user_id is null)
           and ($4::timestamptz is null or (n.created_at, n.id) < ($4, $5))
         order by n.created_at desc, n.id desc limit $6",
    )
    .bind(business_id)
    .bind(user_id)
    .bind(unread_only)
    .bind(ts)
    .bind(id)
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    Ok(page(rows, limit, |n| Cursor {
        created_at: n.created_at,
        id: n.id,
    }))
}

pub async fn unread_count(db: &mut PgConnection, business_id: Uuid, user_id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "select count(*) from notifications n where n.business_id = $1
           and not exists (select 1 from notification_reads r where r.notification_id = n.id and r.user_id = $2)",
    )
    .bind(business_id)
    .bind(user_id)
    .fetch_one(db)
    .await?)
}

/// Marks one alert read for this member; returns its conversation. Another business's alert is
/// not found.
pub async fn mark_read(
    db: &mut PgConnection,
    business_id: Uuid,
    user_id: Uuid,
    notification_id: Uuid,
) -> Result<Option<Uuid>> {
    let conversation: Option<Option<Uuid>> = sqlx::query_scalar(
        "select conversation_id from notifications where business_id = $1 and id = $2",
    )
    .bind(business_id)
    .bind(notification_id)
    .fetch_optional(&mut *db)
    .await?;
    let Some(conversation) = conversation else {
        return Err(StoreError::NotFound);
    };
    sqlx::query(
        "insert into notification_reads (business_id, user_id, notification_id) values ($1, $2, $3)
         on conflict do nothing",
    )
    .bind(business_id)
    .bind(user_id)
    .bind(notification_id)
    .execute(db)
    .await?;
    Ok(conversation)
}

/// Marks every alert read for this member; returns how many were unread.
pub async fn mark_all_read(db: &mut PgConnection, business_id: Uuid, user_id: Uuid) -> Result<u64> {
    Ok(sqlx::query(
        "insert into notification_reads (business_id, user_id, notification_id)
         select $1, $2, n.id from notifications n where n.business_id = $1
         on conflict do nothing",
    )
    .bind(business_id)
    .bind(user_id)
    .execute(db)
    .await?
    .rows_affected())
}
