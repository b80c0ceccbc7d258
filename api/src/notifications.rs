//! The notification centre's API: every alert the business got, newest first, with the caller's
//! own read state and unread count, so nothing depends on the owner's phone.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use nmc_store::notifications;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Tenant;
use crate::inbox::{PageQuery, paging};
use crate::owner::commit;
use crate::{AppState, error::ApiError, error::Params};

#[derive(Deserialize)]
pub struct NotificationQuery {
    cursor: Option<String>,
    limit: Option<i64>,
    /// Only the ones this member has not read.
    #[serde(default)]
    unread: bool,
}

/// `GET /api/notifications`: `{items, next_cursor, unread_count}`; each item links to its thread.
pub async fn list_notifications(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<NotificationQuery>,
) -> Result<Json<Value>, ApiError> {
    let (cursor, limit) = paging(&PageQuery {
        cursor: q.cursor,
        limit: q.limit,
    })?;
    let mut tx = t.begin(&s.db).await?;
    let page =
        notifications::list(&mut tx, t.business_id, t.user_id, q.unread, cursor, limit).await?;
    let unread = notifications::unread_count(&mut tx, t.business_id, t.user_id).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|n| {
            let mut v = json!(n);
            v["link"] = json!(n.conversation_id.map(|c| format!("/app/inbox/{c}")));
            v
        })
        .collect();
    Ok(Json(
        json!({"items": items, "next_cursor": page.next_cursor, "unread_count": unread}),
    ))
}

/// `POST /api/notifications/{notification_id}/read`: read for this member only.
pub async fn read_notification(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    notifications::mark_read(&mut tx, t.business_id, t.user_id, id).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/notifications/read-all`: `{marked}`, how many were unread.
pub async fn read_all_notifications(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let marked = notifications::mark_all_read(&mut tx, t.business_id, t.user_id).await?;
    commit(tx).await?;
    Ok(Json(json!({ "marked": marked })))
}
