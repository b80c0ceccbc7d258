//! The business's calendars. Thin HTTP clients for exactly the endpoints we call (base URLs are
//! configurable so tests and the sandbox point them at local doubles), and the iCalendar feed.

pub mod google;
pub mod ics;
pub mod jobber;
pub mod oauth;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The calendar adapters, with their base URLs: the real services unless the environment
/// points them elsewhere (`scripts/dev` and the tests use the sandbox's doubles).
#[derive(Debug, Clone)]
pub struct Calendars {
    pub google: google::GoogleCalendar,
    pub google_oauth: OAuthClient,
    pub jobber: jobber::Jobber,
    pub jobber_oauth: OAuthClient,
}

impl Calendars {
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The adapters from a variable lookup (the environment, or a test's list).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        // reqwest is built without a default TLS provider (as in nmc-twilio): install ring once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let env = |name: &str, default: &str| {
            var(name)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        Self {
            google: google::GoogleCalendar {
                http: http.clone(),
                api_base: env(
                    "GOOGLE_CALENDAR_API_BASE",
                    "https://www.googleapis.com/calendar/v3",
                )
                .trim_end_matches('/')
                .to_owned(),
            },
            google_oauth: OAuthClient {
                provider: "google",
                authorize_url: env(
                    "GOOGLE_OAUTH_AUTHORIZE_URL",
                    "https://accounts.google.com/o/oauth2/v2/auth",
                ),
                token_url: env(
                    "GOOGLE_OAUTH_TOKEN_URL",
                    "https://oauth2.googleapis.com/token",
                ),
                revoke_url: Some(env(
                    "GOOGLE_OAUTH_REVOKE_URL",
                    "https://oauth2.googleapis.com/revoke",
                )),
                client_id: env("GOOGLE_CLIENT_ID", ""),
                client_secret: env("GOOGLE_CLIENT_SECRET", "").into(),
            },
            jobber: jobber::Jobber {
                http,
                api_base: env("JOBBER_API_BASE", "https://api.getjobber.com")
                    .trim_end_matches('/')
                    .to_owned(),
            },
            jobber_oauth: OAuthClient {
                provider: "jobber",
                authorize_url: env(
                    "JOBBER_OAUTH_AUTHORIZE_URL",
                    "https://api.getjobber.com/api/oauth/authorize",
                ),
                // Jobber has no revoke endpoint: disconnecting is its `appDisconnect` mutation.
                revoke_url: None,
                token_url: env(
                    "JOBBER_OAUTH_TOKEN_URL",
                    "https://api.getjobber.com/api/oauth/token",
                ),
                client_id: env("JOBBER_CLIENT_ID", ""),
                client_secret: env("JOBBER_CLIENT_SECRET", "").into(),
            },
        }
    }

    pub fn oauth(&self, provider: &str) -> &OAuthClient {
        if provider == "google" {
            &self.google_oauth
        } else {
            &self.jobber_oauth
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The calendar refused for good (bad token, deleted calendar): retrying will not help.
    #[error("{provider} refused ({status}): {message}")]
    Refused {
        provider: &'static str,
        status: u16,
        message: String,
    },
    /// 429/5xx/network: retried with backoff.
    #[error("{provider} unavailable: {message}")]
    Unavailable {
        provider: &'static str,
        message: String,
    },
}

impl CalendarError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, CalendarError::Unavailable { .. })
    }

    pub(crate) fn from_status(
        provider: &'static str,
        status: reqwest::StatusCode,
        body: String,
    ) -> Self {
        let message = body.chars().take(300).collect();
        if status.as_u16() == 429 || status.is_server_error() {
            CalendarError::Unavailable { provider, message }
        } else {
            CalendarError::Refused {
                provider,
                status: status.as_u16(),
                message,
            }
        }
    }

    pub(crate) fn network(provider: &'static str, e: reqwest::Error) -> Self {
        CalendarError::Unavailable {
            provider,
            message: e.to_string(),
        }
    }
}

/// What a calendar shows for one appointment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalendarEvent {
    pub appointment_id: uuid::Uuid,
    pub title: String,
    pub description: String,
    pub location: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub timezone: String,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub cancelled: bool,
    pub version: i32,
}

/// OAuth tokens after a refresh or a code exchange.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// What Google granted (the owner may untick scopes).
    #[serde(default)]
    pub scope: Option<String>,
    /// GoHighLevel's sub-account the grant is for.
    #[serde(default, rename = "locationId")]
    pub location_id: Option<String>,
}

/// One OAuth 2.0 token endpoint (Google's and Jobber's work the same way).
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub provider: &'static str,
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
    pub client_id: String,
    /// Debug prints `[REDACTED]`: `Calendars` is in app state and worker config.
    pub client_secret: SecretString,
}

impl OAuthClient {
    pub async fn refresh(
        &self,
        http: &reqwest::Client,
        refresh_token: &str,
    ) -> Result<Tokens, CalendarError> {
        self.token_request(
            http,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    pub async fn exchange_code(
        &self,
        http: &reqwest::Client,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<Tokens, CalendarError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(v) = code_verifier {
            form.push(("code_verifier", v));
        }

        self.token_request(http, &form).await
    }

    async fn token_request(
        &self,
        http: &reqwest::Client,
        params: &[(&str, &str)],
    ) -> Result<Tokens, CalendarError> {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        // GoHighLevel issues (and renews) a sub-account's token only when asked for one.
        if self.provider == "gohighlevel" {
            form.push(("user_type", "Location"));
        }
        form.push(("client_id", &self.client_id));
        form.push(("client_secret", self.client_secret.expose_secret()));
        let body = form_body(&form);
        let resp = http
            .post(&self.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| CalendarError::network(self.provider, e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(CalendarError::from_status(
                self.provider,
                status,
                resp.text().await.unwrap_or_default(),
            ));
        }
        resp.json()
            .await
            .map_err(|e| CalendarError::network(self.provider, e))
    }
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
