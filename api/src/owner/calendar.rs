//! Calendar connections (Google, Jobber) and the secret iCalendar feed URL.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use nmc_store::{booking, calendar as cal};
use serde::{Deserialize, Serialize};

use super::commit;
use crate::auth::Tenant;
use crate::{ApiJson, AppState, error::ApiError};

fn ics_url(s: &AppState, token: &str) -> String {
    format!("{}/calendar/{token}.ics", s.config.public_base_url)
}

/// The calendar connections, and the secret feed URL (`null` when there is none).
#[derive(Serialize)]
pub(super) struct CalendarStatus {
    connections: Vec<cal::ConnectionStatus>,
    ics_url: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Connections {
    connections: Vec<cal::ConnectionStatus>,
}

#[derive(Serialize)]
pub(super) struct IcsUrl {
    ics_url: String,
}

pub(super) async fn calendar_status(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<CalendarStatus>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let ics = match cal::ics_token_enc(&mut tx, b).await? {
        Some(enc) => Some(ics_url(&s, &s.secrets.decrypt(&enc)?)),
        None => None,
    };
    Ok(Json(CalendarStatus {
        connections: cal::statuses(&mut tx, b).await?,
        ics_url: ics,
    }))
}

#[derive(Deserialize)]
pub(super) struct Connect {
    /// The OAuth authorization code from the provider's consent screen…
    code: Option<String>,
    redirect_uri: Option<String>,
    /// …or tokens obtained elsewhere.
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
    calendar_id: Option<String>,
}

pub(super) async fn connect_calendar(
    t: Tenant,
    State(s): State<AppState>,
    Path(provider): Path<String>,
    body: Result<ApiJson<Connect>, ApiError>,
) -> Result<Json<Connections>, ApiError> {
    let b = t.business_id;
    if provider != "google" && provider != "jobber" {
        return Err(ApiError::NotFound);
    }
    let ApiJson(c) = body?;
    let tokens = provider_tokens(&s, &provider, &c).await?;
    // The OAuth exchange (a network call) happens before the transaction opens.
    let mut tx = t.begin(&s.db).await?;
    let expires_at = tokens
        .expires_in
        .map(|secs| Utc::now() + Duration::seconds(secs));
    cal::connect(
        &mut tx,
        b,
        &provider,
        &s.secrets.encrypt(&tokens.access_token),
        tokens
            .refresh_token
            .as_deref()
            .map(|r| s.secrets.encrypt(r))
            .as_deref(),
        expires_at,
        c.calendar_id.as_deref().unwrap_or("primary"),
    )
    .await?;
    tracing::info!(business_id = %b, %provider, "calendar connected");
    let connections = cal::statuses(&mut tx, b).await?;
    commit(tx).await?;
    Ok(Json(Connections { connections }))
}

/// The provider's tokens: exchanged for the authorization code, or as given.
async fn provider_tokens(
    s: &AppState,
    provider: &str,
    c: &Connect,
) -> Result<nmc_calendar::Tokens, ApiError> {
    match (c.code.as_deref(), c.access_token.as_deref()) {
        (Some(code), _) => {
            let redirect = c.redirect_uri.as_deref().unwrap_or_default();
            s.calendars
                .oauth(provider)
                .exchange_code(&s.calendars.google.http, code, redirect, None)
                .await
                .map_err(|e| match e {
                    nmc_calendar::CalendarError::Refused { message, .. } => {
                        ApiError::Invalid(BTreeMap::from([(
                            "code",
                            format!("the provider refused the code: {message}"),
                        )]))
                    }
                    nmc_calendar::CalendarError::Unavailable { .. } => {
                        ApiError::Unavailable("calendar provider")
                    }
                })
        }
        (None, Some(access_token)) if !access_token.trim().is_empty() => Ok(nmc_calendar::Tokens {
            access_token: access_token.to_owned(),
            refresh_token: c.refresh_token.clone(),
            expires_in: c.expires_in,
            scope: None,
            location_id: None,
        }),
        _ => Err(ApiError::Invalid(BTreeMap::from([(
            "code",
            "give an authorization code, or an access_token".to_owned(),
        )]))),
    }
}

pub(super) async fn disconnect_calendar(
    t: Tenant,
    State(s): State<AppState>,
    Path(provider): Path<String>,
) -> Result<StatusCode, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let sealed = cal::disconnect(&mut tx, b, &provider).await?;
    commit(tx).await?;
    crate::calendar_connect::revoke(&s, &provider, sealed).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The Google calendars the owner may choose from, with the current choice.
pub(crate) async fn google_calendars(
    t: &Tenant,
    s: &AppState,
) -> Result<
    (
        Vec<nmc_calendar::google::CalendarEntry>,
        cal::ConnectionStatus,
    ),
    ApiError,
> {
    let mut tx = t.begin(&s.db).await?;
    let conn = cal::connections(&mut tx, t.business_id)
        .await?
        .into_iter()
        .find(|c| c.provider == "google")
        .ok_or(ApiError::NotFound)?;
    let status = cal::statuses(&mut tx, t.business_id)
        .await?
        .into_iter()
        .find(|c| c.provider == "google")
        .ok_or(ApiError::NotFound)?;
    commit(tx).await?;
    let token = s.secrets.decrypt(&conn.access_token_enc)?;
    let list = s
        .calendars
        .google
        .calendar_list(&token)
        .await
        .map_err(|e| match e {
            nmc_calendar::CalendarError::Refused { .. } => ApiError::Invalid(BTreeMap::from([(
                "calendar",
                "Google no longer accepts this connection: connect again".to_owned(),
            )])),
            nmc_calendar::CalendarError::Unavailable { .. } => ApiError::Unavailable("google"),
        })?;
    Ok((list, status))
}

/// `GET /api/calendar/google/calendars`.
pub(super) async fn list_google_calendars(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (list, status) = google_calendars(&t, &s).await?;
    Ok(Json(serde_json::json!({
        "calendars": list,
        "write_calendar_id": status.calendar_id,
        "busy_calendar_ids": status.busy_calendar_ids,
    })))
}

#[derive(Deserialize)]
pub(crate) struct Choice {
    pub write_calendar_id: Option<String>,
    #[serde(default)]
    pub busy_calendar_ids: Vec<String>,
}

/// `PUT /api/calendar/google/calendars`: jobs go to a calendar the owner may write to; busy
/// time comes from any of theirs.
pub(crate) async fn choose_google_calendars(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(c): ApiJson<Choice>,
) -> Result<StatusCode, ApiError> {
    let (list, _) = google_calendars(&t, &s).await?;
    let write = c.write_calendar_id.unwrap_or_default();
    if !list.iter().any(|e| e.id == write && e.writable()) {
        return Err(ApiError::Invalid(BTreeMap::from([(
            "write_calendar_id",
            "choose one of your calendars you may add events to".to_owned(),
        )])));
    }
    if let Some(unknown) = c
        .busy_calendar_ids
        .iter()
        .find(|id| !list.iter().any(|e| &e.id == *id))
    {
        return Err(ApiError::Invalid(BTreeMap::from([(
            "busy_calendar_ids",
            format!("{unknown} is not one of your calendars"),
        )])));
    }
    let mut tx = t.begin(&s.db).await?;
    cal::choose(
        &mut tx,
        t.business_id,
        "google",
        &write,
        &c.busy_calendar_ids,
    )
    .await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret feed URL; the previous one stops working at once.
pub(super) async fn rotate_ics(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<IcsUrl>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let token = crate::auth::tokens::new_secret();
    cal::rotate_ics(
        &mut tx,
        b,
        &crate::auth::hash(&token),
        &s.secrets.encrypt(&token),
    )
    .await?;
    commit(tx).await?;
    Ok(Json(IcsUrl {
        ics_url: ics_url(&s, &token),
    }))
}

pub(super) async fn revoke_ics(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<StatusCode, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    cal::revoke_ics(&mut tx, b).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /calendar/{token}.ics`: the secret in the URL is the only credential (calendar apps
/// cannot send headers). Past 30 days and everything ahead.
pub(super) async fn ics_feed(
    State(s): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let token = file.strip_suffix(".ics").ok_or(ApiError::NotFound)?;
    let mut db = nmc_store::conn(&s.db).await?;
    let Some((b, name, timezone)) =
        cal::business_by_ics_hash(&mut db, &crate::auth::hash(token)).await?
    else {
        return Err(ApiError::NotFound);
    };
    let now = Utc::now();
    let events: Vec<nmc_calendar::CalendarEvent> = booking::list(
        &mut db,
        b,
        now - Duration::days(30),
        now + Duration::days(400),
    )
    .await?
    .into_iter()
    .map(|a| calendar_event(a, &timezone))
    .collect();
    let body = nmc_calendar::ics::feed(&name, &events, now);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response())
}

/// One appointment as the feed shows it.
fn calendar_event(a: booking::Appointment, timezone: &str) -> nmc_calendar::CalendarEvent {
    nmc_calendar::CalendarEvent {
        appointment_id: a.id,
        title: format!(
            "{} – {}",
            a.service_name.as_deref().unwrap_or("Job"),
            a.customer_name.as_deref().unwrap_or("caller")
        ),
        description: [
            a.customer_phone.as_deref().map(|p| format!("Phone: {p}")),
            a.notes.as_deref().map(|n| format!("Caller said: {n}")),
            Some(format!("Technician: {}", a.technician_name)),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n"),
        location: a.address,
        start: a.start_at,
        end: a.end_at,
        timezone: timezone.to_owned(),
        customer_name: a.customer_name,
        customer_phone: a.customer_phone,
        cancelled: a.status == "cancelled",
        version: a.version,
    }
}
