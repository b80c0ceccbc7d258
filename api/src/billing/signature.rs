//! `Stripe-Signature` (docs.stripe.com/webhooks, "verify manually"; as stripe-go's
//! `webhook/client.go` and stripe-node's `Webhooks.ts` do it): `t=<unix>,v1=<hex>[,v1=…]`, each
//! `v1` an HMAC-SHA256 keyed with the whole endpoint secret (`whsec_…`) over `"{t}.{raw body}"`.
//! Any `v1` may match (two during a secret's rotation); `v0` and other schemes are ignored;
//! events older than five minutes are refused, as the SDKs refuse them.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The SDKs' default tolerance.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no t= in Stripe-Signature")]
    NoTimestamp,
    #[error("no v1 signature in Stripe-Signature")]
    NoSignatures,
    #[error("the event is older than the tolerance")]
    TooOld,
    #[error("no v1 signature matches")]
    Mismatch,
}

/// The `v1` signature of `body` sent at `t`, lower-case hex.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks `header` for the raw `body` at `now` (Unix seconds).
pub fn verify(header: &str, body: &[u8], secret: &str, now: i64) -> Result<(), SignatureError> {
    let mut t = None;
    let mut v1 = Vec::new();
    for (k, v) in header.split(',').filter_map(|p| p.split_once('=')) {
        match k.trim() {
            "t" => t = v.trim().parse::<i64>().ok(),
            "v1" if !v.is_empty() => v1.push(v.trim()),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::NoTimestamp)?;
    if v1.is_empty() {
        return Err(SignatureError::NoSignatures);
    }
    let expected = sign(secret, t, body);
    if !v1
        .iter()
        .any(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())))
    {
        return Err(SignatureError::Mismatch);
    }
    if now - t > TOLERANCE_SECS {
        return Err(SignatureError::TooOld);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// stripe-dotnet's `EventUtilityTest` vector: secret, timestamp, header and the exact
    /// 484-byte payload (two-space indent, one trailing newline).
    const DOTNET_BODY: &str = "{\n  \"id\": \"evt_123\",\n  \"object\": \"event\",\n  \"account\": \"acct_123\",\n  \"api_version\": \"2017-05-25\",\n  \"created\": 1533204620,\n  \"data\": {\n    \"object\": {\n      \"id\": \"cus_123\",\n      \"object\": \"customer\",\n      \"created\": 123456789,\n      \"email\": \"test@stripe.com\",\n      \"livemode\": false,\n      \"metadata\": {}\n    }\n  },\n  \"livemode\": false,\n  \"pending_webhooks\": 1,\n  \"request\": {\n    \"id\": \"req_123\",\n    \"idempotency_key\": \"idempotency-key-123\"\n  },\n  \"type\": \"customer.created\"\n}\n";
    const DOTNET_HEADER: &str = "t=1533204620,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";

    #[test]
    fn stripes_own_vector_verifies_within_the_tolerance_only() {
        assert_eq!(DOTNET_BODY.len(), 484);
        let body = DOTNET_BODY.as_bytes();
        let t = 1_533_204_620;
        assert_eq!(
            verify(DOTNET_HEADER, body, "webhook_secret", t + 100),
            Ok(())
        );
        assert_eq!(
            verify(DOTNET_HEADER, body, "webhook_secret", t + 400),
            Err(SignatureError::TooOld)
        );
        assert_eq!(
            verify(DOTNET_HEADER, body, "another_secret", t),
            Err(SignatureError::Mismatch)
        );
        let trimmed = &body[..body.len() - 1];
        assert_eq!(
            verify(DOTNET_HEADER, trimmed, "webhook_secret", t),
            Err(SignatureError::Mismatch),
            "the raw bytes, not a re-serialisation"
        );
    }

    #[test]
    fn our_compact_vector_and_rotation() {
        let body = br#"{"id":"evt_test_webhook","object":"event"}"#;
        let sig = sign("whsec_test_secret", 1_700_000_000, body);
        assert_eq!(
            sig,
            "d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
        );
        let rotated = format!("t=1700000000,v1={},v1={sig}", "deadbeef".repeat(8));
        assert_eq!(
            verify(&rotated, body, "whsec_test_secret", 1_700_000_001),
            Ok(())
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let body = DOTNET_BODY.as_bytes();
        let now = 1_533_204_620;
        for header in [
            "t=,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,v0=63f3",
            "t,v1=,v0=",
            "t,v1=,v0",
            "t,v1=,",
            "t,,",
            ",,",
            "t",
            "",
            "t=1533204620,v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef",
        ] {
            assert!(
                verify(header, body, "webhook_secret", now).is_err(),
                "{header:?} passed"
            );
        }
    }
}
