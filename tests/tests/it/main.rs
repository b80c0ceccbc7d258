//! Every end-to-end test, as modules of one test binary: the whole stack is linked once, not
//! once per file. Run one module with `cargo test -p nmc-tests --test it -- missed_call::`, one
//! test with `-- --exact missed_call::missed_call_texts_the_greeting`.
// An end-to-end test reads as one story, start to finish: long is fine here.
#![allow(clippy::too_many_lines)]

mod accounts;
mod admin;
mod alert_channels;
mod bad_input;
mod billing;
mod booking;
mod browser;
mod business;
mod calendar_connect;
mod consent;
mod conversation;
mod crm;
mod crm_oauth;
mod crm_webhook;
mod deploy;
mod digest;
mod drills;
mod events;
mod forwarding;
mod go_live;
mod knowledge;
mod llm;
mod mail;
mod missed_call;
mod no_js;
mod nothing_lost;
mod notifications;
mod operability;
mod owner_api;
mod owner_loop;
mod pages;
mod password_reset;
mod phone_codes;
mod privacy;
mod push;
mod registration;
mod replay;
mod returning;
mod reviews;
mod scheduling;
mod schema;
mod secure_default;
mod security_web;
mod storage;
mod voice;
mod voice_agent;
mod web;
