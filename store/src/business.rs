//! Businesses: the tenants.

use nmc_domain::{BusinessHours, BusinessProfile};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{Result, StoreError};

/// A validated onboarding request, token already sealed.
pub struct NewBusiness<'a> {
    pub name: &'a str,
    pub owner_name: &'a str,
    pub owner_phone: &'a str,
    pub owner_email: &'a str,
    pub business_phone: &'a str,
    pub twilio_number: &'a str,
    pub twilio_account_sid: &'a str,
    pub twilio_auth_token_enc: String,
    pub timezone: &'a str,
    pub call_mode: &'a str,
    pub greeting: Option<&'a str>,
    pub after_hours_greeting: Option<&'a str>,
    pub business_hours: &'a BusinessHours,
}

/// What the admin list shows: never the auth token.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct BusinessSummary {
    pub id: Uuid,
    pub name: String,
    pub owner_name: String,
    pub owner_email: String,
    pub twilio_number: String,
    pub timezone: String,
    pub call_mode: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What a webhook needs about the business it is for.
#[derive(Clone, sqlx::FromRow)]
pub struct BusinessForWebhook {
    pub id: Uuid,
    pub name: String,
    pub owner_name: String,
    pub business_phone: String,
    pub twilio_number: String,
    pub twilio_account_sid: String,
    pub twilio_auth_token_enc: String,
    pub timezone: String,
    pub call_mode: String,
    pub greeting: Option<String>,
    pub after_hours_greeting: Option<String>,
    pub business_hours: sqlx::types::Json<BusinessHours>,
    pub owner_window_secs: i32,
    pub assistant_disclosure: bool,
    pub follow_up_secs: Vec<i32>,
    pub quiet_start: chrono::NaiveTime,
    pub quiet_end: chrono::NaiveTime,
    pub call_screening: bool,
    pub voicemail_greeting: Option<String>,
    pub voicemail_voice: String,
    pub voicemail_language: String,
    pub voicemail_max_secs: i32,
    pub voicemail_audio_key: Option<String>,
}

impl std::fmt::Debug for BusinessForWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusinessForWebhook")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl BusinessForWebhook {
    pub fn profile(&self) -> BusinessProfile {
        BusinessProfile {
            name: self.name.clone(),
            owner_name: self.owner_name.clone(),
            business_phone: self.business_phone.clone(),
            timezone: self.timezone.clone(),
            business_hours: self.business_hours.0.clone(),
            greeting: self.greeting.clone(),
            after_hours_greeting: self.after_hours_greeting.clone(),
            settings: nmc_domain::ConversationSettings {
                owner_window_secs: self.owner_window_secs.max(0) as u64,
                disclose_assistant: self.assistant_disclosure,
                follow_up_secs: self
                    .follow_up_secs
                    .iter()
                    .map(|s| (*s).max(1) as u64)
                    .collect(),
                quiet_start: self.quiet_start,
                quiet_end: self.quiet_end,
            },
        }
    }
}

pub async fn insert(pool: &PgPool, b: &NewBusiness<'_>) -> Result<Uuid> {
    let mut tx = pool.begin().await?;
    let id: Uuid = sqlx::query_scalar(
        "insert into businesses (name, owner_name, owner_phone, owner_email, business_phone, twilio_number,
             twilio_account_sid, twilio_auth_token_enc, timezone, call_mode, greeting, after_hours_greeting, business_hours,
             owner_phone_verified_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, now()) returning id",
    )
    .bind(b.name.trim())
    .bind(b.owner_name.trim())
    .bind(b.owner_phone)
    .bind(b.owner_email.trim())
    .bind(b.business_phone)
    .bind(b.twilio_number)
    .bind(b.twilio_account_sid)
    .bind(&b.twilio_auth_token_enc)
    .bind(b.timezone)
    .bind(b.call_mode)
    .bind(b.greeting)
    .bind(b.after_hours_greeting)
    .bind(sqlx::types::Json(b.business_hours))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("businesses_twilio_number_key") => {
            StoreError::Conflict { field: "twilio_number" }
        }
        _ => StoreError::Db(e),
    })?;
    crate::audit(
        &mut *tx,
        id,
        "business",
        Some(id),
        "onboarded",
        serde_json::json!({"name": b.name.trim()}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The admin onboards some businesses already registered for messaging (or under review).
pub async fn set_messaging_status(pool: &PgPool, id: Uuid, status: &str) -> Result<()> {
    sqlx::query("update businesses set messaging_status = $2 where id = $1")
        .bind(id)
        .bind(status)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn list(pool: &PgPool) -> Result<Vec<BusinessSummary>> {
    Ok(sqlx::query_as(
        "select id, name, owner_name, owner_email, twilio_number, timezone, call_mode, created_at
         from businesses order by created_at, id",
    )
    .fetch_all(pool)
    .await?)
}

const WEBHOOK_COLUMNS: &str =
    "id, name, owner_name, business_phone, twilio_number, twilio_account_sid,
    twilio_auth_token_enc, timezone, call_mode, greeting, after_hours_greeting, business_hours,
    owner_window_secs, assistant_disclosure, follow_up_secs, quiet_start, quiet_end,
    call_screening, voicemail_greeting, voicemail_voice, voicemail_language, voicemail_max_secs,
    voicemail_audio_key";

/// The business a call leg belongs to, by id (the screening whisper runs on the answering leg,
/// whose `To` is the business's own phone, so its URL names the business).
pub async fn for_webhook(pool: &PgPool, id: Uuid) -> Result<Option<BusinessForWebhook>> {
    Ok(sqlx::query_as(&format!(
        "select {WEBHOOK_COLUMNS} from businesses where id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// The business that owns a Twilio number (the `To` of a call or text).
pub async fn by_twilio_number(pool: &PgPool, number: &str) -> Result<Option<BusinessForWebhook>> {
    Ok(sqlx::query_as(&format!(
        "select {WEBHOOK_COLUMNS} from businesses where twilio_number = $1"
    ))
    .bind(number)
    .fetch_optional(pool)
    .await?)
}

/// The business that sent a message, found by its Twilio sid (status callbacks).
pub async fn by_message_sid(pool: &PgPool, sid: &str) -> Result<Option<BusinessForWebhook>> {
    Ok(sqlx::query_as(&format!(
        "select {WEBHOOK_COLUMNS} from businesses where id = (select business_id from messages where twilio_message_sid = $1 order by created_at limit 1)"
    ))
    .bind(sid)
    .fetch_optional(pool)
    .await?)
}
