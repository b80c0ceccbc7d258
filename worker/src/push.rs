//! Sends one Web Push: the payload encrypted for the browser (RFC 8291, `aes128gcm`, by
//! `web-push-native`), signed for the push service with our VAPID key (RFC 8292, an ES256 JWT
//! made with `jsonwebtoken`: web-push-native's own signer would bring jwt-simple and a second
//! generation of RustCrypto), posted as RFC 8030 says, and read by the answer: 201 sent;
//! 404/410 the browser unsubscribed (forget it); 401/403 the key no longer matches (forget it);
//! 429 wait out `Retry-After`; 5xx again later.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use nmc_store::push::{Target, VapidKey};
use p256::pkcs8::EncodePrivateKey;
use serde::Serialize;

use crate::deliveries::Outcome;

/// Our VAPID key and the contact the push services see (`sub`).
#[derive(Clone)]
pub struct Pusher {
    pub vapid: VapidKey,
    /// `mailto:` or `https:` (`NMC_VAPID_SUBJECT`).
    pub subject: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: i64,
    sub: &'a str,
}

/// How long a push service may hold an alert for a phone that is off: an emergency for a day,
/// anything else for four hours (a stale "missed call" is worse than none).
fn ttl_secs(priority: bool) -> u64 {
    if priority { 86_400 } else { 14_400 }
}

impl Pusher {
    /// `Authorization: vapid t=<jwt>, k=<public key>` for the endpoint's origin.
    fn authorization(&self, endpoint: &str) -> Result<String, String> {
        let url = url::Url::parse(endpoint).map_err(|e| e.to_string())?;
        let aud = url.origin().ascii_serialization();
        // At most 24 h ahead (RFC 8292 §2); 12 h leaves room for clock skew.
        let exp = chrono::Utc::now().timestamp() + 12 * 3600;
        let claims = Claims {
            aud: &aud,
            exp,
            sub: &self.subject,
        };
        let der = self
            .vapid
            .secret()
            .to_pkcs8_der()
            .map_err(|e| e.to_string())?;
        let key = jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes());
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        let jwt = jsonwebtoken::encode(&header, &claims, &key).map_err(|e| e.to_string())?;
        Ok(format!("vapid t={jwt}, k={}", self.vapid.public_base64()))
    }

    pub async fn send(
        &self,
        http: &reqwest::Client,
        to: &Target,
        payload: &serde_json::Value,
        attempts: i32,
    ) -> Outcome {
        let priority = payload["priority"].as_bool().unwrap_or(false);
        let body = match encrypt(to, payload) {
            Ok(b) => b,
            Err(e) => return Outcome::Gone(format!("unusable subscription: {e}")),
        };
        let authorization = match self.authorization(&to.endpoint) {
            Ok(a) => a,
            Err(e) => return Outcome::Failed(format!("VAPID: {e}")),
        };
        let sent = http
            .post(&to.endpoint)
            .header("TTL", ttl_secs(priority).to_string())
            .header("Urgency", if priority { "high" } else { "normal" })
            // RFC 8030 §5.4: a second post of the same alert replaces the first while queued.
            .header("Topic", topic(payload))
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry(
                    crate::deliveries::backoff(attempts),
                    e.without_url().to_string(),
                );
            }
        };
        let status = resp.status().as_u16();
        let retry_after = crate::deliveries::retry_after(&resp);
        let text: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        match status {
            200..=299 => Outcome::Sent,
            404 | 410 => Outcome::Gone(format!("{status}: the browser unsubscribed")),
            401 | 403 => {
                Outcome::Gone(format!("{status}: the push service refused our key {text}"))
            }
            429 => Outcome::Retry(retry_after.unwrap_or(60), "rate limited".into()),
            400..=499 => Outcome::Failed(format!("{status} {text}")),
            _ => Outcome::Retry(
                crate::deliveries::backoff(attempts),
                format!("{status} {text}"),
            ),
        }
    }
}

/// The payload, encrypted for this browser's keys (at most 3993 bytes of plaintext fit).
fn encrypt(to: &Target, payload: &serde_json::Value) -> Result<Vec<u8>, String> {
    let point = B64.decode(&to.p256dh).map_err(|e| e.to_string())?;
    let ua_public = p256::PublicKey::from_sec1_bytes(&point).map_err(|e| e.to_string())?;
    let auth = B64.decode(&to.auth).map_err(|e| e.to_string())?;
    if auth.len() != 16 {
        return Err("auth is not 16 bytes".into());
    }
    let auth = web_push_native::Auth::clone_from_slice(&auth);
    let plain = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
    if plain.len() > 3_993 {
        return Err("the alert is too long for a push".into());
    }
    web_push_native::encrypt(plain, &ua_public, &auth).map_err(|e| format!("{e:?}"))
}

/// The alert's id as a Topic (at most 32 base64url characters: the UUID's hex is 32).
fn topic(payload: &serde_json::Value) -> String {
    payload["id"]
        .as_str()
        .and_then(|id| id.parse::<uuid::Uuid>().ok())
        .map_or_else(|| "alert".to_owned(), |id| id.simple().to_string())
}
