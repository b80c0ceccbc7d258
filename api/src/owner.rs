//! The owner's scheduling API: catalog, schedule rules, technicians, availability,
//! appointments, calendar connections and the iCalendar feed. Until owner accounts exist the
//! deployment's admin token guards it, and the business comes from the `X-Business-Id` header
//! (the next issue replaces both with the owner's token; handlers only ever see a [`Tenant`]).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use nmc_assistant::catalog::{self, CatalogItem};
use nmc_domain::E164;
use nmc_domain::availability::{Slot, WeekSchedule};
use nmc_store::booking::{self, Booked, NewAppointment};
use nmc_store::{calendar as cal, scheduling};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Tenant;
use crate::{
    AppState,
    error::{ApiError, Params},
};

/// One owner route: its path, the methods it answers, and the handlers.
pub struct OwnerRoute {
    pub path: &'static str,
    pub methods: &'static [&'static str],
    pub handlers: MethodRouter<AppState>,
}

fn r(
    path: &'static str,
    methods: &'static [&'static str],
    handlers: MethodRouter<AppState>,
) -> OwnerRoute {
    OwnerRoute {
        path,
        methods,
        handlers,
    }
}

/// Every route that needs a signed-in owner or technician. The router is built from this table
/// and the tenant-isolation test walks it, so a route added here is covered by that test at once.
/// Path parameters are named after what they point to (`{appointment_id}`), so the test knows
/// which of the other tenant's ids to try.
pub fn routes() -> Vec<OwnerRoute> {
    vec![
        r(
            "/api/catalog",
            &["GET", "POST"],
            get(list_catalog).post(create_catalog_item),
        ),
        r("/api/catalog/adopt", &["POST"], post(adopt_catalog)),
        r(
            "/api/catalog/{item_id}",
            &["PUT", "DELETE"],
            put(update_catalog_item).delete(delete_catalog_item),
        ),
        r(
            "/api/schedule",
            &["GET", "PUT"],
            get(get_schedule).put(put_schedule),
        ),
        r(
            "/api/technicians",
            &["GET", "POST"],
            get(list_technicians).post(add_technician),
        ),
        r(
            "/api/technicians/{technician_id}",
            &["PATCH"],
            patch(update_technician),
        ),
        r("/api/availability", &["GET"], get(availability)),
        r(
            "/api/appointments",
            &["GET", "POST"],
            get(list_appointments).post(create_appointment),
        ),
        r(
            "/api/appointments/{appointment_id}",
            &["GET", "PATCH"],
            get(get_appointment).patch(update_appointment),
        ),
        r("/api/calendar", &["GET"], get(calendar_status)),
        r(
            "/api/calendar/{provider}/connect",
            &["POST"],
            post(connect_calendar),
        ),
        r(
            "/api/calendar/{provider}",
            &["DELETE"],
            delete(disconnect_calendar),
        ),
        r("/api/calendar/ics/rotate", &["POST"], post(rotate_ics)),
        r("/api/calendar/ics/revoke", &["POST"], post(revoke_ics)),
        r("/api/leads", &["GET"], get(crate::inbox::list_leads)),
        r(
            "/api/leads/{lead_id}",
            &["GET", "PATCH"],
            get(crate::inbox::get_lead).patch(crate::inbox::edit_lead),
        ),
        r("/api/calls", &["GET"], get(crate::inbox::list_calls)),
        r(
            "/api/conversations",
            &["GET"],
            get(crate::inbox::list_conversations),
        ),
        r(
            "/api/conversations/{conversation_id}",
            &["GET"],
            get(crate::inbox::get_conversation),
        ),
        r(
            "/api/conversations/{conversation_id}/takeover",
            &["POST"],
            post(crate::inbox::take_over),
        ),
        r(
            "/api/conversations/{conversation_id}/return-ai",
            &["POST"],
            post(crate::inbox::return_to_assistant),
        ),
        r(
            "/api/conversations/{conversation_id}/message",
            &["POST"],
            post(crate::inbox::send_message),
        ),
        r(
            "/api/opt-outs",
            &["GET", "POST"],
            get(crate::inbox::list_opt_outs).post(crate::inbox::add_opt_out),
        ),
        r("/api/audit-log", &["GET"], get(crate::inbox::audit_log)),
        r(
            "/api/settings",
            &["GET", "PUT"],
            get(crate::insights::get_settings).put(crate::insights::put_settings),
        ),
        r(
            "/api/dashboard/stats",
            &["GET"],
            get(crate::insights::dashboard_stats),
        ),
        r(
            "/api/dashboard/recent",
            &["GET"],
            get(crate::insights::dashboard_recent),
        ),
        r(
            "/api/reports/weekly",
            &["GET"],
            get(crate::insights::weekly),
        ),
        r(
            "/api/reports/monthly",
            &["GET"],
            get(crate::insights::monthly),
        ),
        r(
            "/api/numbers/available",
            &["GET"],
            get(crate::numbers::available),
        ),
        r("/api/numbers", &["POST"], post(crate::numbers::buy)),
        r(
            "/api/numbers/existing",
            &["POST"],
            post(crate::numbers::register_existing),
        ),
        r(
            "/api/messaging",
            &["GET", "PUT"],
            get(crate::numbers::get_messaging).put(crate::numbers::submit_messaging),
        ),
        r("/api/team", &["GET"], get(crate::auth::list_team)),
        r("/api/team/invites", &["POST"], post(crate::auth::invite)),
        r(
            "/api/team/{user_id}",
            &["DELETE"],
            delete(crate::auth::remove_member),
        ),
    ]
}

pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, route| {
            router.route(route.path, route.handlers)
        })
        // Public: the secret in the URL is the credential.
        .route("/calendar/{file}", get(ics_feed))
}

/// Ends the request's row-level-security transaction, keeping what it wrote.
pub async fn commit(tx: sqlx::Transaction<'_, sqlx::Postgres>) -> Result<(), ApiError> {
    tx.commit()
        .await
        .map_err(|e| ApiError::from(nmc_store::StoreError::from(e)))
}

/// JSON bodies with a clear 400 for anything that is not the expected shape.
pub fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("body is not the expected JSON: {e}")))
}

// ---- catalog ----------------------------------------------------------------------------

#[derive(Deserialize)]
struct CatalogBody {
    name: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
    duration_minutes: Option<i32>,
    price_cents: Option<i32>,
    price_min_cents: Option<i32>,
    price_max_cents: Option<i32>,
    emergency_surcharge_cents: Option<i32>,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

fn catalog_item(b: CatalogBody) -> Result<(CatalogItem, bool), ApiError> {
    let mut bad = BTreeMap::new();
    let name = b
        .name
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() || name.chars().count() > 80 {
        bad.insert("name", "must be 1 to 80 characters".to_owned());
    }
    let duration = b.duration_minutes.unwrap_or(0);
    if !(5..=1440).contains(&duration) {
        bad.insert("duration_minutes", "must be between 5 and 1440".to_owned());
    }
    let negative = |v: Option<i32>| v.is_some_and(|c| c < 0);
    match (b.price_cents, b.price_min_cents, b.price_max_cents) {
        (Some(_), None, None) if !negative(b.price_cents) => {}
        (None, Some(lo), Some(hi)) if lo >= 0 && hi >= lo => {}
        _ => {
            bad.insert("price_cents", "give price_cents, or price_min_cents ≤ price_max_cents (integer cents, not negative)".to_owned());
        }
    }
    if negative(b.emergency_surcharge_cents) {
        bad.insert(
            "emergency_surcharge_cents",
            "must not be negative".to_owned(),
        );
    }
    let keywords: Vec<String> = b
        .keywords
        .iter()
        .map(|k| k.trim().to_lowercase())
        .filter(|k| !k.is_empty())
        .collect();
    if keywords.len() > 50 || keywords.iter().any(|k| k.chars().count() > 60) {
        bad.insert(
            "keywords",
            "at most 50 keywords of up to 60 characters".to_owned(),
        );
    }
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    let item = CatalogItem {
        name,
        keywords,
        duration_minutes: duration,
        price_cents: b.price_cents,
        price_min_cents: b.price_min_cents,
        price_max_cents: b.price_max_cents,
        emergency_surcharge_cents: b.emergency_surcharge_cents,
    };
    Ok((item, b.active))
}

fn catalog_json(r: &scheduling::CatalogRow) -> Value {
    let mut v = json!(r);
    v["price_text"] = json!(catalog::price_text(&r.item()));
    v
}

async fn list_catalog(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let items = scheduling::catalog(&mut tx, b, false).await?;
    Ok(Json(
        json!({"items": items.iter().map(catalog_json).collect::<Vec<_>>()}),
    ))
}

async fn create_catalog_item(
    t: Tenant,
    State(s): State<AppState>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let (item, active) = catalog_item(parse(&body)?)?;
    let id = scheduling::save_catalog_item(&mut tx, b, None, &item, active).await?;
    let item = catalog_json(&scheduling::catalog_item(&mut tx, b, id).await?);
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

async fn update_catalog_item(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let (item, active) = catalog_item(parse(&body)?)?;
    scheduling::save_catalog_item(&mut tx, b, Some(id), &item, active).await?;
    let item = catalog_json(&scheduling::catalog_item(&mut tx, b, id).await?);
    commit(tx).await?;
    Ok(Json(item))
}

async fn delete_catalog_item(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    scheduling::delete_catalog_item(&mut tx, b, id).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Adopt {
    trade: String,
}

async fn adopt_catalog(
    t: Tenant,
    State(s): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let a: Adopt = parse(&body)?;
    if catalog::starter(&a.trade).is_empty() {
        return Err(ApiError::Invalid(BTreeMap::from([(
            "trade",
            "one of plumbing, hvac, electrical, handyman, cleaning, auto".to_owned(),
        )])));
    }
    let added = booking::adopt_starter_catalog(&mut tx, b, &a.trade).await?;
    commit(tx).await?;
    Ok(Json(json!({"added": added})))
}

// ---- schedule rules and technicians -----------------------------------------------------------

async fn get_schedule(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<scheduling::Rules>, ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(scheduling::rules(&mut tx, b).await?))
}

async fn put_schedule(
    t: Tenant,
    State(s): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<scheduling::Rules>, ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let r: scheduling::Rules = parse(&body)?;
    let mut bad = BTreeMap::new();
    let bad_days = r.hours.invalid_days();
    if !bad_days.is_empty() {
        bad.insert(
            "hours",
            format!(
                "shifts must close after they open and not overlap: {}",
                bad_days.join(", ")
            ),
        );
    }
    let mut check = |field: &'static str, v: i32, lo: i32, hi: i32| {
        if !(lo..=hi).contains(&v) {
            bad.insert(field, format!("must be between {lo} and {hi}"));
        }
    };
    check("buffer_minutes", r.buffer_minutes, 0, 240);
    check("max_jobs_per_day", r.max_jobs_per_day, 1, 50);
    check("booking_window_days", r.booking_window_days, 1, 120);
    check("min_lead_minutes", r.min_lead_minutes, 0, 20160);
    check("step_minutes", r.step_minutes, 5, 240);
    check("default_job_minutes", r.default_job_minutes, 15, 1440);
    if r.reminder_minutes.len() > 4 || r.reminder_minutes.iter().any(|m| *m <= 0 || *m > 20160) {
        bad.insert(
            "reminder_minutes",
            "up to 4 values, each 1 to 20160 minutes before".to_owned(),
        );
    }
    if r.closures.len() > 366 {
        bad.insert("closures", "at most 366 days".to_owned());
    }
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    scheduling::put_rules(&mut tx, b, &r).await?;
    commit(tx).await?;
    Ok(Json(r))
}

#[derive(Deserialize)]
struct TechnicianBody {
    name: Option<String>,
    active: Option<bool>,
    /// `null` clears own hours (the business's apply); absent leaves them.
    #[serde(default, with = "double_option")]
    hours: Option<Option<WeekSchedule>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

fn check_technician(t: &TechnicianBody, creating: bool) -> Result<(), ApiError> {
    let mut bad = BTreeMap::new();
    let name = t.name.as_deref().map(str::trim);
    if (creating && name.is_none_or(str::is_empty))
        || name.is_some_and(|n| n.is_empty() || n.chars().count() > 80)
    {
        bad.insert("name", "must be 1 to 80 characters".to_owned());
    }
    if let Some(Some(h)) = &t.hours
        && !h.invalid_days().is_empty()
    {
        bad.insert(
            "hours",
            format!(
                "shifts must close after they open and not overlap: {}",
                h.invalid_days().join(", ")
            ),
        );
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(bad))
    }
}

async fn list_technicians(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(
        json!({"technicians": scheduling::technicians(&mut tx, b).await?}),
    ))
}

