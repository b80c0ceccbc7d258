//! The Twilio pieces we write ourselves (reference/twilio.md explains why no crate is used):
//! the webhook signature check, a TwiML writer with XML escaping, and a thin REST client
//! whose base URL points at real Twilio or at the sandbox.

pub mod client;
pub mod lookup;
pub mod recordings;
pub mod signature;
pub mod twiml;

pub use client::{SentMessage, TwilioClient, TwilioError};
pub use lookup::LineInfo;

/// Twilio's REST API, and the separate host its Lookup v2 API answers on.
pub const API: &str = "https://api.twilio.com";
pub const LOOKUPS: &str = "https://lookups.twilio.com";

/// HTTP clients here use rustls without a bundled crypto provider (reqwest's
/// `rustls-no-provider`): install `ring`, which Temporal's client already brings, once per process.
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
