//! A Nominatim double (https://nominatim.org/release-docs/latest/api/Search/): `GET
//! /geocode/search?q=…&format=jsonv2&limit=1&addressdetails=1` answers a JSON array, empty when
//! nothing matched, with `lat`/`lon` as strings and an `address` object. Like the public
//! server's usage policy, a request without a User-Agent is refused (403) and more than one a
//! second answers 429. The places are a small fixed gazetteer around Austin, TX.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

/// (words the query holds, lat, lon, postcode, city field, city).
const PLACES: [(&str, &str, &str, &str, &str, &str); 5] = [
    (
        "congress ave",
        "30.2642",
        "-97.7450",
        "78701",
        "city",
        "Austin",
    ),
    ("oak st", "30.2620", "-97.7220", "78702", "city", "Austin"),
    (
        "main st, round rock",
        "30.5083",
        "-97.6789",
        "78664",
        "city",
        "Round Rock",
    ),
    (
        "commerce st, san antonio",
        "29.4241",
        "-98.4936",
        "78205",
        "city",
        "San Antonio",
    ),
    (
        "ranch rd, dripping springs",
        "30.1902",
        "-98.0867",
        "78620",
        "town",
        "Dripping Springs",
    ),
];

#[derive(Default)]
struct Inner {
    last: Option<Instant>,
    /// Every query received, for tests.
    queries: Vec<String>,
}

#[derive(Clone, Default)]
pub struct GeocodeDouble {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Deserialize)]
struct Search {
    q: Option<String>,
    format: Option<String>,
}

impl GeocodeDouble {
    pub fn router(&self) -> Router {
        Router::new()
            .route("/geocode/search", get(search))
            .with_state(self.clone())
    }

    /// The addresses looked up so far.
    pub fn queries(&self) -> Vec<String> {
        self.inner.lock().unwrap().queries.clone()
    }
}

async fn search(
    State(g): State<GeocodeDouble>,
    headers: HeaderMap,
    Query(s): Query<Search>,
) -> Response {
    if !headers.contains_key(header::USER_AGENT) {
        return (StatusCode::FORBIDDEN, "Access blocked: no User-Agent").into_response();
    }
    {
        let mut inner = g.inner.lock().unwrap();
        let now = Instant::now();
        if inner
            .last
            .is_some_and(|l| now.duration_since(l) < Duration::from_millis(950))
        {
            return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
        }
        inner.last = Some(now);
        inner.queries.push(s.q.clone().unwrap_or_default());
    }
    let Some(q) = s.q.filter(|q| !q.trim().is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"code": 400, "message": "Nothing to search for."}})),
        )
            .into_response();
    };
    if s.format.as_deref() != Some("jsonv2") {
        return (
            StatusCode::BAD_REQUEST,
            "this double speaks format=jsonv2 only",
        )
            .into_response();
    }
    let lower = q.to_lowercase();
    let found: Vec<Value> = PLACES
        .iter()
        .filter(|p| lower.contains(p.0))
        .take(1)
        .map(|(_, lat, lon, zip, field, city)| {
            json!({
                "place_id": 1, "lat": lat, "lon": lon, "category": "place", "type": "house",
                "display_name": format!("{q}, {city}, Texas, {zip}, United States"),
                "address": {field.to_string(): city, "state": "Texas", "postcode": zip, "country_code": "us"}
            })
        })
        .collect();
    Json(found).into_response()
}
