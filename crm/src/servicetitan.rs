//! ServiceTitan v2 (docs/research/crm-servicetitan-housecallpro.md §1): an OAuth client-
//! credentials token (15 minutes; fetched per push, well inside 60 calls a second) plus the
//! `ST-App-Key` header, the tenant in the path. A known customer is found by phone, renamed
//! when we learnt a name, and gets the interaction as a pinned note. A new caller with a US
//! address ("street, city, ST 12345") becomes a customer with that location; without one,
//! ServiceTitan cannot take a customer (the address is required), so the caller becomes a
//! Booking, the object ServiceTitan made for inbound enquiries (it waits on the Calls screen
//! for a CSR to accept), under the booking provider the tenant set up for us.

use serde_json::{Value, json};

use crate::http::{refused, send};
use crate::{Connection, CrmError, Crms, Progress, gone};
use nmc_domain::crm::{Record, UsAddress, national_digits, same_phone};
use secrecy::ExposeSecret;

struct Session<'a> {
    crms: &'a Crms,
    token: String,
    app_key: String,
    tenant: String,
}

impl Session<'_> {
    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.crms
            .http
            .request(
                method,
                format!("{}/{path}", self.crms.servicetitan).replace("{t}", &self.tenant),
            )
            .bearer_auth(&self.token)
            .header("ST-App-Key", &self.app_key)
    }
}

async fn session<'a>(crms: &'a Crms, c: &Connection) -> Result<Session<'a>, CrmError> {
    let form = [
        ("grant_type", "client_credentials".to_owned()),
        ("client_id", c.setting("client_id")?),
        ("client_secret", c.secret.expose_secret().to_owned()),
    ];
    let body = form
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    let req = crms
        .http
        .post(&crms.servicetitan_auth)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    let token = send(req).await?["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| refused("ServiceTitan gave no access token"))?;
    let tenant = c.setting("tenant_id")?;
    if !tenant.chars().all(|ch| ch.is_ascii_digit()) {
        return Err(refused("the tenant id is a number"));
    }
    Ok(Session {
        crms,
        token,
        app_key: c.setting("app_key")?,
        tenant,
    })
}

