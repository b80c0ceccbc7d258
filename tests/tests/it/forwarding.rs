//! Proving the number works (issue 16): the platform rings the business's own phone from its
//! number through Twilio's `Calls.json`; the sandbox plays the business's carrier (rings out,
//! voicemail, or forwards to the NeverMissCall number); the voice webhook recognises the
//! platform's number and marks forwarding verified, or the call's final status explains the
//! failure with the carrier's own dial code.

use std::time::{Duration, Instant};

use nmc_sandbox::lines::Line;
use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

fn line(behaviour: &str, forward_to: Option<&str>) -> Line {
    Line {
        behaviour: Some(behaviour.into()),
        forward_to: forward_to.map(Into::into),
    }
}

async fn start_test(app: &TestApp, b: Uuid, carrier: &str) -> reqwest::Response {
    app.owner(Method::POST, "/api/forwarding/test", b)
        .json(&json!({ "carrier": carrier }))
        .send()
        .await
        .unwrap()
}

/// Starts a test call and waits for its result.
async fn test_call(app: &TestApp, b: Uuid, carrier: &str) -> Value {
    let r = start_test(app, b, carrier).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    test_call_result(app, b).await
}

/// The latest test, once it has a result (or after 10 s).
async fn test_call_result(app: &TestApp, b: Uuid) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let report: Value = app
            .owner(Method::GET, "/api/forwarding/test", b)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if report["test"]["status"] != "calling" || Instant::now() > deadline {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_test_call_finds_forwarding_off_explains_it_and_verifies_it_once_on() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    app.set("call_mode = 'forwarded'").await;

    // Forwarding not set up yet: the phone rings out, and the owner is told Verizon's code.
    app.sandbox
        .set_line(BUSINESS_PHONE, line("rings_out", None));
    let report = test_call(&app, b, "verizon").await;
    assert_eq!(report["test"]["status"], "failed", "{report}");
    assert_eq!(report["test"]["outcome"], "rang_out");
    assert_eq!(report["test"]["rang"], BUSINESS_PHONE);
    let code = format!("*71{}", TWILIO_NUMBER.trim_start_matches("+1"));
    assert!(
        report["test"]["advice"].to_string().contains(&code),
        "{report}"
    );
    assert!(report["verified_at"].is_null());

    // Voicemail picks up first: the advice says so, in AT&T's words.
    app.sandbox
        .set_line(BUSINESS_PHONE, line("voicemail", None));
    let report = test_call(&app, b, "att").await;
    assert_eq!(report["test"]["outcome"], "answered", "{report}");
    assert!(report["test"]["advice"].to_string().contains("voicemail"));
    assert!(report["test"]["advice"].to_string().contains("**004*"));

    // The owner dials the code: the unanswered call forwards to the NeverMissCall number.
    app.sandbox
        .set_line(BUSINESS_PHONE, line("rings_out", Some(TWILIO_NUMBER)));
    let r = start_test(&app, b, "att").await;
    assert_eq!(r.status(), 202);
    // A second tap while it rings does not ring the owner twice.
    let again = start_test(&app, b, "att").await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("test_call"));
    let report = test_call_result(&app, b).await;
    assert_eq!(report["test"]["status"], "verified", "{report}");
    assert!(report["verified_at"].is_string());
    assert_eq!(report["carrier"], "att");

    // The platform's calls came from its number, rang the business phone, and were forwarded.
    let calls = app.sandbox.placed_calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(
        calls
            .iter()
            .all(|c| c.from == PLATFORM_NUMBER && c.to == BUSINESS_PHONE)
    );
    assert_eq!(calls[2].forwarded_to.as_deref(), Some(TWILIO_NUMBER));
    // The test caller is never a lead and is never texted.
    let leads: i64 = sqlx::query_scalar("select count(*) from leads")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(leads, 0);
    assert!(app.texts_to(PLATFORM_NUMBER).is_empty());
}

#[tokio::test]
async fn a_dial_through_number_is_proved_by_ringing_it_and_forged_results_change_nothing() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    let report = test_call(&app, b, "tmobile").await;
    assert_eq!(report["test"]["status"], "verified", "{report}");
    assert_eq!(report["test"]["rang"], TWILIO_NUMBER);

    // A status callback without the platform account's signature is refused.
    let id = report["test"]["id"].as_str().unwrap();
    let forged = app
        .http
        .post(format!("{}/webhook/voice/test-call?test={id}", app.api_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("CallSid=CAx&CallStatus=no-answer")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    // A real one after the fact cannot undo a verified test.
    let url = format!("{}/webhook/voice/test-call?test={id}", app.api_url);
    let params = [("CallSid", "CAx"), ("CallStatus", "no-answer")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let (status, _) = app
        .sandbox
        .post_signed(&url, "sandbox-auth-token", &params)
        .await
        .unwrap();
    assert_eq!(status, 200);
    let report = test_call_result(&app, b).await;
    assert_eq!(report["test"]["status"], "verified");
}
