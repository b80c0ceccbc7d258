//! Vapi's public REST API (https://api.vapi.ai, its published OpenAPI spec `VapiAI/docs`
//! `fern/apis/api/openapi.json`; notes in docs/research/vapi.md): a key check, assistants kept
//! in sync, and the free Vapi SIP numbers a Twilio `<Dial><Sip>` hands calls to. Errors come in
//! NestJS's shape (`{"message", "error", "statusCode"}`); 408, 429 and 5xx are retried twice for
//! the idempotent methods, honouring `Retry-After`, as Vapi's own SDK does.
//!
//! - `assistant.rs`: the assistant we keep for a business (its JSON);
//! - `events.rs`: what Vapi posts to our server URL, and how we answer.

pub mod assistant;
pub mod events;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

pub use assistant::AssistantSpec;

#[derive(Debug, thiserror::Error)]
pub enum VapiError {
    /// 401: the key is missing, wrong, or a public key.
    #[error("Vapi refused the API key")]
    BadKey,
    /// Any other 4xx: Vapi's own words (a validation error lists each field).
    #[error("Vapi refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    /// 5xx, rate limits past the retries, or no answer.
    #[error("Vapi is unavailable: {0}")]
    Unavailable(String),
}

/// A Vapi account's API, reached with its private key.
#[derive(Clone, Debug)]
pub struct VapiClient {
    http: reqwest::Client,
    base: String,
}

/// One of Vapi's voices with its sample, from the voice library.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
pub struct VoiceSample {
    pub name: String,
    #[serde(rename = "previewUrl")]
    pub preview_url: Option<String>,
}

const ATTEMPTS: u32 = 3;

impl VapiClient {
    /// `base`: `VAPI_API_BASE` (`https://api.vapi.ai`; `https://api.eu.vapi.ai` in the EU).
    pub fn new(base: &str) -> Self {
        // reqwest's rustls comes without a crypto provider here: ring, as everywhere else.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("a reqwest client");
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The SIP host for this region (`sip.vapi.ai`, or `sip.eu.vapi.ai` for the EU API).
    pub fn sip_host(&self) -> &'static str {
        if self.base.contains(".eu.vapi.ai") {
            "sip.eu.vapi.ai"
        } else {
            "sip.vapi.ai"
        }
    }

    /// Vapi's documented key test: listing (one) assistant changes nothing; 401 is a bad key.
    pub async fn check_key(&self, key: &str) -> Result<(), VapiError> {
        self.call(key, Method::GET, "/assistant?limit=1", None)
            .await
            .map(|_| ())
    }

    /// `POST /assistant` (201); returns its id.
    pub async fn create_assistant(
        &self,
        key: &str,
        spec: &AssistantSpec,
    ) -> Result<String, VapiError> {
        let made = self
            .call(key, Method::POST, "/assistant", Some(spec.to_json()))
            .await?;
        id_of(&made)
    }

    /// `PATCH /assistant/{id}` with the whole spec: Vapi then holds exactly our settings.
    pub async fn update_assistant(
        &self,
        key: &str,
        id: &str,
        spec: &AssistantSpec,
    ) -> Result<(), VapiError> {
        let path = format!("/assistant/{}", path_segment(id)?);
        self.call(key, Method::PATCH, &path, Some(spec.to_json()))
            .await
            .map(|_| ())
    }

    /// `POST /phone-number` with `provider: vapi`: a free SIP number that rings the assistant,
    /// answering only INVITEs with these digest credentials (`authentication`; Vapi takes
    /// 20 to 40 characters for each).
    pub async fn create_sip_number(
        &self,
        key: &str,
        sip_uri: &str,
        assistant_id: &str,
        name: &str,
        (username, password): (&str, &str),
    ) -> Result<String, VapiError> {
        let body = json!({
            "provider": "vapi",
            "sipUri": sip_uri,
            "assistantId": assistant_id,
            "name": name.chars().take(40).collect::<String>(),
            "authentication": {"username": username, "password": password},
        });
        let made = self
            .call(key, Method::POST, "/phone-number", Some(body))
            .await?;
        id_of(&made)
    }

