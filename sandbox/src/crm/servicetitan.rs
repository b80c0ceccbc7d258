//! ServiceTitan v2: the client-credentials token endpoint, customers (search by phone, create
//! with a location, patch, contacts, notes) and bookings. Every API call needs a token this
//! double issued and an `ST-App-Key` (`ak1.…`). The phone filter matches partially, as its
//! undocumented behaviour may, so a client must check the hits.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};

use super::{CrmDoubles, bearer, national};

const V: &str = "servicetitan";

pub(super) fn router() -> Router<CrmDoubles> {
    Router::new()
        .route("/servicetitan/connect/token", post(token))
        .route(
            "/servicetitan/crm/v2/tenant/{t}/customers",
            get(search).post(create),
        )
        .route(
            "/servicetitan/crm/v2/tenant/{t}/customers/{id}",
            patch(update),
        )
        .route(
            "/servicetitan/crm/v2/tenant/{t}/customers/{id}/contacts",
            get(contacts),
        )
        .route(
            "/servicetitan/crm/v2/tenant/{t}/customers/{id}/notes",
            post(note),
        )
        .route(
            "/servicetitan/crm/v2/tenant/{t}/booking-provider/{p}/bookings",
            post(booking),
        )
        .route(
            "/servicetitan/crm/v2/tenant/{t}/booking-provider/{p}/bookings/{id}",
            patch(update_booking),
        )
}

fn problem(status: StatusCode, title: &str, errors: Value) -> Response {
    (status, Json(json!({"type": "https://tools.ietf.org/html/rfc7231#section-6.5.1", "title": title, "status": status.as_u16(), "traceId": uuid::Uuid::new_v4(), "errors": errors}))).into_response()
}

async fn token(State(d): State<CrmDoubles>, Form(f): Form<BTreeMap<String, String>>) -> Response {
    let ok = f.get("grant_type").map(String::as_str) == Some("client_credentials")
        && f.get("client_id").is_some_and(|c| !c.is_empty())
        && f.get("client_secret")
            .is_some_and(|s| !s.is_empty() && !s.starts_with("bad"));
    if !ok {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let token = format!("st-{}", uuid::Uuid::new_v4().simple());
    d.with(|c| c.tokens.push(token.clone()));
    Json(json!({"access_token": token, "expires_in": 900, "token_type": "Bearer", "scope": "tn.crm.customers:rw"})).into_response()
}

fn admit(d: &CrmDoubles, headers: &HeaderMap, tenant: &str) -> Option<Response> {
    let token_ok = bearer(headers).is_some_and(|t| d.with(|c| c.tokens.iter().any(|k| k == t)));
    let key_ok = headers
        .get("st-app-key")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|k| k.starts_with("ak1."));
    if !token_ok || !key_ok {
        return Some(problem(StatusCode::UNAUTHORIZED, "Unauthorized", json!({})));
    }
    if tenant.parse::<i64>().is_err() {
        return Some(problem(
            StatusCode::NOT_FOUND,
            "Tenant not found",
            json!({}),
        ));
    }
    d.gate(V)
}

async fn search(
    State(d): State<CrmDoubles>,
    Path(t): Path<String>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(r) = admit(&d, &headers, &t) {
        return r;
    }
    let phone = q.get("phone").map(|p| national(p));
    let data: Vec<Value> = d
        .records(V)
        .into_iter()
        .filter(|c| {
            phone.as_ref().is_none_or(|p| {
                c["contacts"].as_array().into_iter().flatten().any(|ct| {
                    ct["value"]
                        .as_str()
                        .is_some_and(|v| national(v).contains(p.as_str()))
                })
            })
        })
        .map(|mut c| {
            // Search results carry no contacts; those are their own endpoint.
            c.as_object_mut().map(|o| o.remove("contacts"));
            c
        })
        .collect();
    Json(json!({"page": 1, "pageSize": 50, "hasMore": false, "data": data})).into_response()
}

