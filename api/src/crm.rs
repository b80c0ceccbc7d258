//! CRM sync, the owner's side (docs/INTEGRATIONS.md): connect a CRM or a signed webhook (the
//! credential checked against the vendor, then sealed), map fields, pause or disconnect, read
//! each connection's health and delivery log, see a caller's sync status and push them again by
//! hand (rate-limited). The pushes themselves are recorded and carried out by workflows.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use nmc_crm::{Connection, CrmError};
use nmc_domain::crm::{FieldMap, Vendor, check_field_map};
use nmc_store::crm as store;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Tenant;
use crate::error::{ApiError, invalid};
use crate::owner::{OwnerRoute, Role};
use crate::{ApiJson, AppState};

/// A caller may be pushed by hand once a minute; a business 30 times an hour.
const MANUAL_PER_LEAD_MINUTE: i64 = 1;
const MANUAL_PER_HOUR: i64 = 30;

pub fn routes() -> Vec<OwnerRoute> {
    let r = |path, methods, role, handlers| OwnerRoute {
        path,
        methods,
        role,
        handlers,
    };
    vec![
        r("/api/crm", &["GET"], Role::Owner, get(list)),
        r(
            "/api/crm/connections",
            &["POST"],
            Role::Owner,
            post(connect),
        ),
        r(
            "/api/crm/connections/{connection_id}",
            &["PATCH", "DELETE"],
            Role::Owner,
            patch(change).delete(disconnect),
        ),
        r(
            "/api/crm/connections/{connection_id}/deliveries",
            &["GET"],
            Role::Owner,
            get(deliveries),
        ),
        r(
            "/api/leads/{lead_id}/crm",
            &["GET"],
            Role::Member,
            get(lead_status),
        ),
        r(
            "/api/leads/{lead_id}/crm/push",
            &["POST"],
            Role::Member,
            post(push_now),
        ),
    ]
}

#[derive(Serialize)]
pub struct ConnectionView {
    pub id: Uuid,
    pub vendor: String,
    pub label: &'static str,
    pub enabled: bool,
    /// What is not secret (tenant, location, webhook URL).
    pub settings: Value,
    pub field_map: FieldMap,
    /// healthy | retrying | failing | paused | idle
    pub health: &'static str,
    pub synced_24h: i64,
    pub failed_24h: i64,
    pub retrying: i64,
    pub last_synced_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_error: Option<String>,
}

/// The business's connections with their health.
pub async fn views(t: &Tenant, s: &AppState) -> Result<Vec<ConnectionView>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let conns = store::connections(&mut tx, t.business_id).await?;
    let health = store::health(&mut tx, t.business_id).await?;
    Ok(conns
        .into_iter()
        .filter_map(|c| {
            let h = health.iter().find(|h| h.connection_id == c.id)?;
            let vendor = Vendor::parse(&c.vendor)?;
            Some(ConnectionView {
                id: c.id,
                vendor: c.vendor,
                label: vendor.label(),
                enabled: c.enabled,
                settings: c.settings,
                field_map: c.field_map.0,
                health: h.state(),
                synced_24h: h.synced_24h,
                failed_24h: h.failed_24h,
                retrying: h.retrying,
                last_synced_at: h.last_synced_at,
                last_error: h.last_error.clone(),
            })
        })
        .collect())
}

