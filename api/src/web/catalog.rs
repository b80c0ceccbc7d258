//! The price list editor (owner only): what each job costs and how long it takes. The assistant
//! quotes only from here.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nmc_store::{scheduling, settings};

use super::{Signed, form_status, nav, owner_only, page};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new().route("/app/catalog", get(editor))
}

fn money(cents: Option<i32>) -> String {
    cents
        .map(|c| format!("{}.{:02}", c / 100, c % 100))
        .unwrap_or_default()
}

/// One job's fields; `id` names the inputs uniquely on the page.
fn item_fields(id: &str, row: Option<&scheduling::CatalogRow>) -> Markup {
    let f = |k: &str| format!("{k}-{id}");
    html! {
        label for=(f("name")) { "Job" }
        input id=(f("name")) name="name" value=(row.map(|r| r.name.clone()).unwrap_or_default()) required maxlength="80";
        div class="grid3" {
            div { label for=(f("price")) { "Price $" }
                input id=(f("price")) name="price_cents" data-type="cents" data-optional inputmode="decimal" value=(money(row.and_then(|r| r.price_cents))); }
            div { label for=(f("min")) { "or from $" }
                input id=(f("min")) name="price_min_cents" data-type="cents" data-optional inputmode="decimal" value=(money(row.and_then(|r| r.price_min_cents))); }
            div { label for=(f("max")) { "to $" }
                input id=(f("max")) name="price_max_cents" data-type="cents" data-optional inputmode="decimal" value=(money(row.and_then(|r| r.price_max_cents))); }
        }
        div class="grid3" {
            div { label for=(f("minutes")) { "Minutes" }
                input id=(f("minutes")) name="duration_minutes" data-type="int" inputmode="numeric" value=(row.map(|r| r.duration_minutes).unwrap_or(60)) required; }
            div { label for=(f("surcharge")) { "Emergency extra $" }
                input id=(f("surcharge")) name="emergency_surcharge_cents" data-type="cents" data-optional inputmode="decimal" value=(money(row.and_then(|r| r.emergency_surcharge_cents))); }
            div { label class="check" for=(f("active")) { input id=(f("active")) type="checkbox" name="active" data-type="bool" checked[row.is_none_or(|r| r.active)]; " Offered" } }
        }
        label for=(f("keywords")) { "Words callers use (comma-separated)" }
        input id=(f("keywords")) name="keywords" data-type="list" value=(row.map(|r| r.keywords.join(", ")).unwrap_or_default());
    }
}

async fn editor(Signed(t): Signed, State(s): State<AppState>) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    let items = scheduling::catalog(&mut tx, t.business_id, false).await?;
    let trade = settings::get(&mut tx, t.business_id)
        .await?
        .trade
        .unwrap_or_else(|| "handyman".into());
    Ok(page(
        "Prices",
        html! {
            (nav("catalog", &t))
            h1 { "Prices" }
            p { "The assistant quotes only these prices. Give a fixed price, or a from–to range when it depends." }
            @if items.is_empty() {
                p class="empty" { "Your price list is empty, so the assistant tells callers you will confirm the price. Start from the usual " (trade) " jobs:" }
                button type="button" data-action="/api/catalog/adopt" data-body=(serde_json::json!({"trade": trade}).to_string()) { "Use the " (trade) " price list" }
            }
            @for row in &items {
                details class="card item" {
                    summary { strong { (row.name) } " · " (nmc_assistant::catalog::price_text(&row.item()).unwrap_or_else(|| "price to confirm".into())) " · " (row.duration_minutes) " min" @if !row.active { " · " span class="badge" { "not offered" } } }
                    form data-api={ "/api/catalog/" (row.id) } data-method="PUT" class="card" {
                        (item_fields(&row.id.to_string(), Some(row)))
                        (form_status())
                        div class="actions" {
                            button type="submit" { "Save" }
                            button type="button" class="secondary" data-action={ "/api/catalog/" (row.id) } data-method="DELETE" data-confirm={ "Delete " (row.name) "?" } { "Delete" }
                        }
                    }
                }
            }
            h2 { "Add a job" }
            form data-api="/api/catalog" data-method="POST" class="card" {
                (item_fields("new", None))
                (form_status())
                button type="submit" { "Add" }
            }
        },
    )
    .into_response())
}
