//! The CRMs a business already uses, each reached through its public API at a configurable base
//! URL (the sandbox's doubles in tests and `scripts/dev`), and the generic signed webhook for
//! everything else. One push = find the caller's record (the id we kept, else a search by
//! phone), update it or create it, and append the interaction as a note. docs/INTEGRATIONS.md
//! names the vendor documentation each adapter follows.

pub mod gohighlevel;
pub mod housecall;
mod http;
pub mod hubspot;
pub mod jobber;
pub mod servicetitan;
pub mod webhook;

use std::time::Duration;

use nmc_calendar::OAuthClient;
use nmc_domain::crm::{FieldMap, Record, Vendor};
use secrecy::SecretString;
use serde_json::Value;

/// The adapters' base URLs: the real services unless the environment points them elsewhere.
#[derive(Debug, Clone)]
pub struct Crms {
    pub http: reqwest::Client,
    pub hubspot: String,
    pub gohighlevel: String,
    pub servicetitan: String,
    pub servicetitan_auth: String,
    pub housecall: String,
    pub jobber: String,
    /// HubSpot's and GoHighLevel's OAuth apps ("Connect with …"; a pasted private token works
    /// without them).
    pub hubspot_oauth: OAuthClient,
    pub gohighlevel_oauth: OAuthClient,
    /// Webhooks may go to http:// and private addresses (a development or test deployment,
    /// whose own base URL is http://); otherwise only https:// to public addresses.
    pub webhook_private_ok: bool,
}

impl Crms {
    pub fn from_env(webhook_private_ok: bool) -> Self {
        Self::from_vars(|name| std::env::var(name).ok(), webhook_private_ok)
    }

    pub fn from_vars(var: impl Fn(&str) -> Option<String>, webhook_private_ok: bool) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let env = |name: &str, default: &str| {
            var(name)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_owned())
                .trim_end_matches('/')
                .to_owned()
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            // A webhook's 3xx is a failure (Standard Webhooks), and no vendor redirects its API.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("NeverMissCall/1 (+https://nevermisscall.com)")
            .build()
            .unwrap_or_default();
        Self {
            http,
            hubspot: env("HUBSPOT_API_BASE", "https://api.hubapi.com"),
            gohighlevel: env(
                "GOHIGHLEVEL_API_BASE",
                "https://services.leadconnectorhq.com",
            ),
            servicetitan: env("SERVICETITAN_API_BASE", "https://api.servicetitan.io"),
            servicetitan_auth: env(
                "SERVICETITAN_AUTH_URL",
                "https://auth.servicetitan.io/connect/token",
            ),
            housecall: env("HOUSECALLPRO_API_BASE", "https://api.housecallpro.com"),
            jobber: env("JOBBER_API_BASE", "https://api.getjobber.com"),
            hubspot_oauth: OAuthClient {
                provider: "hubspot",
                authorize_url: env(
                    "HUBSPOT_OAUTH_AUTHORIZE_URL",
                    "https://app.hubspot.com/oauth/authorize",
                ),
                token_url: env(
                    "HUBSPOT_OAUTH_TOKEN_URL",
                    "https://api.hubapi.com/oauth/v1/token",
                ),
                revoke_url: None,
                client_id: var("HUBSPOT_CLIENT_ID").unwrap_or_default(),
                client_secret: var("HUBSPOT_CLIENT_SECRET").unwrap_or_default().into(),
            },
            gohighlevel_oauth: OAuthClient {
                provider: "gohighlevel",
                authorize_url: env(
                    "GOHIGHLEVEL_OAUTH_AUTHORIZE_URL",
                    "https://marketplace.gohighlevel.com/v2/oauth/chooselocation",
                ),
                token_url: env(
                    "GOHIGHLEVEL_OAUTH_TOKEN_URL",
                    "https://services.leadconnectorhq.com/oauth/token",
                ),
                revoke_url: None,
                client_id: var("GOHIGHLEVEL_CLIENT_ID").unwrap_or_default(),
                client_secret: var("GOHIGHLEVEL_CLIENT_SECRET").unwrap_or_default().into(),
            },
            webhook_private_ok,
        }
    }
}

/// One business's connection, opened for a push.
#[derive(Debug, Clone)]
pub struct Connection {
    pub vendor: Vendor,
    /// The API key, token or client secret; the webhook's `whsec_` secret; Jobber's access
    /// token (from the calendar's grant).
    pub secret: SecretString,
    /// The non-secret part (ServiceTitan's tenant, client id and app key; GoHighLevel's
    /// location; the webhook's URL).
    pub settings: Value,
    pub field_map: FieldMap,
}

