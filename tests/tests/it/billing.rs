//! Billing (issue 16): a self-serve business starts its trial through Stripe Checkout (the
//! sandbox's Stripe double, over HTTP), and its plan decides whether callers are texted: not
//! before the trial, yes while trialing, active or within the grace of a declined card, not once
//! the plan has ended, and never is anything recorded lost. Webhooks are verified, applied once,
//! and an older event never undoes a newer one.

use std::time::Duration;

use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::business::{business_via_api, missed_call_from};
use crate::go_live::as_owner;

async fn plan(app: &TestApp, token: &str) -> Value {
    as_owner(app, Method::GET, "/api/billing", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The plan once `done` says so (10 s at most).
async fn plan_when(app: &TestApp, token: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let p = plan(app, token).await;
        if done(&p) {
            return p;
        }
        assert!(std::time::Instant::now() < deadline, "never {what}: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for_status(app: &TestApp, token: &str, status: &str) -> Value {
    plan_when(app, token, status, |p| p["status"] == status).await
}

async fn held_greetings(app: &TestApp) -> i64 {
    app.count("select count(*) from messages where kind = 'greeting' and status = 'held'")
        .await
}

/// Checks out on the double's hosted page, as the owner's browser would.
async fn check_out(app: &TestApp, token: &str) {
    let r = as_owner(app, Method::POST, "/api/billing/checkout", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let url = r.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paid = no_redirects.post(&url).send().await.unwrap();
    assert_eq!(paid.status(), 303);
    let back = paid.headers()["location"].to_str().unwrap();
    assert!(
        back.ends_with("/app/settings/billing?checkout=done"),
        "{back}"
    );
}

#[tokio::test]
async fn texting_follows_the_plan_from_sign_up_through_trial_decline_and_cancellation() {
    let app = TestApp::builder()
        .empty()
        .built_in_sandbox()
        .billing()
        .spawn()
        .await;
    let (token, number) = business_via_api(&app, "plan@rivera.example").await;
    let p = plan(&app, &token).await;
    assert_eq!(
        (p["status"].as_str(), p["texting"].as_str()),
        (Some("none"), Some("stopped")),
        "{p}"
    );
    assert_eq!(p["action"], "checkout");

    // Before the trial: the call is recorded and the owner told, but the caller is not texted.
    missed_call_from(&app, &number, "+15125550301").await;
    wait_until(Duration::from_secs(10), "the greeting held", || async {
        held_greetings(&app).await == 1
    })
    .await;
    assert!(app.texts_to("+15125550301").is_empty());
    wait_until(Duration::from_secs(10), "the owner told why", || async {
        app.count("select count(*) from notifications where body like '%plan is not active%'")
            .await
            >= 1
    })
    .await;

    // The trial starts on Stripe's page; the held greeting, still fresh, goes once.
    check_out(&app, &token).await;
    let p = wait_for_status(&app, &token, "trialing").await;
    assert_eq!(p["texting"], "on");
    assert!(p["trial_end"].is_string());
    app.expect_texts("+15125550301", 1).await;
    missed_call_from(&app, &number, "+15125550302").await;
    app.expect_texts("+15125550302", 1).await;
    // A second Checkout while the plan runs is refused; the portal is the way in.
    let again = as_owner(&app, Method::POST, "/api/billing/checkout", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 422);

    // The card is declined at renewal: texting goes on through the grace period, with a banner.
    let sub = app.sandbox.stripe.subscriptions()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.sandbox.stripe.move_subscription(&sub, "past_due").await;
    let p = wait_for_status(&app, &token, "past_due").await;
    assert_eq!(p["texting"], "grace", "{p}");
    assert!(p["banner"].as_str().unwrap().contains("declined"));
    assert!(p["grace_until"].is_string());
    missed_call_from(&app, &number, "+15125550303").await;
    app.expect_texts("+15125550303", 1).await;

    // The plan ends: calls are still recorded, callers are not texted, nothing is lost.
    app.sandbox.stripe.move_subscription(&sub, "canceled").await;
    let p = wait_for_status(&app, &token, "canceled").await;
    assert_eq!(
        (p["texting"].as_str(), p["action"].as_str()),
        (Some("stopped"), Some("checkout"))
    );
    missed_call_from(&app, &number, "+15125550304").await;
    wait_until(Duration::from_secs(10), "the greeting held", || async {
        held_greetings(&app).await == 1
    })
    .await;
    assert!(app.texts_to("+15125550304").is_empty());
    assert_eq!(app.count("select count(*) from leads").await, 4);
    assert_eq!(app.count("select count(*) from calls").await, 4);
}

/// Posts `event` to the webhook signed with `secret` at `t`.
async fn post_event(app: &TestApp, event: &Value, secret: &str, t: i64) -> u16 {
    let body = serde_json::to_vec(event).unwrap();
    let sig = nmc_sandbox::stripe::sign(secret, t, &body);
    app.http
        .post(format!("{}/webhook/stripe", app.api_url))
        .header("stripe-signature", format!("t={t},v1={sig}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn webhooks_are_verified_applied_once_and_never_undone_by_an_older_event() {
    let app = TestApp::builder()
        .empty()
        .built_in_sandbox()
        .billing()
        .spawn()
        .await;
    let (token, number) = business_via_api(&app, "hooks@rivera.example").await;
    check_out(&app, &token).await;
    wait_for_status(&app, &token, "trialing").await;
    let events = app.sandbox.stripe.events();
    let created = events
        .iter()
        .find(|e| e["type"] == "customer.subscription.created")
        .unwrap();
    let now = chrono::Utc::now().timestamp();

    // Wrong secret, stale signature, no signature: 400, and nothing recorded.
    let before = app.count("select count(*) from stripe_events").await;
    assert_eq!(post_event(&app, created, "whsec_wrong", now).await, 400);
    assert_eq!(
        post_event(&app, created, STRIPE_WEBHOOK_SECRET, now - 600).await,
        400
    );
    let unsigned = app
        .http
        .post(format!("{}/webhook/stripe", app.api_url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 400);
    assert_eq!(
        app.count("select count(*) from stripe_events").await,
        before
    );

    // The same event again: 200, applied once.
    assert_eq!(
        post_event(&app, created, STRIPE_WEBHOOK_SECRET, now).await,
        200
    );
    assert_eq!(
        app.count("select count(*) from stripe_events").await,
        before
    );

    // An older snapshot that arrives late (a new event id) does not undo the newer state.
    let mut stale = created.clone();
    stale["id"] = json!("evt_stale_snapshot");
    stale["type"] = json!("customer.subscription.updated");
    stale["created"] = json!(created["created"].as_i64().unwrap() - 60);
    stale["data"]["object"]["status"] = json!("incomplete");
    assert_eq!(
        post_event(&app, &stale, STRIPE_WEBHOOK_SECRET, now).await,
        200
    );
    assert_eq!(plan(&app, &token).await["status"], "trialing");

    // The portal: cancelling at the period's end keeps the trial and says when it ends.
    let r = as_owner(&app, Method::POST, "/api/billing/portal", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let url = r.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        app.http
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Cancel plan")
    );
    let pid = url.rsplit('/').next().unwrap();
    let cancel = format!(
        "{}/stripe/portal/{pid}/cancel",
        url.split("/stripe/portal/").next().unwrap()
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(
        no_redirects.post(&cancel).send().await.unwrap().status(),
        303
    );
    let p = plan_when(&app, &token, "a cancellation date", |p| {
        p["cancel_at"].is_string()
    })
    .await;
    assert_eq!(p["status"], "trialing");
    assert_eq!(p["action"], "portal");

    // Deleting the account ends the subscription at Stripe first: nobody is charged after.
    let r = as_owner(&app, Method::DELETE, "/api/business", &token)
        .json(&json!({"confirm": "Rivera Plumbing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let sub = &app.sandbox.stripe.subscriptions()[0];
    assert_eq!(sub["status"], "canceled");
    // The number bought on the platform's account goes back to Twilio.
    assert!(!app.sandbox.has_number(&number), "{number} released");
}
