//! How nmc-api and nmc-worker reach Temporal: plain gRPC to a dev server or a self-hosted cluster
//! inside the network, or TLS / mTLS / API key (Temporal Cloud) from Temporal's standard
//! environment variables (`TEMPORAL_API_KEY`, `TEMPORAL_TLS`, `TEMPORAL_TLS_CLIENT_CERT_PATH`,
//! `TEMPORAL_TLS_CLIENT_KEY_PATH`, `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_SERVER_NAME`
//! …), read by the SDK's own envconfig loader. docs/DEPLOY.md shows both. The address is
//! `host:port`, as Temporal's CLI and SDKs take it, or a URL.
//!
//! Also the search attributes our workflows set: a start that sets one the namespace does not
//! know fails ("no mapping defined for search attribute"), so they are registered at start.

use std::collections::HashMap;
use std::time::Duration;

use nmc_domain::{SA_BUSINESS_ID, SA_CONVERSATION_STATUS};
use temporalio_client::envconfig::LoadClientConfigProfileOptions;
use temporalio_client::{Client, ConnectionOptions, Url, tonic};
use temporalio_common::envconfig::load_client_config_profile;
use temporalio_common::protos::temporal::api::enums::v1::IndexedValueType;
use temporalio_common::protos::temporal::api::operatorservice::v1::{
    AddSearchAttributesRequest, ListSearchAttributesRequest,
};

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

/// The search attributes (all Keyword) the workflows set and ops filter on.
pub const SEARCH_ATTRIBUTES: [&str; 2] = [SA_BUSINESS_ID, SA_CONVERSATION_STATUS];

/// Connection options for `address`; TLS and credentials when the environment asks for them.
pub fn connection_options(address: &str, identity: String) -> anyhow::Result<ConnectionOptions> {
    connection_options_from(address, identity, &temporal_variables())
}

/// As [`connection_options`], with the `TEMPORAL_*` variables given (set, non-empty ones).
fn connection_options_from(
    address: &str,
    identity: String,
    variables: &HashMap<String, String>,
) -> anyhow::Result<ConnectionOptions> {
    let secured = SECURITY_VARIABLES
        .iter()
        .any(|v| variables.contains_key(*v));
    let mut options = if secured {
        let settings = |e: temporalio_client::envconfig::ConfigError| {
            anyhow::anyhow!("Temporal TLS / API key settings: {e}")
        };
        let profile = load_client_config_profile(
            LoadClientConfigProfileOptions::builder()
                .disable_file(true)
                .build(),
            Some(variables),
        )
        .map_err(settings)?;
        ConnectionOptions::try_from(profile).map_err(settings)?
    } else {
        ConnectionOptions::new(target_url(address, false)?).build()
    };
    // Our address setting (TEMPORAL_ADDRESS, like the loader's) is the target, over TLS when secured.
    options.target = target_url(address, options.tls_options.is_some())?;
    options.identity = identity;
    options.connect_timeout = Some(Duration::from_secs(3));
    Ok(options)
}

/// The set, non-empty `TEMPORAL_*` variables. docker-compose passes every one, most empty, and
/// the SDK's loader would read an empty `…_CERT_PATH` and `…_CERT_DATA` as both given.
fn temporal_variables() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, v)| k.starts_with("TEMPORAL_") && !v.is_empty())
        .collect()
}

/// `host:port` or a URL, as the URL the SDK connects to. Only `://` marks a URL: `temporal:7233`
/// would otherwise parse as the scheme `temporal`.
pub fn target_url(address: &str, tls: bool) -> anyhow::Result<Url> {
    let address = address.trim();
    let url = match address.split_once("://") {
        Some(("http", rest)) if tls => format!("https://{rest}"),
        Some(_) => address.to_owned(),
        None => format!("{}://{address}", if tls { "https" } else { "http" }),
    };
    Url::parse(&url).map_err(|e| {
        anyhow::anyhow!("TEMPORAL_ADDRESS {address:?} is neither host:port nor a URL: {e}")
    })
}

/// Why the namespace cannot take our workflows yet.
#[derive(Debug)]
pub enum SearchAttributesError {
    /// Listing or adding them got no answer: worth trying again.
    Unreachable(String),
    /// They are missing and this client may not add them: an operator must (the message says how).
    Missing(String),
}

impl std::fmt::Display for SearchAttributesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreachable(e) => {
                write!(f, "Temporal search attributes could not be checked: {e}")
            }
            Self::Missing(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SearchAttributesError {}

/// Our search attributes the namespace does not have.
pub async fn missing_search_attributes(
    client: &Client,
    namespace: &str,
) -> Result<Vec<&'static str>, tonic::Status> {
    let mut operator = client.connection().operator_service();
    let request = ListSearchAttributesRequest {
        namespace: namespace.to_owned(),
    };
    let known = operator
        .list_search_attributes(tonic::Request::new(request))
        .await?
        .into_inner();
    Ok(SEARCH_ATTRIBUTES
        .into_iter()
        .filter(|name| !known.custom_attributes.contains_key(*name))
        .collect())
}

