//! Jobber's GraphQL API: the caller becomes a client, the booking a request with its assessment
//! visit. Every call is one POST to `/api/graphql` with a bearer token and the API version header.

use serde_json::{Value, json};

use crate::{CalendarError, CalendarEvent};

const P: &str = "jobber";
pub const API_VERSION: &str = "2025-01-20";

#[derive(Debug, Clone)]
pub struct Jobber {
    pub http: reqwest::Client,
    /// `https://api.getjobber.com` in production.
    pub api_base: String,
}

/// What we keep to find the request again: `client_id/request_id`.
pub fn external_id(client_id: &str, request_id: &str) -> String {
    format!("{client_id}/{request_id}")
}

impl Jobber {
    /// Removes our app from the owner's Jobber account (Jobber has no token revoke endpoint;
    /// its docs' app lifecycle names this mutation).
    pub async fn disconnect(&self, token: &str) -> Result<(), CalendarError> {
        self.call(
            token,
            "mutation { appDisconnect { app { id name } userErrors { message path } } }",
            json!({}),
        )
        .await
        .map(|_| ())
    }

    async fn call(
        &self,
        token: &str,
        query: &str,
        variables: Value,
    ) -> Result<Value, CalendarError> {
        let resp = self
            .http
            .post(format!("{}/api/graphql", self.api_base))
            .bearer_auth(token)
            .header("X-JOBBER-GRAPHQL-VERSION", API_VERSION)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .map_err(|e| CalendarError::network(P, e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(CalendarError::from_status(
                P,
                status,
                resp.text().await.unwrap_or_default(),
            ));
        }
        let body: Value = resp
            .json()
            .await
            .map_err(|e| CalendarError::network(P, e))?;
        if let Some(errors) = body
            .get("errors")
            .and_then(Value::as_array)
            .filter(|e| !e.is_empty())
        {
            let throttled = errors.iter().any(|e| {
                e.pointer("/extensions/code").and_then(Value::as_str) == Some("THROTTLED")
            });
            let message = errors
                .iter()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(if throttled {
                CalendarError::Unavailable {
                    provider: P,
                    message,
                }
            } else {
                CalendarError::Refused {
                    provider: P,
                    status: 200,
                    message,
                }
            });
        }
        let data = body.get("data").cloned().unwrap_or(Value::Null);
        // Mutations report validation problems as userErrors next to the payload.
        let user_errors: Vec<String> = data
            .as_object()
            .into_iter()
            .flat_map(|o| o.values())
            .filter_map(|payload| payload.get("userErrors").and_then(Value::as_array))
            .flatten()
            .filter_map(|e| e.get("message").and_then(Value::as_str).map(str::to_owned))
            .collect();
        if !user_errors.is_empty() {
            return Err(CalendarError::Refused {
                provider: P,
                status: 200,
                message: user_errors.join("; "),
            });
        }
        Ok(data)
    }

    /// Creates the client and request the first time; then keeps the request's visit in step,
    /// and archives it when the appointment is cancelled. Returns the external id.
    pub async fn push(
        &self,
        token: &str,
        e: &CalendarEvent,
        known: Option<&str>,
    ) -> Result<String, CalendarError> {
        let schedule = json!({"startAt": e.start.to_rfc3339(), "endAt": e.end.to_rfc3339()});
        let Some((client_id, request_id)) = known.and_then(|k| k.split_once('/')) else {
            if e.cancelled {
                return Ok(String::new());
            }
            let (first, last) = split_name(e.customer_name.as_deref().unwrap_or("Caller"));
            let data = self
                .call(
                    token,
                    "mutation ClientCreate($input: ClientCreateInput!) { clientCreate(input: $input) { client { id } userErrors { message path } } }",
                    json!({"input": {"firstName": first, "lastName": last, "phones": e.customer_phone.iter().map(|p| json!({"number": p, "primary": true})).collect::<Vec<_>>(),
                                     "properties": e.location.iter().map(|a| json!({"address": {"street1": a}})).collect::<Vec<_>>()}}),
                )
                .await?;
            let client_id = str_at(&data, "/clientCreate/client/id")?;
            let data = self
                .call(
                    token,
                    "mutation RequestCreate($input: RequestCreateInput!) { requestCreate(input: $input) { request { id } userErrors { message path } } }",
                    json!({"input": {"clientId": client_id, "title": e.title, "assessment": {"instructions": e.description, "schedule": schedule}}}),
                )
                .await?;
            let request_id = str_at(&data, "/requestCreate/request/id")?;
            return Ok(external_id(&client_id, &request_id));
        };
        if e.cancelled {
            self.call(
                token,
                "mutation RequestArchive($requestId: EncodedId!) { requestArchive(requestId: $requestId) { request { id } userErrors { message path } } }",
                json!({"requestId": request_id}),
            )
            .await?;
        } else {
            self.call(
                token,
                "mutation RequestEdit($requestId: EncodedId!, $input: RequestEditInput!) { requestEdit(requestId: $requestId, input: $input) { request { id } userErrors { message path } } }",
                json!({"requestId": request_id, "input": {"title": e.title, "assessment": {"instructions": e.description, "schedule": schedule}}}),
            )
            .await?;
        }
        Ok(external_id(client_id, request_id))
    }
}

fn split_name(name: &str) -> (String, String) {
    match name.trim().rsplit_once(' ') {
        Some((first, last)) => (first.to_owned(), last.to_owned()),
        None => (name.trim().to_owned(), String::new()),
    }
}

fn str_at(data: &Value, pointer: &str) -> Result<String, CalendarError> {
    data.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| CalendarError::Refused {
            provider: P,
            status: 200,
            message: format!("answer has no {pointer}"),
        })
}
