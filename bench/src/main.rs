//! nmc-bench: fires N correctly signed missed-call webhooks at rate R against a running stack
//! and reports p50/p95/p99 of (a) the webhook's response time and (b) webhook sent → the
//! carrier receiving `Messages.json`, with texts delivered and duplicates. In the same run it
//! measures the floor: a bare axum handler that POSTs to the same sandbox inside the request,
//! with no durability at all.
//!
//! The stack's TWILIO_API_BASE must point at this process's sandbox (`--sandbox-bind`);
//! `scripts/bench` wires it all up.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use nmc_sandbox::Sandbox;
use serde_json::json;

mod flood;
mod load;

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
    api_pid: Option<u32>,
    worker_pid: Option<u32>,
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
        api_pid: None,
        worker_pid: None,
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

struct Sent {
    caller: String,
    sent_us: u128,
    response_ms: f64,
    status: u16,
}

/// Fires one signed call-completed webhook per tick at `rate`, each from a new caller.
async fn fire(
    http: &reqwest::Client,
    url: &str,
    twilio_number: &str,
    prefix: u64,
    rate: f64,
    n: usize,
) -> Vec<Sent> {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        ticker.tick().await;
        let caller = format!("+1{prefix}{i:06}");
        let params: Vec<(String, String)> = vec![
            ("AccountSid".into(), ACCOUNT_SID.into()),
            (
                "CallSid".into(),
                format!("CA{}", uuid::Uuid::new_v4().simple()),
            ),
            ("CallStatus".into(), "in-progress".into()),
            ("DialCallStatus".into(), "no-answer".into()),
            ("Direction".into(), "inbound".into()),
            ("From".into(), caller.clone()),
            ("To".into(), twilio_number.into()),
        ];
        let sig = nmc_twilio::signature::sign(AUTH_TOKEN, url, &params);
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            form.append_pair(k, v);
        }
        let req = http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .body(form.finish());
        tasks.push(tokio::spawn(async move {
            let sent_us = now_us();
            let t = Instant::now();
            let status = match req.send().await {
                Ok(r) => {
                    let s = r.status().as_u16();
                    let _ = r.bytes().await;
                    s
                }
                Err(_) => 0,
            };
            Sent {
                caller,
                sent_us,
                response_ms: t.elapsed().as_secs_f64() * 1000.0,
                status,
            }
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

struct Report {
    response: Vec<f64>,
    to_text: Vec<f64>,
    delivered: usize,
    duplicates: usize,
    errors: usize,
}

async fn collect(sandbox: &Sandbox, sent: &[Sent]) -> Report {
    let wanted: HashMap<&str, u128> = sent
        .iter()
        .map(|s| (s.caller.as_str(), s.sent_us))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let have = sandbox
            .messages()
            .iter()
            .filter(|m| wanted.contains_key(m.to.as_str()))
            .count();
        if have >= sent.len() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // late duplicates
    let mut per_caller: HashMap<&str, Vec<u128>> = HashMap::new();
    for m in sandbox.messages() {
        if let Some((k, _)) = wanted.get_key_value(m.to.as_str()) {
            per_caller.entry(k).or_default().push(m.received_unix_us);
        }
    }
    let mut to_text = Vec::new();
    let mut duplicates = 0;
    for (caller, times) in &per_caller {
        duplicates += times.len() - 1;
        let first = times.iter().min().unwrap();
        to_text.push((first.saturating_sub(wanted[caller])) as f64 / 1000.0);
    }
    Report {
        response: sent.iter().map(|s| s.response_ms).collect(),
        to_text,
        delivered: per_caller.len(),
        duplicates,
        errors: sent.iter().filter(|s| s.status != 200).count(),
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn print_row(name: &str, v: &mut [f64]) {
    println!(
        "  {name:<44} p50 {:>8.1} ms   p95 {:>8.1} ms   p99 {:>8.1} ms",
        pct(v, 0.5),
        pct(v, 0.95),
        pct(v, 0.99)
    );
}

#[derive(Clone)]
struct Floor {
    http: reqwest::Client,
    sandbox_base: String,
}

/// The floor: send the text inside the webhook request, nothing recorded, nothing durable.
async fn bare_handler(State(f): State<Floor>, body: Bytes) -> &'static str {
    let params: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("To", &params["From"])
        .append_pair("From", &params["To"])
        .append_pair("Body", "Hi, this is Bench Plumbing. Sorry we missed your call! How can we help? Reply STOP to opt out.")
        .finish();
    let _ = f
        .http
        .post(format!(
            "{}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
            f.sandbox_base
        ))
        .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await;
    "<Response/>"
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    nmc_twilio::install_tls_provider();
    let a = args()?;
    if a.availability {
        availability();
        return Ok(());
    }
    let n = (a.rate * a.duration).round() as usize;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;

    let sandbox = Sandbox::new();
    let listener = tokio::net::TcpListener::bind(&a.sandbox_bind)
        .await
        .context("bind the sandbox")?;
    let sandbox_base = format!("http://{}", listener.local_addr()?);
    let router = sandbox.router();
    tokio::spawn(async move { axum::serve(listener, router).await });

    // A fresh business for this run, its number configured in our sandbox.
    let twilio_number = format!("+1500{:07}", now_us() % 10_000_000);
    let owner_email = format!("owner-{}@bench.example", now_us());
    let resp = http
        .post(format!("{}/api/admin/businesses", a.api))
        .bearer_auth(&a.admin_token)
        .json(&json!({
            "name": "Bench Plumbing", "owner_name": "Bench Owner", "owner_phone": "+15125550111",
            "business_phone": "+15125550100", "twilio_number": twilio_number,
            "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN, "timezone": "America/Chicago",
            "call_mode": "dial_through",
            "owner_email": owner_email, "owner_password": "bench owner password"
        }))
        .send()
        .await?;
    anyhow::ensure!(
        resp.status() == 201,
        "onboarding failed: {} {}",
        resp.status(),
        resp.text().await?
    );
    sandbox.register_number(
        &twilio_number,
        ACCOUNT_SID,
        AUTH_TOKEN,
        &format!("{}/webhook/voice/incoming", a.api),
        &format!("{}/webhook/sms/incoming", a.api),
    );

    if a.conversation {
        return conversation(&a, &sandbox, &twilio_number).await;
    }
    if a.booking {
        return booking(&a, &http, &twilio_number).await;
    }
    if a.events {
        return events(&a, &http, &twilio_number).await;
    }
    if a.password_flood {
        return flood::run(&a, &http, &twilio_number).await;
    }
    if a.load {
        let floor = Floor {
            http: http.clone(),
            sandbox_base: sandbox_base.clone(),
        };
        let fl = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let floor_url = format!("http://{}/webhook/voice/call-completed", fl.local_addr()?);
        let app = axum::Router::new()
            .route("/webhook/voice/call-completed", post(bare_handler))
            .with_state(floor);
        tokio::spawn(async move { axum::serve(fl, app).await });
        return load::run(
            &a,
            &sandbox,
            &http,
            &twilio_number,
            &owner_email,
            &floor_url,
        )
        .await;
    }

    // Warm-up (connections, caches, first workflow tasks); not counted.
    let warm = fire(
        &http,
        &format!("{}/webhook/voice/call-completed", a.api),
        &twilio_number,
        5129,
        a.rate,
        20,
    )
    .await;
    collect(&sandbox, &warm).await;

    println!(
        "nmc-bench: {n} signed missed-call webhooks at {} /s for {} s",
        a.rate, a.duration
    );
    let url = format!("{}/webhook/voice/call-completed", a.api);
    let sent = fire(&http, &url, &twilio_number, 5125, a.rate, n).await;
    let mut ours = collect(&sandbox, &sent).await;

    // The floor, against the same sandbox.
    let floor = Floor {
        http: http.clone(),
        sandbox_base: sandbox_base.clone(),
    };
    let fl = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let floor_url = format!("http://{}/webhook/voice/call-completed", fl.local_addr()?);
    let app = axum::Router::new()
        .route("/webhook/voice/call-completed", post(bare_handler))
        .with_state(floor);
    tokio::spawn(async move { axum::serve(fl, app).await });
    let sent_floor = fire(&http, &floor_url, &twilio_number, 5126, a.rate, n).await;
    let mut bare = collect(&sandbox, &sent_floor).await;

    println!(
        "\ndurable path (webhook → record → Signal-With-Start → workflow → send_sms activity → carrier)"
    );
    print_row("(a) webhook response", &mut ours.response);
    print_row(
        "(b) webhook sent → carrier got Messages.json",
        &mut ours.to_text,
    );
    println!(
        "  texts delivered {}/{n}, duplicates {}, webhook errors {}",
        ours.delivered, ours.duplicates, ours.errors
    );
    println!(
        "\nfloor (bare axum handler posting to the carrier inside the request, no durability)"
    );
    print_row("(a) webhook response", &mut bare.response);
    print_row(
        "(b) webhook sent → carrier got Messages.json",
        &mut bare.to_text,
    );
    println!(
        "  texts delivered {}/{n}, duplicates {}, webhook errors {}",
        bare.delivered, bare.duplicates, bare.errors
    );
    println!(
        "\nour p95 as a multiple of the floor: (a) {:.1}x   (b) {:.1}x",
        pct(&mut ours.response, 0.95) / pct(&mut bare.response, 0.95),
        pct(&mut ours.to_text, 0.95) / pct(&mut bare.to_text, 0.95)
    );
    if ours.delivered != n || ours.duplicates != 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// An OpenAI-compatible double that answers every turn at once with a valid structured turn.
async fn serve_llm_double(bind: &str) -> anyhow::Result<()> {
    let content = json!({
        "reply": "Sorry about that! Can I get your name?",
        "learned": {"name": null, "service_needed": "kitchen sink won't drain", "trade": "plumbing", "urgency": null, "address": null, "preferred_time": null},
        "intent": "question", "emergency": false, "needs_human": false, "asked": "name"
    })
    .to_string();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let content = content.clone();
            async move {
                axum::Json(json!({
                    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "bench",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .context("bind the LLM double")?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(())
}

/// Caller text received → assistant reply sent, with the owner's head start set to 0 (it is a
/// product delay, not a cost). Each caller first gets the greeting, then texts once.
async fn conversation(a: &Args, sandbox: &Sandbox, twilio_number: &str) -> anyhow::Result<()> {
    let db = sqlx::PgPool::connect(
        a.database_url
            .as_deref()
            .context("--database-url (or DATABASE_URL) is needed to set the owner window to 0")?,
    )
    .await?;
    sqlx::query("update businesses set owner_window_secs = 0, quiet_start = '00:00', quiet_end = '00:00' where twilio_number = $1")
        .bind(twilio_number)
        .execute(&db)
        .await?;
    let engine = match &a.llm_double_bind {
        Some(bind) => {
            serve_llm_double(bind).await?;
            "LLM (local OpenAI-compatible double, answers at once)"
        }
        None => "rules",
    };
    let callers: Vec<String> = (0..a.callers).map(|i| format!("+1512444{i:04}")).collect();
    // Greetings first (not measured here), at the given rate.
    let completed = format!("{}/webhook/voice/call-completed", a.api);
    for caller in &callers {
        let params: Vec<(String, String)> = vec![
            ("AccountSid".into(), ACCOUNT_SID.into()),
            (
                "CallSid".into(),
                format!("CA{}", uuid::Uuid::new_v4().simple()),
            ),
            ("CallStatus".into(), "in-progress".into()),
            ("DialCallStatus".into(), "no-answer".into()),
            ("From".into(), caller.clone()),
            ("To".into(), twilio_number.into()),
        ];
        sandbox
            .post_signed(&completed, AUTH_TOKEN, &params)
            .await
            .map_err(anyhow::Error::msg)?;
        tokio::time::sleep(Duration::from_secs_f64(1.0 / a.rate)).await;
    }
    let greeted = |n: usize| {
        sandbox
            .messages()
            .iter()
            .filter(|m| callers.contains(&m.to))
            .count()
            >= n
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !greeted(callers.len()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Then one text per caller, at the rate.
    let incoming = format!("{}/webhook/sms/incoming", a.api);
    let mut sent_at: HashMap<String, u128> = HashMap::new();
    let mut errors = 0;
    for caller in &callers {
        let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
        let params: Vec<(String, String)> = vec![
            ("AccountSid".into(), ACCOUNT_SID.into()),
            ("Body".into(), "Hi, my kitchen sink won't drain".into()),
            ("From".into(), caller.clone()),
            ("MessageSid".into(), sid),
            ("NumMedia".into(), "0".into()),
            ("To".into(), twilio_number.into()),
        ];
        sent_at.insert(caller.clone(), now_us());
        if sandbox
            .post_signed(&incoming, AUTH_TOKEN, &params)
            .await
            .map_err(anyhow::Error::msg)?
            .0
            != 200
        {
            errors += 1;
        }
        tokio::time::sleep(Duration::from_secs_f64(1.0 / a.rate)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !greeted(callers.len() * 2) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut latencies = Vec::new();
    let mut per_caller: HashMap<String, usize> = HashMap::new();
    for m in sandbox.messages() {
        if let Some(t0) = sent_at.get(&m.to) {
            *per_caller.entry(m.to.clone()).or_default() += 1;
            if m.received_unix_us > *t0 {
                latencies.push((m.received_unix_us - t0) as f64 / 1000.0);
            }
        }
    }
    let replied = latencies.len();
    let duplicates: usize = per_caller.values().map(|n| n.saturating_sub(2)).sum();
    println!(
        "nmc-bench conversation: {} callers texting at {} /s, assistant: {engine}",
        a.callers, a.rate
    );
    print_row(
        "caller text webhook sent → assistant reply at carrier",
        &mut latencies,
    );
    println!(
        "  replies {replied}/{}, duplicates {duplicates}, webhook errors {errors}",
        a.callers
    );
    if replied != a.callers || duplicates != 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// 14 days of slots for a business with 3 technicians and 500 appointments, timed per call.
fn availability() {
    use chrono::{Duration as D, NaiveDate, NaiveTime, TimeZone, Utc};
    use nmc_domain::availability::{
        Busy, Request, ScheduleRules, Technician, WeekSchedule, available_slots,
    };
    let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    let mut week: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
    for d in week.iter_mut().take(6) {
        *d = vec![(t(7), t(12)), (t(13), t(18))];
    }
    let rules = ScheduleRules {
        hours: WeekSchedule(week),
        closures: vec![],
        buffer_minutes: 30,
        max_jobs_per_day: 8,
        booking_window_days: 30,
        min_lead_minutes: 120,
        step_minutes: 30,
    };
    let techs: Vec<Technician> = (1..=5)
        .map(|i| Technician {
            id: uuid::Uuid::from_u128(i),
            hours: None,
        })
        .collect();
    let tz: chrono_tz::Tz = "America/Chicago".parse().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    // 500 appointments: 290 already done (the last two months), 210 ahead — three 1-hour jobs a day
    // (9:00, 11:30, 14:30 local) for each of the five technicians over the 14 days searched.
    let mut busy: Vec<Busy> = (0..290)
        .map(|i: i64| {
            let start = now - D::days(60) + D::minutes(i * 290);
            Busy {
                technician: Some(techs[(i % 5) as usize].id),
                start,
                end: start + D::hours(1),
            }
        })
        .collect();
    let first = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    'fill: for day in 0..14 {
        for (k, tech) in techs.iter().enumerate() {
            for (h, m) in [(9, 0), (11, 30), (14, 30)] {
                if busy.len() == 500 {
                    break 'fill;
                }
                let local = (first + D::days(day)).and_hms_opt(h, m, 0).unwrap()
                    + D::minutes(k as i64 * 10);
                let start = tz
                    .from_local_datetime(&local)
                    .earliest()
                    .unwrap()
                    .with_timezone(&Utc);
                busy.push(Busy {
                    technician: Some(tech.id),
                    start,
                    end: start + D::hours(1),
                });
            }
        }
    }
    let from = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let req = Request {
        tz,
        rules: &rules,
        technicians: &techs,
        busy: &busy,
        now,
        from,
        to: from + D::days(13),
        duration_minutes: 90,
    };
    let slots = available_slots(&req).len();
    let mut micros = Vec::new();
    for _ in 0..2000 {
        let started = Instant::now();
        std::hint::black_box(available_slots(std::hint::black_box(&req)));
        micros.push(started.elapsed().as_secs_f64() * 1e6);
    }
    micros.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| micros[((micros.len() - 1) as f64 * q) as usize];
    println!(
        "availability: 14 days, 5 technicians, {} appointments, 90-minute job → {slots} slots",
        busy.len()
    );
    println!(
        "  per call over 2000 calls: p50 {:.0} µs   p95 {:.0} µs   p99 {:.0} µs",
        p(0.5),
        p(0.95),
        p(0.99)
    );
}

/// `--booking`: a business with its starter catalog and five technicians, open every day; then
/// `GET /api/availability` and `POST /api/appointments` from `--clients` concurrent clients for
/// `--duration` seconds each, then 50 concurrent bookings of one technician's same slot.
async fn booking(a: &Args, http: &reqwest::Client, twilio_number: &str) -> anyhow::Result<()> {
    let list: serde_json::Value = http
        .get(format!("{}/api/admin/businesses", a.api))
        .bearer_auth(&a.admin_token)
        .send()
        .await?
        .json()
        .await?;
    let business = list
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["twilio_number"] == twilio_number)
        .context("the business just onboarded")?["id"]
        .as_str()
        .context("business id")?
        .to_owned();
    let owner = |m: reqwest::Method, path: &str| {
        http.request(m, format!("{}{path}", a.api))
            .bearer_auth(&a.admin_token)
            .header("x-business-id", &business)
    };
    owner(reqwest::Method::POST, "/api/catalog/adopt")
        .json(&json!({"trade": "plumbing"}))
        .send()
        .await?
        .error_for_status()?;
    let mut techs = vec![];
    for i in 0..5 {
        let r: serde_json::Value = owner(reqwest::Method::POST, "/api/technicians")
            .json(&json!({"name": format!("Tech {i}")}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        techs.push(r["id"].as_str().unwrap_or_default().to_owned());
    }
    let day = json!([["07:00", "19:00"]]);
    owner(reqwest::Method::PUT, "/api/schedule")
        .json(&json!({"hours": [day, day, day, day, day, day, day], "closures": [], "buffer_minutes": 0, "max_jobs_per_day": 50,
                      "booking_window_days": 14, "min_lead_minutes": 0, "step_minutes": 30, "default_job_minutes": 60, "reminder_minutes": [1440, 60]}))
        .send()
        .await?
        .error_for_status()?;
    println!(
        "nmc-bench --booking: {} concurrent clients, {} s per endpoint; business with 5 technicians",
        a.clients, a.duration
    );

    // 500 bookings spread over the next 10 days, five technicians, inside the shifts: each client
    // books its own share, so every booking is a real insert that succeeds (conflicts are the
    // race's job below). Availability then works around those 500 appointments.
    let tz: chrono_tz::Tz = "America/Chicago".parse()?;
    let tomorrow = (chrono::Utc::now().with_timezone(&tz) + chrono::Duration::days(1)).date_naive();
    let base = {
        use chrono::TimeZone;
        tz.from_local_datetime(&tomorrow.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    const BOOKINGS: i64 = 500;
    let run = |endpoint: &'static str| {
        let owner_http = http.clone();
        let (api, token, business, techs) = (
            a.api.clone(),
            a.admin_token.clone(),
            business.clone(),
            techs.clone(),
        );
        let (clients, duration) = (a.clients, a.duration);
        async move {
            let deadline = Instant::now() + Duration::from_secs_f64(duration);
            let mut tasks = vec![];
            for c in 0..clients {
                let (http, api, token, business, tech, techs_all) = (
                    owner_http.clone(),
                    api.clone(),
                    token.clone(),
                    business.clone(),
                    techs[c % techs.len()].clone(),
                    techs.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let _ = tech;
                    let (mut times, mut errors, mut k) = (Vec::new(), 0usize, 0i64);
                    loop {
                        let j = k * clients as i64 + c as i64;
                        if (endpoint == "availability" && Instant::now() >= deadline) || (endpoint != "availability" && j >= BOOKINGS) {
                            break;
                        }
                        k += 1;
                        let t = Instant::now();
                        let req = if endpoint == "availability" {
                            http.get(format!("{api}/api/availability?duration_minutes=90&limit=50"))
                        } else {
                            // Booking j: technician j % 5, day 1 + m / 10, hour 7 + m % 10 (m = j / 5).
                            let m = j / 5;
                            let start = base + chrono::Duration::days(1 + m / 10) + chrono::Duration::hours(7 + m % 10);
                            let tech = &techs_all[(j % 5) as usize];
                            http.post(format!("{api}/api/appointments")).json(&json!({"start": start, "duration_minutes": 60, "technician_id": tech, "customer_name": "Bench"}))
                        };
                        let ok = match req.bearer_auth(&token).header("x-business-id", &business).send().await {
                            Ok(r) => {
                                let ok = r.status().is_success();
                                let _ = r.bytes().await;
                                ok
                            }
                            Err(_) => false,
                        };
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                        errors += usize::from(!ok);
                    }
                    (times, errors)
                }));
            }
            let (mut all, mut errors) = (Vec::new(), 0);
            for t in tasks {
                let (times, e) = t.await.unwrap();
                all.extend(times);
                errors += e;
            }
            (all, errors)
        }
    };
    let t0 = Instant::now();
    let (mut booked, booking_errors) = run("appointments").await;
    let booking_secs = t0.elapsed().as_secs_f64();
    // Let the 500 appointment workflows (calendar sync, reminder timers) settle first, so the
    // availability figures are the endpoint's own.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let (mut avail, avail_errors) = run("availability").await;
    print_row("POST /api/appointments", &mut booked);
    println!(
        "    {} bookings in {booking_secs:.1} s ({:.0}/s), errors {booking_errors}",
        booked.len(),
        booked.len() as f64 / booking_secs
    );
    print_row("GET /api/availability (90-min job, 14 days)", &mut avail);
    println!(
        "    {} requests over those {} appointments ({:.0}/s), errors {avail_errors}",
        avail.len(),
        booked.len(),
        avail.len() as f64 / a.duration
    );

    // The race: 50 clients book the same technician's same hour at once.
    let start = base + chrono::Duration::days(12) + chrono::Duration::hours(10);
    let mut racers = vec![];
    for _ in 0..50 {
        let req = owner(reqwest::Method::POST, "/api/appointments")
            .json(&json!({"start": start, "duration_minutes": 60, "technician_id": techs[0]}));
        racers.push(tokio::spawn(async move {
            let r = req.send().await.ok()?;
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            Some((
                status,
                body["alternatives"].as_array().map_or(0, |a| a.len()),
            ))
        }));
    }
    let mut outcomes: HashMap<u16, usize> = HashMap::new();
    let mut with_alternatives = 0;
    for r in racers {
        if let Some((status, alts)) = r.await? {
            *outcomes.entry(status).or_default() += 1;
            with_alternatives += usize::from(status == 409 && alts > 0);
        }
    }
    let created = outcomes.get(&201).copied().unwrap_or(0);
    let conflicts = outcomes.get(&409).copied().unwrap_or(0);
    println!(
        "  50-way race for one slot: {created} booked, {conflicts} conflict (409), {with_alternatives} of them with fresh alternatives, other {}",
        50 - created - conflicts
    );
    if created != 1 || conflicts != 49 || booking_errors > 0 || avail_errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// `--events`: `--clients` owners' SSE connections to one business; events committed at `--rate`
/// for `--duration` s; each delivery timed from the commit (the insert returning) to its arrival.
async fn events(a: &Args, http: &reqwest::Client, twilio_number: &str) -> anyhow::Result<()> {
    let db = sqlx::PgPool::connect(
        a.database_url
            .as_deref()
            .context("--database-url (or DATABASE_URL)")?,
    )
    .await?;
    let (business, email): (uuid::Uuid, String) = sqlx::query_as("select b.id, u.email from businesses b join users u on u.business_id = b.id where b.twilio_number = $1")
        .bind(twilio_number)
        .fetch_one(&db)
        .await?;
    let login: serde_json::Value = http
        .post(format!("{}/api/auth/login", a.api))
        .json(&json!({"email": email, "password": "bench owner password"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["access_token"].as_str().context("token")?.to_owned();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(i64, u128)>();
    let mut ready = 0;
    for _ in 0..a.clients {
        let resp = reqwest::Client::new()
            .get(format!("{}/api/events", a.api))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?;
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut resp = resp;
            let mut buf = String::new();
            while let Ok(Some(chunk)) = resp.chunk().await {
                let at = now_us();
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:"))
                        && let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim())
                        && let Some(seq) = v["seq"].as_i64()
                    {
                        let _ = tx.send((seq, at));
                    }
                }
            }
        });
        ready += 1;
    }
    drop(tx);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let n = (a.rate * a.duration).round() as i64;
    println!(
        "nmc-bench --events: {ready} SSE clients, {n} events at {} /s, each delivered to every client",
        a.rate
    );
    let mut committed: HashMap<i64, u128> = HashMap::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / a.rate));
    for seq in 0..n {
        ticker.tick().await;
        sqlx::query("insert into events (business_id, kind, data) values ($1, 'bench', jsonb_build_object('seq', $2::bigint))")
            .bind(business)
            .bind(seq)
            .execute(&db)
            .await?;
        committed.insert(seq, now_us());
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut latencies = Vec::new();
    while latencies.len() < (n as usize) * ready && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            Ok(Some((seq, at))) => {
                if let Some(t0) = committed.get(&seq) {
                    latencies.push(at.saturating_sub(*t0) as f64 / 1000.0);
                }
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
    let expected = n as usize * ready;
    print_row("event committed → delivered (every client)", &mut latencies);
    println!("    deliveries {}/{expected}", latencies.len());
    if latencies.len() != expected {
        std::process::exit(1);
    }
    Ok(())
}
