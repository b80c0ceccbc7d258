//! Google's Places API (New) Text Search double: `POST /places/v1/places:searchText` with the
//! key in `X-Goog-Api-Key` (none: 403 PERMISSION_DENIED) and a required `X-Goog-FieldMask`
//! (none: 400 INVALID_ARGUMENT), answering `{"places": [...]}` with only the masked fields, or
//! `{}` when nothing matched, as Google does.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// The listings the double knows: (Place ID, name, address).
const LISTINGS: [(&str, &str, &str); 3] = [
    (
        "ChIJN1t_tDeuEmsRUsoyG83frY4",
        "Acme Plumbing",
        "12 Main St, Austin, TX 78701, USA",
    ),
    (
        "ChIJ2eUgeAK6j4ARbn5u_wAGqWA",
        "Acme Plumbing & Heating",
        "400 Elm St, Dallas, TX 75201, USA",
    ),
    (
        "ChIJrTLr-GyuEmsRBfy61i59si0",
        "Bright Spark Electric",
        "9 Oak Ave, Austin, TX 78702, USA",
    ),
];

pub fn router() -> axum::Router {
    axum::Router::new().route("/places/v1/places:searchText", post(search_text))
}

fn google_error(status: StatusCode, reason: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": status.as_u16(), "message": message, "status": reason}})),
    )
        .into_response()
}

async fn search_text(headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if headers.get("x-goog-api-key").is_none_or(|k| k.is_empty()) {
        return google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "The request is missing a valid API key.",
        );
    }
    let Some(mask) = headers
        .get("x-goog-fieldmask")
        .and_then(|m| m.to_str().ok())
    else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "FieldMask is a required parameter. See https://cloud.google.com/apis/docs/system-parameters on how to provide it.",
        );
    };
    let Some(query) = body["textQuery"].as_str().filter(|q| !q.trim().is_empty()) else {
        return google_error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "textQuery is required.",
        );
    };
    let words: Vec<String> = query
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3)
        .map(str::to_owned)
        .collect();
    let size = body["pageSize"].as_u64().unwrap_or(20).clamp(1, 20) as usize;
    let places: Vec<Value> = LISTINGS
        .iter()
        .filter(|(_, name, address)| {
            let text = format!("{name} {address}").to_lowercase();
            !words.is_empty() && words.iter().all(|w| text.contains(w.as_str()))
        })
        .take(size)
        .map(|(id, name, address)| {
            let mut p = json!({});
            if mask.contains("places.id") {
                p["id"] = json!(id);
            }
            if mask.contains("places.displayName") {
                p["displayName"] = json!({"text": name, "languageCode": "en"});
            }
            if mask.contains("places.formattedAddress") {
                p["formattedAddress"] = json!(address);
            }
            p
        })
        .collect();
    if places.is_empty() {
        return Json(json!({})).into_response();
    }
    Json(json!({"places": places})).into_response()
}
