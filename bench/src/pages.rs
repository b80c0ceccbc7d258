//! `--pages`: the owner's inbox (`GET /app/inbox`) and home (`GET /app`) with `--conversations`
//! open conversations in one business. Each page is requested `--requests` times one after
//! another, then `--requests` times from `--clients` clients at once; each request is timed from
//! sending it to the last byte of its body (loopback HTTP, this process on the same box), with the
//! response's size. Beside them, the floor: `GET /login`, the same page frame with the same
//! inlined CSS and no data work, measured the same way in the same run. `scripts/bench pages`
//! runs it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::header::COOKIE;
use serde_json::{Value, json};

use crate::{Args, pct};

/// The pages measured, the floor first: (path, row name).
const PAGES: [(&str, &str); 3] = [
    ("/login", "GET /login (floor: frame + CSS, no data)"),
    ("/app/inbox", "GET /app/inbox"),
    ("/app", "GET /app (home)"),
];

/// Open conversations last days, not weeks (the follow-ups end 72 h after the last text), so
/// the seeded ones start over the last three days.
const SPREAD_SECS: f64 = 72.0 * 3600.0;

/// One page's budget: its HTML with the inlined CSS, plus the script it loads.
const PAGE_BUDGET_BYTES: usize = 100_000;

/// One lead per caller, newest first (g = 1): three in four named with what they need, every
/// fourth unnamed with only the missed call; every 50th an emergency.
const LEADS: &str = "
insert into leads (business_id, phone, name, service_needed, urgency, status, source, created_at, updated_at)
select $1, '+1512' || lpad(g::text, 7, '0'),
       case when g % 4 <> 0 then (array['Sam Ortiz', 'Maria Lopez', 'Dave Chen', 'Priya Patel', 'Tom Becker',
                                        'Ana Silva', 'Joe Murphy', 'Kim Nguyen'])[1 + g % 8] end,
       case when g % 4 <> 0 then (array['Kitchen sink not draining', 'Water heater leaking', 'Burst pipe under the house',
                                        'Toilet running all night', 'No hot water since this morning',
                                        'Garbage disposal jammed'])[1 + g % 6] end,
       case when g % 4 = 0 then null when g % 50 = 1 then 'emergency' when g % 3 = 0 then 'soon' else 'flexible' end,
       case when g % 4 = 0 then 'contacted' else 'qualifying' end,
       'missed_call', t.at, t.at
from generate_series(1, $2) g, lateral (select now() - make_interval(secs => g * $3) as at) t";

/// The missed call behind each lead (every fifth after hours).
const CALLS: &str = "
insert into calls (business_id, twilio_call_sid, caller_phone, lead_id, status, dial_status, is_after_hours, created_at, updated_at)
select business_id, 'CA' || md5(id::text), phone, id, 'missed', 'no-answer', right(phone, 7)::int % 5 = 0, created_at, created_at
from leads where business_id = $1";

/// One open conversation per lead: every 10th taken over by the owner, every 7th waiting for
/// them, every 50th an emergency. No workflow runs behind them: the list pages read only these
/// rows (the conversation page, which asks Temporal for the head start, is not measured).
const CONVERSATIONS: &str = "
insert into conversations (id, business_id, lead_id, workflow_id, status, mode, emergency, needs_owner, created_at, updated_at)
select gen_random_uuid(), business_id, id, 'conversation-' || id, 'active',
       case when g % 10 = 3 then 'owner' else 'assistant' end, g % 50 = 1, g % 7 = 2,
       created_at + interval '1 second', created_at + interval '1 second'
from (select *, right(phone, 7)::int as g from leads where business_id = $1) l";

/// The greeting every caller got.
const GREETINGS: &str = "
insert into messages (business_id, lead_id, conversation_id, direction, sender, kind, from_phone, to_phone, body,
                      idempotency_key, twilio_message_sid, status, created_at, updated_at)
