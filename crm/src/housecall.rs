//! Housecall Pro public API v1 (docs/research/crm-servicetitan-housecallpro.md §2): the
//! company's API key as `Authorization: Token`; customers searched with `q` (name, email,
//! mobile, address) and each hit's numbers compared with the caller's, since the matching is
//! not documented; a new caller created with notifications off (Housecall Pro must not text
//! them too); each interaction a Lead carrying the note. Housecall Pro has no notes on leads or
//! customers after the fact, so a later push about the same conversation puts the latest note
//! in the customer's `notes` field. Its API takes no custom fields on customers.

use serde_json::json;

use crate::http::{refused, send};
use crate::{Connection, CrmError, Crms, Known, Pushed};
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
    known: Option<&Known>,
) -> Result<Pushed, CrmError> {
    let found = match known {
        Some(k) => Some(k.remote_id.clone()),
        None => find(crms, c, &r.phone).await?,
    };
    let (first, last) = r.first_last();
    let (id, created) = match found {
        Some(id) => {
            if r.name.is_some() {
                let body = json!({"first_name": first, "last_name": last});
                let path = format!("/customers/{id}");
                send(request(crms, c, reqwest::Method::PUT, &path).json(&body)).await?;
            }
            (id, false)
        }
        None => (create(crms, c, r).await?, true),
    };
    let mut extra = known.map(|k| k.extra.clone()).unwrap_or_else(|| json!({}));
    let conversation = r.conversation_id.map(|c| c.to_string()).unwrap_or_default();
    if extra["leads"][&conversation].is_string() {
        let body = json!({"first_name": first, "last_name": last, "notes": r.note()});
        send(request(crms, c, reqwest::Method::PUT, &format!("/customers/{id}")).json(&body))
            .await?;
    } else {
        let body = json!({
            "customer_id": id,
            "lead_source": "NeverMissCall",
            "note": r.note(),
            "tags": ["missed-call"],
        });
        let lead = send(request(crms, c, reqwest::Method::POST, "/leads").json(&body)).await?;
        if let (Some(lead_id), false) = (lead["id"].as_str(), conversation.is_empty()) {
            extra["leads"][&conversation] = lead_id.into();
        }
    }
    Ok(Pushed {
        remote_id: id,
        extra,
        created,
    })
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
