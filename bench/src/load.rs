//! `--load`: a Monday-morning burst against the whole stack. Seeds `--businesses` businesses
//! (catalog and a technician each), then for `--duration` s places `--rate` missed calls per
//! second spread over them; 60 % of callers text back after their greeting, 5 % text STOP, the
//! owner of the first business takes over some of its conversations, and every 5 s ten owners'
//! clients race for the same slot. Reports p50/p95/p99 per stage next to its floor (the bare
//! path with no durability, measured in the same run), throughput, texts lost and duplicated,
//! double bookings, and the API's and worker's peak memory and CPU.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use nmc_sandbox::Sandbox;
use serde_json::{Value, json};

use crate::{ACCOUNT_SID, AUTH_TOKEN, Args, now_us, pct};

const REPLY: &str = "my kitchen sink is clogged, this is Sam at 12 Oak St";

#[derive(Default)]
struct Stage(Vec<f64>);

impl Stage {
    fn row(&mut self, name: &str, floor: Option<&mut Stage>) {
        let v = &mut self.0;
        let (p50, p95, p99) = (pct(v, 0.5), pct(v, 0.95), pct(v, 0.99));
        match floor {
            Some(f) => {
                let f95 = pct(&mut f.0, 0.95);
                println!(
                    "| {name} | {} | {p50:.1} | {p95:.1} | {p99:.1} | {:.1} | {f95:.1} | {:.1}× |",
                    v.len(),
                    pct(&mut f.0, 0.5),
                    p95 / f95
                );
            }
            None => println!(
                "| {name} | {} | {p50:.1} | {p95:.1} | {p99:.1} | – | – |",
                v.len()
            ),
        }
    }
}

/// What each caller should end up with, and when things happened to them.
#[derive(Clone, Default)]
struct Caller {
    business: String,
    called_us: u128,
    replies: bool,
    stops: bool,
    taken_over: bool,
    texted_us: Option<u128>,
    got: Vec<(u128, String)>,
}

/// Peak resident memory (MiB) and CPU seconds of a process, from /proc.
fn proc_sample(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some((rss_kb / 1024.0, ticks / 100.0))
}

async fn login(http: &reqwest::Client, api: &str, email: &str) -> anyhow::Result<String> {
    let r: Value = http
        .post(format!("{api}/api/auth/login"))
        .json(&json!({"email": email, "password": "bench owner password"}))
        .send()
        .await?
        .json()
        .await?;
    Ok(r["access_token"]
        .as_str()
        .context("owner token")?
        .to_owned())
}

async fn signed_post(http: &reqwest::Client, url: &str, params: &[(String, String)]) -> (u16, f64) {
    let sig = nmc_twilio::signature::sign(AUTH_TOKEN, url, params);
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            form.append_pair(k, v);
        }
        form.finish()
    };
    let t = Instant::now();
    let status = match http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", sig)
        .body(body)
        .send()
        .await
    {
        Ok(r) => {
            let s = r.status().as_u16();
            let _ = r.bytes().await;
            s
        }
        Err(_) => 0,
    };
    (status, t.elapsed().as_secs_f64() * 1000.0)
}

fn sms_params(from: &str, to: &str, body: &str) -> Vec<(String, String)> {
    vec![
        ("AccountSid".into(), ACCOUNT_SID.into()),
        ("Body".into(), body.into()),
        ("From".into(), from.into()),
        (
            "MessageSid".into(),
            format!("SM{}", uuid::Uuid::new_v4().simple()),
        ),
        ("NumMedia".into(), "0".into()),
        ("To".into(), to.into()),
    ]
}

