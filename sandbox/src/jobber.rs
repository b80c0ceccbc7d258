//! Jobber's GraphQL double: the calendar sync's clients and requests (with their visits), and
//! the CRM sync's phone lookup (`clientPhones`, matched on the E.164 `normalizedPhoneNumber`),
//! `clientEdit` and `requestCreateNote`. Mutations answer `userErrors`; an armed fault of 200
//! is Jobber's throttle (`THROTTLED`, nothing run).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::calendars::{CalendarDoubles, Calendars, authorized};

fn throttled() -> Value {
    json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://developer.getjobber.com/docs/using_jobbers_api/api_rate_limits"}}],
           "extensions": {"cost": {"requestedQueryCost": 142, "actualQueryCost": 0, "throttleStatus": {"maximumAvailable": 10000, "currentlyAvailable": 40, "restoreRate": 500}}}})
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The CRM sync's operations; none for the calendar's.
fn crm(c: &mut Calendars, query: &str, vars: &Value) -> Option<Value> {
    if query.contains("clientPhones(") {
        let term = digits(vars["term"].as_str().unwrap_or_default());
        let nodes: Vec<Value> = c
            .jobber_clients
            .iter()
            .flat_map(|(id, client)| {
                let term = term.clone();
                let phones = client["phones"].as_array().cloned().unwrap_or_default();
                phones.into_iter().filter_map(move |p| {
                    let number = p["number"].as_str().unwrap_or_default().to_owned();
                    (!term.is_empty() && digits(&number).contains(&term)).then(|| {
                        let e164 = if number.starts_with('+') { number.clone() } else { format!("+1{}", digits(&number)) };
                        json!({"normalizedPhoneNumber": e164, "client": {"id": id, "isArchived": client["isArchived"].as_bool().unwrap_or(false)}})
                    })
                })
            })
            .collect();
        return Some(json!({"clientPhones": {"nodes": nodes}}));
    }
    if query.contains("clients(first") {
        let nodes: Vec<Value> = c
            .jobber_clients
            .keys()
            .take(1)
            .map(|id| json!({"id": id}))
            .collect();
        return Some(json!({"clients": {"nodes": nodes}}));
    }
    if query.contains("clientEdit(") {
        let id = vars["id"].as_str().unwrap_or_default();
        let Some(client) = c.jobber_clients.get_mut(id) else {
            return Some(
                json!({"clientEdit": {"client": null, "userErrors": [{"message": "Client not found", "path": ["clientId"]}]}}),
            );
        };
        crate::crm::merge(client, &vars["input"]);
        return Some(json!({"clientEdit": {"client": {"id": id}, "userErrors": []}}));
    }
    if query.contains("requestCreateNote(") {
        let id = vars["id"].as_str().unwrap_or_default();
        let message = vars["input"]["message"].as_str().unwrap_or_default();
        if !c.jobber_requests.contains_key(id) || message.is_empty() {
            return Some(
                json!({"requestCreateNote": {"requestNote": null, "userErrors": [{"message": "Request not found or empty message", "path": ["requestId"]}]}}),
            );
        }
        c.jobber_notes
            .push(json!({"request": id, "message": message}));
        return Some(
            json!({"requestCreateNote": {"requestNote": {"id": uuid::Uuid::new_v4().simple().to_string()}, "userErrors": []}}),
        );
    }
    None
}

pub(crate) async fn graphql(
    State(d): State<CalendarDoubles>,
    headers: HeaderMap,
    Json(req): Json<Value>,
) -> Response {
    if !authorized(&d, &headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    if headers.get("x-jobber-graphql-version").is_none() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": [{"message": "X-JOBBER-GRAPHQL-VERSION header is required"}]})),
        )
            .into_response();
    }
    if let Some(f) = d.fault("jobber") {
        // An armed 200 is Jobber's throttle: a GraphQL error, the points short in the cost.
        if f.status() == StatusCode::OK {
            return Json(throttled()).into_response();
        }
        return f;
    }
    let query = req["query"].as_str().unwrap_or_default();
    let vars = &req["variables"];
    let mut c = d.inner.lock().unwrap();
    let new_id = |prefix: &str| format!("{prefix}{}", uuid::Uuid::new_v4().simple());
    let data = if query.contains("appDisconnect") {
        // The token stops working, as Jobber's does once the app is disconnected.
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned();
        c.revoked.push(token);
        json!({"appDisconnect": {"app": {"id": "app-nevermisscall", "name": "NeverMissCall"}, "userErrors": []}})
    } else if let Some(data) = crm(&mut c, query, vars) {
        data
    } else if query.contains("clientCreate(") {
        let id = new_id("Z2lkOi8vSm9iYmVyL0NsaWVudC8");
        c.jobber_clients.insert(id.clone(), vars["input"].clone());
        json!({"clientCreate": {"client": {"id": id}, "userErrors": []}})
    } else if query.contains("requestCreate(") {
        let client = vars
            .pointer("/input/clientId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !c.jobber_clients.contains_key(client) {
            return Json(json!({"data": {"requestCreate": {"request": null, "userErrors": [{"message": "Client not found", "path": ["clientId"]}]}}})).into_response();
        }
        let id = new_id("Z2lkOi8vSm9iYmVyL1JlcXVlc3Qv");
        let mut r = vars["input"].clone();
        r["archived"] = json!(false);
        c.jobber_requests.insert(id.clone(), r);
        json!({"requestCreate": {"request": {"id": id}, "userErrors": []}})
    } else if query.contains("requestEdit(") || query.contains("requestArchive(") {
        let id = vars["requestId"].as_str().unwrap_or_default().to_owned();
        let archive = query.contains("requestArchive(");
        let Some(r) = c.jobber_requests.get_mut(&id) else {
            return Json(json!({"data": null, "errors": [{"message": "Request not found"}]}))
                .into_response();
        };
        if archive {
            r["archived"] = json!(true);
        } else {
            crate::crm::merge(r, &vars["input"]);
        }
        let name = if archive {
            "requestArchive"
        } else {
            "requestEdit"
        };
        json!({name: {"request": {"id": id}, "userErrors": []}})
    } else {
        return Json(json!({"errors": [{"message": "operation not supported by the sandbox"}]}))
            .into_response();
    };
    Json(json!({"data": data})).into_response()
}
