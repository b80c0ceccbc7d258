//! Appointments: listed, booked by hand, moved and cancelled. Every change is told to the
//! appointment's workflow, which syncs calendars and texts the caller.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use nmc_domain::{Cents, E164};
use nmc_store::booking::{self, Booked, NewAppointment};
use nmc_store::{calendar as cal, scheduling};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::commit;
use super::schedule::{alternatives, job_minutes};
use crate::auth::Tenant;
use crate::{
    ApiJson, AppState,
    error::{ApiError, Params},
};

#[derive(Deserialize)]
pub struct ListQuery {
    from: Option<NaiveDate>,
    days: Option<i64>,
}

pub(super) async fn list_appointments(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<ListQuery>,
) -> Result<Json<Appointments>, ApiError> {
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
    Ok(Json(Appointments {
        appointments: booking::list(&mut tx, b, from, to).await?,
    }))
}

#[derive(Serialize)]
pub(super) struct Appointments {
    appointments: Vec<booking::Appointment>,
}

/// One appointment as the API shows it: its row, and where each calendar's copy stands.
#[derive(Serialize)]
pub(super) struct AppointmentView {
    #[serde(flatten)]
    appointment: booking::Appointment,
    calendar_sync: Vec<cal::SyncState>,
}

async fn appointment_view(
    db: &mut sqlx::PgConnection,
    b: Uuid,
    id: Uuid,
) -> Result<AppointmentView, ApiError> {
    let appointment = booking::get(&mut *db, b, id).await?;
    let calendar_sync = cal::sync_states(&mut *db, b, id).await?;
    Ok(AppointmentView {
        appointment,
        calendar_sync,
    })
}

pub(super) async fn get_appointment(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<AppointmentView>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(appointment_view(&mut tx, b, id).await?))
}

#[derive(Deserialize)]
pub(super) struct NewAppointmentBody {
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
pub(super) async fn create_appointment(
    t: Tenant,
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiJson(r): ApiJson<NewAppointmentBody>,
) -> Result<(StatusCode, Json<AppointmentView>), ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let (start, phone) = check_new_appointment(&r)?;
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
    let key = idempotency_key(&r, &headers, b);
    let technicians = technicians_to_try(&mut tx, b, r.technician_id).await?;
    let new = NewAppointment {
        // Each technician in turn: `book_first_free` sets it.
        technician_id: Uuid::nil(),
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
    };
    let booked = book_first_free(&mut tx, b, &technicians, new).await?;
    match booked {
        Some(id) => {
            let body = appointment_view(&mut tx, b, id).await?;
            let by = serde_json::json!({ "by": t.user_id });
            nmc_store::audit_member(&mut tx, b, ("appointment", id), "appointment_booked", by)
                .await?;
            commit(tx).await?;
            tell_workflow(&s, b, id, false).await?;
            Ok((StatusCode::CREATED, Json(body)))
        }
        None => Err(ApiError::SlotTaken {
            alternatives: alternatives(&mut tx, b, minutes).await,
        }),
    }
}

/// The body's own checks, before anything is looked up: the start, and the caller's phone.
fn check_new_appointment(
    r: &NewAppointmentBody,
) -> Result<(DateTime<Utc>, Option<E164>), ApiError> {
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
    if let Err(e) = Cents::new_optional(r.price_cents) {
        bad.insert("price_cents", e.to_string());
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
    Ok((start, phone))
}

/// The body's idempotency key, else the `Idempotency-Key` header's, scoped to the business.
fn idempotency_key(r: &NewAppointmentBody, headers: &HeaderMap, b: Uuid) -> Option<String> {
    r.idempotency_key
        .clone()
        .or_else(|| {
            headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .map(|k| format!("api:{b}:{k}"))
}

/// The technician asked for, else every active one.
async fn technicians_to_try(
    db: &mut sqlx::PgConnection,
    b: Uuid,
    asked: Option<Uuid>,
) -> Result<Vec<Uuid>, ApiError> {
    let technicians: Vec<Uuid> = match asked {
        Some(t) => vec![t],
        None => scheduling::technicians(&mut *db, b)
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
    Ok(technicians)
}

/// Tries the technicians in turn: the appointment booked with the first one free, or `None`
/// when every one is taken at that time.
async fn book_first_free(
    db: &mut sqlx::PgConnection,
    b: Uuid,
    technicians: &[Uuid],
    mut new: NewAppointment<'_>,
) -> Result<Option<Uuid>, ApiError> {
    for &technician_id in technicians {
        new.technician_id = technician_id;
        match booking::book(&mut *db, b, &new).await {
            Ok(Booked::Booked(id)) => return Ok(Some(id)),
            Ok(Booked::SlotTaken) => {}
            Err(nmc_store::StoreError::NotFound) => {
                return Err(ApiError::Invalid(BTreeMap::from([(
                    "technician_id",
                    "no such active technician".to_owned(),
                )])));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

#[derive(Deserialize)]
pub(super) struct AppointmentPatch {
    status: Option<String>,
    start: Option<DateTime<Utc>>,
    technician_id: Option<Uuid>,
}

/// Reschedule (atomically: the new time is checked by the same constraint) or change status.
/// The caller is texted about a move or a cancellation.
pub(super) async fn update_appointment(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<AppointmentPatch>,
) -> Result<Json<AppointmentView>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
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
    let body = appointment_view(&mut tx, b, id).await?;
    let what = serde_json::json!({"by": t.user_id, "start": p.start, "technician_id": p.technician_id, "status": p.status});
    nmc_store::audit_member(&mut tx, b, ("appointment", id), "appointment_changed", what).await?;
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
