//! Housecall Pro public API v1: customers (search with `q`, create, update) and leads. The
//! company's API key as `Authorization: Token …`; its three error shapes (`{"message"}`,
//! `{"error": {"message"}}`, `{"errors": {field: [..]}}`).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{CrmDoubles, national};

const V: &str = "housecall";

pub(super) fn router() -> Router<CrmDoubles> {
    Router::new()
        .route("/housecall/customers", get(search).post(create))
        .route("/housecall/customers/{id}", put(update))
        .route("/housecall/leads", post(lead))
}

fn admit(d: &CrmDoubles, headers: &HeaderMap) -> Option<Response> {
    let ok = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Token "))
        .is_some_and(|k| !k.is_empty() && !k.starts_with("bad"));
    if !ok {
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"message": "Unauthorized"})),
            )
                .into_response(),
        );
    }
    d.gate(V)
}

async fn search(
    State(d): State<CrmDoubles>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(r) = admit(&d, &headers) {
        return r;
    }
    let needle = q.get("q").cloned().unwrap_or_default().to_lowercase();
    let digits = national(&needle);
    let customers: Vec<Value> = d
        .records(V)
        .into_iter()
        .filter(|c| {
            needle.is_empty()
                || ["first_name", "last_name", "email"].iter().any(|k| {
                    c[*k]
                        .as_str()
                        .is_some_and(|v| v.to_lowercase().contains(&needle))
                })
                || (!digits.is_empty()
                    && ["mobile_number", "home_number", "work_number"]
                        .iter()
                        .any(|k| {
                            c[*k]
                                .as_str()
                                .is_some_and(|v| national(v).contains(&digits))
                        }))
        })
        .collect();
    let size = q
        .get("page_size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(10usize);
    let total = customers.len();
    let page: Vec<Value> = customers.into_iter().take(size).collect();
    Json(json!({"page": 1, "page_size": size, "total_pages": total.div_ceil(size.max(1)), "total_items": total, "customers": page})).into_response()
}

async fn create(
    State(d): State<CrmDoubles>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers) {
        return r;
    }
    let named = [
        "first_name",
        "last_name",
        "email",
        "mobile_number",
        "home_number",
        "work_number",
    ]
    .iter()
    .any(|k| body[*k].as_str().is_some_and(|v| !v.is_empty()));
    if !named {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"errors": {"base": ["a name, email or phone number is required"]}})),
        )
            .into_response();
    }
    let mut c = body.clone();
    c["id"] = d.new_id(V);
    c["created_at"] = json!(chrono::Utc::now().to_rfc3339());
    d.add_record(V, c.clone());
    (StatusCode::CREATED, Json(c)).into_response()
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
    let updated = d.update_record(V, |r| r["id"] == id, &body);
    updated.map_or_else(
        || {
            (
                StatusCode::NOT_FOUND,
                Json(json!({"error": {"message": "customer not found"}})),
            )
                .into_response()
        },
        |c| Json(c).into_response(),
    )
}

async fn lead(
    State(d): State<CrmDoubles>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers) {
        return r;
    }
    let customer = body["customer_id"].as_str().unwrap_or_default().to_owned();
    if !d.records(V).iter().any(|r| r["id"] == customer.as_str()) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"message": "customer not found"}})),
        )
            .into_response();
    }
    let id = format!("lea_{}", &uuid::Uuid::new_v4().simple().to_string()[..24]);
    let lead = json!({"id": id, "number": d.requests(V), "status": "open", "customer": {"id": customer}, "note": body["note"], "lead_source": body["lead_source"], "tags": body["tags"]});
    d.push_note(V, lead.clone());
    (StatusCode::CREATED, Json(lead)).into_response()
}