fn address_ok(a: &Value) -> bool {
    ["street", "city", "state", "zip", "country"]
        .iter()
        .all(|k| a[*k].as_str().is_some_and(|v| !v.is_empty()))
}

async fn create(
    State(d): State<CrmDoubles>,
    Path(t): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers, &t) {
        return r;
    }
    let locations_ok = body["locations"]
        .as_array()
        .is_some_and(|ls| !ls.is_empty() && ls.iter().all(|l| address_ok(&l["address"])));
    if body["name"].as_str().is_none_or(str::is_empty)
        || !address_ok(&body["address"])
        || !locations_ok
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "One or more validation errors occurred.",
            json!({"Address": ["The address is required"]}),
        );
    }
    let mut customer = body.clone();
    customer["id"] = d.new_id(V);
    customer["active"] = json!(true);
    let mut contacts = body["contacts"].as_array().cloned().unwrap_or_default();
    for c in &mut contacts {
        c["id"] = d.new_id(V);
    }
    customer["contacts"] = json!(contacts);
    customer["locations"][0]["id"] = d.new_id(V);
    d.add_record(V, customer.clone());
    Json(customer).into_response()
}

async fn update(
    State(d): State<CrmDoubles>,
    Path((t, id)): Path<(String, i64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers, &t) {
        return r;
    }
    let updated = d.update_record(V, |r| r["id"] == id, &body);
    updated.map_or_else(
        || problem(StatusCode::NOT_FOUND, "Customer not found", json!({})),
        |c| Json(c).into_response(),
    )
}

async fn contacts(
    State(d): State<CrmDoubles>,
    Path((t, id)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = admit(&d, &headers, &t) {
        return r;
    }
    match d.records(V).into_iter().find(|r| r["id"] == id) {
        Some(c) => {
            Json(json!({"page": 1, "pageSize": 50, "hasMore": false, "data": c["contacts"]}))
                .into_response()
        }
        None => problem(StatusCode::NOT_FOUND, "Customer not found", json!({})),
    }
}

async fn note(
    State(d): State<CrmDoubles>,
    Path((t, id)): Path<(String, i64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers, &t) {
        return r;
    }
    if !d.records(V).iter().any(|r| r["id"] == id) {
        return problem(StatusCode::NOT_FOUND, "Customer not found", json!({}));
    }
    let Some(text) = body["text"].as_str().filter(|t| !t.is_empty()) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "One or more validation errors occurred.",
            json!({"Text": ["required"]}),
        );
    };
    d.push_note(
        V,
        json!({"customer": id, "text": text, "isPinned": body["pinToTop"]}),
    );
    Json(json!({"id": d.new_id(V), "text": text, "isPinned": body["pinToTop"], "createdOn": chrono::Utc::now()})).into_response()
}

async fn booking(
    State(d): State<CrmDoubles>,
    Path((t, provider)): Path<(String, i64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers, &t) {
        return r;
    }
    let required = ["source", "name", "summary", "externalId"];
    if required
        .iter()
        .any(|k| body[*k].as_str().is_none_or(str::is_empty))
        || !body["isFirstTimeClient"].is_boolean()
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "One or more validation errors occurred.",
            json!({"Booking": ["source, name, summary, isFirstTimeClient and externalId are required"]}),
        );
    }
    let mut b = body.clone();
    b["id"] = d.new_id(V);
    b["status"] = json!("New");
    b["bookingProviderId"] = json!(provider);
    d.push_note(V, json!({"booking": b}));
    Json(b).into_response()
}

async fn update_booking(
    State(d): State<CrmDoubles>,
    Path((t, _p, id)): Path<(String, i64, i64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = admit(&d, &headers, &t) {
        return r;
    }
    let found = d.with(|c| {
        let b = c
            .notes
            .get_mut(V)?
            .iter_mut()
            .find(|n| n["booking"]["id"] == id)?;
        super::merge(&mut b["booking"], &body);
        Some(b["booking"].clone())
    });
    found.map_or_else(
        || problem(StatusCode::NOT_FOUND, "Booking not found", json!({})),
        |b| Json(b).into_response(),
    )
}
