//! Web Push subscriptions (RFC 8030): `GET /api/push/vapid-public-key` gives the browser the
//! `applicationServerKey`; `POST /api/push/subscriptions` takes its `PushSubscription` JSON
//! (`endpoint`, `keys.p256dh`, `keys.auth`) and `DELETE` with `{endpoint}` turns alerts off.
//! An endpoint must belong to a known push service: the worker posts there with our key.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use nmc_store::push::{self, NewSubscription};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Tenant;
use crate::error::{ApiError, invalid};
use crate::owner::commit;
use crate::{ApiJson, AppState};

/// `GET /api/push/vapid-public-key`: `{public_key}`, uncompressed P-256, base64url.
pub async fn vapid_public_key(_t: Tenant, State(s): State<AppState>) -> Json<Value> {
    Json(json!({ "public_key": s.vapid_public_key }))
}

#[derive(Deserialize)]
pub struct Keys {
    p256dh: String,
    auth: String,
}

/// A browser's `PushSubscription.toJSON()`; `expirationTime` is allowed and unused.
#[derive(Deserialize)]
pub struct Subscription {
    endpoint: String,
    keys: Keys,
    #[serde(default, rename = "expirationTime")]
    _expiration_time: Option<Value>,
}

/// Whether `endpoint` is a URL of one of the allowed push services: parsed as the HTTP client
/// will parse it (so `?`, `#`, `\\` or user info cannot smuggle another host past the check), no
/// credentials, and scheme, host and port equal to a service's (`*.domain`: any host under it).
fn allowed(endpoint: &str, services: &[String]) -> bool {
    let Ok(url) = url::Url::parse(endpoint) else {
        return false;
    };
    let (Some(host), true) = (
        url.host_str(),
        url.username().is_empty() && url.password().is_none(),
    ) else {
        return false;
    };
    let port = url.port_or_known_default();
    endpoint.len() <= 1024
        && services.iter().any(|s| {
            let (pattern, wildcard) = match s.split_once("://*.") {
                Some((scheme, domain)) => (format!("{scheme}://{domain}"), true),
                None => (s.clone(), false),
            };
            let Ok(service) = url::Url::parse(&pattern) else {
                return false;
            };
            let Some(service_host) = service.host_str() else {
                return false;
            };
            let host_ok = if wildcard {
                host.ends_with(&format!(".{service_host}"))
            } else {
                host == service_host
            };
            service.scheme() == url.scheme() && port == service.port_or_known_default() && host_ok
        })
}

fn check(sub: &Subscription, services: &[String]) -> Result<(), ApiError> {
    if !allowed(&sub.endpoint, services) {
        return Err(invalid(
            "endpoint",
            "not a push service this server sends to",
        ));
    }
    let point = B64.decode(sub.keys.p256dh.trim_end_matches('=')).ok();
    if point.is_none_or(|p| p.len() != 65 || p256::PublicKey::from_sec1_bytes(&p).is_err()) {
        return Err(invalid(
            "keys.p256dh",
            "an uncompressed P-256 public key, base64url",
        ));
    }
    let auth = B64.decode(sub.keys.auth.trim_end_matches('=')).ok();
    if auth.is_none_or(|a| a.len() != 16) {
        return Err(invalid("keys.auth", "16 bytes, base64url"));
    }
    Ok(())
}

/// `POST /api/push/subscriptions`: 201 `{id}`; the same endpoint again replaces the keys.
pub async fn subscribe(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(sub): ApiJson<Subscription>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check(&sub, &s.config.push_services)?;
    let new = NewSubscription {
        endpoint: &sub.endpoint,
        p256dh: sub.keys.p256dh.trim_end_matches('='),
        auth: sub.keys.auth.trim_end_matches('='),
    };
    let mut tx = t.begin(&s.db).await?;
    let id = push::subscribe(&mut tx, t.business_id, t.user_id, &new)
        .await
        .map_err(|e| match e {
            nmc_store::StoreError::Conflict { .. } => invalid("endpoint", "already in use"),
            e => e.into(),
        })?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

#[derive(Deserialize)]
pub struct Unsubscribe {
    endpoint: String,
}

/// `DELETE /api/push/subscriptions` `{endpoint}`: 204, or 404 when this member had none there.
pub async fn unsubscribe(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(u): ApiJson<Unsubscribe>,
) -> Result<StatusCode, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let removed = push::unsubscribe(&mut tx, t.business_id, t.user_id, &u.endpoint).await?;
    commit(tx).await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_known_push_services_are_taken() {
        let services: Vec<String> = crate::config::PUSH_SERVICES
            .split(',')
            .map(str::to_owned)
            .collect();
        assert!(super::allowed(
            "https://fcm.googleapis.com/fcm/send/abc",
            &services
        ));
        assert!(super::allowed(
            "https://wns2-par02p.notify.windows.com/w/?token=x",
            &services
        ));
        assert!(!super::allowed(
            "http://fcm.googleapis.com/fcm/send/abc",
            &services
        ));
        assert!(!super::allowed(
            "https://fcm.googleapis.com.evil.example/x",
            &services
        ));
        assert!(!super::allowed(
            "https://notify.windows.com.evil/x",
            &services
        ));
        assert!(!super::allowed("https://169.254.169.254/latest", &services));
        // Another host smuggled past a suffix or prefix check.
        assert!(!super::allowed(
            "https://169.254.169.254?.notify.windows.com",
            &services
        ));
        assert!(!super::allowed(
            "https://127.0.0.1:8080#.notify.windows.com",
            &services
        ));
        assert!(!super::allowed(
            "https://fcm.googleapis.com@evil.example/x",
            &services
        ));
        assert!(!super::allowed(
            "https://evil.example\\@fcm.googleapis.com/x",
            &services
        ));
        assert!(!super::allowed(
            "https://fcm.googleapis.com:8443/x",
            &services
        ));
    }
}
