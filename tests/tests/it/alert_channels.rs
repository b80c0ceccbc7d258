//! Alerts on each member's channels over real HTTP: email through a real SMTP server, Slack
//! through its incoming-webhook double (rate limit and a removed webhook included), texts held
//! in quiet hours, and emergencies on every channel whatever was chosen.

use std::time::Duration;

use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

const CALLER: &str = "+15125550166";
const OWNER_EMAIL: &str = "dana@acme.example";
const SLACK_PATH: &str = "T0001/B0001/abcDEF123";

async fn put(app: &TestApp, business: uuid::Uuid, path: &str, body: &Value) -> reqwest::Response {
    app.owner(Method::PUT, path, business)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_member_chooses_channels_and_emergencies_use_them_all() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::builder()
        .worker_env("SMTP_URL", smtp.url())
        .spawn()
        .await;
    let business = app.business_id().await;
    // Missed calls on every channel: text, email, this phone's browser, and Slack.
    let r = put(
        &app,
        business,
        "/api/me/alerts",
        &json!({
            "phone": OWNER_PHONE,
            "channels": {"sms": ["missed_call"], "email": ["missed_call"], "push": ["missed_call"]},
            "quiet_hours": null,
        }),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let slack = format!("{}/slack/services/{SLACK_PATH}", app.sandbox_url);
    let r = put(
        &app,
        business,
        "/api/settings/slack",
        &json!({"webhook_url": slack, "kinds": ["missed_call"]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(
        saved,
        json!({"connected": true, "kinds": ["missed_call"]}),
        "the URL is never shown"
    );
    let browser = app.sandbox.push.subscribe(&app.sandbox_url);
    let r = app
        .owner(Method::POST, "/api/push/subscriptions", business)
        .json(&browser)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let called = std::time::Instant::now();
    app.call(CALLER, "no-answer").await;
    let text = app.expect_texts(OWNER_PHONE, 1).await.remove(0);
    assert!(
        text.body.starts_with("Missed call from (512) 555-0166"),
        "{}",
        text.body
    );
    let mail = smtp.wait_for(OWNER_EMAIL, Duration::from_secs(10)).await;
    assert_eq!(mail.subject(), "Missed calls · Acme Plumbing");
    assert!(
        mail.text()
            .unwrap()
            .contains("Missed call from (512) 555-0166")
    );
    assert!(
        mail.html().unwrap().contains("/n/"),
        "the link is in the HTML part"
    );
    wait_until(
        Duration::from_secs(10),
        "posted to Slack and pushed",
        || async {
            !app.sandbox.slack.posts().is_empty() && !app.sandbox.push.received().is_empty()
        },
    )
    .await;
    let took = called.elapsed();
    eprintln!("missed call → text, email, push and Slack all delivered in {took:?}");
    assert!(
        took < Duration::from_secs(10),
        "every channel within 10 s of the call: {took:?}"
    );
    let (path, post) = app.sandbox.slack.posts().remove(0);
    assert_eq!(path, SLACK_PATH);
    assert!(
        post["text"]
            .as_str()
            .unwrap()
            .contains("Missed call from (512) 555-0166")
    );

    // The caller's text back was chosen for no channel: nothing goes out for it.
    app.text(CALLER, "Can you come tomorrow?").await;
    app.expect_no_more_texts(OWNER_PHONE, 1, Duration::from_secs(2))
        .await;

    // An emergency goes on every channel the owner has, chosen or not.
    app.text(CALLER, "I smell gas in the basement").await;
    let texts = app.expect_texts(OWNER_PHONE, 2).await;
    assert!(
        texts[1].body.to_lowercase().contains("emergency"),
        "{}",
        texts[1].body
    );
    wait_until(
        Duration::from_secs(15),
        "emergency mailed, posted and pushed",
        || async {
            smtp.received().len() == 2
                && app.sandbox.slack.posts().len() == 2
                && app.sandbox.push.received().len() == 2
        },
    )
    .await;
    let sent = |kind: &'static str| {
        let app = &app;
        async move {
            app.count(&format!("select count(*) from alert_deliveries d join notifications n on n.id = d.notification_id where n.kind = '{kind}' and d.status = 'sent'")).await
        }
    };
    assert_eq!(
        sent("missed_call").await,
        4,
        "by text, email, push and Slack"
    );
    assert_eq!(sent("emergency").await, 4, "by text, email, push and Slack");
    assert_eq!(sent("caller_text").await, 0);
}

#[tokio::test]
async fn quiet_hours_hold_back_texts_and_pushes_but_never_an_emergency_or_email() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::builder()
        .worker_env("SMTP_URL", smtp.url())
        .spawn()
        .await;
    let business = app.business_id().await;
    // Quiet from an hour ago for three hours, in the business's timezone.
    use chrono::Timelike;
    let hour = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Chicago)
        .hour();
    let (start, end) = (
        format!("{:02}:00", (hour + 23) % 24),
        format!("{:02}:00", (hour + 2) % 24),
    );
    let r = put(
        &app,
        business,
        "/api/me/alerts",
        &json!({
            "phone": OWNER_PHONE,
            "channels": {"sms": ["missed_call", "caller_text", "emergency"],
                         "push": ["missed_call"], "email": ["missed_call"]},
            "quiet_hours": {"start": start, "end": end},
        }),
    )
    .await;
    assert_eq!(r.status(), 200);
    let browser = app.sandbox.push.subscribe(&app.sandbox_url);
    let r = app
        .owner(Method::POST, "/api/push/subscriptions", business)
        .json(&browser)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    // The text and the push wait for morning; the email goes, for the record.
    wait_until(Duration::from_secs(10), "held back", || async {
        app.count("select count(*) from alert_deliveries where status = 'quiet' and channel in ('sms', 'push')")
            .await
            == 2
    })
    .await;
    wait_until(Duration::from_secs(15), "mailed", || async {
        smtp.received().len() == 1
    })
    .await;
    assert!(
        app.sandbox.push.received().is_empty(),
        "no push in quiet hours"
    );
    app.text(CALLER, "Gas smell in the kitchen, emergency")
        .await;
    let texts = app.expect_texts(OWNER_PHONE, 1).await;
    assert!(
        texts[0].body.to_lowercase().contains("emergency"),
        "{}",
        texts[0].body
    );

    // Bad choices change nothing; a customer's number is never a team phone.
    for bad in [
        json!({"phone": CALLER, "channels": {}}),
        json!({"phone": "+447700900123", "channels": {}}),
        json!({"phone": "+18765550100", "channels": {}}),
        json!({"phone": "12", "channels": {}}),
        json!({"channels": {"sms": ["not_a_kind"]}}),
        json!({"channels": {}, "quiet_hours": {"start": "25:00", "end": "07:00"}}),
    ] {
        let r = put(&app, business, "/api/me/alerts", &bad).await;
        assert_eq!(r.status(), 422, "{bad}");
    }
    let r = put(
        &app,
        business,
        "/api/settings/slack",
        &json!({"webhook_url": "https://evil.example/x/y/z"}),
    )
    .await;
    assert_eq!(r.status(), 422);
    let kept: Value = app
        .owner(Method::GET, "/api/me/alerts", business)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(kept["quiet_hours"], json!({"start": start, "end": end}));
}

#[tokio::test]
async fn slack_rate_limits_are_waited_out_and_a_removed_webhook_is_given_up() {
    let app = TestApp::spawn().await;
    let business = app.business_id().await;
    let slack = format!("{}/slack/services/{SLACK_PATH}", app.sandbox_url);
    let r = put(
        &app,
        business,
        "/api/settings/slack",
        &json!({"webhook_url": slack, "kinds": ["missed_call"]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    app.sandbox.slack.rate_limit(2);
    app.call(CALLER, "no-answer").await;
    wait_until(Duration::from_secs(15), "posted after the 429s", || async {
        app.sandbox.slack.posts().len() == 1
    })
    .await;
    app.sandbox.slack.remove(SLACK_PATH);
    app.call("+15125550177", "no-answer").await;
    wait_until(Duration::from_secs(10), "given up", || async {
        app.count(
            "select count(*) from alert_deliveries where channel = 'slack' and status = 'gone'",
        )
        .await
            == 1
    })
    .await;
    assert_eq!(app.sandbox.slack.posts().len(), 1, "nothing posted twice");
}
