//! The weekly email over real HTTP and a real Temporal: each business gets a Temporal Schedule
//! (Mondays 7:00 in its timezone) that the worker creates, moves with the timezone and deletes
//! when no owner wants the email or the business is deleted; a run mails last week's figures and who still waits through a
//! real SMTP server, once however often it runs; the one-click unsubscribe works without a
//! session and a GET never unsubscribes; the reports page previews the same email.

use std::time::Duration;

use chrono::{Datelike, Timelike};
use nmc_tests::browser::Browser;
use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use temporalio_client::schedules::{
    ScheduleDescription, ScheduleOverlapPolicy, TriggerScheduleOptions,
};
use temporalio_client::{Client, RpcOptions};

use crate::business::log_in_page;

const CALLER: &str = "+15125550199";
const OWNER_EMAIL: &str = "dana@acme.example";

async fn describe(client: &Client, business: uuid::Uuid) -> Option<ScheduleDescription> {
    client
        .get_schedule_handle(nmc_workflows::digest_schedule_id(business))
        .describe(RpcOptions::default())
        .await
        .ok()
}

async fn schedule_is(app: &TestApp, tz: Option<&str>) {
    let want = tz.map(str::to_owned);
    wait_until(Duration::from_secs(20), "the schedule in line", || async {
        let now: Option<String> = sqlx::query_scalar("select digest_schedule_tz from businesses")
            .fetch_one(&app.db)
            .await
            .unwrap();
        now == want
    })
    .await;
}

/// A missed call from last week that the caller answered, still waiting (an emergency).
async fn last_weeks_call(app: &TestApp) {
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    app.text(CALLER, "I smell gas in the basement").await;
    app.expect_texts(CALLER, 2).await;
    for table in ["calls", "messages", "conversations", "leads"] {
        sqlx::query(&format!(
            "update {table} set created_at = created_at - interval '7 days'"
        ))
        .execute(&app.db)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn the_weekly_email_runs_on_each_business_schedule_and_unsubscribes_in_one_click() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::builder()
        .worker_env("SMTP_URL", smtp.url())
        .worker_env("NMC_DIGEST_RECONCILE_SECS", "1")
        .spawn()
        .await;
    let business = app.business_id().await;
    schedule_is(&app, Some("America/Chicago")).await;
    let client = nmc_api::temporal::connect(&temporal_address(), "default")
        .await
        .unwrap();
    let next = describe(&client, business)
        .await
        .expect("a schedule")
        .future_action_times()[0];
    let next =
        chrono::DateTime::<chrono::Utc>::from(next).with_timezone(&chrono_tz::America::Chicago);
    assert_eq!(
        (next.weekday(), next.hour(), next.minute()),
        (chrono::Weekday::Mon, 7, 0),
        "{next}"
    );

    last_weeks_call(&app).await;
    let handle = client.get_schedule_handle(nmc_workflows::digest_schedule_id(business));
    for _ in 0..2 {
        handle
            .trigger(
                ScheduleOverlapPolicy::AllowAll,
                TriggerScheduleOptions::default(),
            )
            .await
            .unwrap();
    }
    let digests = || {
        smtp.received()
            .into_iter()
            .filter(|m| m.subject().starts_with("Your week"))
            .collect::<Vec<_>>()
    };
    wait_until(Duration::from_secs(30), "the weekly email", || async {
        !digests().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mail = digests();
    assert_eq!(mail.len(), 1, "two runs, one email");
    let mail = &mail[0];
    assert_eq!(
        mail.subject(),
        "Your week at Acme Plumbing: 1 missed call, 1 recovered"
    );
    let text = mail.text().unwrap();
    assert!(text.contains("Recovery rate: 100%"), "{text}");
    assert!(
        text.contains("Still waiting on you (1):\n- (512) 555-0199 (emergency)"),
        "{text}"
    );
    assert!(mail.html().unwrap().contains("Revenue recovered"));
    assert_eq!(
        mail.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let unsubscribe = mail
        .header("List-Unsubscribe")
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();

    // A GET (a mail scanner) only asks; the one-click POST, without any session, stops it.
    let http = reqwest::Client::new();
    let page = http.get(&unsubscribe).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        app.count("select count(*) from users where weekly_digest")
            .await,
        1
    );
    for _ in 0..2 {
        let r = http
            .post(&unsubscribe)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "no redirect, and safe to repeat");
    }
    assert_eq!(
        app.count("select count(*) from users where weekly_digest")
            .await,
        0
    );
    schedule_is(&app, None).await;
    assert!(
        describe(&client, business).await.is_none(),
        "deleted with the last owner's wish"
    );

    // Back on, in another timezone: the schedule follows.
    let r = app
        .owner(Method::PUT, "/api/me/alerts", business)
        .json(&json!({"phone": OWNER_PHONE, "channels": {"sms": ["emergency"]}, "weekly_digest": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut settings: Value = app
        .owner(Method::GET, "/api/settings", business)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    settings["timezone"] = json!("America/New_York");
    let r = app
        .owner(Method::PUT, "/api/settings", business)
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    schedule_is(&app, Some("America/New_York")).await;
    let d = describe(&client, business).await.unwrap();
    let spec = d.raw().schedule.as_ref().unwrap().spec.as_ref().unwrap();
    assert_eq!(spec.timezone_name, "America/New_York");

    // The business is deleted: its schedule goes with it.
    let r = app
        .owner(Method::DELETE, "/api/business", business)
        .json(&json!({"confirm": "Acme Plumbing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    schedule_is(&app, None).await;
    assert!(
        describe(&client, business).await.is_none(),
        "deleted with the business"
    );
}

#[tokio::test]
async fn the_reports_page_previews_the_weekly_email() {
    let app = TestApp::spawn().await;
    last_weeks_call(&app).await;
    let b = Browser::desktop(&app.api_url).await;
    log_in_page(&b, OWNER_EMAIL, OWNER_PASSWORD).await;
    let (monday, _) = nmc_domain::digest::last_week(
        chrono::Utc::now()
            .with_timezone(&chrono_tz::America::Chicago)
            .date_naive(),
    );
    b.goto(&format!("/app/reports?period=week&start={monday}"))
        .await;
    let preview = b.text("section[aria-labelledby=digest-preview]").await;
    assert!(
        preview.contains("Subject: Your week at Acme Plumbing: 1 missed call, 1 recovered"),
        "{preview}"
    );
    assert!(preview.contains("Recovery rate: 100%"), "{preview}");
    b.close().await;
}
