//! The one way every adapter talks HTTP: send, then sort the answer into data, "try again"
//! (429, 423, 5xx, network) or "refused" (any other 4xx), with the vendor's own words.

use std::time::Duration;

use serde_json::Value;

use crate::CrmError;

/// Sends and reads the JSON answer (an empty body is `null`).
pub(crate) async fn send(req: reqwest::RequestBuilder) -> Result<Value, CrmError> {
    let resp = req.send().await.map_err(|e| CrmError::Retry {
        status: None,
        message: without_url(&e),
        after: None,
    })?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = resp.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let message = message_of(&body).unwrap_or_else(|| text.chars().take(200).collect());
    if status == 429 || status == 423 || status >= 500 {
        // HubSpot's daily allowance comes back at midnight: no use knocking every few seconds.
        let daily = body["policyName"] == "DAILY";
        return Err(CrmError::Retry {
            status: Some(status),
            message,
            after: retry_after.or(daily.then(|| Duration::from_hours(1))),
        });
    }
    Err(CrmError::Refused {
        status: Some(status),
        message,
    })
}

/// The vendor's words from the error shapes they use: `message` (a string, or NestJS's array),
/// `error.message` (Housecall Pro), RFC 7807's `title` (ServiceTitan), `errors[].message`.
pub(crate) fn message_of(body: &Value) -> Option<String> {
    let m = match &body["message"] {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        _ => None,
    };
    m.or_else(|| body["error"]["message"].as_str().map(str::to_owned))
        .or_else(|| body["title"].as_str().map(str::to_owned))
        .or_else(|| body["errors"][0]["message"].as_str().map(str::to_owned))
        .map(|m| m.chars().take(300).collect())
}

/// reqwest's error text names the URL, which may carry a webhook's secret path or a query.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    kind.to_owned()
}

pub(crate) fn refused(message: impl Into<String>) -> CrmError {
    CrmError::Refused {
        status: None,
        message: message.into(),
    }
}
