//! Configuration, from environment variables only (documented in the README).

use std::net::SocketAddr;

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub temporal_address: String,
    pub temporal_namespace: String,
    pub task_queue: String,
    pub bind: SocketAddr,
    /// The URL Twilio uses to reach us, without a trailing slash; signatures are computed over it.
    pub public_base_url: String,
    pub twilio_api_base: String,
    /// Serve the built-in Twilio sandbox at `/sandbox` (on when TWILIO_API_BASE is not set).
    pub sandbox: bool,
    pub admin_token: String,
    pub secret_key: String,
    /// Signs owner access tokens; derived from the secret key when unset.
    pub jwt_secret: Option<String>,
    /// The platform's own Twilio account, for buying numbers (`TWILIO_ACCOUNT_SID` / `TWILIO_AUTH_TOKEN`);
    /// the sandbox's when unset.
    pub platform_twilio: Option<(String, String)>,
    pub conversation_idle_secs: u64,
    pub max_body_bytes: usize,
}

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

pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty()).ok_or_else(|| anyhow::anyhow!("{name} must be set"))
}

impl Config {
    /// The account numbers are bought on.
    pub fn platform_twilio(&self) -> (String, String) {
        self.platform_twilio.clone().unwrap_or_else(|| ("AC00000000000000000000000000000000".into(), "sandbox-auth-token".into()))
    }

    pub fn from_env() -> anyhow::Result<Self> {
        let bind: SocketAddr = env_or("NMC_BIND", "127.0.0.1:8080").parse()?;
        let public_base_url = env_or("PUBLIC_BASE_URL", &format!("http://{bind}")).trim_end_matches('/').to_owned();
        let explicit_twilio = std::env::var("TWILIO_API_BASE").ok().filter(|v| !v.is_empty());
        let sandbox = match std::env::var("NMC_SANDBOX").ok().as_deref() {
            Some("1" | "true") => true,
            Some("0" | "false") => false,
            _ => explicit_twilio.is_none(),
        };
        Ok(Self {
            database_url: required("DATABASE_URL")?,
            temporal_address: env_or("TEMPORAL_ADDRESS", "http://127.0.0.1:7233"),
            temporal_namespace: env_or("TEMPORAL_NAMESPACE", "default"),
            task_queue: env_or("TEMPORAL_TASK_QUEUE", "nmc-conversations"),
            bind,
            twilio_api_base: explicit_twilio.unwrap_or_else(|| format!("{public_base_url}/sandbox")),
            public_base_url,
            sandbox,
            admin_token: required("NMC_ADMIN_TOKEN")?,
            secret_key: required("NMC_SECRET_KEY")?,
            jwt_secret: std::env::var("NMC_JWT_SECRET").ok().filter(|v| !v.is_empty()),
            platform_twilio: match (std::env::var("TWILIO_ACCOUNT_SID"), std::env::var("TWILIO_AUTH_TOKEN")) {
                (Ok(sid), Ok(token)) if !sid.is_empty() && !token.is_empty() => Some((sid, token)),
                _ => None,
            },
            conversation_idle_secs: env_or("NMC_CONVERSATION_IDLE_SECS", "172800").parse()?,
            max_body_bytes: env_or("NMC_MAX_BODY_BYTES", "65536").parse()?,
        })
    }
}