async fn add_technician(
    t: Tenant,
    State(s): State<AppState>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let t: TechnicianBody = parse(&body)?;
    check_technician(&t, true)?;
    let hours = t.hours.flatten();
    match scheduling::add_technician(
        &mut tx,
        b,
        t.name.as_deref().unwrap_or_default().trim(),
        hours.as_ref(),
    )
    .await
    {
        Ok(id) => {
            commit(tx).await?;
            Ok((StatusCode::CREATED, Json(json!({"id": id}))))
        }
        Err(nmc_store::StoreError::Conflict { .. }) => Err(ApiError::Invalid(BTreeMap::from([(
            "technicians",
            format!(
                "a business has at most {} active technicians",
                scheduling::MAX_TECHNICIANS
            ),
        )]))),
        Err(e) => Err(e.into()),
    }
}

async fn update_technician(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let t: TechnicianBody = parse(&body)?;
    check_technician(&t, false)?;
    let hours = t.hours.as_ref().map(|h| h.as_ref());
    scheduling::update_technician(
        &mut tx,
        b,
        id,
        t.name.as_deref().map(str::trim),
        t.active,
        hours,
    )
    .await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- availability and appointments ------------------------------------------------------------

#[derive(Deserialize)]
struct AvailabilityQuery {
    catalog_item_id: Option<Uuid>,
    duration_minutes: Option<i32>,
    /// Only slots after this instant (RFC 3339).
    after: Option<DateTime<Utc>>,
    limit: Option<usize>,
}

fn slot_json(tz: chrono_tz::Tz, s: &Slot) -> Value {
    json!({"technician_id": s.technician, "start": s.start, "end": s.end, "label": nmc_domain::availability::slot_text(tz, s)})
}

async fn job_minutes(
    db: &mut sqlx::PgConnection,
    b: Uuid,
    item: Option<Uuid>,
    minutes: Option<i32>,
) -> Result<i32, ApiError> {
    match (item, minutes) {
        (Some(id), _) => Ok(scheduling::catalog_item(&mut *db, b, id)
            .await
            .map_err(|_| {
                ApiError::Invalid(BTreeMap::from([(
                    "catalog_item_id",
                    "no such catalog item".to_owned(),
                )]))
            })?
            .duration_minutes),
        (None, Some(m)) if (5..=1440).contains(&m) => Ok(m),
        (None, Some(_)) => Err(ApiError::Invalid(BTreeMap::from([(
            "duration_minutes",
            "must be between 5 and 1440".to_owned(),
        )]))),
        (None, None) => Ok(scheduling::rules(&mut *db, b).await?.default_job_minutes),
    }
}

async fn availability(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<AvailabilityQuery>,
) -> Result<Json<Value>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let minutes = job_minutes(&mut tx, b, q.catalog_item_id, q.duration_minutes).await?;
    let (timezone, slots) =
        scheduling::open_slots(&mut tx, b, minutes, q.after, Utc::now()).await?;
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    let limit = q.limit.unwrap_or(200).min(2000);
    Ok(Json(
        json!({"timezone": timezone, "duration_minutes": minutes, "slots": slots.iter().take(limit).map(|x| slot_json(tz, x)).collect::<Vec<_>>()}),
    ))
}

