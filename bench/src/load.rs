//! `--load`: a Monday-morning burst against the whole stack. Seeds `--businesses` businesses
//! (catalog and a technician each), then for `--duration` s places `--rate` missed calls per
//! second spread over them; 60 % of callers text back after their greeting, 5 % text STOP, the
//! owner of the first business takes over some of its conversations, and every 5 s ten owners'
//! clients race for the same slot. Reports p50/p95/p99 per stage next to its floor (the bare
//! path with no durability, measured in the same run), throughput, texts lost and duplicated,
//! double bookings, and the API's and worker's peak memory and CPU.
//!
//! Beside them, the Temporal floor: the same dev server driving a trivial workflow with our
//! greeting's Temporal operations, and our texts/s as a share of its.
//!
//! The stages live in submodules: `seed` (the businesses), `watch` (memory, CPU and the live
//! feed), `callers` (the burst and each caller's next move), `race` (the booking races),
//! `floor` (the floors) and `temporal_floor` (the Temporal floor's workflow and worker); this
//! module runs them in order and reports.

mod callers;
mod floor;
mod race;
mod seed;
mod temporal_floor;
mod watch;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use nmc_sandbox::Sandbox;

use crate::{Args, pct};
use callers::Play;
use floor::Floors;
use race::Bookings;
use watch::Peaks;

/// One stage's latencies, ms.
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

/// Texts: expected per caller vs what the carrier got.
#[derive(Default)]
struct Texts {
    /// Missed call → first text at the carrier, ms.
    first_text: Stage,
    /// Caller text → assistant reply at the carrier, ms.
    reply: Stage,
    lost: usize,
    duplicated: usize,
    expected: usize,
    got: usize,
}

/// Each caller's texts against what they should have got.
fn tally(callers: &HashMap<String, Caller>) -> Texts {
    let mut texts = Texts::default();
    for c in callers.values() {
        let expected = 1 + usize::from(c.replies || c.stops || c.taken_over);
        texts.expected += expected;
        texts.got += c.got.len();
        texts.lost += expected.saturating_sub(c.got.len());
        texts.duplicated += c.got.len().saturating_sub(expected);
        if let Some((at, _)) = c.got.first() {
            texts
                .first_text
                .0
                .push(at.saturating_sub(c.called_us) as f64 / 1000.0);
        }
        if let (Some(t), Some((at, _))) = (c.texted_us, c.got.get(1))
            && c.replies
        {
            texts.reply.0.push(at.saturating_sub(t) as f64 / 1000.0);
        }
    }
    texts
}

/// Quiescence: until nothing new arrives for 5 s (or 120 s pass).
async fn settle(sandbox: &Sandbox) {
    let (mut seen, mut quiet_since) = (0usize, Instant::now());
    let since = Instant::now();
    while quiet_since.elapsed() < Duration::from_secs(5) && since.elapsed() < Duration::from_mins(2)
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = sandbox.messages_since(0).len();
        if now != seen {
            seen = now;
            quiet_since = Instant::now();
        }
    }
}

/// Double bookings, and conversations still open, in the database.
async fn db_checks(db: &sqlx::PgPool) -> anyhow::Result<(i64, i64)> {
    let double_bookings: i64 = sqlx::query_scalar(
        "select count(*) from appointments a join appointments b on a.technician_id = b.technician_id and a.id < b.id and a.during && b.during
         where a.status <> 'cancelled' and b.status <> 'cancelled'",
    )
    .fetch_one(db)
    .await?;
    let open: i64 =
        sqlx::query_scalar("select count(*) from conversations where status = 'active'")
            .fetch_one(db)
            .await?;
    Ok((double_bookings, open))
}