    /// Deletes an assistant or a phone number (`kind`: `assistant` or `phone-number`); one
    /// already gone (404) counts as deleted.
    pub async fn delete(&self, key: &str, kind: &str, id: &str) -> Result<(), VapiError> {
        let path = format!("/{kind}/{}", path_segment(id)?);
        match self.call(key, Method::DELETE, &path, None).await {
            Ok(_) | Err(VapiError::Refused { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Vapi's voices with their samples (`GET /voice-library/vapi`). Not in Vapi's published
    /// spec today, so callers fall back to the documented list when it fails.
    pub async fn voice_samples(&self, key: &str) -> Result<Vec<VoiceSample>, VapiError> {
        let listed = self
            .call(key, Method::GET, "/voice-library/vapi?limit=100", None)
            .await?;
        serde_json::from_value(listed).map_err(|e| VapiError::Unavailable(e.to_string()))
    }

    async fn call(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, VapiError> {
        // POST creates: a retry after a lost answer could create twice, so it is not retried.
        let attempts = if method == Method::POST { 1 } else { ATTEMPTS };
        let mut last = VapiError::Unavailable("no attempt".into());
        for attempt in 0..attempts {
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(key);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    last = VapiError::Unavailable(e.without_url().to_string());
                    backoff(attempt, None).await;
                    continue;
                }
            };
            let status = resp.status();
            let wait = retry_after(&resp);
            let text = resp.text().await.unwrap_or_default();
            if status.is_success() {
                return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
            }
            last = error_of(status, &text);
            if !matches!(last, VapiError::Unavailable(_)) {
                return Err(last);
            }
            if attempt + 1 < attempts {
                backoff(attempt, wait).await;
            }
        }
        Err(last)
    }
}

fn id_of(made: &Value) -> Result<String, VapiError> {
    made["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| VapiError::Unavailable("Vapi's answer has no id".into()))
}

/// Ids go into a URL path: Vapi's are UUIDs, so anything else is refused here.
fn path_segment(id: &str) -> Result<&str, VapiError> {
    if !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(id)
    } else {
        Err(VapiError::Refused {
            status: 400,
            message: "not a Vapi id".into(),
        })
    }
}

/// NestJS's error body: `message` is a string, or a list for validation errors.
fn error_of(status: StatusCode, body: &str) -> VapiError {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = match &parsed["message"] {
        Value::String(s) => s.clone(),
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    match status.as_u16() {
        401 => VapiError::BadKey,
        408 | 429 => VapiError::Unavailable(format!("{status}: {message}")),
        s if s >= 500 => VapiError::Unavailable(format!("{status}: {message}")),
        s => VapiError::Refused { status: s, message },
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(10)))
}

/// 1 s, then 2 s (Vapi's SDK starts at 1 s and doubles), or what Retry-After asks, at most 10 s.
async fn backoff(attempt: u32, asked: Option<Duration>) {
    let wait = asked.unwrap_or_else(|| Duration::from_secs(1 << attempt.min(3)));
    tokio::time::sleep(wait).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nestjs_errors_are_read_in_both_shapes() {
        let e = error_of(
            StatusCode::BAD_REQUEST,
            r#"{"message":["property serverUrl should not exist"],"error":"Bad Request","statusCode":400}"#,
        );
        assert!(
            matches!(&e, VapiError::Refused { status: 400, message } if message == "property serverUrl should not exist"),
            "{e:?}"
        );
        let e = error_of(
            StatusCode::UNAUTHORIZED,
            r#"{"message":"Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa.","error":"Unauthorized","statusCode":401}"#,
        );
        assert!(matches!(e, VapiError::BadKey));
        assert!(matches!(
            error_of(StatusCode::TOO_MANY_REQUESTS, ""),
            VapiError::Unavailable(_)
        ));
    }

    #[test]
    fn ids_in_paths_are_checked() {
        assert!(path_segment("3f1c0b5e-2a7d-4c1e-9f00-1b2c3d4e5f60").is_ok());
        assert!(path_segment("../org").is_err());
        assert!(path_segment("").is_err());
    }

    #[test]
    fn the_sip_host_follows_the_region() {
        assert_eq!(
            VapiClient::new("https://api.vapi.ai").sip_host(),
            "sip.vapi.ai"
        );
        assert_eq!(
            VapiClient::new("https://api.eu.vapi.ai/").sip_host(),
            "sip.eu.vapi.ai"
        );
    }
}