pub async fn check(crms: &Crms, c: &Connection) -> Result<(), CrmError> {
    let s = session(crms, c).await?;
    send(s.req(
        reqwest::Method::GET,
        "crm/v2/tenant/{t}/customers?pageSize=1",
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
    let s = session(crms, c).await?;
    let kept = p.remote_id.clone();
    if let Some(id) = kept.as_deref().filter(|k| !k.starts_with("booking/")) {
        match customer_note(&s, c, r, id).await {
            Err(e) if gone(&e) => {}
            other => return other,
        }
    }
    // A booking we made earlier may have become a customer since: look again by phone.
    if let Some(id) = find(&s, &r.phone).await? {
        p.remote_id = Some(id.clone());
        return customer_note(&s, c, r, &id).await;
    }
    if let Some(booking) = kept.as_deref().and_then(|k| k.strip_prefix("booking/")) {
        let path = format!(
            "crm/v2/tenant/{{t}}/booking-provider/{}/bookings/{booking}",
            c.setting("booking_provider")?
        );
        let body = json!({"name": r.display_name(), "summary": r.note()});
        match send(s.req(reqwest::Method::PATCH, &path).json(&body)).await {
            Err(e) if gone(&e) => {}
            other => return other.map(|_| ()),
        }
    }
    match r.address.as_deref().and_then(UsAddress::parse) {
        Some(address) => create_customer(&s, c, r, &address_json(&address), p).await,
        None => create_booking(&s, c, r, p).await,
    }
}

/// What we learnt onto the customer (the name only when the caller gave one), and the
/// interaction as a pinned note.
async fn customer_note(
    s: &Session<'_>,
    c: &Connection,
    r: &Record,
    id: &str,
) -> Result<(), CrmError> {
    let mut body = json!({"customFields": custom(c, r)});
    if r.name.is_some() {
        body["name"] = r.display_name().into();
    }
    let path = format!("crm/v2/tenant/{{t}}/customers/{id}");
    send(s.req(reqwest::Method::PATCH, &path).json(&body)).await?;
    let path = format!("crm/v2/tenant/{{t}}/customers/{id}/notes");
    let note = json!({"text": r.note(), "pinToTop": true, "addToLocations": false});
    send(s.req(reqwest::Method::POST, &path).json(&note))
        .await
        .map(|_| ())
}

/// `GET …/customers?phone=` (ten digits), each hit checked against its contacts: the filter's
/// matching is not documented.
async fn find(s: &Session<'_>, phone: &str) -> Result<Option<String>, CrmError> {
    let path = format!(
        "crm/v2/tenant/{{t}}/customers?phone={}&active=Any&pageSize=50",
        national_digits(phone)
    );
    let found = send(s.req(reqwest::Method::GET, &path)).await?;
    let ids: Vec<String> = found["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_i64().map(|i| i.to_string()))
        .take(5)
        .collect();
    for id in ids {
        let path = format!("crm/v2/tenant/{{t}}/customers/{id}/contacts");
        let contacts = send(s.req(reqwest::Method::GET, &path)).await?;
        let matches = contacts["data"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|ct| ct["value"].as_str().is_some_and(|v| same_phone(v, phone)));
        if matches {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

fn contacts(r: &Record) -> Value {
    json!([{"type": "MobilePhone", "value": national_digits(&r.phone), "memo": "NeverMissCall caller"}])
}

fn custom(c: &Connection, r: &Record) -> Value {
    r.mapped(&c.field_map)
        .into_iter()
        .filter_map(|(type_id, value)| {
            type_id
                .parse::<i64>()
                .ok()
                .map(|t| json!({"typeId": t, "value": value}))
        })
        .collect()
}

async fn create_customer(
    s: &Session<'_>,
    c: &Connection,
    r: &Record,
    address: &Value,
    p: &mut Progress,
) -> Result<(), CrmError> {
    let body = json!({
        "name": r.display_name(),
        "type": "Residential",
        "address": address,
        "contacts": contacts(r),
        "locations": [{"name": r.display_name(), "address": address, "contacts": contacts(r)}],
        "customFields": custom(c, r),
    });
    let made = send(
        s.req(reqwest::Method::POST, "crm/v2/tenant/{t}/customers")
            .json(&body),
    )
    .await?;
    let id = made["id"]
        .as_i64()
        .ok_or_else(|| refused("ServiceTitan answered without a customer id"))?
        .to_string();
    p.remote_id = Some(id.clone());
    p.extra["location_id"] = made["locations"][0]["id"].clone();
    p.created = true;
    let path = format!("crm/v2/tenant/{{t}}/customers/{id}/notes");
    let note = json!({"text": r.note(), "pinToTop": true, "addToLocations": false});
    send(s.req(reqwest::Method::POST, &path).json(&note))
        .await
        .map(|_| ())
}

async fn create_booking(
    s: &Session<'_>,
    c: &Connection,
    r: &Record,
    p: &mut Progress,
) -> Result<(), CrmError> {
    let path = format!(
        "crm/v2/tenant/{{t}}/booking-provider/{}/bookings",
        c.setting("booking_provider")?
    );
    let body = json!({
        "source": "NeverMissCall",
        "name": r.display_name(),
        "summary": r.note(),
        "isFirstTimeClient": true,
        "externalId": format!("nmc-{}", r.lead_id.simple()),
        "contacts": contacts(r),
        "priority": if r.urgency.as_deref() == Some("emergency") { "Urgent" } else { "Normal" },
    });
    let made = send(s.req(reqwest::Method::POST, &path).json(&body)).await?;
    let id = made["id"]
        .as_i64()
        .ok_or_else(|| refused("ServiceTitan answered without a booking id"))?;
    p.remote_id = Some(format!("booking/{id}"));
    p.created = true;
    Ok(())
}

/// ServiceTitan's address shape.
fn address_json(a: &UsAddress) -> Value {
    json!({"street": a.street, "city": a.city, "state": a.state, "zip": a.zip, "country": "USA"})
}
