//! Configuration, from environment variables only (documented in the README). Secrets are
//! `SecretString`s: their `Debug` prints `[REDACTED]`, and each use says `expose_secret()`.

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    /// Migrations run over this URL (the role that owns the schema) when set; over `database_url`
    /// otherwise. Lets the services connect as a role that owns nothing (docs/DEPLOY.md).
    pub database_migrate_url: Option<String>,
    /// Connections this process may hold (`NMC_DATABASE_POOL_SIZE`, 16 by default): the sum over
    /// every process must stay under the server's `max_connections`.
    pub database_pool_size: u32,
    pub temporal_address: String,
    pub temporal_namespace: String,
    pub task_queue: String,
    pub bind: SocketAddr,
    /// The URL Twilio uses to reach us, without a trailing slash; signatures are computed over it.
    pub public_base_url: String,
    pub twilio_api_base: String,
    /// Serve the built-in Twilio sandbox at `/sandbox` and the dev phone: only with `NMC_SANDBOX=1`.
    pub sandbox: bool,
    pub admin_token: SecretString,
    pub secret_key: SecretString,
    /// Signs owner access tokens; derived from the secret key when unset.
    pub jwt_secret: Option<SecretString>,
    /// The platform's own Twilio account, for buying numbers (`TWILIO_ACCOUNT_SID` / `TWILIO_AUTH_TOKEN`);
    /// the sandbox's when unset.
    pub platform_twilio: Option<(String, SecretString)>,
    pub conversation_idle_secs: u64,
    pub max_body_bytes: usize,
    /// The header our reverse proxy writes the client's address into (`NMC_TRUSTED_PROXY_HEADER`,
    /// lower-cased), for the per-address limits; unset, the socket peer is the client and no
    /// header is believed.
    pub trusted_proxy_header: Option<String>,
    /// Where Slack incoming webhooks live (`NMC_SLACK_WEBHOOK_BASE`): an owner's URL must start
    /// with it, so the worker never posts alerts to an address of the owner's choosing.
    pub slack_webhook_base: String,
    /// Push services a browser's subscription may point at (`NMC_PUSH_SERVICES`, origins,
    /// `*.` for a domain's hosts): the worker posts only there.
    pub push_services: Vec<String>,
    /// The VAPID key (`NMC_VAPID_PRIVATE_KEY`, 32 bytes base64url); generated once and stored
    /// sealed when unset.
    pub vapid_private_key: Option<SecretString>,
    /// The countries whose phones owners and businesses may have (`NMC_PHONE_COUNTRIES`, ISO
    /// codes, `US,CA` by default).
    pub phone_countries: Vec<String>,
    /// The platform's own number on its Twilio account (`NMC_PLATFORM_NUMBER`): test calls come
    /// from it and one-time codes are texted from it. The sandbox has one built in.
    pub platform_number: Option<String>,
    /// Stripe billing; `None` (no `STRIPE_SECRET_KEY`): billing is off and nobody is billed.
    pub billing: Option<Billing>,
    /// Recordings and uploaded greetings (`NMC_STORAGE_URL`; local disk by default), shared
    /// with the worker.
    pub storage: nmc_storage::Storage,
    /// Places addresses for service-area radii (`NMC_GEOCODER_URL`, Nominatim's API); none
    /// by default, and then an area is ZIP codes and cities only.
    pub geocoder: Option<nmc_geocode::Settings>,
    /// Google's Places API for "find my business" in the review settings
    /// (`GOOGLE_PLACES_API_KEY`, at `GOOGLE_PLACES_API_BASE`); none: the owner pastes a Place ID.
    pub google_places: Option<(String, SecretString)>,
    /// Vapi's API for the AI voice agent (`VAPI_API_BASE`, `https://api.vapi.ai`; the
    /// sandbox's double with `NMC_SANDBOX=1`).
    pub vapi_api_base: String,
}

/// Stripe: one plan (`STRIPE_PRICE_ID`), a trial, and the webhook's signing secret.
#[derive(Clone)]
pub struct Billing {
    /// `STRIPE_API_BASE` (`https://api.stripe.com`).
    pub api_base: String,
    pub secret_key: SecretString,
    pub price_id: String,
    pub webhook_secret: SecretString,
    /// `NMC_TRIAL_DAYS` (14).
    pub trial_days: u32,
    /// `NMC_PAST_DUE_GRACE_DAYS` (14, Stripe's recommended retry window): a declined card keeps
    /// texting this long.
    pub grace_days: u32,
}

/// The built-in sandbox's platform number.
pub const SANDBOX_PLATFORM_NUMBER: &str = "+15005550001";

/// The push services of the browsers we support (Chrome and Edge on Android and desktop use
/// FCM or WNS, Firefox Mozilla's autopush, Safari Apple's).
pub const PUSH_SERVICES: &str = "https://fcm.googleapis.com,https://updates.push.services.mozilla.com,https://web.push.apple.com,https://*.notify.windows.com";

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("temporal_address", &self.temporal_address)
            .field("temporal_namespace", &self.temporal_namespace)
            .field("task_queue", &self.task_queue)
            .field("bind", &self.bind)
            .field("public_base_url", &self.public_base_url)
            .field("twilio_api_base", &self.twilio_api_base)
            .field("sandbox", &self.sandbox)
            .finish_non_exhaustive()
    }
}

