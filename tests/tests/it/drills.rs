//! Crash and fault drills against the whole stack: no caller's text is lost or sent twice.
//!
//! The first two run with every `scripts/test` (they only hurt their own worker and carrier).
//! The `#[ignore]`d ones restart shared services, so `scripts/drill` runs them against a private
//! PostgreSQL and a private Temporal dev server, passing the restart commands in the environment.

use std::time::{Duration, Instant};

use futures::future::join_all;
use nmc_sandbox::{CallRequest, Fault, SmsRequest};
use nmc_tests::*;

fn caller(i: usize) -> String {
    format!("+1512555{:04}", 3000 + i)
}

/// Plays each caller's missed call, then their first text, all at once; the carrier (like
/// Twilio) delivers a webhook again while our API answers 5xx or cannot be reached.
async fn burst(app: &TestApp, callers: &[String]) {
    join_all(callers.iter().map(|c| async move {
        let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
        retry_delivery(
            || {
                app.sandbox.place_call(CallRequest {
                    from: c.clone(),
                    to: TWILIO_NUMBER.into(),
                    outcome: Some("no-answer".into()),
                    call_sid: Some(sid.clone()),
                    deliveries: 1,
                    forwarded_from: None,
                    ..Default::default()
                })
            },
            |r| r.voice_status < 500 && r.dial_status.is_none_or(|s| s < 500),
        )
        .await;
    }))
    .await;
}

async fn texts(app: &TestApp, callers: &[String], body: &str) {
    join_all(callers.iter().map(|c| async move {
        let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
        retry_delivery(
            || {
                app.sandbox.send_sms_as_caller(SmsRequest {
                    from: c.clone(),
                    to: TWILIO_NUMBER.into(),
                    body: body.into(),
                    message_sid: Some(sid.clone()),
                    deliveries: 1,
                })
            },
            |r| r.status < 500,
        )
        .await;
    }))
    .await;
}

/// Webhook deliveries the API did not take (5xx or unreachable) and the carrier repeated.
static REDELIVERIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// The longest a single delivery waited for its answer, in milliseconds.
static SLOWEST_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Delivers until the API accepts, as a carrier retrying with the same SID would.
async fn retry_delivery<T, F, Fut>(mut send: F, accepted: impl Fn(&T) -> bool)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        let attempt = Instant::now();
        let result = send().await;
        SLOWEST_MS.fetch_max(
            attempt.elapsed().as_millis() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        if let Ok(r) = result
            && accepted(&r)
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_mins(2),
            "the API never took the webhook back"
        );
        REDELIVERIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The carrier's own pause before it delivers again.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Each caller got exactly `n` texts (waiting for late ones and for duplicates).
