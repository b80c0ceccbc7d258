//! HubSpot CRM v3 (docs/research/crm-hubspot-gohighlevel.md §1): a private app's or an OAuth
//! access token as `Authorization: Bearer`; contacts searched by the calculated phone
//! properties with the national number (HubSpot drops the country code), created (a name is
//! required, so an unknown caller is "Caller <number>") or patched; the interaction a note
//! associated to the contact (type 202, "note to contact").

use serde_json::{Map, Value, json};

use crate::http::{refused, send};
use crate::{Connection, CrmError, Crms, Progress, gone};
use nmc_domain::crm::{Record, national_digits};
use secrecy::ExposeSecret;

fn url(crms: &Crms, path: &str) -> String {
    format!("{}{path}", crms.hubspot)
}

pub async fn check(crms: &Crms, c: &Connection) -> Result<(), CrmError> {
    let req = crms
        .http
        .get(url(crms, "/crm/v3/objects/contacts?limit=1"))
        .bearer_auth(c.secret.expose_secret());
    send(req).await.map(|_| ())
}

pub async fn push(
    crms: &Crms,
    c: &Connection,
    r: &Record,
    p: &mut Progress,
) -> Result<(), CrmError> {
    let id = contact(crms, c, r, p).await?;
    p.remote_id = Some(id.clone());
    note(crms, c.secret.expose_secret(), &id, r).await
}

/// The caller's contact: the one we kept (unless HubSpot lost it), else found by phone, else
/// made.
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
    let mut props = properties(c, r);
    let (first, last) = r.first_last();
    props.insert("firstname".into(), first.into());
    props.insert("lastname".into(), last.into());
    props.insert("phone".into(), r.phone.clone().into());
    props.insert("lifecyclestage".into(), "lead".into());
    let req = crms
        .http
        .post(url(crms, "/crm/v3/objects/contacts"))
        .bearer_auth(c.secret.expose_secret())
        .json(&json!({ "properties": props, "associations": [] }));
    match send(req).await {
        Ok(body) => {
            p.created = true;
            id_of(&body)
        }
        // A contact with this email exists already: HubSpot names it in the message.
        Err(CrmError::Refused {
            status: Some(409),
            message,
        }) => existing_id(&message).ok_or_else(|| refused(message)),
        Err(e) => Err(e),
    }
}

/// What we learnt, onto a contact the business may have curated: the name only when the caller
/// gave one, never the number it was found by.
async fn update(crms: &Crms, c: &Connection, r: &Record, id: &str) -> Result<(), CrmError> {
    let mut props = properties(c, r);
    if r.name.is_some() {
        let (first, last) = r.first_last();
        props.insert("firstname".into(), first.into());
        props.insert("lastname".into(), last.into());
    }
    let req = crms
        .http
        .patch(url(crms, &format!("/crm/v3/objects/contacts/{id}")))
        .bearer_auth(c.secret.expose_secret())
        .json(&json!({ "properties": props }));
    send(req).await.map(|_| ())
}

/// The contact whose phone or mobile is this caller's, oldest first.
async fn find(crms: &Crms, c: &Connection, phone: &str) -> Result<Option<String>, CrmError> {
    let national = national_digits(phone);
    let group =
        |p: &str, v: &str| json!({"filters": [{"propertyName": p, "operator": "EQ", "value": v}]});
    let body = json!({
        "filterGroups": [
            group("hs_searchable_calculated_phone_number", &national),
            group("hs_searchable_calculated_mobile_number", &national),
            group("phone", phone),
        ],
        "properties": ["firstname", "lastname", "phone", "mobilephone"],
        "sorts": [{"propertyName": "createdate", "direction": "ASCENDING"}],
        "limit": 10,
    });
    let req = crms
        .http
        .post(url(crms, "/crm/v3/objects/contacts/search"))
        .bearer_auth(c.secret.expose_secret())
        .json(&body);
    let found = send(req).await?;
    Ok(found["results"][0]["id"].as_str().map(str::to_owned))
}

/// The address and the mapped custom properties (names are the caller's business).
fn properties(c: &Connection, r: &Record) -> Map<String, Value> {
    let mut p = Map::new();
    if let Some(a) = &r.address {
        p.insert("address".into(), a.clone().into());
    }
    for (field, value) in r.mapped(&c.field_map) {
        p.insert(field, value.into());
    }
    p
}

async fn note(crms: &Crms, token: &str, contact: &str, r: &Record) -> Result<(), CrmError> {
    let body = json!({
        "properties": {
            "hs_timestamp": r.last_activity_at.to_rfc3339(),
            "hs_note_body": r.note(),
        },
        "associations": [{
            "to": {"id": contact},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}],
        }],
    });
    let req = crms
        .http
        .post(url(crms, "/crm/v3/objects/notes"))
        .bearer_auth(token)
        .json(&body);
    send(req).await.map(|_| ())
}

fn id_of(body: &Value) -> Result<String, CrmError> {
    body["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| refused("HubSpot answered without an id"))
}

/// "Contact already exists. Existing ID: 12345"
fn existing_id(message: &str) -> Option<String> {
    let id = message.rsplit_once("Existing ID:")?.1.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_conflicts_id_is_read_from_its_message() {
        assert_eq!(
            super::existing_id("Contact already exists. Existing ID: 12345").as_deref(),
            Some("12345")
        );
        assert_eq!(super::existing_id("Contact already exists."), None);
    }
}
