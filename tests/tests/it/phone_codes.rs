//! Proving an alert phone by a one-time code (issue 16): the code comes by text from the
//! platform's number; until it is entered nothing is texted to the phone, and changing the
//! phone asks for a new proof.

use std::time::{Duration, Instant};

use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::go_live::{as_owner, sign_up};

const SIGN_UP_PHONE: &str = "+15125550150";

/// The code in the latest text from the platform's number to `to`.
fn code_sent_to(app: &TestApp, to: &str) -> String {
    let texts = app.texts_to(to);
    let text = texts
        .iter()
        .rev()
        .find(|m| m.from == PLATFORM_NUMBER)
        .expect("a code text from the platform's number");
    text.body[..6].to_owned()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = as_owner(app, Method::POST, path, token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn alerts(app: &TestApp, token: &str) -> Value {
    as_owner(app, Method::GET, "/api/me/alerts", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sign_up_phone_is_proved_by_the_texted_code_and_a_new_phone_needs_a_new_proof() {
    let app = TestApp::builder().empty().spawn().await;
    let token = sign_up(&app, "jo@pipepros.example").await;
    let me = alerts(&app, &token).await;
    assert_eq!(me["phone"], SIGN_UP_PHONE);
    assert_eq!(me["phone_verified"], false, "typed at sign-up, not proved");

    let (status, sent) = post(&app, &token, "/api/me/phone/code", json!({})).await;
    assert_eq!(status, 202, "{sent}");
    let code = code_sent_to(&app, SIGN_UP_PHONE);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    // Only a hash is kept.
    let stored = app
        .count(&format!(
            "select count(*) from phone_verifications where code_hash = '{code}'"
        ))
        .await;
    assert_eq!(stored, 0);
    // Another code straight away: refused, and nothing is texted.
    let (status, _) = post(&app, &token, "/api/me/phone/code", json!({})).await;
    assert_eq!(status, 429);
    assert_eq!(app.texts_to(SIGN_UP_PHONE).len(), 1);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, body) = post(&app, &token, "/api/me/phone/verify", json!({"code": wrong})).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("code"), "{body}");
    assert_eq!(alerts(&app, &token).await["phone_verified"], false);
    let (status, body) = post(&app, &token, "/api/me/phone/verify", json!({"code": code})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(alerts(&app, &token).await["phone_verified"], true);
    // A used code does not prove anything again.
    let (status, _) = post(&app, &token, "/api/me/phone/verify", json!({"code": code})).await;
    assert_eq!(status, 422);

    // The member moves alerts to another phone: it must be proved afresh.
    let me = alerts(&app, &token).await;
    let r = as_owner(&app, Method::PUT, "/api/me/alerts", &token)
        .json(&json!({"phone": "+15125550177", "channels": me["channels"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["phone_verified"], false);
    // Five wrong tries use a code up.
    sqlx::query("update phone_verifications set created_at = created_at - interval '1 minute'")
        .execute(&app.db)
        .await
        .unwrap();
    let (status, _) = post(&app, &token, "/api/me/phone/code", json!({})).await;
    assert_eq!(status, 202);
    let code = code_sent_to(&app, "+15125550177");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        post(&app, &token, "/api/me/phone/verify", json!({"code": wrong})).await;
    }
    let (status, body) = post(&app, &token, "/api/me/phone/verify", json!({"code": code})).await;
    assert_eq!(status, 422);
    assert!(
        body.to_string().contains("expired or was used up"),
        "{body}"
    );
}

/// Waits for a text from the business number to `to`.
async fn alert_text_to(app: &TestApp, to: &str) -> Vec<nmc_sandbox::SandboxMessage> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alerts: Vec<_> = app
            .texts_to(to)
            .into_iter()
            .filter(|m| m.from == TWILIO_NUMBER)
            .collect();
        if !alerts.is_empty() || Instant::now() > deadline {
            return alerts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn no_alert_is_texted_to_an_unproved_phone() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    app.set("owner_phone_verified_at = null").await;

    app.call("+15125550161", "no-answer").await;
    app.expect_texts("+15125550161", 1).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.count("select count(*) from notifications").await == 0 {
        assert!(Instant::now() < deadline, "the alert was not recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        app.texts_to(OWNER_PHONE).is_empty(),
        "texted an unproved phone"
    );

    // The owner proves the phone; the next missed call's alert is texted to it.
    let r = app
        .owner(Method::POST, "/api/me/phone/code", b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let code = code_sent_to(&app, OWNER_PHONE);
    let r = app
        .owner(Method::POST, "/api/me/phone/verify", b)
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.call("+15125550162", "no-answer").await;
    let texted = alert_text_to(&app, OWNER_PHONE).await;
    assert_eq!(texted.len(), 1, "{texted:?}");
    assert!(texted[0].body.contains("0162"), "{}", texted[0].body);
}