async fn exactly(app: &TestApp, callers: &[String], n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if let Some(c) = callers.iter().find(|c| app.texts_to(c).len() > n) {
            panic!(
                "{c} got more than {n}: {:?}",
                app.texts_to(c)
                    .iter()
                    .map(|m| m.body.clone())
                    .collect::<Vec<_>>()
            );
        }
        let short: Vec<&String> = callers
            .iter()
            .filter(|c| app.texts_to(c).len() < n)
            .collect();
        if short.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} callers are missing texts, e.g. {} has {:?}",
            short.len(),
            short[0],
            app.texts_to(short[0])
                .iter()
                .map(|m| m.body.clone())
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Deliberate: anything sent twice would arrive within a few seconds of the first (a retried
    // send after a crash or an outage waits out Temporal's backoff, hence more than DUPLICATE_WINDOW).
    tokio::time::sleep(Duration::from_secs(3)).await;
    for c in callers {
        let got = app.texts_to(c);
        assert_eq!(
            got.len(),
            n,
            "{c} got {:?}",
            got.iter().map(|m| m.body.clone()).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn worker_killed_mid_burst_every_conversation_continues_and_each_text_goes_once() {
    let mut app = TestApp::spawn().await;
    app.set("owner_window_secs = 0, notify_by_text = false")
        .await;
    let callers: Vec<String> = (0..30).map(caller).collect();
    burst(&app, &callers).await;
    // Kill -9 while the greetings are going out.
    let started = Instant::now();
    while app.sandbox.messages().len() < 10 && started.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.kill_worker().await;
    let at_kill = app.sandbox.messages().len();
    texts(&app, &callers, "my kitchen sink is clogged, this is Pat").await;
    // Deliberate: the worker stays dead a moment longer, with the texts waiting in Temporal.
    tokio::time::sleep(Duration::from_secs(1)).await;
    app.start_worker();
    exactly(&app, &callers, 2, Duration::from_secs(90)).await;
    for c in &callers {
        let got = app.texts_to(c);
        assert!(
            got[0].body.contains("Acme Plumbing")
                && !got[1].body.contains("Sorry we missed your call"),
            "{c}: {:?}",
            got.iter().map(|m| &m.body).collect::<Vec<_>>()
        );
    }
    println!(
        "30 callers; worker killed with {at_kill} texts out; after restart every caller has its greeting and one reply, none twice"
    );
}

#[tokio::test]
async fn carrier_throttling_delays_texts_then_each_goes_once_and_21610_stops_only_that_caller() {
    let app = TestApp::spawn().await;
    let callers: Vec<String> = (100..110).map(caller).collect();
    let blocked = caller(110);
    // The carrier throttles every send for about a minute (70 refusals against Temporal's backoff
    // of 0.5 s doubling), and one caller has blocked us.
    app.sandbox.add_fault(Fault {
        to: None,
        status: 429,
        code: Some(20429),
        count: 70,
        delay_ms: 0,
    });
    app.sandbox.add_fault(Fault {
        to: Some(blocked.clone()),
        status: 400,
        code: Some(21610),
        count: 100,
        delay_ms: 0,
    });
    let mut everyone = callers.clone();
    everyone.push(blocked.clone());
    let started = Instant::now();
    burst(&app, &everyone).await;
    exactly(&app, &callers, 1, Duration::from_secs(150)).await;
    assert!(
        app.sandbox.attempts() > 70,
        "the throttled sends were retried: {}",
        app.sandbox.attempts()
    );
    println!(
        "carrier throttled for {:.0} s: {} send attempts for 10 texts, each delivered once",
        started.elapsed().as_secs_f64() - 3.0,
        app.sandbox.attempts()
    );
    assert!(app.texts_to(&blocked).is_empty());
    wait_until(
        Duration::from_secs(30),
        "the blocked caller opted out",
        || async {
            app.count(&format!(
                "select count(*) from leads where phone = '{blocked}' and status = 'opted_out'"
            ))
            .await
                == 1
        },
    )
    .await;
    assert_eq!(app.count("select count(*) from messages where kind = 'greeting' and status in ('sent', 'delivered', 'queued', 'accepted')").await, 10);
}

#[tokio::test]
async fn api_restarted_while_the_carrier_keeps_delivering_loses_and_doubles_nothing() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0, notify_by_text = false")
        .await;
    let first: Vec<String> = (300..310).map(caller).collect();
    let second: Vec<String> = (310..320).map(caller).collect();
    burst(&app, &first).await;
    exactly(&app, &first, 1, Duration::from_mins(1)).await;
    let before = REDELIVERIES.load(std::sync::atomic::Ordering::Relaxed);
    // The API goes away for 2 s while calls and texts keep coming, a caller every 200 ms.
    let traffic = join_all(
        second
            .iter()
            .zip(&first)
            .enumerate()
            .map(|(i, (new, old))| {
                let app = &app;
                async move {
                    tokio::time::sleep(Duration::from_millis(100 + 200 * i as u64)).await;
                    burst(app, std::slice::from_ref(new)).await;
                    texts(
                        app,
                        std::slice::from_ref(old),
                        "the water heater is leaking, this is Sam",
                    )
                    .await;
                }
            }),
    );
    let ((), _) = tokio::join!(app.restart_api(Duration::from_secs(2)), traffic);
    exactly(&app, &second, 1, Duration::from_mins(1)).await;
    exactly(&app, &first, 2, Duration::from_mins(1)).await;
    assert_eq!(
        app.count("select count(*) from calls").await,
        20,
        "one call row per call, whatever the redeliveries"
    );
    assert_eq!(
        app.count("select count(*) from messages where direction = 'inbound'")
            .await,
        10
    );
    let redelivered = REDELIVERIES.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert!(redelivered > 0, "the outage was hit");
    println!(
        "API down 2 s: {redelivered} webhook deliveries refused and repeated; 20 callers, 30 texts expected, 30 delivered, none twice"
    );
}

/// Runs a restart command from `scripts/drill` (in the background, as an outage would happen);
/// `args` go after it (the downtime in seconds, say).
fn restart(variable: &str, args: &str) -> tokio::task::JoinHandle<Duration> {
    let command = std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable}: run this drill through scripts/drill"));
    let command = format!("{command} {args}");
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .status()
            .unwrap();
        assert!(status.success(), "{command}");
        started.elapsed()
    })
}

