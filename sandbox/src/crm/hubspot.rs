//! HubSpot CRM v3: contacts (list, search, create, patch) and notes associated to a contact.
//! A private app's token (`pat-…`) as the bearer. Search is eventually consistent: a contact
//! created through the API shows up in search a second later, as HubSpot warns.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{CrmDoubles, bearer, national};

const V: &str = "hubspot";

pub(super) fn router() -> Router<CrmDoubles> {
    Router::new()
        .route("/hubspot/crm/v3/objects/contacts", get(list).post(create))
        .route("/hubspot/crm/v3/objects/contacts/search", post(search))
        .route("/hubspot/crm/v3/objects/contacts/{id}", patch(update))
        .route("/hubspot/crm/v3/objects/notes", post(note))
}

fn error(status: StatusCode, category: &str, message: &str) -> Response {
    (status, Json(json!({"status": "error", "message": message, "category": category, "correlationId": uuid::Uuid::new_v4()}))).into_response()
}

fn admit(d: &CrmDoubles, headers: &HeaderMap) -> Option<Response> {
    // A private app's token, or one the OAuth double issued.
    if !bearer(headers).is_some_and(|t| t.starts_with("pat-") || t.starts_with("hso-")) {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found.",
        ));
    }
    d.gate(V)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn public(c: &Value) -> Value {
    json!({"id": c["id"], "properties": c["properties"], "createdAt": c["createdAt"], "updatedAt": c["updatedAt"], "archived": false})
}

async fn list(State(d): State<CrmDoubles>, headers: HeaderMap) -> Response {
    if let Some(r) = admit(&d, &headers) {
        return r;
    }
    let results: Vec<Value> = d.records(V).iter().take(10).map(public).collect();
    Json(json!({"results": results})).into_response()
}

async fn search(State(d): State<CrmDoubles>, headers: HeaderMap, Json(q): Json<Value>) -> Response {
    if let Some(r) = admit(&d, &headers) {
        return r;
    }
    let groups = q["filterGroups"].as_array().cloned().unwrap_or_default();
    if groups.len() > 5 {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Too many filter groups",
        );
    }
    let matches = |c: &Value, f: &Value| {
        let value = f["value"].as_str().unwrap_or_default();
        let prop = |p: &str| c["properties"][p].as_str().unwrap_or_default().to_owned();
        match f["propertyName"].as_str().unwrap_or_default() {
            // HubSpot's calculated properties hold the area code and local number only.
            "hs_searchable_calculated_phone_number" => {
                !prop("phone").is_empty() && national(&prop("phone")) == value
            }
            "hs_searchable_calculated_mobile_number" => {
                !prop("mobilephone").is_empty() && national(&prop("mobilephone")) == value
            }
            other => prop(other) == value,
        }
    };
    let now = now_ms();
    let results: Vec<Value> = d
        .records(V)
        .iter()
        .filter(|c| c["indexedAt"].as_i64().is_none_or(|at| at <= now))
        .filter(|c| {
            groups.iter().any(|g| {
                g["filters"]
                    .as_array()
                    .is_some_and(|fs| fs.iter().all(|f| matches(c, f)))
            })
        })
        .map(public)
        .collect();
    Json(json!({"total": results.len(), "results": results})).into_response()
}

async fn create(
    State(d): State<CrmDoubles>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers) {
        return r;
    }
    let props = &body["properties"];
    if ["email", "firstname", "lastname"]
        .iter()
        .all(|k| props[*k].as_str().is_none_or(str::is_empty))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "Property values were not valid: at least one of email, firstname or lastname is required",
        );
    }
    let at = chrono::Utc::now().to_rfc3339();
    let contact = json!({
        "id": d.new_id(V), "properties": props, "createdAt": at, "updatedAt": at,
        "indexedAt": now_ms() + 1000,
    });
    d.add_record(V, contact.clone());
    (StatusCode::CREATED, Json(public(&contact))).into_response()
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
    let updated = d.with(|c| {
        let contact = c.records.get_mut(V)?.iter_mut().find(|r| r["id"] == id)?;
        super::merge(&mut contact["properties"], &body["properties"]);
        contact["updatedAt"] = json!(chrono::Utc::now().to_rfc3339());
        Some(public(contact))
    });
    match updated {
        Some(c) => Json(c).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "resource not found",
        ),
    }
}

async fn note(
    State(d): State<CrmDoubles>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers) {
        return r;
    }
    if body["properties"]["hs_timestamp"].as_str().is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "hs_timestamp is required",
        );
    }
    let to = &body["associations"][0];
    let contact = to["to"]["id"].as_str().unwrap_or_default().to_owned();
    let typed = to["types"][0]["associationTypeId"] == 202;
    let exists = d.records(V).iter().any(|r| r["id"] == contact.as_str());
    if !typed || !exists {
        return error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            "invalid association",
        );
    }
    let id = d.new_id(V);
    d.push_note(
        V,
        json!({"id": id, "contact": contact, "body": body["properties"]["hs_note_body"]}),
    );
    (
        StatusCode::CREATED,
        Json(json!({"id": id, "properties": body["properties"]})),
    )
        .into_response()
}
