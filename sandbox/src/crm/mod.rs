//! Doubles of the CRMs we push to, each speaking its vendor's HTTP as documented
//! (docs/research/crm-*.md): HubSpot under `/hubspot`, GoHighLevel under `/gohighlevel`,
//! ServiceTitan under `/servicetitan`, Housecall Pro under `/housecall` (Jobber's GraphQL is
//! beside the calendar double, `jobber.rs`). Each checks its vendor's auth, keeps records in
//! memory, searches by phone the vendor's way (HubSpot by national digits and only once a new
//! contact is indexed; ServiceTitan by partial digits), and answers errors and 429s in the
//! vendor's own shape. Faults are armed per vendor: the next `count` requests answer `status`
//! (429s with the vendor's rate-limit headers). Control under `/api/crm` behind the admin token.

mod gohighlevel;
mod housecall;
mod hubspot;
mod servicetitan;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Default)]
pub(crate) struct Crm {
    /// vendor → its records (contacts, customers), each with its `id`.
    records: BTreeMap<String, Vec<Value>>,
    /// vendor → notes, leads and bookings, each naming what it belongs to.
    notes: BTreeMap<String, Vec<Value>>,
    /// vendor → (status, how many more requests answer it).
    faults: BTreeMap<String, (u16, u32)>,
    /// vendor → requests served (faults included).
    requests: BTreeMap<String, u64>,
    /// ServiceTitan access tokens issued.
    tokens: Vec<String>,
    next_id: i64,
}

#[derive(Clone, Default)]
pub struct CrmDoubles {
    inner: Arc<Mutex<Crm>>,
}

impl CrmDoubles {
    pub fn router(&self) -> Router {
        hubspot::router()
            .merge(gohighlevel::router())
            .merge(servicetitan::router())
            .merge(housecall::router())
            .with_state(self.clone())
    }

    pub fn control_router(&self) -> Router {
        Router::new()
            .route("/api/crm", get(inspect).delete(reset))
            .route("/api/crm/faults", post(arm_fault))
            .with_state(self.clone())
    }

    /// The vendor's records (contacts, customers).
    pub fn records(&self, vendor: &str) -> Vec<Value> {
        self.inner
            .lock()
            .unwrap()
            .records
            .get(vendor)
            .cloned()
            .unwrap_or_default()
    }

    /// The vendor's notes, leads and bookings.
    pub fn notes(&self, vendor: &str) -> Vec<Value> {
        self.inner
            .lock()
            .unwrap()
            .notes
            .get(vendor)
            .cloned()
            .unwrap_or_default()
    }

    /// The next `count` requests to the vendor answer `status`.
    pub fn fail(&self, vendor: &str, status: u16, count: u32) {
        self.inner
            .lock()
            .unwrap()
            .faults
            .insert(vendor.to_owned(), (status, count));
    }

    pub fn requests(&self, vendor: &str) -> u64 {
        self.inner
            .lock()
            .unwrap()
            .requests
            .get(vendor)
            .copied()
            .unwrap_or(0)
    }

    /// Adds a record as if the business had entered it in the CRM; returns its id.
    pub fn seed(&self, vendor: &str, mut record: Value) -> String {
        let id = self.new_id(vendor);
        record["id"] = id.clone();
        record["searchable"] = json!(true);
        self.add_record(vendor, record);
        id.as_str().map_or_else(|| id.to_string(), str::to_owned)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Crm) -> T) -> T {
        f(&mut self.inner.lock().unwrap())
    }

    /// A new id in the vendor's style.
    fn new_id(&self, vendor: &str) -> Value {
        let n = self.with(|c| {
            c.next_id += 1;
            c.next_id
        });
        match vendor {
            "hubspot" => json!((100_400 + n).to_string()),
            "servicetitan" => json!(5_000_000 + n),
            "housecall" => json!(format!(
                "cus_{}",
                &uuid::Uuid::new_v4().simple().to_string()[..24]
            )),
            _ => json!(uuid::Uuid::new_v4().simple().to_string()[..20].to_owned()),
        }
    }

    /// Counts the request, and answers an armed fault in the vendor's shape.
    fn gate(&self, vendor: &str) -> Option<Response> {
        let status = self.with(|c| {
            *c.requests.entry(vendor.to_owned()).or_default() += 1;
            let (status, left) = c.faults.get_mut(vendor)?;
            if *left == 0 {
                return None;
            }
            *left -= 1;
            Some(*status)
        })?;
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        Some(fault_response(vendor, code))
    }

    /// Merges `changes` into the vendor's record that `is_it` picks; the record as it now is.
    fn update_record(
        &self,
        vendor: &str,
        is_it: impl Fn(&Value) -> bool,
        changes: &Value,
    ) -> Option<Value> {
        self.with(|c| {
            let record = c.records.get_mut(vendor)?.iter_mut().find(|r| is_it(r))?;
            merge(record, changes);
            Some(record.clone())
        })
    }

    fn add_record(&self, vendor: &str, record: Value) {
        self.with(|c| c.records.entry(vendor.to_owned()).or_default().push(record));
    }

    fn push_note(&self, vendor: &str, note: Value) {
        self.with(|c| c.notes.entry(vendor.to_owned()).or_default().push(note));
    }
}

