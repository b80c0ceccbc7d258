//! Review requests: the owner's settings (`/api/reviews`, and a section of Settings) and the
//! short link a customer opens (`/r/{token}`): counted, then sent on to the business's Google
//! review form. Every customer gets the same link: no gating.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use nmc_domain::review::{google_review_url, is_place_id};
use nmc_geocode::places::Listing;
use nmc_store::reviews::{self, Settings};
use serde::{Deserialize, Serialize};

use crate::auth::Tenant;
use crate::web::ui::{Form, Kind, Submitted};
use crate::{ApiJson, AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new().route("/r/{token}", get(open))
}

/// The review settings as the API shows and takes them (hours, not seconds).
#[derive(Serialize, Deserialize)]
pub struct ReviewSettings {
    #[serde(default)]
    google_place_id: Option<String>,
    #[serde(default = "two")]
    delay_hours: f64,
    #[serde(default)]
    message: Option<String>,
}

fn two() -> f64 {
    2.0
}

fn invalid(field: &'static str, why: &str) -> ApiError {
    ApiError::Invalid(BTreeMap::from([(field, why.to_owned())]))
}

fn view(s: Settings) -> ReviewSettings {
    ReviewSettings {
        google_place_id: s.google_place_id,
        delay_hours: f64::from(s.review_delay_secs) / 3600.0,
        message: s.review_message,
    }
}

pub async fn get_settings(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<ReviewSettings>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(view(reviews::settings(&mut tx, t.business_id).await?)))
}

pub async fn put_settings(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(r): ApiJson<ReviewSettings>,
) -> Result<Json<ReviewSettings>, ApiError> {
    let place = r
        .google_place_id
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    if place.as_deref().is_some_and(|p| !is_place_id(p)) {
        return Err(invalid(
            "google_place_id",
            "a Google Place ID, like ChIJN1t_tDeuEmsRUsoyG83frY4",
        ));
    }
    if !(0.0..=168.0).contains(&r.delay_hours) {
        return Err(invalid("delay_hours", "between 0 and 168 hours"));
    }
    let message = r
        .message
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty());
    if message.as_ref().is_some_and(|m| m.chars().count() > 300) {
        return Err(invalid("message", "at most 300 characters"));
    }
    let mut tx = t.begin(&s.db).await?;
    reviews::put_settings(
        &mut tx,
        t.business_id,
        place.as_deref(),
        (r.delay_hours * 3600.0).round() as i32,
        message.as_deref(),
    )
    .await?;
    let saved = reviews::settings(&mut tx, t.business_id).await?;
    crate::owner::commit(tx).await?;
    Ok(Json(view(saved)))
}

/// `/r/{token}`: counted, then Google's review form. Unknown: a plain 404.
async fn open(State(s): State<AppState>, Path(token): Path<String>) -> Response {
    if token.len() > 64 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return (axum::http::StatusCode::NOT_FOUND, "Not found").into_response();
    }
    match reviews::open_link(&s.db, &token).await {
        Ok(Some(place)) => Redirect::to(&google_review_url(&place)).into_response(),
        Ok(None) => (
            axum::http::StatusCode::NOT_FOUND,
            "This review link is not ours.",
        )
            .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Deserialize)]
pub struct PlaceQuery {
    #[serde(default)]
    pub q: String,
}

/// `GET /api/reviews/places?q=`: "find my business", the listings Google has for what the
/// owner typed (`configured: false` when this server has no Places key).
pub async fn find_places(
    _t: Tenant,
    State(s): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<PlaceQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let listings = listings(&s, &q.q).await?;
    Ok(Json(
        serde_json::json!({"configured": s.places.is_some(), "places": listings}),
    ))
}

/// The listings for a query (none when Places is not configured or the query is blank).
pub async fn listings(s: &AppState, q: &str) -> Result<Vec<Listing>, ApiError> {
    let q = q.trim();
    if q.chars().count() > 200 {
        return Err(invalid("q", "at most 200 characters"));
    }
    let Some(places) = s.places.as_ref().filter(|_| q.chars().count() >= 3) else {
        return Ok(Vec::new());
    };
    places.search(q).await.map_err(|e| {
        tracing::warn!(error = %e, "places search failed");
        ApiError::Unavailable("places")
    })
}

/// The Settings section; `found` are the listings of a "find my business" search.
pub fn section(sent: &Submitted, s: &Settings, finder: Option<(&str, &[Listing])>) -> Markup {
    let f = Form::new(
        sent,
        "settings-reviews",
        "PUT",
        "/api/reviews",
        "/app/settings",
    );
    html! {
        section class="settings-section" {
            h2 { "Review requests" }
            p class="hint" { "When you mark a job completed, the customer gets your Google review link after a delay, and one reminder two days later if they have not opened it. Everyone gets the same link." }
            (f.render("card", &html! {
                (f.field("google_place_id", "Google Place ID", s.google_place_id.as_deref().unwrap_or("")).kind(Kind::Optional).hint("Find it with Google's Place ID Finder. Empty: no review requests."))
                (f.field("delay_hours", "Hours after the job", &(f64::from(s.review_delay_secs) / 3600.0).to_string()).kind(Kind::Int).attr("inputmode", "numeric"))
                (f.field("message", "Your wording (optional)", s.review_message.as_deref().unwrap_or("")).kind(Kind::Optional).textarea(3).attr("maxlength", 300).hint("{name}, {business} and {link} are filled in."))
                (crate::web::form_status())
                button type="submit" { "Save" }
            }))
            @if let Some((q, found)) = finder { (find_my_business(sent, q, found)) }
        }
    }
}

/// Search Google for the business's listing and take its Place ID in one tap.
fn find_my_business(sent: &Submitted, q: &str, found: &[Listing]) -> Markup {
    html! {
        form method="get" action="/app/settings" class="card" role="search" {
            label for="place_q" { "Find my business on Google" }
            input id="place_q" name="place_q" type="search" value=(q) placeholder="Acme Plumbing, Austin" maxlength="200";
            button type="submit" { "Search" }
        }
        @if !q.is_empty() && found.is_empty() { p class="hint" { "Google found no listing for that. Try your business's name and town." } }
        @for (i, l) in found.iter().enumerate() {
            @let f = Form::new(sent, format!("use-place-{i}"), "PUT", "/api/reviews", "/app/settings").merge();
            (f.render("card", &html! {
                input type="hidden" name="google_place_id" value=(l.id);
                p { strong { (l.name) } br; (l.address) }
                button type="submit" { "This is my business" }
            }))
        }
    }
}
