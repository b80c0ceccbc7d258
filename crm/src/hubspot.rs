//! HubSpot CRM v3 (docs/research/crm-hubspot-gohighlevel.md §1): a private app's or an OAuth
//! access token as `Authorization: Bearer`; contacts searched by the calculated phone
//! properties with the national number (HubSpot drops the country code), created (a name is
//! required, so an unknown caller is "Caller <number>") or patched; the interaction a note
//! associated to the contact (type 202, "note to contact").

use serde_json::{Map, Value, json};

use crate::http::{refused, send};
use crate::{Connection, CrmError, Crms, Known, Pushed};
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
    known: Option<&Known>,
) -> Result<Pushed, CrmError> {
    let found = match known {
        Some(k) => Some(k.remote_id.clone()),
        None => find(crms, c, &r.phone).await?,
    };
    let props = properties(c, r);
    let token = c.secret.expose_secret();
    let (id, created) = if let Some(id) = found {
        let req = crms
            .http
            .patch(url(crms, &format!("/crm/v3/objects/contacts/{id}")))
            .bearer_auth(token)
            .json(&json!({ "properties": props }));
        send(req).await?;
        (id, false)
    } else {
        let mut props = props;
        props.insert("lifecyclestage".into(), "lead".into());
        let req = crms
            .http
            .post(url(crms, "/crm/v3/objects/contacts"))
            .bearer_auth(token)
            .json(&json!({ "properties": props, "associations": [] }));
        match send(req).await {
            Ok(body) => (id_of(&body)?, true),
            // A contact with this email exists already: HubSpot names it in the message.
            Err(CrmError::Refused {
                status: Some(409),
                message,
            }) => (
                existing_id(&message).ok_or_else(|| refused(message))?,
                false,
            ),
            Err(e) => return Err(e),
        }
    };
    note(crms, token, &id, r).await?;
    Ok(Pushed {
        remote_id: id,
        extra: Value::Null,
        created,
    })
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

fn properties(c: &Connection, r: &Record) -> Map<String, Value> {
    let (first, last) = r.first_last();
    let mut p = Map::new();
    p.insert("firstname".into(), first.into());
    p.insert("lastname".into(), last.into());
    p.insert("phone".into(), r.phone.clone().into());
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