fn fault_response(vendor: &str, code: StatusCode) -> Response {
    let limited = code == StatusCode::TOO_MANY_REQUESTS;
    let body = match vendor {
        "hubspot" if limited => {
            json!({"status": "error", "message": "You have reached your ten_secondly_rolling limit.", "errorType": "RATE_LIMIT", "correlationId": uuid::Uuid::new_v4(), "policyName": "TEN_SECONDLY_ROLLING"})
        }
        "hubspot" => {
            json!({"status": "error", "message": "internal error", "category": "INTERNAL_ERROR", "correlationId": uuid::Uuid::new_v4()})
        }
        "gohighlevel" => {
            json!({"statusCode": code.as_u16(), "message": code.canonical_reason().unwrap_or("error"), "traceId": uuid::Uuid::new_v4()})
        }
        "servicetitan" => {
            json!({"type": "https://tools.ietf.org/html/rfc7231", "title": code.canonical_reason().unwrap_or("error"), "status": code.as_u16(), "traceId": uuid::Uuid::new_v4()})
        }
        _ => json!({"message": code.canonical_reason().unwrap_or("error")}),
    };
    let mut r = (code, Json(body)).into_response();
    if limited {
        let h = r.headers_mut();
        match vendor {
            "hubspot" => {
                h.insert("x-hubspot-ratelimit-max", "100".parse().unwrap());
                h.insert("x-hubspot-ratelimit-remaining", "0".parse().unwrap());
                h.insert(
                    "x-hubspot-ratelimit-interval-milliseconds",
                    "10000".parse().unwrap(),
                );
            }
            "gohighlevel" => {
                h.insert("x-ratelimit-max", "100".parse().unwrap());
                h.insert("x-ratelimit-remaining", "0".parse().unwrap());
                h.insert(
                    "x-ratelimit-interval-milliseconds",
                    "10000".parse().unwrap(),
                );
            }
            _ => {
                h.insert("retry-after", "1".parse().unwrap());
            }
        }
    }
    r
}

/// A partial update as the doubles apply it: each field sent replaces the stored one.
pub(crate) fn merge(target: &mut Value, changes: &Value) {
    if let (Some(o), Some(ch)) = (target.as_object_mut(), changes.as_object()) {
        for (k, v) in ch {
            o.insert(k.clone(), v.clone());
        }
    }
}

/// Digits only, without a leading North American 1.
pub(crate) fn national(phone: &str) -> String {
    let d: String = phone.chars().filter(char::is_ascii_digit).collect();
    match d.strip_prefix('1') {
        Some(rest) if rest.len() == 10 => rest.to_owned(),
        _ => d,
    }
}

pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

async fn inspect(State(d): State<CrmDoubles>) -> Json<Value> {
    d.with(|c| Json(json!({"records": c.records, "notes": c.notes, "requests": c.requests})))
}

async fn reset(State(d): State<CrmDoubles>) -> StatusCode {
    d.with(|c| *c = Crm::default());
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Fault {
    vendor: String,
    status: u16,
    count: u32,
}

async fn arm_fault(State(d): State<CrmDoubles>, Json(f): Json<Fault>) -> StatusCode {
    d.fail(&f.vendor, f.status, f.count);
    StatusCode::NO_CONTENT
}
