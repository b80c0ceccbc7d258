//! Short signed links in alerts: `/n/{token}` opens one conversation, for a while, for a member
//! of its business. The token is the notification's id, an expiry and an HMAC over both (key
//! derived from NMC_SECRET_KEY), so it names nothing else and cannot be forged or stretched.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long an alert's link opens its thread: a week covers a job quoted on Friday and
/// answered on Monday.
pub const LINK_DAYS: i64 = 7;

const MAC_LEN: usize = 12;

/// What a token is for: one purpose's token never opens another's.
const ALERT: &[u8] = b"alert-link\0";
const UNSUBSCRIBE: &[u8] = b"digest-unsubscribe\0";
const GREETING: &[u8] = b"voicemail-greeting\0";

#[derive(Clone)]
pub struct AlertLinks {
    key: [u8; 32],
}

impl std::fmt::Debug for AlertLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertLinks(..)")
    }
}

impl AlertLinks {
    /// Its own key, derived from the deployment's secret: a link key never opens a sealed token.
    pub fn new(secret_key_b64: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"nmc alert links v1\0");
        h.update(secret_key_b64.trim().as_bytes());
        Self {
            key: h.finalize().into(),
        }
    }

    fn mac(&self, purpose: &[u8], id: Uuid, expires: u32) -> [u8; MAC_LEN] {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        m.update(purpose);
        m.update(id.as_bytes());
        m.update(&expires.to_be_bytes());
        let full = m.finalize().into_bytes();
        let mut out = [0; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The token for `notification_id`, good until `now + LINK_DAYS`.
    pub fn token(&self, notification_id: Uuid, now: DateTime<Utc>) -> String {
        self.sign(
            ALERT,
            notification_id,
            now + chrono::Duration::days(LINK_DAYS),
        )
    }

    /// The notification a token names, if it is ours and not expired.
    pub fn open(&self, token: &str, now: DateTime<Utc>) -> Result<Uuid, LinkError> {
        self.verify(ALERT, token, now)
    }

    /// The one-click unsubscribe from the weekly email for `user_id` (RFC 8058): it must work
    /// from a mail read months later, so it lasts a year and a bit.
    pub fn unsubscribe_token(&self, user_id: Uuid, now: DateTime<Utc>) -> String {
        self.sign(UNSUBSCRIBE, user_id, now + chrono::Duration::days(400))
    }

    pub fn open_unsubscribe(&self, token: &str, now: DateTime<Utc>) -> Result<Uuid, LinkError> {
        self.verify(UNSUBSCRIBE, token, now)
    }

    /// Lets Twilio fetch a business's uploaded voicemail greeting for one to two hours (the URL
    /// goes into calls' TwiML; nobody else can list or guess it). It ends on the hour, so the
    /// URL stays the same for an hour and Twilio's media cache can keep the file.
    pub fn greeting_token(&self, business_id: Uuid, now: DateTime<Utc>) -> String {
        let hour = now.timestamp() - now.timestamp().rem_euclid(3600);
        let until = DateTime::from_timestamp(hour + 7200, 0).unwrap_or(now);
        self.sign(GREETING, business_id, until)
    }

    pub fn open_greeting(&self, token: &str, now: DateTime<Utc>) -> Result<Uuid, LinkError> {
        self.verify(GREETING, token, now)
    }

    fn sign(&self, purpose: &[u8], id: Uuid, until: DateTime<Utc>) -> String {
        let expires = u32::try_from(until.timestamp()).unwrap_or(u32::MAX);
        let mut raw = Vec::with_capacity(16 + 4 + MAC_LEN);
        raw.extend_from_slice(id.as_bytes());
        raw.extend_from_slice(&expires.to_be_bytes());
        raw.extend_from_slice(&self.mac(purpose, id, expires));
        B64.encode(raw)
    }

    fn verify(&self, purpose: &[u8], token: &str, now: DateTime<Utc>) -> Result<Uuid, LinkError> {
        let raw = B64.decode(token).map_err(|_| LinkError::Invalid)?;
        if raw.len() != 16 + 4 + MAC_LEN {
            return Err(LinkError::Invalid);
        }
        let id = Uuid::from_slice(&raw[..16]).map_err(|_| LinkError::Invalid)?;
        let expires = u32::from_be_bytes(raw[16..20].try_into().map_err(|_| LinkError::Invalid)?);
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        m.update(purpose);
        m.update(id.as_bytes());
        m.update(&expires.to_be_bytes());
        m.verify_truncated_left(&raw[20..])
            .map_err(|_| LinkError::Invalid)?;
        if i64::from(expires) < now.timestamp() {
            return Err(LinkError::Expired);
        }
        Ok(id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    Invalid,
    Expired,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_opens_its_alert_until_it_expires_and_cannot_be_altered() {
        let links = AlertLinks::new("c2VjcmV0");
        let id = Uuid::new_v4();
        let now = Utc::now();
        let t = links.token(id, now);
        assert!(t.len() <= 43, "short: {t}");
        assert_eq!(links.open(&t, now), Ok(id));
        let later = now + chrono::Duration::days(LINK_DAYS) + chrono::Duration::seconds(1);
        assert_eq!(links.open(&t, later), Err(LinkError::Expired));
        let mut raw = B64.decode(&t).unwrap();
        raw[3] ^= 1;
        assert_eq!(links.open(&B64.encode(&raw), now), Err(LinkError::Invalid));
        assert_eq!(
            AlertLinks::new("b3RoZXI=").open(&t, now),
            Err(LinkError::Invalid)
        );
        assert_eq!(links.open("not a token", now), Err(LinkError::Invalid));
        // An alert's link is not an unsubscribe link, nor the other way round.
        assert_eq!(links.open_unsubscribe(&t, now), Err(LinkError::Invalid));
        let u = links.unsubscribe_token(id, now);
        assert_eq!(links.open_unsubscribe(&u, now), Ok(id));
        assert_eq!(links.open(&u, now), Err(LinkError::Invalid));
    }
}
