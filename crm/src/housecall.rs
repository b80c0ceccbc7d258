//! Housecall Pro public API v1 (docs/research/crm-servicetitan-housecallpro.md §2): the
//! company's API key as `Authorization: Token`; customers searched with `q` (name, email,
//! mobile, address) and each hit's numbers compared with the caller's, since the matching is
//! not documented; a new caller created with notifications off (Housecall Pro must not text
//! them too); each interaction a Lead carrying the note. Housecall Pro has no notes on leads or
//! customers after the fact, so a later push about the same conversation puts the latest note
//! in the customer's `notes` field. Its API takes no custom fields on customers.

use serde_json::json;

use crate::http::{refused, send};
use crate::{Connection, CrmError, Crms, Progress, gone};
use nmc_domain::crm::{Record, UsAddress, national_digits, same_phone};
use secrecy::ExposeSecret;

fn request(
    crms: &Crms,
    c: &Connection,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    crms.http
        .request(method, format!("{}{path}", crms.housecall))
        .header(
            "Authorization",
            format!("Token {}", c.secret.expose_secret()),
        )
        .header("Accept", "application/json")
}

pub async fn check(crms: &Crms, c: &Connection) -> Result<(), CrmError> {
    send(request(
        crms,
        c,
        reqwest::Method::GET,
        "/customers?page=1&page_size=1",
    ))
    .await
    .map(|_| ())
}

pub async fn push(
    crms: &Crms,
    c: &Connection,
    r: &Record,
    p: &mut Progress,
) -> Result<(), CrmError> {
    let id = customer(crms, c, r, p).await?;
    p.remote_id = Some(id.clone());
    let conversation = r.conversation_id.map(|c| c.to_string()).unwrap_or_default();
    if p.extra["leads"][&conversation].is_string() {
        // This conversation has its lead, and leads take no notes later: the latest goes on
        // the customer's notes.
        let mut body = names(r);
        body["notes"] = r.note().into();
        let path = format!("/customers/{id}");
        return send(request(crms, c, reqwest::Method::PUT, &path).json(&body))
            .await
            .map(|_| ());
    }
    let body = json!({
        "customer_id": id,
        "lead_source": "NeverMissCall",
        "note": r.note(),
        "tags": ["missed-call"],
    });
    let lead = send(request(crms, c, reqwest::Method::POST, "/leads").json(&body)).await?;
    if let (Some(lead_id), false) = (lead["id"].as_str(), conversation.is_empty()) {
        p.extra["leads"][&conversation] = lead_id.into();
    }
    Ok(())
}

/// The names, only when the caller gave one (a customer the business named stays named).
fn names(r: &Record) -> serde_json::Value {
    if r.name.is_none() {
        return json!({});
    }
    let (first, last) = r.first_last();
    json!({"first_name": first, "last_name": last})
}

/// The customer we kept (unless it is gone), else one whose number is the caller's, else new.
async fn customer(
    crms: &Crms,
    c: &Connection,
    r: &Record,
    p: &mut Progress,
) -> Result<String, CrmError> {
    let update = |id: String| async move {
        let path = format!("/customers/{id}");
        send(request(crms, c, reqwest::Method::PUT, &path).json(&names(r)))
            .await
            .map(|_| id)
    };
    if let Some(id) = p.remote_id.clone() {
        match update(id).await {
            Err(e) if gone(&e) => {}
            other => return other,
        }
    }
    if let Some(id) = find(crms, c, &r.phone).await? {
        return update(id).await;
    }
    let id = create(crms, c, r).await?;
    p.created = true;
    Ok(id)
}

async fn find(crms: &Crms, c: &Connection, phone: &str) -> Result<Option<String>, CrmError> {
    let path = format!(
        "/customers?q={}&page=1&page_size=25",
        national_digits(phone)
    );
    let found = send(request(crms, c, reqwest::Method::GET, &path)).await?;
    Ok(found["customers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|cu| {
            ["mobile_number", "home_number", "work_number"]
                .iter()
                .any(|k| cu[*k].as_str().is_some_and(|v| same_phone(v, phone)))
        })
        .and_then(|cu| cu["id"].as_str().map(str::to_owned)))
}

async fn create(crms: &Crms, c: &Connection, r: &Record) -> Result<String, CrmError> {
    let (first, last) = r.first_last();
    let mut body = json!({
        "first_name": first,
        "last_name": last,
        "mobile_number": national_digits(&r.phone),
        "notifications_enabled": false,
        "lead_source": "NeverMissCall",
        "tags": ["missed-call"],
    });
    if let Some(a) = r.address.as_deref().and_then(UsAddress::parse) {
        body["addresses"] = json!([{"street": a.street, "city": a.city, "state": a.state, "zip": a.zip, "country": "US"}]);
    }
    let made = send(request(crms, c, reqwest::Method::POST, "/customers").json(&body)).await?;
    made["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| refused("Housecall Pro answered without a customer id"))
}