/// Real Twilio: where the API buys numbers when neither TWILIO_API_BASE nor the sandbox is set.
pub const TWILIO_API: &str = "https://api.twilio.com";

pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// An on/off switch: `1`/`true` or `0`/`false` (unset or empty is off); anything else is a mistake
/// worth stopping for, since a typo must not silently leave the sandbox on or off.
pub fn flag(name: &str, value: Option<&str>) -> anyhow::Result<bool> {
    match value.unwrap_or_default() {
        "1" | "true" => Ok(true),
        "" | "0" | "false" => Ok(false),
        other => anyhow::bail!("{name} must be 1, true, 0 or false (got {other:?})"),
    }
}

/// Why the sandbox may not serve on `bind`, if it may not: it hands out every tenant's texts to
/// whoever reaches it, so only loopback unless the second flag says otherwise.
pub fn sandbox_bind_problem(
    sandbox: bool,
    allow_public: bool,
    bind: &SocketAddr,
) -> Option<String> {
    (sandbox && !allow_public && !bind.ip().is_loopback()).then(|| {
        format!(
            "NMC_SANDBOX=1 serves a fake carrier whose API can read every business's texts, and NMC_BIND={bind} is not a \
             loopback address. Bind 127.0.0.1, or set NMC_SANDBOX_ALLOW_PUBLIC=1 if this host is private (never in production)."
        )
    })
}

/// A header name, or a stop: a typo here would silently limit every client as one.
fn proxy_header(value: Option<String>) -> anyhow::Result<Option<String>> {
    let Some(name) = value.map(|v| v.trim().to_ascii_lowercase()) else {
        return Ok(None);
    };
    axum::http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| anyhow::anyhow!("NMC_TRUSTED_PROXY_HEADER {name:?} is not a header name"))?;
    Ok(Some(name))
}

impl Config {
    /// Why `phone` is refused, when it is outside the countries the platform serves.
    pub fn unserved(&self, phone: &nmc_domain::E164) -> Option<String> {
        (!nmc_domain::country::served(phone, &self.phone_countries)).then(|| {
            format!(
                "a number in {} (the countries we serve)",
                self.phone_countries.join(" or ")
            )
        })
    }

    /// The account numbers are bought on: its sid and (exposed, for the carrier's API) token.
    pub fn platform_twilio(&self) -> (String, String) {
        match &self.platform_twilio {
            Some((sid, token)) => (sid.clone(), token.expose_secret().to_owned()),
            None => (
                "AC00000000000000000000000000000000".into(),
                "sandbox-auth-token".into(),
            ),
        }
    }

