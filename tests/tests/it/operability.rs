//! What operators see: Prometheus metrics from the API and the worker with the SLO histograms and
//! texts by outcome and carrier code, and JSON log lines with callers' numbers masked and no
//! message bodies at info.

use std::time::Duration;

use nmc_sandbox::Fault;
use nmc_tests::*;

const CALLER: &str = "+15125550161";
const LANDLINE: &str = "+15125550162";

/// `name{labels} value` → value, for one series of a Prometheus text exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn metrics_carry_the_slos_and_logs_are_json_with_numbers_masked() {
    // The API's metrics are process-wide and every other test's API shares this process: the
    // exact counts below need a process of their own.
    if !in_own_process(
        module_path!(),
        "metrics_carry_the_slos_and_logs_are_json_with_numbers_masked",
    ) {
        return;
    }
    let port = free_port();
    let app = TestApp::builder()
        .worker_env("NMC_METRICS_BIND", format!("127.0.0.1:{port}"))
        .worker_env("NMC_LOG_FORMAT", "json")
        .worker_env("RUST_LOG", "info")
        .spawn()
        .await;
    app.set("owner_window_secs = 0").await;
    app.sandbox.add_fault(Fault {
        to: Some(LANDLINE.into()),
        status: 400,
        code: Some(21614),
        count: 100,
        delay_ms: 0,
    });

    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    app.text(CALLER, "my secret body text about a leaking faucet")
        .await;
    app.expect_texts(CALLER, 2).await;
    app.call(LANDLINE, "no-answer").await;
    wait_until(Duration::from_secs(15), "the refused greeting", || async {
        app.count("select count(*) from messages where status = 'failed'")
            .await
            == 1
    })
    .await;

    // The worker's metrics.
    let http = reqwest::Client::new();
    let worker = format!("http://127.0.0.1:{port}/metrics");
    let scrape = || async {
        http.get(&worker)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    wait_until(
        Duration::from_secs(5),
        "the reply in the worker's metrics",
        || async { sample(&scrape().await, "nmc_reply_seconds_count").unwrap_or(0.0) >= 1.0 },
    )
    .await;
    let text = scrape().await;
    assert_eq!(
        sample(&text, "nmc_missed_call_first_text_seconds_count"),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, "nmc_missed_call_first_text_seconds_bucket{le=\"5\"}") == Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "nmc_reply_seconds_count"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"nmc_texts_total{code="0",kind="greeting",outcome="sent"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"nmc_texts_total{code="21614",kind="greeting",outcome="failed"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains("nmc_process_resident_memory_bytes"),
        "worker memory is exported"
    );

    // A booking through the API.
    let b = app.business_id().await;
    app.owner(reqwest::Method::POST, "/api/technicians", b)
        .json(&serde_json::json!({"name": "Alex"}))
        .send()
        .await
        .unwrap();
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let r = app
        .owner(reqwest::Method::POST, "/api/appointments", b)
        .json(&serde_json::json!({"start": start, "duration_minutes": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // The API's: webhooks answered, by hook, and the booking.
    let api = http
        .get(format!("{}/metrics", app.api_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        sample(
            &api,
            r#"nmc_webhook_answer_seconds_count{hook="/webhook/voice/incoming"}"#
        )
        .unwrap_or(0.0)
            >= 2.0,
        "{api}"
    );
    assert!(
        sample(
            &api,
            r#"nmc_webhook_answer_seconds_count{hook="/webhook/sms/incoming"}"#
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{api}"
    );
    assert_eq!(
        sample(&api, r#"nmc_booking_seconds_count{outcome="booked"}"#),
        Some(1.0),
        "{api}"
    );
    assert!(api.contains(r#"nmc_http_request_duration_seconds_count{method="POST",route="/api/appointments",status="201"} 1"#), "{api}");

    // Logs: every line JSON; callers' numbers only masked; no message body.
    let log = std::fs::read_to_string(app.worker_log()).unwrap();
    assert!(log.lines().count() > 3, "{log}");
    for line in log.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            v.get("level").is_some() && v.get("timestamp").is_some(),
            "{line}"
        );
    }
    for number in [CALLER, LANDLINE, &CALLER[1..], &LANDLINE[1..]] {
        assert!(!log.contains(number), "a full number in the log: {number}");
    }
    assert!(
        log.contains("0161"),
        "the masked form (last four digits) is there to correlate"
    );
    assert!(
        !log.contains("secret body text"),
        "a message body in the log"
    );
}
