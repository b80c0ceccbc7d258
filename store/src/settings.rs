//! The business's own settings as the owner edits them.

use chrono::NaiveTime;
use nmc_domain::BusinessHours;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{Result, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct Settings {
    pub name: String,
    pub owner_name: String,
    pub owner_phone: String,
    pub timezone: String,
    pub trade: Option<String>,
    pub call_mode: String,
    pub greeting: Option<String>,
    pub after_hours_greeting: Option<String>,
    pub business_hours: Json<BusinessHours>,
    pub owner_window_secs: i32,
    pub follow_up_secs: Vec<i32>,
    pub quiet_start: NaiveTime,
    pub quiet_end: NaiveTime,
    pub assistant_disclosure: bool,
    pub notify_by_text: bool,
}

pub async fn get(db: &mut PgConnection, business_id: Uuid) -> Result<Settings> {
    sqlx::query_as(
        "select name, owner_name, owner_phone, timezone, trade, call_mode, greeting, after_hours_greeting, business_hours,
                owner_window_secs, follow_up_secs, quiet_start, quiet_end, assistant_disclosure, notify_by_text
         from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_optional(db)
    .await?
    .ok_or(StoreError::NotFound)
}

pub async fn put(db: &mut PgConnection, business_id: Uuid, s: &Settings) -> Result<()> {
    sqlx::query(
        "update businesses set name = $2, owner_name = $3, owner_phone = $4, timezone = $5, trade = $6, call_mode = $7, greeting = $8,
             after_hours_greeting = $9, business_hours = $10, owner_window_secs = $11, follow_up_secs = $12, quiet_start = $13,
             quiet_end = $14, assistant_disclosure = $15, notify_by_text = $16, updated_at = now()
         where id = $1",
    )
    .bind(business_id)
    .bind(&s.name)
    .bind(&s.owner_name)
    .bind(&s.owner_phone)
    .bind(&s.timezone)
    .bind(&s.trade)
    .bind(&s.call_mode)
    .bind(&s.greeting)
    .bind(&s.after_hours_greeting)
    .bind(&s.business_hours)
    .bind(s.owner_window_secs)
    .bind(&s.follow_up_secs)
    .bind(s.quiet_start)
    .bind(s.quiet_end)
    .bind(s.assistant_disclosure)
    .bind(s.notify_by_text)
    .execute(&mut *db)
    .await?;
    crate::audit(&mut *db, business_id, "settings", Some(business_id), "updated", serde_json::json!({})).await
}