/// The table: p50/p95/p99 per stage next to its floor.
fn print_stages(
    webhook_call: &mut Stage,
    play: &Play,
    texts: &mut Texts,
    bookings: &Bookings,
    sse: &Mutex<Stage>,
    floors: &mut Floors,
) {
    println!("\n| stage | n | p50 ms | p95 ms | p99 ms | floor p50 | floor p95 | p95 ÷ floor |");
    println!("|---|---|---|---|---|---|---|---|");
    webhook_call.row("webhook answer (missed call)", Some(&mut floors.webhook));
    play.webhook_sms
        .lock()
        .unwrap()
        .row("webhook answer (caller text)", Some(&mut floors.webhook));
    texts.first_text.row(
        "missed call → first text at carrier",
        Some(&mut floors.text),
    );
    // The same stage against what Temporal alone takes for it.
    if let Some(temporal) = floors.temporal.as_mut() {
        texts.first_text.row(
            "missed call → first text (Temporal floor)",
            Some(&mut temporal.first_text),
        );
    }
    texts.reply.row(
        "caller text → assistant reply at carrier",
        Some(&mut floors.text),
    );
    bookings
        .lock()
        .unwrap()
        .0
        .row("booking API (10-way races)", Some(&mut floors.insert));
    sse.lock()
        .unwrap()
        .row("event committed → SSE client", Some(&mut floors.notify));
}

/// The burst: how many calls, when it started, how long offering them took (s), and how long the
/// run took until quiet (s).
struct Timing {
    n: usize,
    started: Instant,
    offered: f64,
    elapsed: f64,
}

/// Throughput, texts lost and duplicated, bookings, and the processes' peak memory and CPU.
fn print_totals(
    timing: &Timing,
    texts: &Texts,
    play: &Play,
    bookings: &Bookings,
    (double_bookings, open): (i64, i64),
    peaks: &Peaks,
) {
    let Timing {
        n,
        started,
        offered,
        elapsed,
    } = *timing;
    let (expected_total, got_total, lost, duplicated) =
        (texts.expected, texts.got, texts.lost, texts.duplicated);
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
        play.errors.load(Ordering::Relaxed)
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
}

/// Seeds, starts the watchers, the callers' collector and the racer, fires the burst, waits for
/// quiet, measures the floors and reports; exits 1 on any text lost or duplicated or any double
/// booking.
pub async fn run(
    a: &Args,
    sandbox: &Sandbox,
    http: &reqwest::Client,
    template_number: &str,
    template_email: &str,
    floor_url: &str,
    sandbox_base: &str,
) -> anyhow::Result<()> {
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(
            a.database_url
                .as_deref()
                .context("--database-url (or DATABASE_URL)")?,
        )
        .await?;
    let token = seed::login(http, &a.api, template_email).await?;
    let template = seed::prepare_template(a, http, &db, &token, template_number).await?;
    let numbers = seed::seed_copies(a, sandbox, &db, template, template_number).await?;

    let (peaks, sampler) = watch::spawn_sampler(a);
    let sse = watch::spawn_feed(http, &a.api, &token).await?;
    let play = Play {
        callers: Arc::default(),
        http: http.clone(),
        api: a.api.clone(),
        token: token.clone(),
        webhook_sms: Arc::default(),
        errors: Arc::default(),
    };
    let collector = callers::spawn_collector(sandbox.clone(), play.clone());
    let (bookings, racer) = race::spawn_racer(http, &a.api, &token);

    // The burst.
    let n = (a.rate * a.duration).round() as usize;
    println!(
        "load: {n} missed calls at {} /s for {} s over {} businesses",
        a.rate,
        a.duration,
        numbers.len()
    );
    let started = Instant::now();
    let mut webhook_call = callers::burst(&play, &numbers, a.rate, n).await?;
    let offered = started.elapsed().as_secs_f64();
    settle(sandbox).await;
    racer.abort();
    collector.abort();
    sampler.abort();
    let elapsed = started.elapsed().as_secs_f64() - 5.0;
    let mut texts = tally(&play.callers.lock().unwrap());
    let checks = db_checks(&db).await?;
    let mut floors = floor::measure(
        a,
        http,
        floor_url,
        sandbox,
        sandbox_base,
        numbers[0].as_str(),
        &db,
    )
    .await?;

    print_stages(
        &mut webhook_call,
        &play,
        &mut texts,
        &bookings,
        &sse,
        &mut floors,
    );
    let timing = Timing {
        n,
        started,
        offered,
        elapsed,
    };
    print_totals(&timing, &texts, &play, &bookings, checks, &peaks);
    if let Some(temporal) = floors.temporal.as_mut() {
        temporal.print(texts.got as f64 / elapsed);
    }
    if texts.lost > 0 || texts.duplicated > 0 || checks.0 > 0 {
        std::process::exit(1);
    }
    Ok(())
}
