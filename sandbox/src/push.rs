//! A Web Push service double (RFC 8030): it hands out subscriptions the way a browser's push
//! service does (an endpoint, and the browser's P-256 key and auth secret, whose private half
//! only it holds), and takes `POST /push/{id}` only as a real service would: `aes128gcm`
//! (RFC 8291) that decrypts with the subscription's private key, a `TTL`, and a VAPID
//! `Authorization` (RFC 8292) whose ES256 JWT verifies with its `k`, names this origin as `aud`,
//! expires within 24 hours and gives a `mailto:`/`https:` contact. Anything else is refused, so
//! a malformed push fails the test. An unsubscribed browser answers 410.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{Value, json};

struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
    unsubscribed: bool,
}

/// A push the double took, decrypted.
#[derive(Debug, Clone)]
pub struct Received {
    pub subscription: String,
    pub payload: Value,
    /// The VAPID public key (`k`) it was signed with.
    pub vapid_key: String,
    pub ttl: u64,
    pub urgency: Option<String>,
}

#[derive(Default)]
struct Inner {
    browsers: HashMap<String, Browser>,
    received: Vec<Received>,
}

#[derive(Clone, Default)]
pub struct PushDouble {
    inner: Arc<Mutex<Inner>>,
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, why.to_owned()).into_response()
}

impl PushDouble {
    pub fn router(&self) -> Router {
        Router::new()
            .route("/push/{id}", post(take))
            .with_state(self.clone())
    }

    /// A new browser's `PushSubscription.toJSON()`, its endpoint under `base` (this double).
    pub fn subscribe(&self, base: &str) -> Value {
        let secret = p256::SecretKey::random(&mut aes_gcm_rng());
        let mut auth = [0u8; 16];
        rand_fill(&mut auth);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let p256dh = B64.encode(secret.public_key().to_encoded_point(false).as_bytes());
        let sub = json!({
            "endpoint": format!("{}/push/{id}", base.trim_end_matches('/')),
            "expirationTime": null,
            "keys": {"p256dh": p256dh, "auth": B64.encode(auth)},
        });
        self.inner.lock().unwrap().browsers.insert(
            id,
            Browser {
                secret,
                auth,
                unsubscribed: false,
            },
        );
        sub
    }

    /// The browser dropped the subscription: its endpoint answers 410 Gone from now on.
    pub fn unsubscribe(&self, endpoint: &str) {
        let id = endpoint.rsplit('/').next().unwrap_or_default();
        if let Some(b) = self.inner.lock().unwrap().browsers.get_mut(id) {
            b.unsubscribed = true;
        }
    }

    /// The subscription expired at the push service: its endpoint answers 404 from now on.
    pub fn expire(&self, endpoint: &str) {
        let id = endpoint.rsplit('/').next().unwrap_or_default();
        self.inner.lock().unwrap().browsers.remove(id);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }
}

fn aes_gcm_rng() -> p256::elliptic_curve::rand_core::OsRng {
    p256::elliptic_curve::rand_core::OsRng
}

fn rand_fill(buf: &mut [u8]) {
    use p256::elliptic_curve::rand_core::RngCore;
    aes_gcm_rng().fill_bytes(buf);
}

/// `vapid t=<jwt>, k=<key>` → (jwt, key).
fn vapid_parts(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let rest = value.strip_prefix("vapid ")?;
    let (mut t, mut k) = (None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("k", v)) => k = Some(v.to_owned()),
            _ => {}
        }
    }
    Some((t?, k?))
}

/// The JWT verifies with `k`, is for this origin, ends within a day and names a contact.
fn check_vapid(jwt: &str, key: &str, origin: &str) -> Result<(), String> {
    let point = B64.decode(key).map_err(|_| "k is not base64url")?;
    let decoding = jsonwebtoken::DecodingKey::from_ec_der(&point);
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[origin]);
    v.set_required_spec_claims(&["exp", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(jwt, &decoding, &v)
        .map_err(|e| format!("VAPID JWT: {e}"))?
        .claims;
    let exp = claims["exp"].as_i64().unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    if exp - now > 86_400 {
        return Err("exp more than 24 hours ahead".into());
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    if !(sub.starts_with("mailto:") || sub.starts_with("https:")) {
        return Err(format!("sub `{sub}` is not a mailto: or https: contact"));
    }
    Ok(())
}

async fn take(
    State(double): State<PushDouble>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if header("content-encoding").as_deref() != Some("aes128gcm") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Content-Encoding must be aes128gcm",
        );
    }
    let Some(ttl) = header("ttl").and_then(|t| t.parse::<u64>().ok()) else {
        return refuse(StatusCode::BAD_REQUEST, "TTL is required");
    };
    let Some((jwt, key)) = vapid_parts(&headers) else {
        return refuse(StatusCode::UNAUTHORIZED, "VAPID Authorization is required");
    };
    let origin = format!("http://{}", header("host").unwrap_or_default());
    if let Err(why) = check_vapid(&jwt, &key, &origin) {
        return refuse(StatusCode::FORBIDDEN, &why);
    }
    if body.len() > 4096 {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "over 4096 bytes");
    }
    let mut inner = double.inner.lock().unwrap();
    let Some(browser) = inner.browsers.get(&id) else {
        return refuse(StatusCode::NOT_FOUND, "no such subscription");
    };
    if browser.unsubscribed {
        return refuse(StatusCode::GONE, "unsubscribed");
    }
    let auth = web_push_native::Auth::clone_from_slice(&browser.auth);
    let plain = match web_push_native::decrypt(body.to_vec(), &browser.secret, &auth) {
        Ok(p) => p,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("does not decrypt: {e:?}")),
    };
    let Ok(payload) = serde_json::from_slice::<Value>(&plain) else {
        return refuse(StatusCode::BAD_REQUEST, "the payload is not JSON");
    };
    inner.received.push(Received {
        subscription: id.clone(),
        payload,
        vapid_key: key,
        ttl,
        urgency: header("urgency"),
    });
    (
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/push/messages/{}", uuid::Uuid::new_v4().simple()),
        )],
    )
        .into_response()
}
