//! The Twilio pieces we write ourselves (reference/twilio.md explains why no crate is used):
//! the webhook signature check, a TwiML writer with XML escaping, and a thin REST client
//! whose base URL points at real Twilio or at the sandbox.

pub mod client;
pub mod signature;
pub mod twiml;

pub use client::{SentMessage, TwilioClient, TwilioError};