    /// The number test calls and codes come from, with the account it belongs to; `None` when
    /// neither a real platform account nor the sandbox is configured (no default credentials
    /// ever sign a webhook we believe).
    pub fn platform_caller(&self) -> Option<(String, (String, String))> {
        if self.platform_twilio.is_none() && !self.sandbox {
            return None;
        }
        Some((self.platform_number.clone()?, self.platform_twilio()))
    }

    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The configuration from a variable lookup (the environment, or a test's map).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let or = |name: &str, default: &str| get(name).unwrap_or_else(|| default.to_owned());
        let required = |name: &str| get(name).ok_or_else(|| anyhow::anyhow!("{name} must be set"));
        let bind: SocketAddr = or("NMC_BIND", "127.0.0.1:8080").parse()?;
        let public_base_url = or("PUBLIC_BASE_URL", &format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        let geocoder = get("NMC_GEOCODER_URL").map(|url| nmc_geocode::Settings {
            url,
            user_agent: or(
                "NMC_GEOCODER_USER_AGENT",
                &format!("NeverMissCall/0.1 (+{public_base_url})"),
            ),
            countries: Some(or("NMC_GEOCODER_COUNTRIES", "us")),
        });
        let sandbox = flag("NMC_SANDBOX", get("NMC_SANDBOX").as_deref())?;
        let allow_public = flag(
            "NMC_SANDBOX_ALLOW_PUBLIC",
            get("NMC_SANDBOX_ALLOW_PUBLIC").as_deref(),
        )?;
        if let Some(problem) = sandbox_bind_problem(sandbox, allow_public, &bind) {
            anyhow::bail!(problem);
        }
        // The built-in account's token is in the source: off loopback it would sign anyone's STOPs.
        if sandbox && allow_public && get("TWILIO_AUTH_TOKEN").is_none() {
            anyhow::bail!(
                "NMC_SANDBOX_ALLOW_PUBLIC=1 needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (a private sandbox account): the built-in default token is public"
            );
        }
        // Never the sandbox by accident: without the flag, an unset base means real Twilio.
        let twilio_api_base = get("TWILIO_API_BASE").unwrap_or_else(|| {
            if sandbox {
                format!("{public_base_url}/sandbox")
            } else {
                TWILIO_API.to_owned()
            }
        });
        let vapi_api_base = get("VAPI_API_BASE").unwrap_or_else(|| {
            if sandbox {
                format!("{public_base_url}/sandbox/vapi")
            } else {
                "https://api.vapi.ai".to_owned()
            }
        });
        Ok(Self {
            vapi_api_base,
            database_url: required("DATABASE_URL")?,
            database_migrate_url: get("DATABASE_MIGRATE_URL"),
            database_pool_size: or("NMC_DATABASE_POOL_SIZE", "16").parse()?,
            temporal_address: or("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
            temporal_namespace: or("TEMPORAL_NAMESPACE", "default"),
            task_queue: or("TEMPORAL_TASK_QUEUE", "nmc-conversations"),
            bind,
            twilio_api_base,
            public_base_url,
            sandbox,
            admin_token: required("NMC_ADMIN_TOKEN")?.into(),
            secret_key: required("NMC_SECRET_KEY")?.into(),
            jwt_secret: get("NMC_JWT_SECRET").map(SecretString::from),
            platform_twilio: get("TWILIO_ACCOUNT_SID")
                .zip(get("TWILIO_AUTH_TOKEN").map(SecretString::from)),
            conversation_idle_secs: or("NMC_CONVERSATION_IDLE_SECS", "172800").parse()?,
            max_body_bytes: or("NMC_MAX_BODY_BYTES", "65536").parse()?,
            trusted_proxy_header: proxy_header(get("NMC_TRUSTED_PROXY_HEADER"))?,
            slack_webhook_base: or(
                "NMC_SLACK_WEBHOOK_BASE",
                "https://hooks.slack.com/services/",
            ),
            push_services: or("NMC_PUSH_SERVICES", PUSH_SERVICES)
                .split(',')
                .map(|s| s.trim().trim_end_matches('/').to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            vapid_private_key: get("NMC_VAPID_PRIVATE_KEY").map(SecretString::from),
            phone_countries: or("NMC_PHONE_COUNTRIES", "US,CA")
                .split(',')
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty())
                .collect(),
            platform_number: platform_number(get("NMC_PLATFORM_NUMBER"), sandbox)?,
            billing: billing(&get)?,
            geocoder,
            google_places: get("GOOGLE_PLACES_API_KEY").map(|key| {
                (
                    or("GOOGLE_PLACES_API_BASE", "https://places.googleapis.com"),
                    SecretString::from(key),
                )
            }),
            storage: nmc_storage::Storage::from_vars(get, std::path::Path::new("data/objects"))?,
        })
    }
}

/// Billing is on when `STRIPE_SECRET_KEY` is set, and then needs its price and webhook secret:
/// never a webhook we cannot verify.
fn billing(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<Billing>> {
    let Some(key) = get("STRIPE_SECRET_KEY") else {
        return Ok(None);
    };
    let need = |name: &str| {
        get(name).ok_or_else(|| anyhow::anyhow!("{name} must be set with STRIPE_SECRET_KEY"))
    };
    Ok(Some(Billing {
        api_base: get("STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into()),
        secret_key: key.into(),
        price_id: need("STRIPE_PRICE_ID")?,
        webhook_secret: need("STRIPE_WEBHOOK_SECRET")?.into(),
        trial_days: get("NMC_TRIAL_DAYS").map_or(Ok(14), |d| d.parse())?,
        grace_days: get("NMC_PAST_DUE_GRACE_DAYS").map_or(Ok(14), |d| d.parse())?,
    }))
}

fn platform_number(set: Option<String>, sandbox: bool) -> anyhow::Result<Option<String>> {
    match set {
        Some(n) => Ok(Some(
            nmc_domain::E164::parse(&n)
                .map_err(|e| anyhow::anyhow!("NMC_PLATFORM_NUMBER: {e}"))?
                .as_str()
                .to_owned(),
        )),
        None => Ok(sandbox.then(|| SANDBOX_PLATFORM_NUMBER.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_secret() {
        let vars = [
            ("DATABASE_URL", "postgres://nmc:db-password@db/nmc"),
            ("NMC_ADMIN_TOKEN", "admin-token-value"),
            ("NMC_SECRET_KEY", "secret-key-value"),
            ("NMC_JWT_SECRET", "jwt-secret-value"),
            ("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000001"),
            ("TWILIO_AUTH_TOKEN", "twilio-token-value"),
            ("STRIPE_SECRET_KEY", "sk_test_stripe-key-value"),
            ("STRIPE_PRICE_ID", "price_standard"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_stripe-webhook-value"),
        ];
        let config = Config::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let printed = format!("{config:?}");
        for secret in [
            "db-password",
            "admin-token-value",
            "secret-key-value",
            "jwt-secret-value",
            "twilio-token-value",
            "stripe-key-value",
            "stripe-webhook-value",
        ] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert_eq!(config.platform_twilio().1, "twilio-token-value");
        assert_eq!(config.billing.map(|b| b.trial_days), Some(14));
    }
}
