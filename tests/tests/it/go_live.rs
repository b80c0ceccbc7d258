//! Going live (issue 5): a self-serve business buys a local number through the Twilio REST API
//! (the sandbox implements AvailablePhoneNumbers and IncomingPhoneNumbers), or registers one it
//! already has; its automated texts are held until its messaging registration is approved.

use std::time::Duration;

use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

pub(crate) async fn sign_up(app: &TestApp, email: &str) -> String {
    let r = app
        .http
        .post(format!("{}/api/auth/signup", app.api_url))
        .json(&json!({"business_name": "Pipe Pros", "owner_name": "Jo Pipe", "email": email, "password": "pipes all the way down", "phone": "+15125550150", "trade": "plumbing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn as_owner(
    app: &TestApp,
    m: Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    app.http
        .request(m, format!("{}{path}", app.api_url))
        .bearer_auth(token)
}

#[tokio::test]
async fn a_new_business_buys_a_number_and_texts_wait_for_its_registration() {
    let app = TestApp::builder().empty().spawn().await;
    // Only the countries the platform serves (US and Canada here).
    let r = app
        .http
        .post(format!("{}/api/auth/signup", app.api_url))
        .json(&json!({"business_name": "Pipe Pros", "owner_name": "Jo Pipe", "email": "uk@pipepros.example", "password": "pipes all the way down", "phone": "+447700900123", "trade": "plumbing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let bad: Value = r.json().await.unwrap();
    assert!(
        bad["error"]["fields"]["phone"]
            .as_str()
            .unwrap()
            .contains("US or CA"),
        "{bad}"
    );
    let token = sign_up(&app, "jo@pipepros.example").await;
    assert_eq!(
        as_owner(
            &app,
            Method::GET,
            "/api/numbers/available?area_code=51",
            &token
        )
        .send()
        .await
        .unwrap()
        .status(),
        422
    );
    let available: Value = as_owner(
        &app,
        Method::GET,
        "/api/numbers/available?area_code=512",
        &token,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let number = available["numbers"][0]["phone_number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(number.starts_with("+1512"), "{available}");
    let r = as_owner(&app, Method::POST, "/api/numbers", &token)
        .json(&json!({"phone_number": number}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(
        as_owner(&app, Method::POST, "/api/numbers", &token)
            .json(&json!({"phone_number": number}))
            .send()
            .await
            .unwrap()
            .status(),
        409,
        "one number per business"
    );
    let me: Value = as_owner(&app, Method::GET, "/api/auth/me", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["business"]["number"], number.as_str());

    // A missed call on the new number: recorded, but the greeting is held (not registered).
    let caller = "+15125550181";
    app.sandbox
        .place_call(nmc_sandbox::CallRequest {
            from: caller.into(),
            to: number.clone(),
            outcome: Some("no-answer".into()),
            call_sid: None,
            deliveries: 1,
            forwarded_from: None,
            ..Default::default()
        })
        .await
        .unwrap();
    wait_until(Duration::from_secs(15), "the greeting held", || async {
        app.count("select count(*) from messages where kind = 'greeting' and status = 'held' and error_code = 30034")
            .await
            == 1
    })
    .await;
    assert!(
        app.texts_to(caller).is_empty(),
        "nothing reached the carrier"
    );
    wait_until(Duration::from_secs(5), "the owner told why", || async {
        app.count("select count(*) from notifications where kind = 'registration_hold'")
            .await
            == 1
    })
    .await;
    let messaging: Value = as_owner(&app, Method::GET, "/api/messaging", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messaging["status"], "not_registered");
    assert!(
        messaging["explanation"]
            .as_str()
            .unwrap()
            .contains("not texted")
    );

    // Registering, the decision and what happens to held greetings: registration.rs.
}

#[tokio::test]
async fn a_business_registers_the_twilio_number_it_already_has() {
    let app = TestApp::builder().empty().spawn().await;
    let token = sign_up(&app, "jo@pipepros.example").await;
    let (sid, auth) = ("AC11111111111111111111111111111111", "their-own-auth-token");
    app.sandbox.register_number(
        "+15125550777",
        sid,
        auth,
        "https://old.example/voice",
        "https://old.example/sms",
    );
    let wrong = as_owner(&app, Method::POST, "/api/numbers/existing", &token)
        .json(&json!({"phone_number": "+15125550777", "account_sid": sid, "auth_token": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong.status(),
        422,
        "a number not on that account (or wrong credentials) is refused"
    );
    let r = as_owner(&app, Method::POST, "/api/numbers/existing", &token)
        .json(&json!({"phone_number": "+15125550777", "account_sid": sid, "auth_token": auth}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // Its webhooks now point at us: a call reaches this business (and is recorded).
    app.sandbox
        .place_call(nmc_sandbox::CallRequest {
            from: "+15125550183".into(),
            to: "+15125550777".into(),
            outcome: Some("no-answer".into()),
            call_sid: None,
            deliveries: 1,
            forwarded_from: None,
            ..Default::default()
        })
        .await
        .unwrap();
    wait_until(Duration::from_secs(10), "the call recorded for this business", || async {
        app.count("select count(*) from calls c join businesses b on b.id = c.business_id where b.twilio_number = '+15125550777'").await == 1
    })
    .await;
    let sealed: String = sqlx::query_scalar(
        "select twilio_auth_token_enc from businesses where twilio_number = '+15125550777'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(!sealed.contains(auth), "the token is sealed at rest");
    // Another business cannot take the same number.
    let other = sign_up(&app, "sam@other.example").await;
    let r = as_owner(&app, Method::POST, "/api/numbers/existing", &other)
        .json(&json!({"phone_number": "+15125550777", "account_sid": sid, "auth_token": auth}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
}