async fn list(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({
        "connections": views(&t, &s).await?,
        "vendors": Vendor::ALL.iter().map(|v| json!({"vendor": v.as_str(), "label": v.label(), "maps_fields": v.maps_fields()})).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
pub struct Connect {
    pub vendor: String,
    /// The API key, token or client secret (none for Jobber and the webhook).
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Empty or null values (a form's untouched fields) map nothing.
    #[serde(default)]
    pub field_map: BTreeMap<String, Option<String>>,
}

fn field_map_of(raw: &BTreeMap<String, Option<String>>) -> FieldMap {
    raw.iter()
        .filter_map(|(k, v)| {
            let v = v.as_deref()?.trim();
            (!v.is_empty()).then(|| (k.clone(), v.to_owned()))
        })
        .collect()
}

/// The settings each vendor needs besides its key, and whether it takes a key.
fn needs(vendor: Vendor) -> (&'static [&'static str], bool) {
    match vendor {
        Vendor::ServiceTitan => (
            &["tenant_id", "client_id", "app_key", "booking_provider"],
            true,
        ),
        Vendor::GoHighLevel => (&["location_id"], true),
        Vendor::HubSpot | Vendor::HousecallPro => (&[], true),
        Vendor::Jobber => (&[], false),
        Vendor::Webhook => (&["url"], false),
    }
}

/// Checks what the owner sent; returns the settings to keep and the secret to seal.
fn validate(vendor: Vendor, c: &Connect) -> Result<(Value, Option<String>, FieldMap), ApiError> {
    let field_map = field_map_of(&c.field_map);
    check_field_map(&field_map).map_err(|why| invalid("field_map", &why))?;
    if !vendor.maps_fields() && !field_map.is_empty() {
        return Err(invalid(
            "field_map",
            "Housecall Pro's API takes no custom fields",
        ));
    }
    let (required, keyed) = needs(vendor);
    let mut settings = serde_json::Map::new();
    for name in required {
        let v = c.settings.get(*name).map(|v| v.trim()).unwrap_or_default();
        if v.is_empty() || v.len() > 500 {
            return Err(ApiError::Invalid(BTreeMap::from([(
                "settings",
                format!("{name} is required"),
            )])));
        }
        settings.insert((*name).to_owned(), v.into());
    }
    for name in ["tenant_id", "booking_provider"] {
        if settings
            .get(name)
            .is_some_and(|v| v.as_str().is_some_and(|v| v.parse::<i64>().is_err()))
        {
            return Err(invalid("settings", &format!("{name} is a number")));
        }
    }
    let key = c.key.as_deref().map(str::trim).filter(|k| !k.is_empty());
    let secret = match (keyed, vendor) {
        (true, _) => Some(
            key.filter(|k| k.len() <= 500)
                .ok_or_else(|| invalid("key", "the API key or token is required"))?
                .to_owned(),
        ),
        (false, Vendor::Webhook) => Some(nmc_crm::webhook::new_secret()),
        (false, _) => None,
    };
    Ok((Value::Object(settings), secret, field_map))
}

async fn connect(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(c): ApiJson<Connect>,
) -> Result<Response, ApiError> {
    let vendor =
        Vendor::parse(&c.vendor).ok_or_else(|| invalid("vendor", "not a CRM we connect to"))?;
    let (settings, secret, field_map) = validate(vendor, &c)?;
    if vendor == Vendor::Jobber {
        let mut tx = t.begin(&s.db).await?;
        let calendars = nmc_store::calendar::statuses(&mut tx, t.business_id).await?;
        if !calendars
            .iter()
            .any(|c| c.provider == "jobber" && c.status != "disconnected")
        {
            return Err(invalid(
                "vendor",
                "connect Jobber under Settings → Calendars first; the CRM sync uses the same grant",
            ));
        }
    } else {
        let probe = Connection {
            vendor,
            secret: SecretString::from(secret.clone().unwrap_or_default()),
            settings: settings.clone(),
            field_map: field_map.clone(),
        };
        s.crms
            .check(&probe)
            .await
            .map_err(|e| refused_by_vendor(vendor, &e))?;
    }
    let sealed = secret.as_deref().map(|k| s.secrets.encrypt(k));
    let mut tx = t.begin(&s.db).await?;
    let id = store::connect(
        &mut tx,
        t.business_id,
        vendor,
        sealed.as_deref(),
        &settings,
        &field_map,
    )
    .await?;
    crate::owner::commit(tx).await?;
    tracing::info!(business_id = %t.business_id, vendor = vendor.as_str(), "crm connected");
    let mut body = json!({"id": id, "vendor": vendor.as_str()});
    // The webhook's signing secret, to set up the receiver (Settings shows it to the owner too);
    // connecting again makes a new one.
    if vendor == Vendor::Webhook {
        body["secret"] = secret.unwrap_or_default().into();
    }
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

fn refused_by_vendor(vendor: Vendor, e: &CrmError) -> ApiError {
    match e {
        CrmError::Retry { .. } => {
            ApiError::Unavailable("the CRM did not answer; try again in a minute")
        }
        CrmError::Refused { message, .. } => invalid(
            if vendor == Vendor::Webhook {
                "settings"
            } else {
                "key"
            },
            &format!("{} refused: {message}", vendor.label()),
        ),
    }
}

#[derive(Deserialize)]
pub struct Change {
    #[serde(default)]
    field_map: Option<BTreeMap<String, Option<String>>>,
    #[serde(default)]
    enabled: Option<bool>,
}

async fn change(
    t: Tenant,
    State(s): State<AppState>,
    Path(connection_id): Path<Uuid>,
    ApiJson(c): ApiJson<Change>,
) -> Result<StatusCode, ApiError> {
    let field_map = c.field_map.as_ref().map(field_map_of);
    if let Some(m) = &field_map {
        check_field_map(m).map_err(|why| invalid("field_map", &why))?;
    }
    let mut tx = t.begin(&s.db).await?;
    let vendor = store::connection(&mut tx, t.business_id, connection_id)
        .await?
        .and_then(|c| Vendor::parse(&c.vendor))
        .ok_or(ApiError::NotFound)?;
    if !vendor.maps_fields() && field_map.as_ref().is_some_and(|m| !m.is_empty()) {
        return Err(invalid(
            "field_map",
            "Housecall Pro's API takes no custom fields",
        ));
    }
    if !store::update(
        &mut tx,
        t.business_id,
        connection_id,
        field_map.as_ref(),
        c.enabled,
    )
    .await?
    {
        return Err(ApiError::NotFound);
    }
    crate::owner::commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn disconnect(
    t: Tenant,
    State(s): State<AppState>,
    Path(connection_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    if !store::disconnect(&mut tx, t.business_id, connection_id).await? {
        return Err(ApiError::NotFound);
    }
    crate::owner::commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn deliveries(
    t: Tenant,
    State(s): State<AppState>,
    Path(connection_id): Path<Uuid>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    if store::connection(&mut tx, t.business_id, connection_id)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound);
    }
    let log = store::deliveries(&mut tx, t.business_id, connection_id, 200).await?;
    Ok(Json(json!({"deliveries": log})))
}

async fn lead_status(
    t: Tenant,
    State(s): State<AppState>,
    Path(lead_id): Path<Uuid>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    if !store::lead_exists(&mut tx, t.business_id, lead_id).await? {
        return Err(ApiError::NotFound);
    }
    let pushes = store::pushes_for_lead(&mut tx, t.business_id, lead_id).await?;
    Ok(Json(json!({"pushes": pushes})))
}

/// "Push to CRM": a push to every enabled connection, now.
pub async fn push_lead(t: &Tenant, s: &AppState, lead_id: Uuid) -> Result<Vec<Uuid>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    if !store::lead_exists(&mut tx, t.business_id, lead_id).await? {
        return Err(ApiError::NotFound);
    }
    let (lead_recent, hour) = store::recent_manual(&mut tx, t.business_id, lead_id).await?;
    if lead_recent >= MANUAL_PER_LEAD_MINUTE {
        return Err(ApiError::TooManyRequests(
            "this caller was just pushed; try again in a minute".into(),
        ));
    }
    if hour >= MANUAL_PER_HOUR {
        return Err(ApiError::TooManyRequests(
            "30 pushes by hand an hour at most; the automatic ones still go".into(),
        ));
    }
    let ids = store::enqueue(&mut tx, t.business_id, lead_id, None, "manual").await?;
    if ids.is_empty() {
        return Err(invalid(
            "crm",
            "no CRM is connected (Settings → Integrations)",
        ));
    }
    crate::owner::commit(tx).await?;
    Ok(ids)
}

async fn push_now(
    t: Tenant,
    State(s): State<AppState>,
    Path(lead_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let ids = push_lead(&t, &s, lead_id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"pushes": ids}))).into_response())
}
