//! The business's own settings as the owner edits them.

use chrono::NaiveTime;
use nmc_domain::BusinessHours;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use sqlx::types::Json;
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
        "update businesses set name = $2, owner_name = $3, owner_phone = $4,
             owner_phone_verified_at = case when owner_phone::text = $4 then owner_phone_verified_at end, timezone = $5, trade = $6, call_mode = $7, greeting = $8,
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
    crate::audit(
        &mut *db,
        business_id,
        "settings",
        Some(business_id),
        "updated",
        serde_json::json!({}),
    )
    .await
}

/// The business's number, once bought or registered. A number another business has is a conflict.
pub async fn set_number(
    db: &mut PgConnection,
    business_id: Uuid,
    number: &str,
    account_sid: &str,
    auth_token_enc: &str,
) -> Result<()> {
    let done = sqlx::query(
        "update businesses set twilio_number = $2, twilio_account_sid = $3, twilio_auth_token_enc = $4,
             business_phone = coalesce(business_phone, owner_phone), updated_at = now()
         where id = $1 and twilio_number is null",
    )
    .bind(business_id)
    .bind(number)
    .bind(account_sid)
    .bind(auth_token_enc)
    .execute(&mut *db)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict { field: "phone_number" },
        _ => e.into(),
    })?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict { field: "number" });
    }
    crate::audit(
        &mut *db,
        business_id,
        "number",
        Some(business_id),
        "assigned",
        serde_json::json!({}),
    )
    .await
}

pub async fn number(db: &mut PgConnection, business_id: Uuid) -> Result<Option<String>> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "select twilio_number from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_one(db)
    .await?)
}

/// The business's name and number (none until it has gone live).
pub async fn name_and_number(
    db: &mut PgConnection,
    business_id: Uuid,
) -> Result<(String, Option<String>)> {
    Ok(
        sqlx::query_as("select name, twilio_number from businesses where id = $1")
            .bind(business_id)
            .fetch_one(db)
            .await?,
    )
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Messaging {
    pub messaging_status: String,
    pub messaging_registration: Option<serde_json::Value>,
    pub messaging_note: Option<String>,
    /// What a registration is prefilled from.
    pub name: String,
    pub owner_name: String,
    pub owner_email: String,
    pub business_phone: String,
    pub greeting: Option<String>,
}

pub async fn messaging(db: &mut PgConnection, business_id: Uuid) -> Result<Messaging> {
    Ok(sqlx::query_as(
        "select messaging_status, messaging_registration, messaging_note, name, owner_name, owner_email,
                coalesce(twilio_number, business_phone, owner_phone)::text as business_phone, greeting
         from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_one(db)
    .await?)
}

/// The owner submits (or corrects) the brand and campaign; an approved business stays approved.
pub async fn submit_registration(
    db: &mut PgConnection,
    business_id: Uuid,
    registration: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "update businesses set messaging_registration = $2, messaging_note = null,
             messaging_status = case when messaging_status = 'approved' then 'approved' else 'submitted' end, updated_at = now()
         where id = $1",
    )
    .bind(business_id)
    .bind(registration)
    .execute(&mut *db)
    .await?;
    crate::audit(
        &mut *db,
        business_id,
        "messaging_registration",
        Some(business_id),
        "submitted",
        serde_json::json!({}),
    )
    .await
}

/// Operations record the carriers' decision.
pub async fn decide_registration(
    db: &mut PgConnection,
    business_id: Uuid,
    status: &str,
    note: Option<&str>,
) -> Result<()> {
    let done = sqlx::query("update businesses set messaging_status = $2, messaging_note = $3, updated_at = now() where id = $1")
        .bind(business_id)
        .bind(status)
        .bind(note)
        .execute(&mut *db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    crate::audit(
        &mut *db,
        business_id,
        "messaging_registration",
        Some(business_id),
        status,
        serde_json::json!({"note": note}),
    )
    .await
}

/// The onboarding wizard's steps, in order.
pub const ONBOARDING_STEPS: [&str; 7] = [
    "profile", "hours", "catalog", "greeting", "number", "texting", "test",
];

/// Where the owner left the wizard; `None` once the business is set up.
pub async fn onboarding_step(db: &mut PgConnection, business_id: Uuid) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("select onboarding_step from businesses where id = $1")
            .bind(business_id)
            .fetch_optional(db)
            .await?
            .flatten(),
    )
}

/// Records progress: a step only moves forward (going back to edit a step keeps the place),
/// and `None` finishes the wizard.
pub async fn reach_onboarding_step(
    db: &mut PgConnection,
    business_id: Uuid,
    step: Option<&str>,
) -> Result<()> {
    let rank = |s: &str| ONBOARDING_STEPS.iter().position(|x| *x == s).unwrap_or(0) as i32;
    sqlx::query(
        "update businesses set onboarding_step = $2
         where id = $1 and onboarding_step is not null
           and ($2::text is null or array_position($3::text[], onboarding_step) - 1 < $4)",
    )
    .bind(business_id)
    .bind(step)
    .bind(ONBOARDING_STEPS.as_slice())
    .bind(step.map_or(0, rank))
    .execute(db)
    .await?;
    Ok(())
}

/// A registration waiting on operations (submitted, not yet decided).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingRegistration {
    pub business_id: Uuid,
    pub name: String,
    pub messaging_status: String,
    pub messaging_registration: Option<serde_json::Value>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Every submitted registration, oldest first (operations work through them in order).
pub async fn pending_registrations(db: &mut PgConnection) -> Result<Vec<PendingRegistration>> {
    Ok(sqlx::query_as(
        "select id as business_id, name, messaging_status, messaging_registration, updated_at from businesses
         where messaging_status = 'submitted' order by updated_at limit 200",
    )
    .fetch_all(db)
    .await?)
}
