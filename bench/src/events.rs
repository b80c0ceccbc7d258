//! `--events`: `--clients` owners' SSE connections to one business; events committed at `--rate`
//! for `--duration` s; each delivery timed from the commit (the insert returning) to its arrival.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::{Args, now_us, print_row};

/// The business's id and its owner's access token.
async fn owner_login(
    a: &Args,
    http: &reqwest::Client,
    db: &sqlx::PgPool,
    twilio_number: &str,
) -> anyhow::Result<(uuid::Uuid, String)> {
    let (business, email): (uuid::Uuid, String) = sqlx::query_as("select b.id, u.email from businesses b join users u on u.business_id = b.id where b.twilio_number = $1")
        .bind(twilio_number)
        .fetch_one(db)
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
    Ok((business, token))
}

/// Opens `--clients` SSE connections: each sends (seq, µs since the epoch) for every event it
/// receives. How many are connected.
async fn connect_clients(
    a: &Args,
    token: &str,
    tx: &UnboundedSender<(i64, u128)>,
) -> anyhow::Result<usize> {
    let mut ready = 0;
    for _ in 0..a.clients {
        let resp = reqwest::Client::new()
            .get(format!("{}/api/events", a.api))
            .bearer_auth(token)
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
    Ok(ready)
}

/// Commits `n` events at `--rate`: when each insert returned, µs since the epoch, by seq.
async fn commit(
    a: &Args,
    db: &sqlx::PgPool,
    business: uuid::Uuid,
    n: i64,
) -> anyhow::Result<HashMap<i64, u128>> {
    let mut committed: HashMap<i64, u128> = HashMap::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / a.rate));
    for seq in 0..n {
        ticker.tick().await;
        sqlx::query("insert into events (business_id, kind, data) values ($1, 'bench', jsonb_build_object('seq', $2::bigint))")
            .bind(business)
            .bind(seq)
            .execute(db)
            .await?;
        committed.insert(seq, now_us());
    }
    Ok(committed)
}

/// Deliveries, timed from the commit, until all `expected` arrived or 10 s pass.
async fn deliveries(
    rx: &mut UnboundedReceiver<(i64, u128)>,
    committed: &HashMap<i64, u128>,
    expected: usize,
) -> Vec<f64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut latencies = Vec::new();
    while latencies.len() < expected && Instant::now() < deadline {
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
    latencies
}

/// Every event delivered to every client, timed; exits 1 unless all were.
pub async fn run(a: &Args, http: &reqwest::Client, twilio_number: &str) -> anyhow::Result<()> {
    let db = sqlx::PgPool::connect(
        a.database_url
            .as_deref()
            .context("--database-url (or DATABASE_URL)")?,
    )
    .await?;
    let (business, token) = owner_login(a, http, &db, twilio_number).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(i64, u128)>();
    let ready = connect_clients(a, &token, &tx).await?;
    drop(tx);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let n = (a.rate * a.duration).round() as i64;
    println!(
        "nmc-bench --events: {ready} SSE clients, {n} events at {} /s, each delivered to every client",
        a.rate
    );
    let committed = commit(a, &db, business, n).await?;
    let expected = n as usize * ready;
    let mut latencies = deliveries(&mut rx, &committed, expected).await;
    print_row("event committed → delivered (every client)", &mut latencies);
    println!("    deliveries {}/{expected}", latencies.len());
    if latencies.len() != expected {
        std::process::exit(1);
    }
    Ok(())
}
