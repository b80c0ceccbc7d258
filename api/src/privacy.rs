//! Privacy rights (CCPA/GDPR), owner only, every action audited:
//! - `GET /api/privacy/caller?phone=…`: everything held about one caller, in one download (a
//!   ZIP of `caller.json` and `messages.csv` / `calls.csv` for a spreadsheet).
//! - `POST /api/privacy/erase {phone}`: the caller erased, their conversations' Temporal
//!   histories deleted first (so nothing is left half done if Temporal is away: the erasure
//!   waits), the opt-out kept with the number only.
//! - `GET /api/privacy/business`: the business's own data as JSON.

use std::io::Write;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use nmc_domain::E164;
use nmc_store::privacy;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Tenant;
use crate::error::{ApiError, Params, invalid};
use crate::owner::commit;
use crate::{ApiJson, AppState};

#[derive(Deserialize)]
pub struct Caller {
    phone: Option<String>,
}

fn phone(c: &Caller) -> Result<E164, ApiError> {
    E164::parse(c.phone.as_deref().unwrap_or_default())
        .map_err(|e| invalid("phone", &e.to_string()))
}

fn download(content_type: &'static str, name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/privacy/caller?phone=…`.
pub async fn export_caller(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<Caller>,
) -> Result<Response, ApiError> {
    let phone = phone(&q)?;
    let mut tx = t.begin(&s.db).await?;
    let data = privacy::caller_export(&mut tx, t.business_id, phone.as_str()).await?;
    privacy::audit_export(&mut tx, t.business_id, t.user_id, phone.as_str()).await?;
    commit(tx).await?;
    let zip = bundle(&data).map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    let name = format!("caller-{}.zip", phone.as_str().trim_start_matches('+'));
    Ok(download("application/zip", &name, zip))
}

/// The JSON and the CSVs in one ZIP (stored, not compressed: a few kilobytes).
fn bundle(data: &Value) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let files = [
        (
            "caller.json",
            serde_json::to_vec_pretty(data).map_err(|e| e.to_string())?,
        ),
        (
            "messages.csv",
            csv_of(
                &data["messages"],
                &["at", "direction", "from", "to", "kind", "status", "body"],
            )?,
        ),
        (
            "calls.csv",
            csv_of(
                &data["calls"],
                &["at", "dial_status", "status", "after_hours"],
            )?,
        ),
    ];
    for (name, bytes) in files {
        zip.start_file(name, options).map_err(|e| e.to_string())?;
        zip.write_all(&bytes).map_err(|e| e.to_string())?;
    }
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

fn csv_of(rows: &Value, columns: &[&str]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns).map_err(|e| e.to_string())?;
    for row in rows.as_array().into_iter().flatten() {
        let cells = columns.iter().map(|c| match &row[*c] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            v => v.to_string(),
        });
        w.write_record(cells).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// `POST /api/privacy/erase {phone}`.
pub async fn erase_caller(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(c): ApiJson<Caller>,
) -> Result<Json<Value>, ApiError> {
    let phone = phone(&c)?;
    let mut tx = t.begin(&s.db).await?;
    if privacy::is_own_number(&mut tx, t.business_id, phone.as_str()).await? {
        return Err(invalid(
            "phone",
            "that is one of your business's own numbers, not a caller's",
        ));
    }
    let workflows = privacy::caller_workflows(&mut tx, t.business_id, phone.as_str()).await?;
    commit(tx).await?;
    s.temporal.delete_histories(&workflows).await.map_err(|e| {
        tracing::warn!(error = %e, "histories not deleted; the erasure waits for Temporal");
        ApiError::Unavailable("temporal")
    })?;
    let mut tx = t.begin(&s.db).await?;
    let erased = privacy::erase_caller(&mut tx, t.business_id, phone.as_str()).await?;
    commit(tx).await?;
    again_without_rows(&s, &workflows).await;
    for key in &erased.recording_keys {
        s.storage.forget(key, "an erased caller's voicemail").await;
    }
    forget_at_twilio(&s, t.business_id, &erased.twilio_recordings).await;
    // The calendars we pushed those jobs to get the copy without the caller's details.
    for id in &erased.appointment_ids {
        crate::owner::tell_workflow(&s, t.business_id, *id, false).await?;
    }
    tracing::info!(business_id = %t.business_id, caller = %phone.masked(), "caller erased");
    Ok(Json(
        json!({ "erased": erased, "histories_deleted": workflows.len() }),
    ))
}

/// Deletes the histories once more now that the rows are gone: a webhook the worker's outbox
/// signalled in between (its row still there) would have started a fresh run of the same
/// conversation. Best effort: the first pass already took what existed.
async fn again_without_rows(s: &AppState, workflows: &[String]) {
    if let Err(e) = s.temporal.delete_histories(workflows).await {
        tracing::warn!(error = %e, "second pass over the deleted histories failed");
    }
}

/// `GET /api/privacy/business`.
pub async fn export_business(t: Tenant, State(s): State<AppState>) -> Result<Response, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let data = privacy::business_export(&mut tx, t.business_id).await?;
    commit(tx).await?;
    let body = serde_json::to_vec_pretty(&data).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(download("application/json", "business-export.json", body))
}

