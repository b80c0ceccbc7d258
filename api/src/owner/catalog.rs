//! The catalog: the jobs the business does, with durations and prices (owner only).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use nmc_assistant::catalog::{self, CatalogItem};
use nmc_domain::Cents;
use nmc_store::{booking, scheduling};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::commit;
use crate::auth::Tenant;
use crate::{ApiJson, AppState, error::ApiError};

#[derive(Deserialize)]
pub(super) struct CatalogBody {
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
    let price = (
        Cents::new_optional(b.price_cents),
        Cents::new_optional(b.price_min_cents),
        Cents::new_optional(b.price_max_cents),
    );
    let price_ok = match price {
        (Ok(Some(_)), Ok(None), Ok(None)) => true,
        (Ok(None), Ok(Some(lo)), Ok(Some(hi))) => hi >= lo,
        _ => false,
    };
    if !price_ok {
        bad.insert(
            "price_cents",
            "give price_cents, or price_min_cents ≤ price_max_cents (integer cents, not negative)"
                .to_owned(),
        );
    }
    if let Err(e) = Cents::new_optional(b.emergency_surcharge_cents) {
        bad.insert("emergency_surcharge_cents", e.to_string());
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

/// A catalog item as the API shows it: the row, and its price as the assistant quotes it.
#[derive(Serialize)]
pub(super) struct CatalogItemView {
    #[serde(flatten)]
    row: scheduling::CatalogRow,
    price_text: Option<String>,
}

impl From<scheduling::CatalogRow> for CatalogItemView {
    fn from(row: scheduling::CatalogRow) -> Self {
        let price_text = catalog::price_text(&row.item());
        Self { row, price_text }
    }
}

#[derive(Serialize)]
pub(super) struct CatalogList {
    items: Vec<CatalogItemView>,
}

/// How many starter items were added.
#[derive(Serialize)]
pub(super) struct Adopted {
    added: usize,
}

pub(super) async fn list_catalog(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<CatalogList>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let items = scheduling::catalog(&mut tx, b, false).await?;
    Ok(Json(CatalogList {
        items: items.into_iter().map(CatalogItemView::from).collect(),
    }))
}

pub(super) async fn create_catalog_item(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(body): ApiJson<CatalogBody>,
) -> Result<(StatusCode, Json<CatalogItemView>), ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let (item, active) = catalog_item(body)?;
    let id = scheduling::save_catalog_item(&mut tx, b, None, &item, active).await?;
    let item = CatalogItemView::from(scheduling::catalog_item(&mut tx, b, id).await?);
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

pub(super) async fn update_catalog_item(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<CatalogBody>,
) -> Result<Json<CatalogItemView>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    let (item, active) = catalog_item(body)?;
    scheduling::save_catalog_item(&mut tx, b, Some(id), &item, active).await?;
    let item = CatalogItemView::from(scheduling::catalog_item(&mut tx, b, id).await?);
    commit(tx).await?;
    Ok(Json(item))
}

pub(super) async fn delete_catalog_item(
    t: Tenant,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    scheduling::delete_catalog_item(&mut tx, b, id).await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(super) struct Adopt {
    trade: String,
}

pub(super) async fn adopt_catalog(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(a): ApiJson<Adopt>,
) -> Result<Json<Adopted>, ApiError> {
    let b = t.business_id;
    let mut tx = t.begin(&s.db).await?;
    if catalog::starter(&a.trade).is_empty() {
        return Err(ApiError::Invalid(BTreeMap::from([(
            "trade",
            "one of plumbing, hvac, electrical, handyman, cleaning, auto".to_owned(),
        )])));
    }
    let added = booking::adopt_starter_catalog(&mut tx, b, &a.trade).await?;
    commit(tx).await?;
    Ok(Json(Adopted { added }))
}
