//! The default mode: missed call → greeting text. Fires signed call-completed webhooks at the
//! stack and reports (a) the webhook's response time and (b) webhook sent → the carrier receiving
//! `Messages.json`, next to the floor: a bare axum handler that POSTs to the same sandbox inside the
//! request, with no durability at all.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use nmc_sandbox::Sandbox;

use crate::{ACCOUNT_SID, AUTH_TOKEN, Args, now_us, pct, print_row};

/// One webhook fired: from whom, when (µs since the epoch), how long the answer took and its status.
pub struct Sent {
    caller: String,
    at_us: u128,
    response_ms: f64,
    status: u16,
}

/// Fires one signed call-completed webhook per tick at `rate`, each from a new caller.
pub async fn fire(
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
        let params = crate::setup::missed_call_params(&caller, twilio_number);
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
            let at_us = now_us();
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
                at_us,
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

/// What came of a batch of webhooks: latencies, texts delivered, duplicates and webhook errors.
pub struct Report {
    /// Webhook response times, ms.
    pub response: Vec<f64>,
    /// Webhook sent → first text at the carrier, ms.
    pub to_text: Vec<f64>,
    delivered: usize,
    duplicates: usize,
    errors: usize,
}

/// Waits (up to 30 s, plus 2 s for late duplicates) for the carrier to get a text for each of
/// `sent`, then reports.
pub async fn collect(sandbox: &Sandbox, sent: &[Sent]) -> Report {
    let wanted: HashMap<&str, u128> = sent.iter().map(|s| (s.caller.as_str(), s.at_us)).collect();
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

impl Report {
    /// Both rows, then texts delivered of `n`, duplicates and webhook errors.
    fn print(&mut self, n: usize) {
        print_row("(a) webhook response", &mut self.response);
        print_row(
            "(b) webhook sent → carrier got Messages.json",
            &mut self.to_text,
        );
        println!(
            "  texts delivered {}/{n}, duplicates {}, webhook errors {}",
            self.delivered, self.duplicates, self.errors
        );
    }
}

/// The greeting the floors text each caller.
pub const GREETING: &str = "Hi, this is Bench Plumbing. Sorry we missed your call! How can we help? Reply STOP to opt out.";

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
        .append_pair("Body", GREETING)
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

/// Serves the floor on a free local port: its call-completed webhook URL.
pub async fn serve_floor(http: &reqwest::Client, sandbox_base: &str) -> anyhow::Result<String> {
    let floor = Floor {
        http: http.clone(),
        sandbox_base: sandbox_base.to_owned(),
    };
    let fl = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let floor_url = format!("http://{}/webhook/voice/call-completed", fl.local_addr()?);
    let app = axum::Router::new()
        .route("/webhook/voice/call-completed", post(bare_handler))
        .with_state(floor);
    tokio::spawn(async move { axum::serve(fl, app).await });
    Ok(floor_url)
}

/// Warm-up, then `--rate` × `--duration` missed calls through the stack, then as many through
/// the floor; exits 1 unless every caller got exactly one text.
pub async fn run(
    a: &Args,
    sandbox: &Sandbox,
    http: &reqwest::Client,
    twilio_number: &str,
    sandbox_base: &str,
) -> anyhow::Result<()> {
    let n = (a.rate * a.duration).round() as usize;
    // Warm-up (connections, caches, first workflow tasks); not counted.
    let warm = fire(
        http,
        &format!("{}/webhook/voice/call-completed", a.api),
        twilio_number,
        5129,
        a.rate,
        20,
    )
    .await;
    collect(sandbox, &warm).await;

    println!(
        "nmc-bench: {n} signed missed-call webhooks at {} /s for {} s",
        a.rate, a.duration
    );
    let url = format!("{}/webhook/voice/call-completed", a.api);
    let sent = fire(http, &url, twilio_number, 5125, a.rate, n).await;
    let mut ours = collect(sandbox, &sent).await;

    // The floor, against the same sandbox.
    let floor_url = serve_floor(http, sandbox_base).await?;
    let sent_floor = fire(http, &floor_url, twilio_number, 5126, a.rate, n).await;
    let mut bare = collect(sandbox, &sent_floor).await;

    println!(
        "\ndurable path (webhook → record → Signal-With-Start → workflow → send_sms activity → carrier)"
    );
    ours.print(n);
    println!(
        "\nfloor (bare axum handler posting to the carrier inside the request, no durability)"
    );
    bare.print(n);
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