/// Calls and texts keep coming while a service restarts; afterwards every caller has exactly
/// its greeting (and the first wave its reply), and nothing was recorded twice.
async fn drill(variable: &str) {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0, notify_by_text = false")
        .await;
    let first: Vec<String> = (200..215).map(caller).collect();
    let second: Vec<String> = (215..230).map(caller).collect();
    burst(&app, &first).await;
    exactly(&app, &first, 1, Duration::from_mins(1)).await;

    let redelivered = REDELIVERIES.load(std::sync::atomic::Ordering::Relaxed);
    SLOWEST_MS.store(0, std::sync::atomic::Ordering::Relaxed);
    let outage = restart(variable, "");
    // Traffic spread over the outage (deliberately paced): a caller every 200 ms for 3 s.
    tokio::time::sleep(Duration::from_millis(200)).await;
    join_all(
        second
            .iter()
            .zip(&first)
            .enumerate()
            .map(|(i, (new, old))| {
                let app = &app;
                async move {
                    tokio::time::sleep(Duration::from_millis(200 * i as u64)).await;
                    burst(app, std::slice::from_ref(new)).await;
                    texts(
                        app,
                        std::slice::from_ref(old),
                        "the water heater is leaking, this is Sam",
                    )
                    .await;
                }
            }),
    )
    .await;
    let took = outage.await.unwrap();

    exactly(&app, &second, 1, Duration::from_mins(2)).await;
    exactly(&app, &first, 2, Duration::from_mins(2)).await;
    wait_until(
        Duration::from_secs(30),
        "the database to answer",
        || async { sqlx::query("select 1").execute(&app.db).await.is_ok() },
    )
    .await;
    assert_eq!(
        app.count("select count(*) from calls").await,
        30,
        "one call row per call, whatever the retries"
    );
    assert_eq!(
        app.count("select count(*) from messages where direction = 'inbound'")
            .await,
        15,
        "one row per caller text"
    );
    assert_eq!(app.count("select count(*) from (select twilio_message_sid from messages where twilio_message_sid is not null group by 1 having count(*) > 1) d").await, 0);
    let redelivered = REDELIVERIES.load(std::sync::atomic::Ordering::Relaxed) - redelivered;
    println!(
        "{variable}: restart took {:.1}s, {redelivered} webhook deliveries refused during it and repeated, slowest delivery {} ms; 30 callers, 45 texts expected, 45 delivered, none twice",
        took.as_secs_f64(),
        SLOWEST_MS.load(std::sync::atomic::Ordering::Relaxed)
    );
}

#[tokio::test]
#[ignore = "restarts PostgreSQL: run by scripts/drill"]
async fn postgres_restarts_mid_run_and_nothing_is_lost_or_doubled() {
    drill("NMC_DRILL_RESTART_POSTGRES").await;
}

#[tokio::test]
#[ignore = "restarts Temporal: run by scripts/drill"]
async fn temporal_restarts_mid_run_and_workflows_resume() {
    drill("NMC_DRILL_RESTART_TEMPORAL").await;
}

#[tokio::test]
#[ignore = "stops Temporal: run by scripts/drill"]
async fn temporal_down_a_call_and_a_text_are_answered_then_acted_on_once_without_a_redelivery() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0, notify_by_text = false")
        .await;
    let (calling, texting) = (caller(300), caller(301));
    burst(&app, std::slice::from_ref(&texting)).await;
    exactly(
        &app,
        std::slice::from_ref(&texting),
        1,
        Duration::from_mins(1),
    )
    .await;

    let outage = restart("NMC_DRILL_RESTART_TEMPORAL", "10");
    let health = format!("{}/healthz", app.api_url);
    wait_until(Duration::from_secs(20), "Temporal to be down", || async {
        app.http
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status() == 503)
    })
    .await;
    // One delivery each, as real Twilio makes: both are answered while Temporal is away.
    let call = CallRequest {
        from: calling.clone(),
        to: TWILIO_NUMBER.into(),
        outcome: Some("no-answer".into()),
        call_sid: None,
        deliveries: 1,
        forwarded_from: None,
        ..Default::default()
    };
    let call = app.sandbox.place_call(call).await.unwrap();
    assert_eq!(call.dial_status, Some(200), "{:?}", call.dial_twiml);
    let text = SmsRequest {
        from: texting.clone(),
        to: TWILIO_NUMBER.into(),
        body: "the water heater is leaking, this is Sam".into(),
        message_sid: None,
        deliveries: 1,
    };
    assert_eq!(
        app.sandbox.send_sms_as_caller(text).await.unwrap().status,
        200
    );
    assert_eq!(
        app.count("select count(*) from webhook_events where signalled_at is null")
            .await,
        2
    );
    let took = outage.await.unwrap();

    exactly(
        &app,
        std::slice::from_ref(&calling),
        1,
        Duration::from_mins(2),
    )
    .await;
    exactly(
        &app,
        std::slice::from_ref(&texting),
        2,
        Duration::from_mins(2),
    )
    .await;
    println!(
        "Temporal down {:.1}s: a call and a text answered 200 meanwhile, each acted on once afterwards by the outbox",
        took.as_secs_f64()
    );
}

#[tokio::test]
#[ignore = "needs a PostgreSQL cluster without the tenant role: run first by scripts/drill"]
async fn eight_fresh_databases_migrate_side_by_side_on_a_new_cluster() {
    let admin = sqlx::PgPool::connect(&std::env::var("NMC_TEST_DATABASE_URL").unwrap())
        .await
        .unwrap();
    let role: bool =
        sqlx::query_scalar("select exists (select from pg_roles where rolname = 'nmc_app')")
            .fetch_one(&admin)
            .await
            .unwrap();
    assert!(
        !role,
        "this drill needs a cluster where nmc_app does not exist yet"
    );
    // Each makes its database and migrates it; the cluster-wide role and its grant race.
    let pools = join_all((0..8).map(|_| database_with_business(2))).await;
    assert_eq!(pools.len(), 8);
    let members: i64 = sqlx::query_scalar(
        "select count(*) from pg_auth_members m join pg_roles r on r.oid = m.roleid where r.rolname = 'nmc_app'",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert_eq!(members, 1, "one membership, granted once");
}
