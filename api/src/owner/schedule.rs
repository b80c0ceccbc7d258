//! Schedule rules, technicians and the open slots they make.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use nmc_domain::availability::{Slot, WeekSchedule};
use nmc_store::scheduling;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::commit;
use crate::auth::Tenant;
use crate::{
    ApiJson, AppState,
    error::{ApiError, Params},
};

// ---- schedule rules ----------------------------------------------------------------------------

pub(super) async fn get_schedule(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<scheduling::Rules>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(scheduling::rules(&mut tx, b).await?))
}

pub(super) async fn put_schedule(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(r): ApiJson<scheduling::Rules>,
) -> Result<Json<scheduling::Rules>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    check_rules(&r)?;
    scheduling::put_rules(&mut tx, b, &r).await?;
    commit(tx).await?;
    Ok(Json(r))
}

fn check_rules(r: &scheduling::Rules) -> Result<(), ApiError> {
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
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid(bad))
    }
}

// ---- technicians ------------------------------------------------------------------------------

#[derive(Deserialize)]
pub(super) struct TechnicianBody {
    name: Option<String>,
    active: Option<bool>,
    /// `null` clears own hours (the business's apply); absent leaves them.
    #[allow(
        clippy::option_option,
        reason = "absent and null mean different things in a PATCH"
    )]
    #[serde(default, with = "double_option")]
    hours: Option<Option<WeekSchedule>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    #[allow(
        clippy::option_option,
        reason = "absent and null mean different things in a PATCH"
    )]
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

#[derive(Serialize)]
pub(super) struct Technicians {
    technicians: Vec<scheduling::TechnicianRow>,
}

/// The id of what was just created.
#[derive(Serialize)]
pub(super) struct Created {
    id: Uuid,
}

pub(super) async fn list_technicians(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<Technicians>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(Technicians {
        technicians: scheduling::technicians(&mut tx, b).await?,
    }))
}

pub(super) async fn add_technician(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(tech): ApiJson<TechnicianBody>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    check_technician(&tech, true)?;
    let hours = tech.hours.flatten();
    match scheduling::add_technician(
        &mut tx,
        b,
        tech.name.as_deref().unwrap_or_default().trim(),
        hours.as_ref(),
    )
    .await
    {
        Ok(id) => {
            commit(tx).await?;
            Ok((StatusCode::CREATED, Json(Created { id })))
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

pub(super) async fn update_technician(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    ApiJson(tech): ApiJson<TechnicianBody>,
) -> Result<StatusCode, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    check_technician(&tech, false)?;
    let hours = tech.hours.as_ref().map(|h| h.as_ref());
    scheduling::update_technician(
        &mut tx,
        b,
        id,
        tech.name.as_deref().map(str::trim),
        tech.active,
        hours,
    )
    .await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- open slots --------------------------------------------------------------------------------

#[derive(Deserialize)]
pub struct AvailabilityQuery {
    catalog_item_id: Option<Uuid>,
    duration_minutes: Option<i32>,
    /// Only slots after this instant (RFC 3339).
    after: Option<DateTime<Utc>>,
    limit: Option<usize>,
}

/// An open slot as the API shows it, with its label on the business's wall clock.
#[derive(Serialize)]
pub(super) struct SlotView {
    technician_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    label: String,
}

impl SlotView {
    fn new(tz: chrono_tz::Tz, s: &Slot) -> Self {
        Self {
            technician_id: s.technician,
            start: s.start,
            end: s.end,
            label: nmc_domain::availability::slot_text(tz, s),
        }
    }
}

#[derive(Serialize)]
pub(super) struct Availability {
    timezone: String,
    duration_minutes: i32,
    slots: Vec<SlotView>,
}

/// How long the job takes: the catalog item's duration, else the minutes given, else the
/// business's default.
pub(super) async fn job_minutes(
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

pub(super) async fn availability(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<AvailabilityQuery>,
) -> Result<Json<Availability>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let minutes = job_minutes(&mut tx, b, q.catalog_item_id, q.duration_minutes).await?;
    let (timezone, slots) =
        scheduling::open_slots(&mut tx, b, minutes, q.after, Utc::now()).await?;
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    let limit = q.limit.unwrap_or(200).min(2000);
    Ok(Json(Availability {
        timezone,
        duration_minutes: minutes,
        slots: slots
            .iter()
            .take(limit)
            .map(|x| SlotView::new(tz, x))
            .collect(),
    }))
}

/// Up to four open slots right now for a job this long: what a 409 offers instead.
pub(super) async fn alternatives(db: &mut sqlx::PgConnection, b: Uuid, minutes: i32) -> Value {
    match scheduling::open_slots(&mut *db, b, minutes, None, Utc::now()).await {
        Ok((timezone, slots)) => {
            let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
            json!(
                nmc_domain::availability::pick_offers(tz, &slots, 4)
                    .iter()
                    .map(|x| SlotView::new(tz, x))
                    .collect::<Vec<_>>()
            )
        }
        Err(_) => json!([]),
    }
}
