//! How our processes reach Temporal: connecting (plain, TLS, mTLS or API key), registering the
//! search attributes the workflows set, and replaying recorded histories against today's
//! workflow code. Shared by nmc-api and nmc-worker; the workflows themselves know none of it.

pub mod connect;
pub mod replay;
pub mod signal;
