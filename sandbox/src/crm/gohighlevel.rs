//! GoHighLevel API v2: the duplicate-contact lookup, contact create and update, notes. A
//! Private Integration Token (`pit-…`) as the bearer and `Version: 2021-07-28` on every call;
//! NestJS-shaped errors (422's `message` is an array); the location allows no duplicate
//! contacts, so creating one with a known phone is a 400 naming the match.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{CrmDoubles, bearer};

const V: &str = "gohighlevel";

pub(super) fn router() -> Router<CrmDoubles> {
    Router::new()
        .route("/gohighlevel/contacts/search/duplicate", get(duplicate))
        .route("/gohighlevel/contacts/", post(create))
        .route("/gohighlevel/contacts/{id}", put(update))
        .route("/gohighlevel/contacts/{id}/notes", post(note))
}

fn error(status: StatusCode, message: Value) -> Response {
    let reason = status.canonical_reason().unwrap_or("error");
    (status, Json(json!({"statusCode": status.as_u16(), "message": message, "error": reason, "traceId": uuid::Uuid::new_v4()}))).into_response()
}

fn admit(d: &CrmDoubles, headers: &HeaderMap) -> Option<Response> {
    if !bearer(headers).is_some_and(|t| t.starts_with("pit-") || t.starts_with("ghl-oauth-")) {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            json!("Invalid token: access token is invalid"),
        ));
    }
    if headers.get("version").and_then(|v| v.to_str().ok()) != Some("2021-07-28") {
        return Some(error(
            StatusCode::BAD_REQUEST,
            json!("Version header was not found"),
        ));
    }
    d.gate(V)
}

fn find_by_phone(d: &CrmDoubles, location: &str, phone: &str) -> Option<Value> {
    d.records(V)
        .into_iter()
        .find(|c| c["locationId"] == location && c["phone"] == phone)
}

async fn duplicate(
    State(d): State<CrmDoubles>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(r) = admit(&d, &headers) {
        return r;
    }
    let Some(location) = q.get("locationId") else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(["locationId should not be empty"]),
        );
    };
    let contact = q.get("number").and_then(|n| find_by_phone(&d, location, n));
    Json(json!({"contact": contact})).into_response()
}

async fn create(
    State(d): State<CrmDoubles>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers) {
        return r;
    }
    let Some(location) = body["locationId"].as_str() else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(["locationId should not be empty"]),
        );
    };
    if let Some(existing) = body["phone"]
        .as_str()
        .and_then(|p| find_by_phone(&d, location, p))
    {
        return (StatusCode::BAD_REQUEST, Json(json!({"statusCode": 400, "message": "This location does not allow duplicated contacts.", "meta": {"contactId": existing["id"], "matchingField": "phone"}}))).into_response();
    }
    let mut contact = body.clone();
    contact["id"] = d.new_id(V);
    contact["dateAdded"] = json!(chrono::Utc::now().to_rfc3339());
    d.add_record(V, contact.clone());
    (StatusCode::CREATED, Json(json!({"contact": contact}))).into_response()
}

async fn update(
    State(d): State<CrmDoubles>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers) {
        return r;
    }
    if body.get("locationId").is_some() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(["property locationId should not exist"]),
        );
    }
    let updated = d.update_record(V, |r| r["id"] == id, &body);
    match updated {
        Some(c) => Json(json!({"succeded": true, "contact": c})).into_response(),
        None => error(StatusCode::BAD_REQUEST, json!("Contact not found")),
    }
}

async fn note(
    State(d): State<CrmDoubles>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers) {
        return r;
    }
    let Some(text) = body["body"].as_str().filter(|b| !b.is_empty()) else {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!(["body should not be empty"]),
        );
    };
    if !d.records(V).iter().any(|r| r["id"] == id.as_str()) {
        return error(StatusCode::BAD_REQUEST, json!("Contact not found"));
    }
    let note = json!({"id": d.new_id(V), "body": text, "contactId": id, "dateAdded": chrono::Utc::now().to_rfc3339()});
    d.push_note(V, json!({"contact": id, "body": text}));
    (StatusCode::CREATED, Json(json!({"note": note}))).into_response()
}
