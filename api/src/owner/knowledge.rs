//! What the assistant knows (owner only): its FAQ, the name it goes by, the owner's
//! instructions and the service area.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use nmc_domain::faq::{self, Faq};
use nmc_domain::service_area::{Place, ServiceArea};
use nmc_store::knowledge::{self, FaqRow, Profile};
use serde::{Deserialize, Serialize};
use sqlx::types::Json as Stored;
use uuid::Uuid;

use super::commit;
use crate::auth::Tenant;
use crate::{ApiJson, AppState, error::ApiError};

fn invalid(field: &'static str, why: impl Into<String>) -> ApiError {
    ApiError::Invalid(BTreeMap::from([(field, why.into())]))
}

#[derive(Serialize)]
pub(super) struct FaqList {
    faqs: Vec<FaqRow>,
}

pub(super) async fn list_faqs(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<FaqList>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let faqs = knowledge::faqs(&mut tx, t.business_id).await?;
    Ok(Json(FaqList { faqs }))
}

fn checked(f: Faq) -> Result<Faq, ApiError> {
    faq::check(&f).map_err(|(field, why)| invalid(field, why))?;
    Ok(f)
}

pub(super) async fn create_faq(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(f): ApiJson<Faq>,
) -> Result<(StatusCode, Json<FaqRow>), ApiError> {
    let f = checked(f)?;
    let mut tx = t.begin(&s.db).await?;
    let row = knowledge::save_faq(&mut tx, t.business_id, None, &f)
        .await
        .map_err(|e| match e {
            nmc_store::StoreError::Conflict { .. } => invalid(
                "faqs",
                format!(
                    "at most {} questions: edit or delete one first",
                    faq::MAX_FAQS
                ),
            ),
            e => e.into(),
        })?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(row)))
}

pub(super) async fn update_faq(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    ApiJson(f): ApiJson<Faq>,
) -> Result<Json<FaqRow>, ApiError> {
    let f = checked(f)?;
    let mut tx = t.begin(&s.db).await?;
    let row = knowledge::save_faq(&mut tx, t.business_id, Some(id), &f).await?;
    commit(tx).await?;
    Ok(Json(row))
}

pub(super) async fn delete_faq(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    knowledge::delete_faq(&mut tx, t.business_id, id).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(super) struct Adopt {
    trade: String,
}

#[derive(Serialize)]
pub(super) struct Adopted {
    added: usize,
}

/// Adds the trade's starter questions the business does not have yet.
pub(super) async fn adopt_faqs(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(a): ApiJson<Adopt>,
) -> Result<Json<Adopted>, ApiError> {
    if nmc_domain::catalog::starter(&a.trade).is_empty() {
        return Err(invalid(
            "trade",
            "one of plumbing, hvac, electrical, handyman, cleaning, auto",
        ));
    }
    let mut tx = t.begin(&s.db).await?;
    let added = knowledge::adopt_starter_faqs(&mut tx, t.business_id, &a.trade).await?;
    commit(tx).await?;
    Ok(Json(Adopted { added }))
}

/// The assistant's settings as the API shows and takes them.
#[derive(Serialize, Deserialize)]
pub(super) struct AssistantProfile {
    #[serde(default)]
    assistant_name: Option<String>,
    #[serde(default)]
    instructions: Option<String>,
    #[serde(default)]
    zips: Vec<String>,
    #[serde(default)]
    cities: Vec<String>,
    #[serde(default)]
    radius_miles: Option<f64>,
    /// The radius's centre, as typed (placed by the geocoder when saved).
    #[serde(default)]
    address: Option<String>,
}

pub(super) async fn get_profile(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<AssistantProfile>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let p = knowledge::profile(&mut tx, t.business_id).await?;
    let area = p.service_area.0;
    Ok(Json(AssistantProfile {
        assistant_name: p.assistant_name,
        instructions: p.instructions,
        zips: area.zips,
        cities: area.cities,
        radius_miles: area.radius_miles,
        address: area.center.map(|c| c.address),
    }))
}

fn trimmed(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The area as the owner typed it, checked: five-digit ZIPs, named cities, a radius of 1 to
/// 200 miles with an address.
fn area_of(p: &AssistantProfile) -> Result<ServiceArea, ApiError> {
    let zips: Vec<String> = p
        .zips
        .iter()
        .map(|z| z.trim().to_owned())
        .filter(|z| !z.is_empty())
        .collect();
    if zips.len() > 200
        || zips
            .iter()
            .any(|z| z.len() != 5 || !z.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(invalid("zips", "five-digit ZIP codes, at most 200"));
    }
    let cities: Vec<String> = p
        .cities
        .iter()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    if cities.len() > 100 || cities.iter().any(|c| c.chars().count() > 60) {
        return Err(invalid(
            "cities",
            "at most 100 city names of up to 60 characters",
        ));
    }
    if p.radius_miles.is_some_and(|r| !(1.0..=200.0).contains(&r)) {
        return Err(invalid("radius_miles", "between 1 and 200 miles"));
    }
    Ok(ServiceArea {
        zips,
        cities,
        radius_miles: p.radius_miles,
        center: None,
    })
}

/// The radius's centre, placed by the geocoder (kept as it was when the address is unchanged).
async fn center(
    s: &AppState,
    address: Option<&str>,
    before: Option<Place>,
) -> Result<Option<Place>, ApiError> {
    let Some(address) = address else {
        return Err(invalid(
            "address",
            "a radius needs the address it is measured from",
        ));
    };
    if let Some(b) = before.filter(|b| b.address == address) {
        return Ok(Some(b));
    }
    let Some(g) = &s.geocoder else {
        return Err(invalid(
            "radius_miles",
            "a radius needs a geocoder (NMC_GEOCODER_URL); list ZIP codes or cities instead",
        ));
    };
    match g.search(address).await {
        Ok(Some(f)) => Ok(Some(Place {
            address: address.to_owned(),
            lat: f.lat,
            lon: f.lon,
        })),
        Ok(None) => Err(invalid(
            "address",
            "the geocoder could not find that address",
        )),
        Err(e) => {
            tracing::warn!(error = %e, "the business address was not geocoded");
            Err(ApiError::Unavailable("geocoder"))
        }
    }
}

pub(super) async fn put_profile(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(p): ApiJson<AssistantProfile>,
) -> Result<Json<AssistantProfile>, ApiError> {
    let name = trimmed(p.assistant_name.clone());
    if name.as_ref().is_some_and(|n| n.chars().count() > 40) {
        return Err(invalid("assistant_name", "at most 40 characters"));
    }
    let instructions = trimmed(p.instructions.clone());
    if instructions
        .as_ref()
        .is_some_and(|i| i.chars().count() > 600)
    {
        return Err(invalid("instructions", "at most 600 characters"));
    }
    let mut area = area_of(&p)?;
    let address = trimmed(p.address.clone());
    let mut tx = t.begin(&s.db).await?;
    let before = knowledge::profile(&mut tx, t.business_id).await?;
    commit(tx).await?;
    if area.radius_miles.is_some() {
        area.center = center(&s, address.as_deref(), before.service_area.0.center).await?;
    }
    let mut tx = t.begin(&s.db).await?;
    let saved = Profile {
        assistant_name: name,
        instructions,
        service_area: Stored(area),
    };
    knowledge::put_profile(&mut tx, t.business_id, &saved).await?;
    commit(tx).await?;
    get_profile(t, State(s)).await
}