#[derive(Deserialize)]
pub struct Deletion {
    /// The business's name, typed again: deleting is for good.
    confirm: Option<String>,
}

/// `DELETE /api/business {confirm}`: the account deleted. Temporal histories first (503 and
/// nothing changed if Temporal is away), then every row; calendar grants are revoked and the
/// number stops answering.
pub async fn delete_business(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(d): ApiJson<Deletion>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let name = nmc_store::settings::get(&mut tx, t.business_id).await?.name;
    if d.confirm.as_deref().map(str::trim) != Some(name.trim()) {
        return Err(invalid(
            "confirm",
            "type the business's name exactly to delete it",
        ));
    }
    let workflows = privacy::business_workflows(&mut tx, t.business_id).await?;
    let plan = nmc_store::billing::get(&mut tx, t.business_id).await?;
    let (number, account) = privacy::number_and_account(&mut tx, t.business_id).await?;
    let agent = nmc_store::voice_agent::connection(&mut *tx, t.business_id).await?;
    commit(tx).await?;
    s.temporal.delete_histories(&workflows).await.map_err(|e| {
        tracing::warn!(error = %e, "histories not deleted; the deletion waits for Temporal");
        ApiError::Unavailable("temporal")
    })?;
    // No charge after the account is gone: the subscription ends before the rows (Stripe away: 503).
    if let (Some(config), Some(sub)) = (&s.config.billing, plan.stripe_subscription_id.as_deref()) {
        crate::billing::stripe::Stripe::new(&config.api_base, config.secret_key.clone())
            .cancel(sub)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "the subscription was not cancelled; the deletion waits");
                ApiError::Unavailable("stripe")
            })?;
    }
    let mut tx = t.begin(&s.db).await?;
    let calendars = privacy::delete_business(&mut tx, t.business_id).await?;
    commit(tx).await?;
    again_without_rows(&s, &workflows).await;
    for (provider, access, refresh) in calendars {
        crate::calendar_connect::revoke(&s, &provider, (access, refresh)).await;
    }
    if let (Some(number), Some(account)) = (number, account) {
        release_number(&s, &number, &account).await;
    }
    // The assistant and SIP number we made in their Vapi account (the key is gone with the row).
    if let Some(agent) = agent
        && let Ok(key) = s.secrets.decrypt(&agent.api_key_sealed)
    {
        crate::voice_agent::take_down(&s, &key, &agent).await;
    }
    for prefix in ["recordings", "greetings"] {
        if let Err(e) = s
            .storage
            .delete_prefix(&format!("{prefix}/{}/", t.business_id))
            .await
        {
            tracing::warn!(error = %e, "stored {prefix} not deleted; delete them by hand");
        }
    }
    tracing::info!(business_id = %t.business_id, "account deleted");
    Ok(Json(
        json!({ "deleted": true, "histories_deleted": workflows.len() }),
    ))
}

/// Deletes an erased caller's voicemails that Twilio still holds (best effort, logged).
async fn forget_at_twilio(s: &AppState, business_id: uuid::Uuid, sids: &[String]) {
    if sids.is_empty() {
        return;
    }
    let Ok(Some(b)) = nmc_store::business::for_webhook(&s.db, business_id).await else {
        return;
    };
    let Ok(token) = s.secrets.decrypt(&b.twilio_auth_token_enc) else {
        return;
    };
    let twilio = nmc_twilio::TwilioClient::new(s.config.twilio_api_base.clone());
    for sid in sids {
        if let Err(e) = twilio
            .delete_recording(&b.twilio_account_sid, &token, sid)
            .await
        {
            tracing::warn!(error = %e, "an erased caller's voicemail is still at Twilio; delete it by hand");
        }
    }
}

/// Gives a number bought on the platform's account back to Twilio (it costs every month); a
/// number the business brought on its own account stays theirs. Best effort: a failure is
/// logged for operations to release by hand.
async fn release_number(s: &AppState, number: &str, account: &str) {
    let (platform, token) = s.config.platform_twilio();
    if account != platform {
        return;
    }
    let twilio = nmc_twilio::TwilioClient::new(s.config.twilio_api_base.clone());
    let released = match twilio.find_incoming(&platform, &token, number).await {
        Ok(Some(n)) => twilio.release_number(&platform, &token, &n.sid).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = released {
        tracing::warn!(error = %e, "the deleted business's number was not released; release it by hand");
    }
}
