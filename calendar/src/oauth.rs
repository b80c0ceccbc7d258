//! Connecting a calendar from the app: the OAuth 2.0 authorization-code flow with `state` and
//! PKCE (RFC 6749 §4.1, RFC 7636 S256, RFC 9700), as Google ("OAuth 2.0 for web server
//! applications") and Jobber ("App authorization") take it. Notes and sources:
//! docs/research/calendar-oauth.md.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use crate::{CalendarError, OAuthClient, Tokens, urlencode};

/// Google: add and change events, read busy time, list calendars for the picker.
pub const GOOGLE_SCOPES: &str = "https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/calendar.events.freebusy https://www.googleapis.com/auth/calendar.calendarlist.readonly";

/// 32 random octets, base64url: a `state`, a binder, or a PKCE verifier (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `BASE64URL(SHA256(verifier))`, the S256 `code_challenge`.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// SHA-256 hex of a secret, for storing `state` and the binder cookie.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl OAuthClient {
    /// Where the owner's browser goes to consent. Google gets the calendar scopes, offline
    /// access (a refresh token) and a fresh consent (so a reconnect gets one too); HubSpot and
    /// GoHighLevel their contact scopes; Jobber's scopes are fixed on the app.
    pub fn authorize_link(&self, redirect_uri: &str, state: &str, verifier: &str) -> String {
        let mut q = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", redirect_uri),
            ("state", state),
        ];
        let challenge = challenge(verifier);
        q.push(("code_challenge", &challenge));
        q.push(("code_challenge_method", "S256"));
        match self.provider {
            "google" => q.extend([
                ("scope", GOOGLE_SCOPES),
                ("access_type", "offline"),
                ("prompt", "consent"),
                ("include_granted_scopes", "true"),
            ]),
            // The CRMs' contact scopes (docs/research/crm-hubspot-gohighlevel.md §1.1, §2.1).
            "hubspot" => q.push((
                "scope",
                "crm.objects.contacts.read crm.objects.contacts.write oauth",
            )),
            "gohighlevel" => q.push(("scope", "contacts.readonly contacts.write")),
            _ => {}
        }
        let query: Vec<String> = q
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        format!("{}?{}", self.authorize_url, query.join("&"))
    }

    /// Ends Google's grant (`POST /revoke token=…`); an already invalid token counts as done.
    pub async fn revoke(&self, http: &reqwest::Client, token: &str) -> Result<(), CalendarError> {
        let Some(url) = &self.revoke_url else {
            return Ok(());
        };
        let resp = http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={}", urlencode(token)))
            .send()
            .await
            .map_err(|e| CalendarError::network(self.provider, e))?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if status.is_success() || body.contains("invalid_token") {
            return Ok(());
        }
        Err(CalendarError::from_status(self.provider, status, body))
    }

    /// Whether the client has its id and secret (Connect is offered only then).
    pub fn configured(&self) -> bool {
        !self.client_id.is_empty() && !self.client_secret.expose_secret().is_empty()
    }
}

impl Tokens {
    /// Seconds the access token lives: `expires_in`, or (Jobber sends none) the `exp` of the
    /// JWT it is, or an hour.
    pub fn lifetime_secs(&self, now: i64) -> i64 {
        self.expires_in
            .or_else(|| jwt_exp(&self.access_token).map(|exp| exp - now))
            .unwrap_or(3600)
    }
}

/// The `exp` claim of a JWT, read without verifying (only to know when to refresh).
fn jwt_exp(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<serde_json::Value>(&json).ok()?["exp"].as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let v = random_token();
        assert_eq!(v.len(), 43);
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(v, random_token());
    }

    #[test]
    fn a_jobber_token_lives_until_its_exp() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"1","exp":1700003600}"#);
        let t = Tokens {
            access_token: format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig"),
            refresh_token: None,
            expires_in: None,
            scope: None,
            location_id: None,
        };
        assert_eq!(t.lifetime_secs(1_700_000_000), 3600);
        let opaque = Tokens {
            access_token: "ya29.x".into(),
            ..t.clone()
        };
        assert_eq!(opaque.lifetime_secs(0), 3600);
    }
}