impl Connection {
    pub(crate) fn setting(&self, key: &str) -> Result<String, CrmError> {
        match &self.settings[key] {
            Value::String(s) if !s.is_empty() => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(CrmError::Refused {
                status: None,
                message: format!("the connection has no {key}"),
            }),
        }
    }
}

/// What we know of the caller in this CRM, filled in as a push goes: kept after a failed
/// attempt too, so the retry updates what this one made instead of making it again.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// The CRM's record for the caller (kept per caller and connection).
    pub remote_id: Option<String>,
    /// Secondary ids (Jobber's requests and Housecall Pro's leads per conversation).
    pub extra: Value,
    /// Whether this push made the record.
    pub created: bool,
}

impl Progress {
    pub fn known(remote_id: Option<String>, extra: Option<Value>) -> Self {
        Self {
            remote_id,
            extra: extra
                .filter(Value::is_object)
                .unwrap_or_else(|| serde_json::json!({})),
            created: false,
        }
    }
}

/// Whether the CRM says the record we kept is gone (deleted or merged there): then the caller
/// is looked up again by phone.
pub(crate) fn gone(e: &CrmError) -> bool {
    match e {
        CrmError::Refused {
            status: Some(404), ..
        } => true,
        // Not an auth refusal ("Authentication credentials not found" is no missing record).
        CrmError::Refused { status, message } => {
            !matches!(status, Some(401 | 403)) && message.to_lowercase().contains("not found")
        }
        CrmError::Retry { .. } => false,
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CrmError {
    /// 429, 5xx, a timeout: try again (after `after` when the vendor said).
    #[error("unavailable ({}): {message}", status.map_or("network".to_owned(), |s| s.to_string()))]
    Retry {
        status: Option<u16>,
        message: String,
        after: Option<Duration>,
    },
    /// The vendor refused for good (bad key, missing permission, invalid data): retrying
    /// will not help; the owner is shown why.
    #[error("refused ({}): {message}", status.map_or("-".to_owned(), |s| s.to_string()))]
    Refused {
        status: Option<u16>,
        message: String,
    },
}

impl CrmError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, CrmError::Retry { .. })
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            CrmError::Retry { status, .. } | CrmError::Refused { status, .. } => *status,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CrmError::Retry { after, .. } => *after,
            CrmError::Refused { .. } => None,
        }
    }
}

impl Crms {
    /// The OAuth app of a CRM that offers one (HubSpot, GoHighLevel).
    pub fn oauth(&self, vendor: Vendor) -> Option<&OAuthClient> {
        match vendor {
            Vendor::HubSpot => Some(&self.hubspot_oauth),
            Vendor::GoHighLevel => Some(&self.gohighlevel_oauth),
            _ => None,
        }
    }

    /// Pushes one interaction, recording in `p` what it found or made. `push_id` is the
    /// webhook's stable message id.
    pub async fn push(
        &self,
        c: &Connection,
        r: &Record,
        p: &mut Progress,
        push_id: uuid::Uuid,
    ) -> Result<(), CrmError> {
        match c.vendor {
            Vendor::HubSpot => hubspot::push(self, c, r, p).await,
            Vendor::GoHighLevel => gohighlevel::push(self, c, r, p).await,
            Vendor::ServiceTitan => servicetitan::push(self, c, r, p).await,
            Vendor::HousecallPro => housecall::push(self, c, r, p).await,
            Vendor::Jobber => jobber::push(self, c, r, p).await,
            Vendor::Webhook => webhook::deliver(self, c, r, push_id).await,
        }
    }

    /// Checks a new connection's credentials with one harmless read (the webhook: its URL).
    pub async fn check(&self, c: &Connection) -> Result<(), CrmError> {
        match c.vendor {
            Vendor::HubSpot => hubspot::check(self, c).await,
            Vendor::GoHighLevel => gohighlevel::check(self, c).await,
            Vendor::ServiceTitan => servicetitan::check(self, c).await,
            Vendor::HousecallPro => housecall::check(self, c).await,
            Vendor::Jobber => jobber::check(self, c).await,
            Vendor::Webhook => webhook::check_url(self, &c.setting("url")?).await,
        }
    }
}
