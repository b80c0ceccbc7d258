//! How nmc-api and nmc-worker reach Temporal: plain gRPC to a dev server or a self-hosted cluster
//! inside the network, or TLS / mTLS / API key (Temporal Cloud) from Temporal's standard
//! environment variables (`TEMPORAL_API_KEY`, `TEMPORAL_TLS`, `TEMPORAL_TLS_CLIENT_CERT_PATH`,
//! `TEMPORAL_TLS_CLIENT_KEY_PATH`, `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_SERVER_NAME`
//! …), read by the SDK's own envconfig loader. docs/DEPLOY.md shows both.

use std::time::Duration;

use temporalio_client::envconfig::LoadClientConfigProfileOptions;
use temporalio_client::{ClientOptions, ConnectionOptions, Url};

const SECURITY_VARIABLES: [&str; 8] = [
    "TEMPORAL_API_KEY",
    "TEMPORAL_TLS",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_CERT_DATA",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_DATA",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
];

/// Connection options for `address`; TLS and credentials when the environment asks for them.
pub fn connection_options(address: &str, identity: String) -> anyhow::Result<ConnectionOptions> {
    let secured = SECURITY_VARIABLES.iter().any(|v| std::env::var(v).is_ok_and(|x| !x.is_empty()));
    let mut options = if secured {
        let (options, _) = ClientOptions::load_from_config(LoadClientConfigProfileOptions::builder().disable_file(true).build())
            .map_err(|e| anyhow::anyhow!("Temporal TLS / API key settings: {e}"))?;
        options
    } else {
        ConnectionOptions::new(Url::parse(address)?).build()
    };
    // Our address setting (TEMPORAL_ADDRESS, like the loader's) is the target, over TLS when secured.
    let address = if options.tls_options.is_some() { address.replacen("http://", "https://", 1) } else { address.to_owned() };
    options.target = Url::parse(&address)?;
    options.identity = identity;
    options.connect_timeout = Some(Duration::from_secs(3));
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test: it changes the process environment.
    #[test]
    fn plain_by_default_tls_and_api_key_for_temporal_cloud() {
        let o = connection_options("http://127.0.0.1:7233", "me".into()).unwrap();
        assert!(o.tls_options.is_none() && o.api_key.is_none());
        assert_eq!(o.target.as_str(), "http://127.0.0.1:7233/");
        assert_eq!(o.identity, "me");

        // SAFETY: no other test in this crate reads or writes the environment.
        unsafe { std::env::set_var("TEMPORAL_API_KEY", "key-123") };
        let cloud = connection_options("http://my-ns.a1b2c.tmprl.cloud:7233", "me".into()).unwrap();
        unsafe { std::env::remove_var("TEMPORAL_API_KEY") };
        assert_eq!(cloud.api_key.as_deref(), Some("key-123"));
        assert!(cloud.tls_options.is_some(), "an API key implies TLS");
        assert_eq!(cloud.target.as_str(), "https://my-ns.a1b2c.tmprl.cloud:7233/");
    }
}
