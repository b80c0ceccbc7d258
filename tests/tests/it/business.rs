//! The business the page tests share: one set up through the API (number, prices, crew, set-up
//! finished), content on every page, the pages an owner opens, and logging in from the form.

use std::time::Duration;

use nmc_tests::browser::Browser;
use nmc_tests::*;
use serde_json::{Value, json};

pub(crate) const PASSWORD: &str = "pipes and drains 42";
/// Tom the technician's, once he has joined.
pub(crate) const TECH_PASSWORD: &str = "wrenches all day 7";
/// The caller every page test uses.
pub(crate) const CALLER: &str = "+15125550123";

/// A business set up through the API: number, prices, crew, set-up finished. Returns the
/// owner's token and the business's number.
pub(crate) async fn business_via_api(app: &TestApp, email: &str) -> (String, String) {
    let http = reqwest::Client::new();
    let signup: Value = http
        .post(format!("{}/api/auth/signup", app.api_url))
        .json(&json!({"business_name": "Rivera Plumbing", "owner_name": "Ana Rivera", "email": email, "password": PASSWORD, "phone": "+15125550142", "trade": "plumbing", "timezone": "America/Chicago"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["access_token"].as_str().unwrap().to_owned();
    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{}{path}", app.api_url))
            .bearer_auth(&token)
    };
    // As the set-up's last step asks: the owner proves the phone alerts go to.
    app.prove_phone(&token, "+15125550142").await;
    let number = buy_number(app, &token).await;
    assert!(
        api(reqwest::Method::POST, "/api/catalog/adopt")
            .json(&json!({"trade": "plumbing"}))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert_eq!(
        api(reqwest::Method::POST, "/api/technicians")
            .json(&json!({"name": "Ana Rivera"}))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    sqlx::query("update businesses set onboarding_step = null")
        .execute(&app.db)
        .await
        .unwrap();
    (token, number)
}

/// Buys the first local number in area code 512 for the owner of `token`; returns it.
pub(crate) async fn buy_number(app: &TestApp, token: &str) -> String {
    let http = reqwest::Client::new();
    let found: Value = http
        .get(format!(
            "{}/api/numbers/available?area_code=512",
            app.api_url
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let number = found["numbers"][0]["phone_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = http
        .post(format!("{}/api/numbers", app.api_url))
        .bearer_auth(token)
        .json(&json!({"phone_number": number}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    number
}

pub(crate) async fn log_in_page(b: &Browser, email: &str, password: &str) {
    b.goto("/login").await;
    b.fill("#email", email).await;
    b.fill("#password", password).await;
    b.click_text("Log in").await;
    b.wait_path("/app").await;
}

/// A call to the business's number that rings out: a missed call, the greeting, a conversation.
pub(crate) async fn missed_call(app: &TestApp, number: &str) {
    missed_call_from(app, number, CALLER).await;
}

/// A call from `caller` to `number` that rings out.
pub(crate) async fn missed_call_from(app: &TestApp, number: &str, caller: &str) {
    app.sandbox
        .place_call(nmc_sandbox::CallRequest {
            from: caller.into(),
            to: number.to_owned(),
            outcome: Some("no-answer".into()),
            call_sid: None,
            deliveries: 1,
            forwarded_from: None,
            ..Default::default()
        })
        .await
        .unwrap();
}

/// Content on every page: a missed call, a conversation the caller answered, a booked job.
/// Returns the conversation.
pub(crate) async fn content_on_every_page(app: &TestApp, token: &str, number: &str) -> uuid::Uuid {
    missed_call(app, number).await;
    app.sandbox
        .send_sms_as_caller(nmc_sandbox::SmsRequest {
            from: CALLER.into(),
            to: number.to_owned(),
            body: "Water heater is leaking everywhere, this is Sam Lee at 12 Oak St".into(),
            message_sid: None,
            deliveries: 1,
        })
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let slots: Value = http
        .get(format!(
            "{}/api/availability?duration_minutes=60",
            app.api_url
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let start = slots["slots"][0]["start"]
        .as_str()
        .unwrap_or_else(|| panic!("{slots}"))
        .to_owned();
    let booked = http
        .post(format!("{}/api/appointments", app.api_url))
        .bearer_auth(token)
        .json(&json!({"start": start, "customer_name": "Sam Lee", "customer_phone": CALLER, "address": "12 Oak St, Austin TX 78701", "service_name": "Water Heater Repair"}))
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), 201);
    wait_until(Duration::from_secs(15), "the caller's text in a conversation", || async {
        app.count("select count(*) from messages where direction = 'inbound' and conversation_id is not null").await == 1
    })
    .await;
    sqlx::query_scalar("select conversation_id from messages where direction = 'inbound'")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Every page an owner opens once signed in, the set-up steps and the dev phone included.
pub(crate) fn owner_pages(conversation: uuid::Uuid) -> Vec<String> {
    vec![
        "/app".to_owned(),
        "/app/inbox".into(),
        format!("/app/inbox/{conversation}"),
        "/app/leads".into(),
        "/app/notifications".into(),
        "/app/settings/alerts".into(),
        "/app/calls".into(),
        "/app/appointments".into(),
        "/app/appointments?view=list".into(),
        "/app/catalog".into(),
        "/app/assistant".into(),
        "/app/settings".into(),
        "/app/team".into(),
        "/app/reports".into(),
        "/app/reports?period=month".into(),
        "/app/onboarding/profile".into(),
        "/app/onboarding/hours".into(),
        "/app/onboarding/catalog".into(),
        "/app/onboarding/greeting".into(),
        "/app/onboarding/number".into(),
        "/app/onboarding/texting".into(),
        "/app/onboarding/test".into(),
        "/app/settings/messaging".into(),
        "/app/settings/billing".into(),
        "/app/settings/calendars".into(),
        "/app/settings/integrations".into(),
        "/app/settings/voice".into(),
        "/dev/phone".into(),
    ]
}

/// The technician accepts the newest invitation mailed to `email` (name Tom), through the API;
/// their access token.
pub(crate) async fn accept_invitation(app: &TestApp, email: &str) -> String {
    let mail: String = sqlx::query_scalar(
        "select body from outbound_emails where to_email = $1 order by created_at desc limit 1",
    )
    .bind(email)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let token = mail
        .split("/invite/")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    let joined: Value = reqwest::Client::new()
        .post(format!("{}/api/auth/accept-invite", app.api_url))
        .json(&json!({"token": token, "name": "Tom", "password": TECH_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    joined["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{joined}"))
        .to_owned()
}