select c.business_id, c.lead_id, c.id, 'outbound', 'system', 'greeting', b.twilio_number, l.phone,
       'Hi, this is ' || b.name || '. Sorry we missed your call! What can we help you with? Reply STOP to opt out.',
       c.workflow_id || '-greeting', 'SM' || md5(c.id::text || 'greeting'), 'delivered', c.created_at, c.created_at
from conversations c join leads l on l.id = c.lead_id join businesses b on b.id = c.business_id
where c.business_id = $1";

/// The named callers texted back.
const CALLER_TEXTS: &str = "
insert into messages (business_id, lead_id, conversation_id, direction, sender, kind, from_phone, to_phone, body,
                      twilio_message_sid, status, created_at, updated_at)
select c.business_id, c.lead_id, c.id, 'inbound', 'caller', 'text', l.phone, b.twilio_number,
       'Hi, this is ' || l.name || '. ' || l.service_needed || ', can someone come out today?',
       'SM' || md5(c.id::text || 'text'), 'received', c.created_at + interval '2 minutes', c.created_at + interval '2 minutes'
from conversations c join leads l on l.id = c.lead_id join businesses b on b.id = c.business_id
where c.business_id = $1 and l.name is not null";

/// And were answered, by the owner where they took over, by the assistant where nobody waits
/// for the owner: those waiting keep the caller's text as their last message.
const REPLIES: &str = "
insert into messages (business_id, lead_id, conversation_id, direction, sender, kind, from_phone, to_phone, body,
                      idempotency_key, twilio_message_sid, status, created_at, updated_at)
select c.business_id, c.lead_id, c.id, 'outbound',
       case when c.mode = 'owner' then 'owner' else 'assistant' end,
       case when c.mode = 'owner' then 'owner_message' else 'assistant_reply' end,
       b.twilio_number, l.phone,
       case when c.mode = 'owner' then 'This is the owner. I can be there this afternoon, does 3pm work for you?'
            else 'Thanks ' || split_part(l.name, ' ', 1) || '! We can help with that. What is the address, and when suits you?' end,
       c.workflow_id || '-reply', 'SM' || md5(c.id::text || 'reply'), 'delivered',
       c.created_at + interval '3 minutes', c.created_at + interval '3 minutes'
from conversations c join leads l on l.id = c.lead_id join businesses b on b.id = c.business_id
where c.business_id = $1 and l.name is not null and (c.mode = 'owner' or not c.needs_owner)";

/// What the seed left: the newest conversation, how many are open and how many are emergencies.
struct Seeded {
    newest: uuid::Uuid,
    open: i64,
    emergencies: i64,
}

/// Seeds `n` open conversations in the business on `twilio_number` straight into its tables,
/// as the missed-call path leaves them (lead, missed call, conversation, texts). SQL rather than
/// `n` missed calls through the sandbox: that many workflows take minutes and time Temporal, not
/// the pages. The bench connects as a role other than `nmc_app` (the superuser in
/// `scripts/bench`), which row-level security lets write every business's rows.
async fn seed(db: &sqlx::PgPool, twilio_number: &str, n: usize) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let business: uuid::Uuid =
        sqlx::query_scalar("select id from businesses where twilio_number = $1")
            .bind(twilio_number)
            .fetch_one(db)
            .await?;
    let mut tx = db.begin().await?;
    sqlx::query(LEADS)
        .bind(business)
        .bind(n as i32)
        .bind(SPREAD_SECS / n.max(1) as f64)
        .execute(&mut *tx)
        .await
        .context("seed leads")?;
    for (what, sql) in [
        ("calls", CALLS),
        ("conversations", CONVERSATIONS),
        ("greetings", GREETINGS),
        ("caller texts", CALLER_TEXTS),
        ("replies", REPLIES),
    ] {
        sqlx::query(sql)
            .bind(business)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("seed {what}"))?;
    }
    tx.commit().await?;
    // Fresh tables have no statistics yet; a running service's autovacuum would have made them.
    sqlx::raw_sql("analyze leads, calls, conversations, messages, events")
        .execute(db)
        .await?;
    let (open, emergencies): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where emergency) from conversations where business_id = $1 and status = 'active'",
    )
    .bind(business)
    .fetch_one(db)
    .await?;
    let newest: uuid::Uuid = sqlx::query_scalar(
        "select id from conversations where business_id = $1 order by created_at desc, id desc limit 1",
    )
    .bind(business)
    .fetch_one(db)
    .await?;
    println!(
        "seeded {open} open conversations ({emergencies} emergencies) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Seeded {
        newest,
        open,
        emergencies,
    })
}

