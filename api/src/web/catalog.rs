//! The price list editor (owner only): what each job costs and how long it takes. The assistant
//! quotes only from here.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nmc_store::{scheduling, settings};

use super::ui::{self, Form, Kind, Submitted};
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

/// One job's fields; the form's id keeps the inputs' ids unique on the page.
fn item_fields(f: &Form, id: &str, row: Option<&scheduling::CatalogRow>) -> Markup {
    let field = |name: &str, label: &str, stored: String| {
        f.field(name, label, &stored).id(format!("{name}-{id}"))
    };
    let money = |pick: fn(&scheduling::CatalogRow) -> Option<i32>| money(row.and_then(pick));
    html! {
        (field("name", "Job", row.map(|r| r.name.clone()).unwrap_or_default()).attr("required", "").attr("maxlength", 80))
        div class="grid3" {
            (field("price_cents", "Price $", money(|r| r.price_cents)).kind(Kind::Cents).attr("inputmode", "decimal"))
            (field("price_min_cents", "or from $", money(|r| r.price_min_cents)).kind(Kind::Cents).attr("inputmode", "decimal"))
            (field("price_max_cents", "to $", money(|r| r.price_max_cents)).kind(Kind::Cents).attr("inputmode", "decimal"))
        }
        div class="grid3" {
            (field("duration_minutes", "Minutes", row.map_or(60, |r| r.duration_minutes).to_string()).kind(Kind::Int).attr("inputmode", "numeric").attr("required", ""))
            (field("emergency_surcharge_cents", "Emergency extra $", money(|r| r.emergency_surcharge_cents)).kind(Kind::Cents).attr("inputmode", "decimal"))
            (field("active", "Offered", row.is_none_or(|r| r.active).to_string()).checkbox())
        }
        (field("keywords", "Words callers use (comma-separated)", row.map(|r| r.keywords.join(", ")).unwrap_or_default()).kind(Kind::List))
    }
}

async fn editor(
    Signed(t): Signed,
    State(s): State<AppState>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    let items = scheduling::catalog(&mut tx, t.business_id, false).await?;
    let trade = settings::get(&mut tx, t.business_id)
        .await?
        .trade
        .unwrap_or_else(|| "handyman".into());
    let add = Form::new(&sent, "add-job", "POST", "/api/catalog", "/app/catalog");
    Ok(page(
        "Prices",
        html! {
            (nav("catalog", &t))
            h1 { "Prices" }
            p { "The assistant quotes only these prices. Give a fixed price, or a from–to range when it depends." }
            @if items.is_empty() {
                (ui::empty(&html! { "Your price list is empty, so the assistant tells callers you will confirm the price. Start from the usual " (trade) " jobs:" }, None))
                (super::onboarding::adopt(&sent, &trade, "/app/catalog"))
            }
            @for row in &items { (item(&sent, row)) }
            h2 { "Add a job" }
            (add.render("card", &html! {
                (item_fields(&add, "new", None))
                (form_status())
                button type="submit" { "Add" }
            }))
        },
    )
    .into_response())
}

/// A job on the list: its summary, opened to edit (open after a refused save, to show why).
fn item(sent: &Submitted, row: &scheduling::CatalogRow) -> Markup {
    let id = row.id.to_string();
    let api = format!("/api/catalog/{id}");
    let edit = Form::new(
        sent,
        format!("job-{id}"),
        "PUT",
        api.clone(),
        "/app/catalog",
    );
    let remove = Form::new(sent, format!("delete-{id}"), "DELETE", api, "/app/catalog");
    html! {
        details class="card item" open[sent.form == format!("job-{id}") || sent.form == format!("delete-{id}")] {
            summary { strong { (row.name) } " · " (nmc_assistant::catalog::price_text(&row.item()).unwrap_or_else(|| "price to confirm".into())) " · " (row.duration_minutes) " min" @if !row.active { " · " (ui::badge("not offered", ui::Tone::Muted)) } }
            (edit.render("card", &html! {
                (item_fields(&edit, &id, Some(row)))
                (form_status())
                button type="submit" { "Save" }
            }))
            (ui::confirm(&remove, &format!("Delete {}", row.name), "Callers are no longer quoted this job."))
        }
    }
}
