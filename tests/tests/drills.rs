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
        retry_delivery(|| app.sandbox.place_call(CallRequest { from: c.clone(), to: TWILIO_NUMBER.into(), outcome: Some("no-answer".into()), call_sid: Some(sid.clone()), deliveries: 1 }), |r| {
            r.voice_status < 500 && r.dial_status.is_none_or(|s| s < 500)
        })
        .await;
    }))
    .await;
}

async fn texts(app: &TestApp, callers: &[String], body: &str) {
    join_all(callers.iter().map(|c| async move {
        let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
        retry_delivery(|| app.sandbox.send_sms_as_caller(SmsRequest { from: c.clone(), to: TWILIO_NUMBER.into(), body: body.into(), message_sid: Some(sid.clone()), deliveries: 1 }), |r| r.status < 500).await;
    }))
    .await;
}

/// Delivers until the API accepts, as a carrier retrying with the same SID would.
async fn retry_delivery<T, F, Fut>(mut send: F, accepted: impl Fn(&T) -> bool)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        if let Ok(r) = send().await
            && accepted(&r)
        {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the API never took the webhook back");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Each caller got exactly `n` texts (waiting for late ones and for duplicates).
async fn exactly(app: &TestApp, callers: &[String], n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let short: Vec<&String> = callers.iter().filter(|c| app.texts_to(c).len() < n).collect();
        if short.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "{} callers are missing texts, e.g. {} has {:?}", short.len(), short[0], app.texts_to(short[0]).iter().map(|m| m.body.clone()).collect::<Vec<_>>());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Anything sent twice would arrive within a few seconds of the first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for c in callers {
        let got = app.texts_to(c);
        assert_eq!(got.len(), n, "{c} got {:?}", got.iter().map(|m| m.body.clone()).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn worker_killed_mid_burst_every_conversation_continues_and_each_text_goes_once() {
    let mut app = TestApp::spawn().await;
    app.set("owner_window_secs = 0, notify_by_text = false").await;
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
    tokio::time::sleep(Duration::from_secs(1)).await;
    app.start_worker();
    exactly(&app, &callers, 2, Duration::from_secs(90)).await;
    for c in &callers {
        let got = app.texts_to(c);
        assert!(got[0].body.contains("Acme Plumbing") && !got[1].body.contains("Sorry we missed your call"), "{c}: {:?}", got.iter().map(|m| &m.body).collect::<Vec<_>>());
    }
    println!("30 callers; worker killed with {at_kill} texts out; after restart every caller has its greeting and one reply, none twice");
}

#[tokio::test]
async fn carrier_throttling_delays_texts_then_each_goes_once_and_21610_stops_only_that_caller() {
    let app = TestApp::spawn().await;
    let callers: Vec<String> = (100..110).map(caller).collect();
    let blocked = caller(110);
    // The carrier throttles every send for a while, and one caller has blocked us.
    app.sandbox.add_fault(Fault { to: None, status: 429, code: Some(20429), count: 25, delay_ms: 0 });
    app.sandbox.add_fault(Fault { to: Some(blocked.clone()), status: 400, code: Some(21610), count: 100, delay_ms: 0 });
    let mut everyone = callers.clone();
    everyone.push(blocked.clone());
    burst(&app, &everyone).await;
    exactly(&app, &callers, 1, Duration::from_secs(90)).await;
    assert!(app.sandbox.attempts() > 25, "the throttled sends were retried: {}", app.sandbox.attempts());
    assert!(app.texts_to(&blocked).is_empty());
    wait_until(Duration::from_secs(30), "the blocked caller opted out", || async {
        app.count(&format!("select count(*) from leads where phone = '{blocked}' and status = 'opted_out'")).await == 1
    })
    .await;
    assert_eq!(app.count("select count(*) from messages where kind = 'greeting' and status in ('sent', 'delivered', 'queued', 'accepted')").await, 10);
}