/// Logs the owner in: the access token the pages' cookie carries.
async fn owner_token(http: &reqwest::Client, api: &str, email: &str) -> anyhow::Result<String> {
    let r: Value = http
        .post(format!("{api}/api/auth/login"))
        .json(&json!({"email": email, "password": "bench owner password"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(r["access_token"]
        .as_str()
        .context("owner token")?
        .to_owned())
}

/// The access cookie a browser would send: `__Host-` over https (as api/src/web/security.rs
/// names it; `scripts/bench` serves the API at the URL it is reached by).
fn access_cookie(api: &str, token: &str) -> String {
    let name = if api.starts_with("https://") {
        "__Host-nmc_access"
    } else {
        "nmc_access"
    };
    format!("{name}={token}")
}

/// One GET, from sending it to the body's last byte: (ms, status, body bytes); status 0 when
/// the request or its body failed.
async fn get(http: &reqwest::Client, url: &str, cookie: &str) -> (f64, u16, usize) {
    let t = Instant::now();
    let (status, bytes) = match http.get(url).header(COOKIE, cookie).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            match r.bytes().await {
                Ok(b) => (status, b.len()),
                Err(_) => (0, 0),
            }
        }
        Err(_) => (0, 0),
    };
    (t.elapsed().as_secs_f64() * 1000.0, status, bytes)
}

/// One page's latencies (ms), its largest response (bytes) and the answers that were not 200.
#[derive(Default)]
struct Timed {
    ms: Vec<f64>,
    bytes: usize,
    failed: usize,
}

/// `requests` GETs of `url` shared among `clients` clients, each sending one after another.
async fn timed(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    requests: usize,
    clients: usize,
) -> anyhow::Result<Timed> {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..clients.max(1))
        .map(|_| {
            let (http, url, cookie, next) = (
                http.clone(),
                url.to_owned(),
                cookie.to_owned(),
                next.clone(),
            );
            tokio::spawn(async move {
                let mut got = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < requests {
                    got.push(get(&http, &url, &cookie).await);
                }
                got
            })
        })
        .collect();
    let mut t = Timed::default();
    for w in workers {
        for (ms, status, bytes) in w.await? {
            t.ms.push(ms);
            t.bytes = t.bytes.max(bytes);
            t.failed += usize::from(status != 200);
        }
    }
    Ok(t)
}

/// Each page answers 200 with its body (a refused cookie would answer 303 to the log-in form) and
/// the inbox lists the newest conversation; then says how much of the seed each page shows.
async fn verify(
    http: &reqwest::Client,
    api: &str,
    cookie: &str,
    seeded: &Seeded,
) -> anyhow::Result<()> {
    let mut bodies = Vec::with_capacity(PAGES.len());
    for (path, _) in PAGES {
        let r = http
            .get(format!("{api}{path}"))
            .header(COOKIE, cookie)
            .send()
            .await?;
        let status = r.status();
        let body = r.text().await?;
        anyhow::ensure!(
            status == 200,
            "GET {path} answered {status}, not 200 (a redirect means the owner's cookie was refused)"
        );
        bodies.push(body);
    }
    let (inbox, home) = (&bodies[1], &bodies[2]);
    anyhow::ensure!(
        inbox.contains(&format!("/app/inbox/{}", seeded.newest)),
        "the inbox does not list the newest conversation"
    );
    let rows = inbox.matches("class=\"row\"").count();
    let more = if inbox.contains("cursor=") {
        "a link to older ones"
    } else {
        "no link to older ones"
    };
    println!(
        "inbox: lists {rows} of the {} open conversations, newest first, {more}",
        seeded.open
    );
    println!(
        "home: {} emergency banners for {} open emergencies",
        home.matches("<strong>Emergency: </strong>").count(),
        seeded.emergencies
    );
    Ok(())
}

