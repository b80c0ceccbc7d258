//! The team: its members, invitations for technicians, and removing one. Routes of the owner
//! route table (owner only, checked there).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Duration;
use nmc_domain::Email;
use nmc_store::accounts;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::extractor::Tenant;
use super::mailer::{AccountMail, layout};
use super::tokens::{hash, new_secret};
use crate::{
    ApiJson, AppState,
    error::{ApiError, invalid},
};

const INVITE_TTL_DAYS: i64 = 7;

pub async fn list_team(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let members = accounts::members(&mut tx, t.business_id).await?;
    tx.commit().await.map_err(nmc_store::StoreError::from)?;
    Ok(Json(json!({"members": members})))
}

#[derive(Deserialize)]
pub struct InviteBody {
    email: Option<String>,
}

/// Invites a technician by email: the link works once, for a week.
pub async fn invite(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(b): ApiJson<InviteBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let email = Email::parse(b.email.as_deref().unwrap_or_default())
        .map_err(|e| invalid("email", &e.to_string()))?;
    let token = new_secret();
    let mut tx = t.begin(&s.db).await?;
    let id = accounts::create_invite(
        &mut tx,
        t.business_id,
        email.as_str(),
        &hash(&token),
        t.user_id,
        Duration::days(INVITE_TTL_DAYS),
    )
    .await?;
    let link = format!("{}/invite/{token}", s.config.public_base_url);
    let (business, _, _) = accounts::member_business(&mut tx, t.business_id).await?;
    s.mailer
        .send(
            &mut tx,
            t.business_id,
            invitation(email.as_str(), &business, &link),
        )
        .await?;
    tx.commit().await.map_err(nmc_store::StoreError::from)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "email": email, "role": "tech"})),
    ))
}

/// The invitation a technician gets. The link stays on a line of its own in the text part, so
/// any mail client makes it clickable.
fn invitation<'a>(to: &'a str, business: &str, link: &str) -> AccountMail<'a> {
    let joined = format!(
        "{business} uses NeverMissCall to answer missed calls and book jobs, and invited you to join the team as a technician."
    );
    let once = format!("The link works once, for {INVITE_TTL_DAYS} days.");
    AccountMail {
        to,
        subject: "You're invited to join your team on NeverMissCall",
        text: format!(
            "Hi,\n\n{joined}\n\nChoose your name and password here:\n{link}\n\n{once} If you did not expect this invitation, ignore this email.\n\nNeverMissCall\n"
        ),
        html: layout(
            "Join your team on NeverMissCall",
            &[
                joined,
                "Choose your name and password to see the team's conversations, leads and appointments."
                    .to_owned(),
            ],
            (link, "Accept the invitation"),
            &format!("{once} If you did not expect this invitation, ignore this email."),
        ),
    }
}

pub async fn remove_member(
    t: Tenant,
    State(s): State<AppState>,
    Path(user_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    accounts::deactivate_member(&mut tx, t.business_id, user_id).await?;
    tx.commit().await.map_err(nmc_store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}