/// Adds the missing search attributes through the operator API when the server allows it.
pub async fn ensure_search_attributes(
    client: &Client,
    namespace: &str,
) -> Result<(), SearchAttributesError> {
    // A server that will not even list them will not take our starts either: an operator must act.
    let unreachable = |s: tonic::Status| match s.code() {
        tonic::Code::PermissionDenied => SearchAttributesError::Missing(
            missing_attributes_message(namespace, &SEARCH_ATTRIBUTES, s.message()),
        ),
        _ => SearchAttributesError::Unreachable(s.message().to_owned()),
    };
    let missing = missing_search_attributes(client, namespace)
        .await
        .map_err(unreachable)?;
    if missing.is_empty() {
        return Ok(());
    }
    let request = AddSearchAttributesRequest {
        search_attributes: missing
            .iter()
            .map(|name| (name.to_string(), IndexedValueType::Keyword as i32))
            .collect(),
        namespace: namespace.to_owned(),
    };
    let mut operator = client.connection().operator_service();
    let added = operator
        .add_search_attributes(tonic::Request::new(request))
        .await;
    // The API and the worker start together: the other may have added them first, and a
    // server may list them a moment after accepting.
    for _ in 0..20 {
        let still = missing_search_attributes(client, namespace)
            .await
            .map_err(unreachable)?;
        if still.is_empty() {
            tracing::info!(namespace, attributes = ?missing, "registered Temporal search attributes");
            return Ok(());
        }
        if let Err(status) = &added
            && status.code() != tonic::Code::AlreadyExists
        {
            return Err(SearchAttributesError::Missing(missing_attributes_message(
                namespace,
                &still,
                status.message(),
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Err(SearchAttributesError::Missing(missing_attributes_message(
        namespace,
        &missing,
        "the server accepted them but does not list them",
    )))
}

/// What an operator reads when the search attributes are missing: which, why, and the commands.
pub fn missing_attributes_message(namespace: &str, missing: &[&str], why: &str) -> String {
    let commands: Vec<String> = missing
        .iter()
        .map(|name| format!("temporal operator search-attribute create --namespace {namespace} --name {name} --type Keyword"))
        .collect();
    format!(
        "Temporal namespace {namespace} lacks the search attribute(s) {} and they could not be added ({why}). \
         Create them, then start again:\n  {}\n(On Temporal Cloud: tcld namespace search-attributes add, or the Cloud UI.)",
        missing.join(", "),
        commands.join("\n  ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_by_default_tls_and_api_key_for_temporal_cloud() {
        let o = connection_options("http://127.0.0.1:7233", "me".into()).unwrap();
        assert!(o.tls_options.is_none() && o.api_key.is_none());
        assert_eq!(o.target.as_str(), "http://127.0.0.1:7233/");
        assert_eq!(o.identity, "me");
        let bare = connection_options("127.0.0.1:7233", "me".into()).unwrap();
        assert_eq!(
            bare.target.as_str(),
            "http://127.0.0.1:7233/",
            "host:port, as the temporal CLI takes it"
        );

        let key = HashMap::from([("TEMPORAL_API_KEY".to_owned(), "key-123".to_owned())]);
        let cloud =
            connection_options_from("http://my-ns.a1b2c.tmprl.cloud:7233", "me".into(), &key)
                .unwrap();
        let cloud_bare =
            connection_options_from("my-ns.a1b2c.tmprl.cloud:7233", "me".into(), &key).unwrap();
        assert_eq!(cloud.api_key.as_deref(), Some("key-123"));
        assert!(cloud.tls_options.is_some(), "an API key implies TLS");
        assert_eq!(
            cloud.target.as_str(),
            "https://my-ns.a1b2c.tmprl.cloud:7233/"
        );
        assert_eq!(
            cloud_bare.target.as_str(),
            "https://my-ns.a1b2c.tmprl.cloud:7233/"
        );
    }

    #[test]
    fn host_port_and_urls_are_both_addresses() {
        assert_eq!(
            target_url("127.0.0.1:7233", false).unwrap().as_str(),
            "http://127.0.0.1:7233/"
        );
        // A compose service name: without the `://` check this parses as the URL scheme `temporal`.
        assert_eq!(
            target_url("temporal:7233", false).unwrap().as_str(),
            "http://temporal:7233/"
        );
        assert_eq!(
            target_url("localhost:7233", true).unwrap().as_str(),
            "https://localhost:7233/"
        );
        assert_eq!(
            target_url("http://127.0.0.1:7233", false).unwrap().as_str(),
            "http://127.0.0.1:7233/"
        );
        assert_eq!(
            target_url("http://127.0.0.1:7233", true).unwrap().as_str(),
            "https://127.0.0.1:7233/"
        );
        assert_eq!(
            target_url("https://x.tmprl.cloud:7233", true)
                .unwrap()
                .as_str(),
            "https://x.tmprl.cloud:7233/"
        );
        assert!(target_url("not an address", false).is_err());
    }

    #[test]
    fn the_missing_attributes_message_names_the_commands() {
        let m = missing_attributes_message(
            "prod",
            &["NmcBusinessId", "NmcConversationStatus"],
            "permission denied",
        );
        assert!(m.contains("temporal operator search-attribute create --namespace prod --name NmcBusinessId --type Keyword"), "{m}");
        assert!(m.contains("temporal operator search-attribute create --namespace prod --name NmcConversationStatus --type Keyword"), "{m}");
        assert!(
            m.contains("permission denied") && m.contains("NmcBusinessId, NmcConversationStatus"),
            "{m}"
        );
    }
}
