//! Jobber's GraphQL API for clients and requests (docs/research/crm-jobber-webhooks.md §1),
//! beside the calendar sync (calendar/src/jobber.rs), with the same grant: the caller is found
//! through `clientPhones` and its E.164 `normalizedPhoneNumber` (clients have no phone filter),
//! renamed with `clientEdit` or made with `clientCreate`; each conversation is one request
//! (`requestCreate`, titled) and every push about it a `requestCreateNote`. Validation comes back
//! as `userErrors` (refused); a `THROTTLED` error says how long the points take to refill.

use std::time::Duration;

use serde_json::{Value, json};

use crate::http::{refused, send};
use crate::{Connection, CrmError, Crms, Progress, gone};
use nmc_domain::crm::{Record, UsAddress, national_digits};
use secrecy::ExposeSecret;

/// The version the calendar sync pins too (calendar/src/jobber.rs).
const API_VERSION: &str = "2025-01-20";

async fn call(
    crms: &Crms,
    c: &Connection,
    query: &str,
    variables: Value,
) -> Result<Value, CrmError> {
    let req = crms
        .http
        .post(format!("{}/api/graphql", crms.jobber))
        .bearer_auth(c.secret.expose_secret())
        .header("X-JOBBER-GRAPHQL-VERSION", API_VERSION)
        .json(&json!({"query": query, "variables": variables}));
    let body = send(req).await?;
    if let Some(errors) = body["errors"].as_array().filter(|e| !e.is_empty()) {
        let message = errors
            .iter()
            .filter_map(|e| e["message"].as_str())
            .collect::<Vec<_>>()
            .join("; ");
        if errors
            .iter()
            .any(|e| e["extensions"]["code"] == "THROTTLED")
        {
            let cost = &body["extensions"]["cost"];
            let short = cost["requestedQueryCost"].as_f64().unwrap_or(0.0)
                - cost["throttleStatus"]["currentlyAvailable"]
                    .as_f64()
                    .unwrap_or(0.0);
            let rate = cost["throttleStatus"]["restoreRate"]
                .as_f64()
                .unwrap_or(500.0)
                .max(1.0);
            let secs = (short / rate).ceil().clamp(1.0, 60.0);
            return Err(CrmError::Retry {
                status: Some(200),
                message,
                after: Some(Duration::from_secs_f64(secs)),
            });
        }
        return Err(CrmError::Refused {
            status: Some(200),
            message,
        });
    }
    let data = body["data"].clone();
    let user_errors: Vec<&str> = data
        .as_object()
        .into_iter()
        .flat_map(|o| o.values())
        .filter_map(|p| p["userErrors"].as_array())
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .collect();
    if !user_errors.is_empty() {
        return Err(CrmError::Refused {
            status: Some(200),
            message: user_errors.join("; "),
        });
    }
    Ok(data)
}

pub async fn check(crms: &Crms, c: &Connection) -> Result<(), CrmError> {
    call(
        crms,
        c,
        "query { clients(first: 1) { nodes { id } } }",
        json!({}),
    )
    .await
    .map(|_| ())
}

pub async fn push(
    crms: &Crms,
    c: &Connection,
    r: &Record,
    p: &mut Progress,
) -> Result<(), CrmError> {
    let client = client(crms, c, r, p).await?;
    p.remote_id = Some(client.clone());
    let conversation = r
        .conversation_id
        .map_or_else(|| "manual".to_owned(), |c| c.to_string());
    let request = if let Some(id) = p.extra["requests"][&conversation].as_str() {
        id.to_owned()
    } else {
        let q = "mutation($input: RequestCreateInput!) { requestCreate(input: $input) { request { id } userErrors { message path } } }";
        let made = call(
            crms,
            c,
            q,
            json!({"input": {"clientId": client, "title": r.title()}}),
        )
        .await?;
        let id = made["requestCreate"]["request"]["id"]
            .as_str()
            .ok_or_else(|| refused("Jobber made no request"))?
            .to_owned();
        p.extra["requests"][&conversation] = id.clone().into();
        id
    };
    let q = "mutation($id: EncodedId!, $input: RequestCreateNoteInput!) { requestCreateNote(requestId: $id, input: $input) { requestNote { id } userErrors { message path } } }";
    call(
        crms,
        c,
        q,
        json!({"id": request, "input": {"message": r.note()}}),
    )
    .await
    .map(|_| ())
}

/// The client we kept (unless Jobber lost it), else found by phone, else made.
async fn client(
    crms: &Crms,
    c: &Connection,
    r: &Record,
    p: &mut Progress,
) -> Result<String, CrmError> {
    if let Some(id) = p.remote_id.clone() {
        match edit(crms, c, &id, r).await {
            Err(e) if gone(&e) => p.extra = json!({}),
            other => return other.map(|()| id),
        }
    }
    if let Some(id) = find(crms, c, &r.phone).await? {
        edit(crms, c, &id, r).await?;
        return Ok(id);
    }
    let id = create(crms, c, r).await?;
    p.created = true;
    Ok(id)
}

async fn find(crms: &Crms, c: &Connection, phone: &str) -> Result<Option<String>, CrmError> {
    let q = "query($term: String!) { clientPhones(searchTerm: $term, first: 10) { nodes { normalizedPhoneNumber client { id isArchived } } } }";
    let data = call(crms, c, q, json!({"term": national_digits(phone)})).await?;
    let nodes = data["clientPhones"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mine = |n: &&Value| n["normalizedPhoneNumber"] == phone;
    let pick = nodes
        .iter()
        .filter(mine)
        .find(|n| n["client"]["isArchived"] != true)
        .or_else(|| nodes.iter().find(mine));
    Ok(pick.and_then(|n| n["client"]["id"].as_str().map(str::to_owned)))
}

fn custom(c: &Connection, r: &Record) -> Value {
    r.mapped(&c.field_map)
        .into_iter()
        .map(|(config, value)| json!({"customFieldConfigurationId": config, "valueText": value}))
        .collect()
}

/// The name only when the caller gave one, and the mapped fields.
async fn edit(crms: &Crms, c: &Connection, id: &str, r: &Record) -> Result<(), CrmError> {
    let mut input = json!({"customFields": custom(c, r)});
    if r.name.is_some() {
        let (first, last) = r.first_last();
        input["firstName"] = first.into();
        input["lastName"] = last.into();
    }
    let q = "mutation($id: EncodedId!, $input: ClientEditInput!) { clientEdit(clientId: $id, input: $input) { client { id } userErrors { message path } } }";
    call(crms, c, q, json!({"id": id, "input": input}))
        .await
        .map(|_| ())
}

async fn create(crms: &Crms, c: &Connection, r: &Record) -> Result<String, CrmError> {
    let (first, last) = r.first_last();
    let mut input = json!({
        "firstName": first,
        "lastName": last,
        "phones": [{"number": r.phone, "description": "MAIN", "primary": true, "smsAllowed": false}],
        "customFields": custom(c, r),
    });
    if let Some(a) = r.address.as_deref().and_then(UsAddress::parse) {
        input["properties"] = json!([{"address": {"street1": a.street, "city": a.city, "province": a.state, "postalCode": a.zip, "country": "US"}}]);
    }
    let q = "mutation($input: ClientCreateInput!) { clientCreate(input: $input) { client { id } userErrors { message path } } }";
    let made = call(crms, c, q, json!({"input": input})).await?;
    made["clientCreate"]["client"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| refused("Jobber made no client"))
}
