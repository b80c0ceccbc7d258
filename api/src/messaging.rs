//! Texting registration (A2P 10DLC): the owner's brand and campaign (`GET/PUT /api/messaging`,
//! prefilled from what the business already texts), and operations' decision
//! (`POST /api/admin/businesses/{id}/messaging`), which the owner hears of by email and in the
//! app; on approval, greetings held in the last half hour go out and older callers are listed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use nmc_domain::registration::{self, Registration};
use nmc_store::settings::{self, Messaging};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::admin::Admin;
use crate::auth::Tenant;
use crate::error::{ApiError, invalid};
use crate::owner::commit;
use crate::{ApiJson, AppState};

/// The registration as saved, or one prefilled from the business for the owner to review.
pub fn draft(m: &Messaging) -> Registration {
    if let Some(saved) = m
        .messaging_registration
        .clone()
        .and_then(|v| serde_json::from_value::<Registration>(v).ok())
        && saved != Registration::default()
    {
        return saved;
    }
    let greeting = match &m.greeting {
        Some(t) => nmc_domain::render_greeting(t, &m.name, &m.owner_name),
        None => nmc_domain::default_greeting(&m.name),
    };
    let follow_up = nmc_domain::follow_up_text(0, false, &m.name, None, None);
    let mut r = Registration::default();
    r.brand.business_type = "sole_proprietor".into();
    r.brand.legal_name.clone_from(&m.name);
    r.brand.country = "US".into();
    r.brand.contact_name.clone_from(&m.owner_name);
    r.brand.contact_email.clone_from(&m.owner_email);
    r.brand.contact_phone.clone_from(&m.business_phone);
    r.campaign = registration::suggested_campaign(
        &m.name,
        &m.business_phone,
        vec![greeting, follow_up],
        nmc_domain::help_reply(&m.name, &m.business_phone),
        nmc_domain::opt_out_confirmation(&m.name),
    );
    r
}

/// `GET /api/messaging`: the status in plain words, the carriers' reason, and the registration.
pub async fn get_messaging(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let m = settings::messaging(&mut tx, t.business_id).await?;
    Ok(Json(json!({
        "status": m.messaging_status,
        "explanation": registration::status_words(&m.messaging_status),
        "note": m.messaging_note,
        "registration": draft(&m),
        "submitted": m.messaging_registration.is_some(),
        "sandbox": s.sandbox.is_some(),
    })))
}

/// `PUT /api/messaging`: the brand and campaign, every problem named by its field (422).
pub async fn submit_messaging(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(r): ApiJson<Registration>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let m = settings::messaging(&mut tx, t.business_id).await?;
    let bad = registration::problems(&r, &m.name);
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    let value = serde_json::to_value(&r).map_err(|e| ApiError::Internal(e.into()))?;
    settings::submit_registration(&mut tx, t.business_id, &value).await?;
    let m = settings::messaging(&mut tx, t.business_id).await?;
    commit(tx).await?;
    Ok(Json(
        json!({"status": m.messaging_status, "explanation": registration::status_words(&m.messaging_status)}),
    ))
}

#[derive(Deserialize)]
pub struct Decision {
    status: Option<String>,
    note: Option<String>,
}

/// `POST /api/admin/businesses/{id}/messaging`: operations record the carriers' decision; the
/// owners hear of it by email and in the app. A rejection needs the carriers' reason.
pub async fn decide(
    _: Admin,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    ApiJson(d): ApiJson<Decision>,
) -> Result<StatusCode, ApiError> {
    record_decision(&s, id, &d.status.unwrap_or_default(), d.note.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The decision, checked, recorded and told to the owners (the API and the operations page).
pub async fn record_decision(
    s: &AppState,
    id: Uuid,
    status: &str,
    note: Option<&str>,
) -> Result<(), ApiError> {
    if !["not_registered", "submitted", "approved", "rejected"].contains(&status) {
        return Err(invalid(
            "status",
            "one of not_registered, submitted, approved, rejected",
        ));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if status == "rejected" && note.is_none() {
        return Err(invalid("note", "the carriers' reason, for the owner"));
    }
    let mut tx = s.db.begin().await.map_err(nmc_store::StoreError::from)?;
    settings::decide_registration(&mut tx, id, status, note).await?;
    if matches!(status, "approved" | "rejected") {
        tell_owners(s, &mut tx, id, status, note).await?;
    }
    tx.commit().await.map_err(nmc_store::StoreError::from)?;
    Ok(())
}

/// The decision by email (through the mail outbox, in the same transaction) and in the app.
async fn tell_owners(
    s: &AppState,
    db: &mut sqlx::PgConnection,
    business_id: Uuid,
    status: &str,
    note: Option<&str>,
) -> Result<(), ApiError> {
    let base = &s.config.public_base_url;
    let (name, _) = nmc_store::digest::business(db, business_id).await?;
    let (subject, mut text) = if status == "approved" {
        (
            format!("Texting approved · {name}"),
            "US carriers approved your business for texting. From now on every missed caller gets your greeting.".to_owned(),
        )
    } else {
        (
            format!("Texting registration needs a fix · {name}"),
            format!(
                "US carriers did not approve your texting registration. Their reason: {}\nFix it and submit again: {base}/app/settings/messaging",
                note.unwrap_or_default()
            ),
        )
    };
    if status == "approved" {
        let stale = nmc_store::registration::stale_held(db, business_id).await?;
        if !stale.is_empty() {
            text.push_str("\n\nThese callers missed you while you waited, too long ago for an automatic text. Text them yourself:\n");
            for c in &stale {
                let who = nmc_domain::phone::named(c.name.as_deref(), &c.phone);
                text.push_str(&format!(
                    "- {who}: {base}/app/inbox/{}\n",
                    c.conversation_id
                ));
            }
        }
    }
    nmc_store::registration::notify(db, business_id, status, &text).await?;
    for to in nmc_store::registration::owner_emails(db, business_id).await? {
        let html = maud::html! { @for line in text.lines() { p { (line) } } }.into_string();
        let mail = nmc_store::mail::NewEmail {
            business_id,
            to,
            subject: subject.clone(),
            text: text.clone(),
            html,
            kind: nmc_store::mail::MailKind::Account,
            unsubscribe_url: None,
            idempotency_key: None,
        };
        nmc_store::mail::record(db, &mail).await?;
    }
    Ok(())
}
