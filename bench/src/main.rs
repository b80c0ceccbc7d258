//! nmc-bench: fires N correctly signed missed-call webhooks at rate R against a running stack
//! and reports p50/p95/p99 of (a) the webhook's response time and (b) webhook sent → the
//! carrier receiving `Messages.json`, with texts delivered and duplicates. In the same run it
//! measures the floor: a bare axum handler that POSTs to the same sandbox inside the request,
//! with no durability at all.
//!
//! The stack's TWILIO_API_BASE must point at this process's sandbox (`--sandbox-bind`);
//! `scripts/bench` wires it all up.
//!
//! One module per mode: `greeting` (the default: missed call → greeting text, next to its floor),
//! `conversation`, `availability`, `booking`, `events`, `load`, `flood`, `pages` and `voicemail`; `setup`
//! starts the sandbox carrier and onboards the business every mode runs against.

mod availability;
mod booking;
mod conversation;
mod events;
mod flood;
mod greeting;
mod load;
mod pages;
mod setup;
mod stats;
mod voicemail;

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

// The helpers every mode shares, at the crate root where the modes import them from.
use stats::{pct, print_row};

const ACCOUNT_SID: &str = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const AUTH_TOKEN: &str = "bench-auth-token";

struct Args {
    api: String,
    admin_token: String,
    sandbox_bind: String,
    rate: f64,
    duration: f64,
    /// Measure caller text → assistant reply instead of missed call → greeting.
    conversation: bool,
    callers: usize,
    database_url: Option<String>,
    /// Serve an OpenAI-compatible double here (the worker's OPENAI_BASE_URL points at it).
    llm_double_bind: Option<String>,
    /// Time the pure availability function instead (no stack needed).
    availability: bool,
    /// The owner's booking API: availability and appointments under concurrent clients, and the race.
    booking: bool,
    clients: usize,
    /// The live feed: event committed → delivered to each of `--clients` SSE connections.
    events: bool,
    /// The Monday-morning burst over `--businesses` businesses (see load.rs).
    load: bool,
    /// Caller-text webhooks alone, then while `--clients` clients flood the password endpoints (flood.rs).
    password_flood: bool,
    businesses: usize,
    /// The owner's inbox and home pages with `--conversations` open conversations, against the
    /// log-in page as the floor (pages.rs); `--requests` each, alone and from `--clients` at once.
    pages: bool,
    conversations: usize,
    requests: usize,
    api_pid: Option<u32>,
    worker_pid: Option<u32>,
    /// A voicemail → the owner's alert, against the offline engine alone (voicemail.rs).
    voicemail: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        api: "http://127.0.0.1:18080".into(),
        admin_token: std::env::var("NMC_ADMIN_TOKEN").unwrap_or_default(),
        sandbox_bind: "127.0.0.1:18090".into(),
        rate: 20.0,
        duration: 60.0,
        conversation: false,
        callers: 100,
        database_url: std::env::var("DATABASE_URL").ok(),
        llm_double_bind: None,
        availability: false,
        booking: false,
        clients: 20,
        events: false,
        load: false,
        password_flood: false,
        businesses: 100,
        pages: false,
        conversations: 1000,
        requests: 200,
        api_pid: None,
        worker_pid: None,
        voicemail: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--api" => a.api = val()?,
            "--admin-token" => a.admin_token = val()?,
            "--sandbox-bind" => a.sandbox_bind = val()?,
            "--rate" => a.rate = val()?.parse()?,
            "--duration" => a.duration = val()?.parse()?,
            "--conversation" => a.conversation = true,
            "--callers" => a.callers = val()?.parse()?,
            "--database-url" => a.database_url = Some(val()?),
            "--llm-double-bind" => a.llm_double_bind = Some(val()?),
            "--availability" => a.availability = true,
            "--booking" => a.booking = true,
            "--events" => a.events = true,
            "--clients" => a.clients = val()?.parse()?,
            "--load" => a.load = true,
            "--password-flood" => a.password_flood = true,
            "--businesses" => a.businesses = val()?.parse()?,
            "--pages" => a.pages = true,
            "--voicemail" => a.voicemail = true,
            "--conversations" => a.conversations = val()?.parse()?,
            "--requests" => a.requests = val()?.parse()?,
            "--api-pid" => a.api_pid = Some(val()?.parse()?),
            "--worker-pid" => a.worker_pid = Some(val()?.parse()?),
            other => anyhow::bail!("unknown flag {other}; see the README's Benchmark section"),
        }
    }
    Ok(a)
}

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    nmc_twilio::install_tls_provider();
    let a = args()?;
    if a.availability {
        availability::run();
        return Ok(());
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let (sandbox, sandbox_base) = setup::start_sandbox(&a.sandbox_bind).await?;
    let business = setup::onboard(&a, &http, &sandbox).await?;
    let twilio_number = &business.twilio_number;

    if a.conversation {
        return conversation::run(&a, &sandbox, twilio_number).await;
    }
    if a.booking {
        return booking::run(&a, &http, twilio_number).await;
    }
    if a.events {
        return events::run(&a, &http, twilio_number).await;
    }
    if a.password_flood {
        return flood::run(&a, &http, twilio_number).await;
    }
    if a.voicemail {
        return voicemail::run(&a, &sandbox, twilio_number).await;
    }
    if a.pages {
        return pages::run(&a, twilio_number, &business.owner_email).await;
    }
    if a.load {
        let floor_url = greeting::serve_floor(&http, &sandbox_base).await?;
        return load::run(
            &a,
            &sandbox,
            &http,
            twilio_number,
            &business.owner_email,
            &floor_url,
            &sandbox_base,
        )
        .await;
    }
    greeting::run(&a, &sandbox, &http, twilio_number, &sandbox_base).await
}