/// Up to four open slots right now for a job this long: what a 409 offers instead.
async fn alternatives(db: &mut sqlx::PgConnection, b: Uuid, minutes: i32) -> Value {
    match scheduling::open_slots(&mut *db, b, minutes, None, Utc::now()).await {
        Ok((timezone, slots)) => {
            let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
            json!(
                nmc_domain::availability::pick_offers(tz, &slots, 4)
                    .iter()
                    .map(|x| slot_json(tz, x))
                    .collect::<Vec<_>>()
            )
        }
        Err(_) => json!([]),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    from: Option<NaiveDate>,
    days: Option<i64>,
}

async fn list_appointments(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let (_, _, timezone) = booking::business_basics(&mut tx, b).await?;
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    let from_day = q
        .from
        .unwrap_or_else(|| tz.from_utc_datetime(&Utc::now().naive_utc()).date_naive());
    let from = tz
        .from_local_datetime(&from_day.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    let to = from + Duration::days(q.days.unwrap_or(14).clamp(1, 366));
    Ok(Json(
        json!({"appointments": booking::list(&mut tx, b, from, to).await?}),
    ))
}

async fn appointment_json(
    db: &mut sqlx::PgConnection,
    b: Uuid,
    id: Uuid,
) -> Result<Value, ApiError> {
    let a = booking::get(&mut *db, b, id).await?;
    let mut v = json!(a);
    v["calendar_sync"] = json!(cal::sync_states(&mut *db, b, id).await?);
    Ok(v)
}

async fn get_appointment(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Value>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(appointment_json(&mut tx, b, id).await?))
}

#[derive(Deserialize)]
struct NewAppointmentBody {
    start: Option<DateTime<Utc>>,
    technician_id: Option<Uuid>,
    catalog_item_id: Option<Uuid>,
    duration_minutes: Option<i32>,
    service_name: Option<String>,
    customer_name: Option<String>,
    customer_phone: Option<String>,
    address: Option<String>,
    price_cents: Option<i32>,
    notes: Option<String>,
    idempotency_key: Option<String>,
}

/// Books by hand, with the same guarantee as booking by text: the database refuses overlaps.
/// Without a technician, the first one free at that time gets it.
async fn create_appointment(
    t: Tenant,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let r: NewAppointmentBody = parse(&body)?;
    let mut bad = BTreeMap::new();
    let start = r.start.unwrap_or_default();
    if r.start.is_none() {
        bad.insert("start", "required (RFC 3339)".to_owned());
    }
    let phone = match r.customer_phone.as_deref().map(E164::parse) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            bad.insert("customer_phone", e.to_string());
            None
        }
        None => None,
    };
    if r.price_cents.is_some_and(|p| p < 0) {
        bad.insert("price_cents", "must not be negative".to_owned());
    }
    for (field, v) in [
        ("service_name", &r.service_name),
        ("customer_name", &r.customer_name),
        ("address", &r.address),
        ("notes", &r.notes),
    ] {
        if v.as_deref().is_some_and(|t| t.chars().count() > 500) {
            bad.insert(field, "at most 500 characters".to_owned());
        }
    }
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    let minutes = job_minutes(&mut tx, b, r.catalog_item_id, r.duration_minutes).await?;
    let item = match r.catalog_item_id {
        Some(id) => Some(scheduling::catalog_item(&mut tx, b, id).await?),
        None => None,
    };
    let service = r
        .service_name
        .clone()
        .or_else(|| item.as_ref().map(|i| i.name.clone()));
    let price = r.price_cents.or_else(|| {
        item.as_ref()
            .and_then(|i| i.price_cents.or(i.price_min_cents))
    });
    let lead_id = match &phone {
        Some(p) => Some(
            booking::ensure_manual_lead(
                &mut tx,
                b,
                p.as_str(),
                r.customer_name.as_deref(),
                r.address.as_deref(),
            )
            .await?,
        ),
        None => None,
    };
    let key = r
        .idempotency_key
        .clone()
        .or_else(|| {
            headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .map(|k| format!("api:{b}:{k}"));
    let technicians: Vec<Uuid> = match r.technician_id {
        Some(t) => vec![t],
        None => scheduling::technicians(&mut tx, b)
            .await?
            .into_iter()
            .filter(|t| t.active)
            .map(|t| t.id)
            .collect(),
    };
    if technicians.is_empty() {
        return Err(ApiError::Invalid(BTreeMap::from([(
            "technician_id",
            "the business has no active technician".to_owned(),
        )])));
    }
    for technician_id in technicians {
        let booked = booking::book(
            &mut tx,
            b,
            &NewAppointment {
                technician_id,
                start,
                end: start + Duration::minutes(minutes as i64),
                lead_id,
                conversation_id: None,
                catalog_item_id: r.catalog_item_id,
                service_name: service.as_deref(),
                customer_name: r.customer_name.as_deref(),
                customer_phone: phone.as_ref().map(|p| p.as_str()),
                address: r.address.as_deref(),
                price_cents: price,
                notes: r.notes.as_deref(),
                idempotency_key: key.as_deref(),
            },
        )
        .await;
        match booked {
            Ok(Booked::Booked(id)) => {
                let body = appointment_json(&mut tx, b, id).await?;
                commit(tx).await?;
                tell_workflow(&s, b, id, false).await?;
                return Ok((StatusCode::CREATED, Json(body)));
            }
            Ok(Booked::SlotTaken) => continue,
            Err(nmc_store::StoreError::NotFound) => {
                return Err(ApiError::Invalid(BTreeMap::from([(
                    "technician_id",
                    "no such active technician".to_owned(),
                )])));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::SlotTaken {
        alternatives: alternatives(&mut tx, b, minutes).await,
    })
}

#[derive(Deserialize)]
struct AppointmentPatch {
    status: Option<String>,
    start: Option<DateTime<Utc>>,
    technician_id: Option<Uuid>,
}

/// Reschedule (atomically: the new time is checked by the same constraint) or change status.
/// The caller is texted about a move or a cancellation.
async fn update_appointment(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let p: AppointmentPatch = parse(&body)?;
    let current = booking::get(&mut tx, b, id).await?;
    if let Some(status) = p.status.as_deref()
        && ![
            "scheduled",
            "confirmed",
            "completed",
            "cancelled",
            "no_show",
        ]
        .contains(&status)
    {
        return Err(ApiError::Invalid(BTreeMap::from([(
            "status",
            "one of scheduled, confirmed, completed, cancelled, no_show".to_owned(),
        )])));
    }
    let mut notify = false;
    if p.start.is_some() || p.technician_id.is_some() {
        if current.status == "cancelled" {
            return Err(ApiError::Invalid(BTreeMap::from([(
                "start",
                "a cancelled appointment cannot be moved; book a new one".to_owned(),
            )])));
        }
        let start = p.start.unwrap_or(current.start_at);
        let end = start + (current.end_at - current.start_at);
        let technician = p.technician_id.unwrap_or(current.technician_id);
        match booking::reschedule(&mut tx, b, id, technician, start, end).await? {
            Booked::Booked(_) => notify = start != current.start_at,
            Booked::SlotTaken => {
                return Err(ApiError::SlotTaken {
                    alternatives: alternatives(
                        &mut tx,
                        b,
                        (current.end_at - current.start_at).num_minutes() as i32,
                    )
                    .await,
                });
            }
        }
    }
    if let Some(status) = p.status.as_deref() {
        let changed = booking::set_status(&mut tx, b, id, status, Some("owner")).await?;
        notify |= changed && status == "cancelled";
    }
    let body = appointment_json(&mut tx, b, id).await?;
    commit(tx).await?;
    tell_workflow(&s, b, id, notify).await?;
    Ok(Json(body))
}

/// Tells the appointment's workflow (sync, reminders, the caller's notice) off the request path:
/// the change is committed and a notice for the caller is flagged first, so if this signal is
/// lost the worker's catch-up (`booking::untold`) still delivers it.
pub(crate) async fn tell_workflow(
    s: &AppState,
    b: Uuid,
    id: Uuid,
    notify_caller: bool,
) -> Result<(), ApiError> {
    let mut db = nmc_store::conn(&s.db).await?;
    if notify_caller {
        booking::flag_caller_notice(&mut db, b, id).await?;
    }
    let version = booking::get(&mut db, b, id).await?.version;
    drop(db);
    let s = s.clone();
    tokio::spawn(async move {
        let told = match nmc_store::conn(&s.db).await {
            Ok(mut db) if s.temporal.appointment_changed(b, id, notify_caller).await => {
                booking::mark_workflow_told(&mut db, b, id, version, notify_caller)
                    .await
                    .map_err(|e| e.to_string())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = told {
            tracing::warn!(business_id = %b, appointment_id = %id, error = %e, "could not record the signal; the worker will signal again");
        }
    });
    Ok(())
}

// ---- calendars --------------------------------------------------------------------------------

fn ics_url(s: &AppState, token: &str) -> String {
    format!("{}/calendar/{token}.ics", s.config.public_base_url)
}

async fn calendar_status(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let ics = match cal::ics_token_enc(&mut tx, b).await? {
        Some(enc) => Some(ics_url(&s, &s.secrets.decrypt(&enc)?)),
        None => None,
    };
    Ok(Json(
        json!({"connections": cal::statuses(&mut tx, b).await?, "ics_url": ics}),
    ))
}

#[derive(Deserialize)]
struct Connect {
    /// The OAuth authorization code from the provider's consent screen…
    code: Option<String>,
    redirect_uri: Option<String>,
    /// …or tokens obtained elsewhere.
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<i64>,
    calendar_id: Option<String>,
}

async fn connect_calendar(
    t: Tenant,
    State(s): State<AppState>,
    Path(provider): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    t.owner()?;
    let b = t.business_id;
    if provider != "google" && provider != "jobber" {
        return Err(ApiError::NotFound);
    }
    let c: Connect = parse(&body)?;
    let tokens = match (c.code.as_deref(), c.access_token) {
        (Some(code), _) => {
            let redirect = c.redirect_uri.as_deref().unwrap_or_default();
            s.calendars
                .oauth(&provider)
                .exchange_code(&s.calendars.google.http, code, redirect)
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
                })?
        }
        (None, Some(access_token)) if !access_token.trim().is_empty() => nmc_calendar::Tokens {
            access_token,
            refresh_token: c.refresh_token,
            expires_in: c.expires_in,
        },
        _ => {
            return Err(ApiError::Invalid(BTreeMap::from([(
                "code",
                "give an authorization code, or an access_token".to_owned(),
            )])));
        }
    };
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
    Ok(Json(json!({"connections": connections})))
}

async fn disconnect_calendar(
    t: Tenant,
    State(s): State<AppState>,
    Path(provider): Path<String>,
) -> Result<StatusCode, ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    cal::disconnect(&mut tx, b, &provider).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret feed URL; the previous one stops working at once.
async fn rotate_ics(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    cal::rotate_ics(
        &mut tx,
        b,
        &crate::auth::hash(&token),
        &s.secrets.encrypt(&token),
    )
    .await?;
    commit(tx).await?;
    Ok(Json(json!({"ics_url": ics_url(&s, &token)})))
}

async fn revoke_ics(t: Tenant, State(s): State<AppState>) -> Result<StatusCode, ApiError> {
    t.owner()?;
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    cal::revoke_ics(&mut tx, b).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /calendar/{token}.ics`: the secret in the URL is the only credential (calendar apps
/// cannot send headers). Past 30 days and everything ahead.
async fn ics_feed(
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
    .map(|a| nmc_calendar::CalendarEvent {
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
        timezone: timezone.clone(),
        customer_name: a.customer_name,
        customer_phone: a.customer_phone,
        cancelled: a.status == "cancelled",
        version: a.version,
    })
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