pub async fn run(
    a: &Args,
    sandbox: &Sandbox,
    http: &reqwest::Client,
    template_number: &str,
    template_email: &str,
    floor_url: &str,
) -> anyhow::Result<()> {
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(
            a.database_url
                .as_deref()
                .context("--database-url (or DATABASE_URL)")?,
        )
        .await?;
    let token = login(http, &a.api, template_email).await?;
    let owner = |m: reqwest::Method, path: &str| {
        http.request(m, format!("{}{path}", a.api))
            .bearer_auth(&token)
    };
    owner(reqwest::Method::POST, "/api/catalog/adopt")
        .json(&json!({"trade": "plumbing"}))
        .send()
        .await?;
    owner(reqwest::Method::POST, "/api/technicians")
        .json(&json!({"name": "Alex"}))
        .send()
        .await?;
    let template: uuid::Uuid =
        sqlx::query_scalar("select id from businesses where twilio_number = $1")
            .bind(template_number)
            .fetch_one(&db)
            .await?;
    // Answer at once, any hour: the owner's head start and quiet hours are product delays, not costs.
    sqlx::query("update businesses set owner_window_secs = 0, quiet_start = '00:00', quiet_end = '00:00', notify_by_text = false, business_hours = $2 where id = $1")
        .bind(template)
        .bind(json!({"monday": {"open": "00:00", "close": "23:59"}, "tuesday": {"open": "00:00", "close": "23:59"}, "wednesday": {"open": "00:00", "close": "23:59"}, "thursday": {"open": "00:00", "close": "23:59"}, "friday": {"open": "00:00", "close": "23:59"}, "saturday": {"open": "00:00", "close": "23:59"}, "sunday": {"open": "00:00", "close": "23:59"}}))
        .execute(&db)
        .await?;

    // Seed the other businesses as copies of the first (catalog and technician included).
    let seeded = Instant::now();
    let prefix = format!("{:03}", now_us() % 1_000);
    let others = a.businesses.saturating_sub(1) as i32;
    sqlx::query(
        "insert into businesses (name, owner_name, owner_email, owner_phone, business_phone, twilio_number, twilio_account_sid, twilio_auth_token_enc, timezone,
                                 call_mode, business_hours, messaging_status, owner_window_secs, quiet_start, quiet_end, notify_by_text, trade)
         select 'Load ' || $2 || ' #' || g, t.owner_name, 'owner-' || $2 || '-' || g || '@load.example', t.owner_phone, t.business_phone, '+1555' || $2 || lpad(g::text, 4, '0'), t.twilio_account_sid,
                t.twilio_auth_token_enc, t.timezone, t.call_mode, t.business_hours, t.messaging_status, 0, t.quiet_start, t.quiet_end, false, 'plumbing'
         from businesses t, generate_series(1, $3) g where t.id = $1",
    )
    .bind(template)
    .bind(&prefix)
    .bind(others)
    .execute(&db)
    .await
    .context("seed businesses (at most 9999)")?;
    let clones = format!("Load {prefix} #%");
    sqlx::query("insert into technicians (business_id, name) select id, 'Alex' from businesses where name like $1").bind(&clones).execute(&db).await?;
    sqlx::query(
        "insert into catalog_items (business_id, name, keywords, duration_minutes, price_cents, price_min_cents, price_max_cents, emergency_surcharge_cents)
         select b.id, c.name, c.keywords, c.duration_minutes, c.price_cents, c.price_min_cents, c.price_max_cents, c.emergency_surcharge_cents
         from businesses b cross join catalog_items c where b.name like $1 and c.business_id = $2",
    )
    .bind(&clones)
    .bind(template)
    .execute(&db)
    .await?;
    let mut numbers: Vec<String> =
        sqlx::query_scalar("select twilio_number from businesses where name like $1")
            .bind(&clones)
            .fetch_all(&db)
            .await?;
    for n in &numbers {
        sandbox.register_number(
            n,
            ACCOUNT_SID,
            AUTH_TOKEN,
            &format!("{}/webhook/voice/incoming", a.api),
            &format!("{}/webhook/sms/incoming", a.api),
        );
    }
    numbers.insert(0, template_number.to_owned());
    let total_businesses: i64 = sqlx::query_scalar("select count(*) from businesses")
        .fetch_one(&db)
        .await?;
    println!(
        "seeded {} businesses in {:.1} s ({} in the database)",
        numbers.len(),
        seeded.elapsed().as_secs_f64(),
        total_businesses
    );

    // Resource sampler.
    let peaks: Arc<Mutex<HashMap<&'static str, (f64, f64, f64)>>> = Arc::default();
    let sampler = {
        let peaks = peaks.clone();
        let pids = [("api", a.api_pid), ("worker", a.worker_pid)];
        tokio::spawn(async move {
            loop {
                for (name, pid) in pids {
                    if let Some(pid) = pid
                        && let Some((rss, cpu)) = proc_sample(pid)
                    {
                        let mut p = peaks.lock().unwrap();
                        let e = p.entry(name).or_insert((0.0, cpu, cpu));
                        e.0 = e.0.max(rss);
                        e.2 = cpu;
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };

    // The live feed of the first business: event committed → received here.
    let sse: Arc<Mutex<Stage>> = Arc::default();
    {
        let sse = sse.clone();
        let mut resp = http
            .get(format!("{}/api/events", a.api))
            .bearer_auth(&token)
            .send()
            .await?;
        tokio::spawn(async move {
            let mut buf = String::new();
            while let Ok(Some(chunk)) = resp.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let frame: String = buf.drain(..end + 2).collect();
                    if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:"))
                        && let Ok(v) = serde_json::from_str::<Value>(data.trim())
                        && let Some(at) = v["data"]["created_at"]
                            .as_str()
                            .or(v["created_at"].as_str())
                            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    {
                        let ms = (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
                            .num_microseconds()
                            .unwrap_or(0) as f64
                            / 1000.0;
                        sse.lock().unwrap().0.push(ms);
                    }
                }
            }
        });
    }

    let callers: Arc<Mutex<HashMap<String, Caller>>> = Arc::default();
    let mut webhook_call = Stage::default();
    let webhook_sms: Arc<Mutex<Stage>> = Arc::default();
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));

    // Reads what the carrier received and plays each caller's next move.
    let collector = {
        let (callers, sandbox, http, api, webhook_sms, errors, token) = (
            callers.clone(),
            sandbox.clone(),
            http.clone(),
            a.api.clone(),
            webhook_sms.clone(),
            errors.clone(),
            token.clone(),
        );
        tokio::spawn(async move {
            let mut offset = 0;
            loop {
                let new = sandbox.messages_since(offset);
                offset += new.len();
                for m in new {
                    let mut map = callers.lock().unwrap();
                    let Some(c) = map.get_mut(&m.to) else {
                        continue;
                    };
                    c.got.push((m.received_unix_us, m.body.clone()));
                    if c.got.len() != 1 {
                        continue;
                    }
                    // The greeting arrived: the caller's next move.
                    let (caller, business, c2) = (m.to.clone(), c.business.clone(), c.clone());
                    let (http, api, webhook_sms, errors, callers, token) = (
                        http.clone(),
                        api.clone(),
                        webhook_sms.clone(),
                        errors.clone(),
                        callers.clone(),
                        token.clone(),
                    );
                    drop(map);
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        if c2.taken_over {
                            // The owner takes the conversation and texts the caller.
                            let list = match http
                                .get(format!("{api}/api/conversations?limit=200"))
                                .bearer_auth(&token)
                                .send()
                                .await
                            {
                                Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
                                Err(_) => Value::Null,
                            };
                            let found = list["items"]
                                .as_array()
                                .and_then(|items| {
                                    items.iter().find(|i| i["caller_phone"] == caller.as_str())
                                })
                                .and_then(|i| i["id"].as_str());
                            if let Some(id) = found {
                                let _ = http
                                    .post(format!("{api}/api/conversations/{id}/takeover"))
                                    .bearer_auth(&token)
                                    .send()
                                    .await;
                                let _ = http.post(format!("{api}/api/conversations/{id}/message")).bearer_auth(&token).json(&json!({"body": "Hi, this is the owner. I'll call you in 5 minutes."})).send().await;
                            }
                            return;
                        }
                        let body = if c2.stops {
                            "STOP"
                        } else if c2.replies {
                            REPLY
                        } else {
                            return;
                        };
                        let sent = now_us();
                        let (status, ms) = signed_post(
                            &http,
                            &format!("{api}/webhook/sms/incoming"),
                            &sms_params(&caller, &business, body),
                        )
                        .await;
                        webhook_sms.lock().unwrap().0.push(ms);
                        if status != 200 {
                            errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        if let Some(c) = callers.lock().unwrap().get_mut(&caller) {
                            c.texted_us = Some(sent);
                        }
                    });
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    // Bookings racing for one slot of the first business, every 5 s.
    let bookings: Arc<Mutex<(Stage, usize, usize)>> = Arc::default();
    let racer = {
        let (bookings, http, api, token) =
            (bookings.clone(), http.clone(), a.api.clone(), token.clone());
        tokio::spawn(async move {
            for round in 0u32.. {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let start = chrono::Utc::now()
                    + chrono::Duration::days(2 + (round / 20) as i64)
                    + chrono::Duration::hours((round % 20) as i64);
                let start = start.format("%Y-%m-%dT%H:00:00Z").to_string();
                let results = futures_util::future::join_all((0..10).map(|_| {
                    let req = http.post(format!("{api}/api/appointments")).bearer_auth(&token).json(&json!({"start": start, "duration_minutes": 60, "customer_name": "Race"}));
                    async move {
                        let t = Instant::now();
                        let s = req.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
                        (s, t.elapsed().as_secs_f64() * 1000.0)
                    }
                }))
                .await;
                let mut b = bookings.lock().unwrap();
                for (s, ms) in results {
                    b.0.0.push(ms);
                    if s == 201 {
                        b.1 += 1;
                    } else if s == 409 {
                        b.2 += 1;
                    }
                }
            }
        })
    };

    // The burst.
    let n = (a.rate * a.duration).round() as usize;
    println!(
        "load: {n} missed calls at {} /s for {} s over {} businesses",
        a.rate,
        a.duration,
        numbers.len()
    );
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / a.rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(n);
    let url = format!("{}/webhook/voice/call-completed", a.api);
    for i in 0..n {
        ticker.tick().await;
        let business = if i % 20 == 0 {
            numbers[0].clone()
        } else {
            numbers[i % numbers.len()].clone()
        };
        let caller = format!("+17{:09}", i);
        let r = i % 100;
        let c = Caller {
            business: business.clone(),
            called_us: now_us(),
            replies: r < 60,
            stops: (60..65).contains(&r),
            taken_over: i % 20 == 0 && i % 40 == 0,
            ..Default::default()
        };
        callers.lock().unwrap().insert(caller.clone(), c);
        let params: Vec<(String, String)> = vec![
            ("AccountSid".into(), ACCOUNT_SID.into()),
            (
                "CallSid".into(),
                format!("CA{}", uuid::Uuid::new_v4().simple()),
            ),
            ("CallStatus".into(), "in-progress".into()),
            ("DialCallStatus".into(), "no-answer".into()),
            ("From".into(), caller),
            ("To".into(), business),
        ];
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            signed_post(&http, &url, &params).await
        }));
    }
    for t in tasks {
        let (status, ms) = t.await?;
        webhook_call.0.push(ms);
        if status != 200 {
            errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let offered = started.elapsed().as_secs_f64();

    // Quiescence: until nothing new arrives for 5 s (or 120 s pass).
    let (mut last, mut quiet_since) = (0usize, Instant::now());
    let settle = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(5)
        && settle.elapsed() < Duration::from_secs(120)
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = sandbox.messages_since(0).len();
        if now != last {
            last = now;
            quiet_since = Instant::now();
        }
    }
    racer.abort();
    collector.abort();
    sampler.abort();
    let elapsed = started.elapsed().as_secs_f64() - 5.0;

    // Texts: expected per caller vs what the carrier got.
    let (mut first_text, mut reply) = (Stage::default(), Stage::default());
    let (mut lost, mut duplicated, mut expected_total, mut got_total) =
        (0usize, 0usize, 0usize, 0usize);
    for c in callers.lock().unwrap().values() {
        let expected = 1 + usize::from(c.replies || c.stops || c.taken_over);
        expected_total += expected;
        got_total += c.got.len();
        lost += expected.saturating_sub(c.got.len());
        duplicated += c.got.len().saturating_sub(expected);
        if let Some((at, _)) = c.got.first() {
            first_text
                .0
                .push(at.saturating_sub(c.called_us) as f64 / 1000.0);
        }
        if let (Some(t), Some((at, _))) = (c.texted_us, c.got.get(1))
            && c.replies
        {
            reply.0.push(at.saturating_sub(t) as f64 / 1000.0);
        }
    }
    let double_bookings: i64 = sqlx::query_scalar(
        "select count(*) from appointments a join appointments b on a.technician_id = b.technician_id and a.id < b.id and a.during && b.during
         where a.status <> 'cancelled' and b.status <> 'cancelled'",
    )
    .fetch_one(&db)
    .await?;
    let open: i64 =
        sqlx::query_scalar("select count(*) from conversations where status = 'active'")
            .fetch_one(&db)
            .await?;

    // The floors, measured now on the same machine.
    let floor = floor_run(
        http,
        floor_url,
        sandbox,
        numbers[0].as_str(),
        a.rate.min(50.0),
        (a.rate * 10.0) as usize,
    )
    .await;
    let (mut floor_webhook, mut floor_text) = floor;
    let mut floor_insert = insert_floor(&db, 300).await?;
    let mut floor_notify = notify_floor(a.database_url.as_deref().unwrap_or_default(), 300).await?;

    println!("\n| stage | n | p50 ms | p95 ms | p99 ms | floor p50 | floor p95 | p95 ÷ floor |");
    println!("|---|---|---|---|---|---|---|---|");
    webhook_call.row("webhook answer (missed call)", Some(&mut floor_webhook));
    webhook_sms
        .lock()
        .unwrap()
        .row("webhook answer (caller text)", Some(&mut floor_webhook));
    first_text.row("missed call → first text at carrier", Some(&mut floor_text));
    reply.row(
        "caller text → assistant reply at carrier",
        Some(&mut floor_text),
    );
    bookings
        .lock()
        .unwrap()
        .0
        .row("booking API (10-way races)", Some(&mut floor_insert));
    sse.lock()
        .unwrap()
        .row("event committed → SSE client", Some(&mut floor_notify));
    let (booked, refused) = {
        let b = bookings.lock().unwrap();
        (b.1, b.2)
    };
    println!(
        "\nthroughput: {:.1} missed calls/s offered over {offered:.1} s; {:.1} texts/s delivered over {elapsed:.1} s",
        n as f64 / offered,
        got_total as f64 / elapsed
    );
    println!(
        "texts: expected {expected_total}, delivered {got_total}, lost {lost}, duplicated {duplicated}; webhook errors {}",
        errors.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!(
        "bookings: {booked} booked, {refused} refused as taken; double bookings in the database: {double_bookings}"
    );
    println!("conversations open at the end: {open}");
    for (name, (rss, cpu0, cpu1)) in peaks.lock().unwrap().iter() {
        println!(
            "{name}: peak RSS {rss:.0} MiB, CPU {:.1} s ({:.0} % of one core over the run)",
            cpu1 - cpu0,
            (cpu1 - cpu0) / started.elapsed().as_secs_f64() * 100.0
        );
    }
    if lost > 0 || duplicated > 0 || double_bookings > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// The bare webhook → carrier path (no record, no workflow), at the same rate.
async fn floor_run(
    http: &reqwest::Client,
    url: &str,
    sandbox: &Sandbox,
    number: &str,
    rate: f64,
    n: usize,
) -> (Stage, Stage) {
    let sent = crate::fire(http, url, number, 5126, rate, n).await;
    let report = crate::collect(sandbox, &sent).await;
    (Stage(report.response), Stage(report.to_text))
}

/// A bare INSERT with the same no-overlap constraint, no API, no tenant transaction.
async fn insert_floor(db: &sqlx::PgPool, n: usize) -> anyhow::Result<Stage> {
    let mut c = db.acquire().await?;
    sqlx::query("create temp table floor_booking (tech int, during tstzrange, exclude using gist (tech with =, during with &&))").execute(&mut *c).await?;
    let mut s = Stage::default();
    for i in 0..n {
        let t = Instant::now();
        sqlx::query("insert into floor_booking values (1, tstzrange(now() + make_interval(hours => $1), now() + make_interval(hours => $1 + 1)))").bind(i as i32).execute(&mut *c).await?;
        s.0.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(s)
}

/// A bare NOTIFY → LISTEN round trip on PostgreSQL.
async fn notify_floor(url: &str, n: usize) -> anyhow::Result<Stage> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen("floor_bench").await?;
    let db = sqlx::PgPool::connect(url).await?;
    let mut s = Stage::default();
    for _ in 0..n {
        let t = Instant::now();
        sqlx::query("select pg_notify('floor_bench', 'x')")
            .execute(&db)
            .await?;
        listener.recv().await?;
        s.0.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(s)
}