/// One table row; its p95.
fn row(name: &str, clients: usize, t: &mut Timed, floor_p95: Option<f64>) -> f64 {
    let (p50, p95, p99) = (
        pct(&mut t.ms, 0.5),
        pct(&mut t.ms, 0.95),
        pct(&mut t.ms, 0.99),
    );
    let ratio = floor_p95.map_or_else(|| "–".to_owned(), |f| format!("{:.1}×", p95 / f));
    println!(
        "| {name} | {clients} | {} | {p50:.1} | {p95:.1} | {p99:.1} | {ratio} | {} |",
        t.ms.len(),
        t.bytes
    );
    p95
}

/// Seeds, checks the pages, then times them against the floor; exits 1 if any answer was not 200.
pub async fn run(a: &Args, twilio_number: &str, owner_email: &str) -> anyhow::Result<()> {
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(
            a.database_url
                .as_deref()
                .context("--database-url (or DATABASE_URL)")?,
        )
        .await?;
    let seeded = seed(&db, twilio_number, a.conversations).await?;
    db.close().await;
    // The API reads each new event once it is committed (the live feed): let it finish the seed's
    // few thousand before anything is timed.
    tokio::time::sleep(Duration::from_secs(5)).await;

    // No redirects: a refused cookie's 303 to the log-in form must not pass for the page.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(64)
        .build()?;
    let cookie = access_cookie(&a.api, &owner_token(&http, &a.api, owner_email).await?);
    verify(&http, &a.api, &cookie, &seeded).await?;
    for (path, _) in PAGES {
        timed(&http, &format!("{}{path}", a.api), &cookie, 10, 1).await?; // warm-up, not counted
    }

    println!(
        "nmc-bench --pages: {} requests per page, one after another, then from {} clients at once; request sent → last byte of the body",
        a.requests, a.clients
    );
    println!("| page | clients | n | p50 ms | p95 ms | p99 ms | p95 ÷ floor | bytes |");
    println!("|---|---|---|---|---|---|---|---|");
    let levels = if a.clients > 1 {
        vec![1, a.clients]
    } else {
        vec![1]
    };
    let (mut failed, mut largest) = (0, [0usize; PAGES.len()]);
    for clients in levels {
        let mut floor_p95 = None;
        for (i, (path, name)) in PAGES.into_iter().enumerate() {
            let url = format!("{}{path}", a.api);
            let mut t = timed(&http, &url, &cookie, a.requests, clients).await?;
            let p95 = row(name, clients, &mut t, floor_p95);
            if floor_p95.is_none() {
                floor_p95 = Some(p95);
            }
            failed += t.failed;
            largest[i] = largest[i].max(t.bytes);
        }
    }

    let (_, js_status, js) = get(&http, &format!("{}/assets/app.js", a.api), &cookie).await;
    anyhow::ensure!(js_status == 200, "GET /assets/app.js answered {js_status}");
    println!(
        "page weight: HTML with the inlined CSS + /assets/app.js ({js} bytes); budget {} KB",
        PAGE_BUDGET_BYTES / 1000
    );
    for (i, (_, name)) in PAGES.into_iter().enumerate() {
        let weight = largest[i] + js;
        let verdict = if weight > PAGE_BUDGET_BYTES {
            "OVER"
        } else {
            "within"
        };
        println!("    {name}: {:.1} KB ({verdict})", weight as f64 / 1000.0);
    }
    if failed > 0 {
        println!("    {failed} answers were not 200");
        std::process::exit(1);
    }
    Ok(())
}
