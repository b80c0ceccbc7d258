//! The generic outbound webhook, signed as Standard Webhooks v1 specifies
//! (docs/research/crm-jobber-webhooks.md §2): `webhook-id` (the push, the same on every retry,
//! so receivers de-duplicate), `webhook-timestamp` (this attempt, Unix seconds; receivers refuse
//! more than five minutes off, so a captured request cannot be replayed later) and
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, the key being
//! the base64 after `whsec_`. Hand-written: the `standardwebhooks` crate would add `time` and a
//! second `http` for two functions we can check against the spec's own test vectors. Any 2xx is
//! delivered; 410 Gone stops; anything else (3xx included: we follow no redirects) is retried
//! by the push's workflow with backoff. Receivers must be https:// on a public address unless
//! this deployment is itself plain http (development and tests).

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde_json::json;
use sha2::Sha256;

use crate::http::refused;
use crate::{Connection, CrmError, Crms};
use nmc_domain::crm::Record;

/// A new endpoint secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// `v1,<signature>` for one attempt.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, CrmError> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| refused("the webhook secret is not whsec_ and base64"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| refused("bad key"))?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Whether a URL may receive webhooks, and the address to pin it to (so a DNS answer that
/// changes between this check and the send cannot point it inside our network).
async fn resolve(
    crms: &Crms,
    raw: &str,
) -> Result<(url::Url, Option<std::net::SocketAddr>), CrmError> {
    let u = url::Url::parse(raw).map_err(|_| refused("the webhook URL is not a URL"))?;
    let scheme_ok = u.scheme() == "https" || (crms.webhook_private_ok && u.scheme() == "http");
    if !scheme_ok || !u.username().is_empty() || u.password().is_some() {
        return Err(refused(
            "the webhook URL must be https:// with no user or password",
        ));
    }
    let host = u
        .host_str()
        .ok_or_else(|| refused("the webhook URL has no host"))?;
    let port = u.port_or_known_default().unwrap_or(443);
    let addrs: Vec<_> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|_| CrmError::Retry {
            status: None,
            message: "the webhook's host did not resolve".into(),
            after: None,
        })?
        .collect();
    if crms.webhook_private_ok {
        return Ok((u, None));
    }
    let public = addrs.iter().find(|a| is_public(a.ip())).copied();
    if public.is_none() || addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(refused("the webhook URL must reach a public address"));
    }
    Ok((u, public))
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first == 0x64 && v6.segments()[1] == 0xff9b)
                || first == 0x2002
                || (first == 0x2001 && v6.segments()[1] == 0)
                || (first & 0xffc0) == 0xfec0
                || (v6.segments()[..6].iter().all(|s| *s == 0) && !v6.is_loopback())
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| !is_public(IpAddr::V4(v4))))
        }
    }
}

pub async fn check_url(crms: &Crms, raw: &str) -> Result<(), CrmError> {
    resolve(crms, raw).await.map(|_| ())
}

pub async fn deliver(
    crms: &Crms,
    c: &Connection,
    r: &Record,
    push: uuid::Uuid,
) -> Result<(), CrmError> {
    let (url, pinned) = resolve(crms, &c.setting("url")?).await?;
    let id = format!("msg_{}", push.simple());
    let body = serde_json::to_vec(&json!({
        "type": format!("interaction.{}", r.trigger),
        "timestamp": Utc::now().to_rfc3339(),
        "data": r,
    }))
    .map_err(|e| refused(e.to_string()))?;
    let ts = Utc::now().timestamp();
    let signature = sign(c.secret.expose_secret(), &id, ts, &body)?;
    let http = match pinned {
        Some(addr) => reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("NeverMissCall-Webhooks/1")
            .resolve(url.host_str().unwrap_or_default(), addr)
            .build()
            .map_err(|e| refused(e.to_string()))?,
        None => crms.http.clone(),
    };
    let resp = http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| CrmError::Retry {
            status: None,
            message: if e.is_timeout() {
                "timed out"
            } else {
                "could not connect"
            }
            .into(),
            after: None,
        })?;
    let status = resp.status().as_u16();
    match status {
        200..=299 => Ok(()),
        410 => Err(CrmError::Refused {
            status: Some(410),
            message: "the receiver says the endpoint is gone (410)".into(),
        }),
        _ => Err(CrmError::Retry {
            status: Some(status),
            message: format!("the receiver answered {status}"),
            after: resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .map(std::time::Duration::from_secs),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two official vectors (standard-webhooks' Rust `test_sign` and the Go/JS ones).
    #[test]
    fn signatures_match_the_specs_test_vectors() {
        let a = sign(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        )
        .unwrap();
        assert_eq!(a, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        let b = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(b, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_whsec_and_32_bytes() {
        let s = new_secret();
        let raw = STANDARD.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(raw.len(), 32);
        assert_ne!(s, new_secret());
    }

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "0.1.2.3",
            "224.0.0.1",
            "240.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
            "ff02::1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:a00:1::1",
            "2001::1",
            "fec0::1",
            "::7f00:1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(is_public("93.184.216.34".parse().unwrap()));
    }
}
