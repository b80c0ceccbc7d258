//! `--password-flood`: the caller-text webhook's answer time while `--clients` clients hammer the
//! password endpoints, against the same webhook with no flood in the same run. Half the clients
//! log in with a wrong password for an unknown email, half sign up; every request comes from its
//! own made-up address (`X-Forwarded-For`, which `scripts/bench password-flood` tells the API to
//! trust) with its own email, so no limit refuses it and each one costs a full argon2 hash: the
//! worst a botnet can do. `scripts/bench password-flood` runs it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{ACCOUNT_SID, AUTH_TOKEN, Args, now_us, pct, print_row};

/// Signed caller texts at `rate` for `duration` seconds, each from a new caller (`prefix` keeps
/// the phases' callers apart): their answer times in ms, and how many failed.
async fn texts(
    http: &reqwest::Client,
    api: &str,
    twilio_number: &str,
    prefix: u32,
    rate: f64,
    duration: f64,
) -> (Vec<f64>, usize) {
    let url = format!("{api}/webhook/sms/incoming");
    let n = (rate * duration).round() as usize;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        ticker.tick().await;
        let params: Vec<(String, String)> = vec![
            ("AccountSid".into(), ACCOUNT_SID.into()),
            ("Body".into(), "Hi, my kitchen sink won't drain".into()),
            ("From".into(), format!("+1512{prefix:03}{:04}", i % 10_000)),
            (
                "MessageSid".into(),
                format!("SM{}", uuid::Uuid::new_v4().simple()),
            ),
            ("NumMedia".into(), "0".into()),
            ("To".into(), twilio_number.into()),
        ];
        let signature = nmc_twilio::signature::sign(AUTH_TOKEN, &url, &params);
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            form.append_pair(k, v);
        }
        let req = http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(form.finish());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = match req.send().await {
                Ok(r) => {
                    let ok = r.status().is_success();
                    let _ = r.bytes().await;
                    ok
                }
                Err(_) => false,
            };
            (t.elapsed().as_secs_f64() * 1000.0, ok)
        }));
    }
    let (mut times, mut errors) = (Vec::with_capacity(n), 0);
    for t in tasks {
        if let Ok((ms, ok)) = t.await {
            times.push(ms);
            errors += usize::from(!ok);
        }
    }
    (times, errors)
}

/// One flooding client, back to back until `stop`: wrong log-ins (even clients) or sign-ups
/// (odd ones). Returns how many answers of each status it got.
async fn flood_client(api: String, client: usize, stop: Arc<AtomicBool>) -> HashMap<u16, usize> {
    let http = reqwest::Client::new();
    let mut seen = HashMap::new();
    let mut k = 0u64;
    while !stop.load(Ordering::Relaxed) {
        k += 1;
        let address = format!("10.{client}.{}.{}", k / 256 % 256, k % 256);
        let email = format!("flood-{client}-{k}-{}@bench.example", now_us());
        let req = if client.is_multiple_of(2) {
            http.post(format!("{api}/api/auth/login"))
                .json(&json!({"email": email, "password": "not the password at all"}))
        } else {
            http.post(format!("{api}/api/auth/signup"))
                .json(&json!({"business_name": "Flood Co", "owner_name": "Flood", "email": email, "password": "a flood of passwords", "phone": "+15125550199"}))
        };
        let status = match req.header("x-forwarded-for", address).send().await {
            Ok(r) => {
                let s = r.status().as_u16();
                let _ = r.bytes().await;
                s
            }
            Err(_) => 0,
        };
        *seen.entry(status).or_default() += 1;
    }
    seen
}

pub async fn run(a: &Args, http: &reqwest::Client, twilio_number: &str) -> anyhow::Result<()> {
    println!(
        "nmc-bench --password-flood: signed caller texts at {} /s for {} s, alone, then while {} clients flood log-in and sign-up",
        a.rate, a.duration, a.clients
    );
    texts(http, &a.api, twilio_number, 461, a.rate, 2.0).await; // warm-up, not counted
    let (mut alone, alone_errors) =
        texts(http, &a.api, twilio_number, 462, a.rate, a.duration).await;
    // Let the replies to those texts go out before the second phase.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let flooders: Vec<_> = (0..a.clients)
        .map(|c| tokio::spawn(flood_client(a.api.clone(), c, stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await; // the flood builds up first
    let (mut flooded, flooded_errors) =
        texts(http, &a.api, twilio_number, 463, a.rate, a.duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for f in flooders {
        for (status, n) in f.await? {
            *statuses.entry(status).or_default() += n;
        }
    }
    let flood_secs = started.elapsed().as_secs_f64();

    print_row("webhook answer, no flood (same run)", &mut alone);
    print_row(
        &format!("webhook answer, {} clients flooding", a.clients),
        &mut flooded,
    );
    let total: usize = statuses.values().sum();
    let mut by_status: Vec<(u16, usize)> = statuses.into_iter().collect();
    by_status.sort_unstable();
    println!(
        "    flood: {total} password requests in {flood_secs:.1} s ({:.0}/s); (status, count) {by_status:?}",
        total as f64 / flood_secs
    );
    println!(
        "    p95 flooded ÷ p95 alone: {:.1}x; webhook errors {alone_errors} alone, {flooded_errors} flooded",
        pct(&mut flooded, 0.95) / pct(&mut alone, 0.95)
    );
    if alone_errors + flooded_errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}
