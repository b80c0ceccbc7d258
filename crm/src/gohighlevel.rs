//! GoHighLevel / LeadConnector API v2 (docs/research/crm-hubspot-gohighlevel.md §2): a
//! sub-account's Private Integration Token or OAuth token as `Authorization: Bearer`, with
//! `Version: 2021-07-28` on every call; the caller found through the duplicate-contact lookup
//! (E.164, URL-encoded) rather than `/contacts/search`, whose phone filter misses exact numbers
//! (the API docs' issue #289); created with `source` and a `missed-call` tag, or updated; the
//! interaction a note on the contact.

use serde_json::{Map, Value, json};

use crate::http::{refused, send};
use crate::{Connection, CrmError, Crms, Progress, gone};
use nmc_domain::crm::Record;
use secrecy::ExposeSecret;

pub const VERSION: &str = "2021-07-28";

fn request(
    crms: &Crms,
    c: &Connection,
    method: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    crms.http
        .request(method, format!("{}{path}", crms.gohighlevel))
        .bearer_auth(c.secret.expose_secret())
        .header("Version", VERSION)
        .header("Accept", "application/json")
}

pub async fn check(crms: &Crms, c: &Connection) -> Result<(), CrmError> {
    find(crms, c, "+10000000000").await.map(|_| ())
}

pub async fn push(
    crms: &Crms,
    c: &Connection,
    r: &Record,
    p: &mut Progress,
) -> Result<(), CrmError> {
    let id = contact(crms, c, r, p).await?;
    p.remote_id = Some(id.clone());
    let req = request(
        crms,
        c,
        reqwest::Method::POST,
        &format!("/contacts/{id}/notes"),
    )
    .json(&json!({ "body": r.note() }));
    send(req).await.map(|_| ())
}

/// The contact we kept (unless it is gone), else the location's duplicate match, else a new one.
async fn contact(
    crms: &Crms,
    c: &Connection,
    r: &Record,
    p: &mut Progress,
) -> Result<String, CrmError> {
    if let Some(id) = p.remote_id.clone() {
        match update(crms, c, r, &id).await {
            Err(e) if gone(&e) => {}
            other => return other.map(|()| id),
        }
    }
    if let Some(id) = find(crms, c, &r.phone).await? {
        update(crms, c, r, &id).await?;
        return Ok(id);
    }
    let mut fields = fields(c, r);
    let (first, last) = r.first_last();
    fields.insert("firstName".into(), first.into());
    fields.insert("lastName".into(), last.into());
    fields.insert("locationId".into(), c.setting("location_id")?.into());
    fields.insert("phone".into(), r.phone.clone().into());
    fields.insert("source".into(), "NeverMissCall".into());
    fields.insert("tags".into(), json!(["missed-call"]));
    let req = request(crms, c, reqwest::Method::POST, "/contacts/").json(&fields);
    match send(req).await {
        Ok(body) => {
            p.created = true;
            contact_id(&body)
        }
        Err(CrmError::Refused {
            status: Some(400),
            message,
        }) if message.contains("duplicated") => Err(refused(format!(
            "{message} (the duplicate lookup did not find it; check the location's duplicate setting)"
        ))),
        Err(e) => Err(e),
    }
}

/// The name only when the caller gave one (a contact the business named stays named).
async fn update(crms: &Crms, c: &Connection, r: &Record, id: &str) -> Result<(), CrmError> {
    let mut fields = fields(c, r);
    if r.name.is_some() {
        let (first, last) = r.first_last();
        fields.insert("firstName".into(), first.into());
        fields.insert("lastName".into(), last.into());
    }
    let req = request(crms, c, reqwest::Method::PUT, &format!("/contacts/{id}")).json(&fields);
    send(req).await.map(|_| ())
}

/// `GET /contacts/search/duplicate?locationId=…&number=%2B1…`: `{"contact": {...}}` or none.
async fn find(crms: &Crms, c: &Connection, phone: &str) -> Result<Option<String>, CrmError> {
    let location = c.setting("location_id")?;
    let path = format!(
        "/contacts/search/duplicate?locationId={}&number={}",
        url::form_urlencoded::byte_serialize(location.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(phone.as_bytes()).collect::<String>(),
    );
    let body = send(request(crms, c, reqwest::Method::GET, &path)).await?;
    Ok(body["contact"]["id"].as_str().map(str::to_owned))
}

/// The address and the mapped custom fields.
fn fields(c: &Connection, r: &Record) -> Map<String, Value> {
    let mut f = Map::new();
    if let Some(a) = &r.address {
        f.insert("address1".into(), a.clone().into());
    }
    let custom: Vec<Value> = r
        .mapped(&c.field_map)
        .into_iter()
        .map(|(key, value)| json!({"key": key, "field_value": value}))
        .collect();
    if !custom.is_empty() {
        f.insert("customFields".into(), custom.into());
    }
    f
}

fn contact_id(body: &Value) -> Result<String, CrmError> {
    body["contact"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| refused("GoHighLevel answered without a contact id"))
}
