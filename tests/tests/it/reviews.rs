//! Review requests after a completed job (issue 19): one request a delay after the job is
//! marked done, one reminder if the link was not opened and never more; an opened link counted
//! and sent on to Google's review form; an opted-out customer texted nothing; a reply reaching
//! the owner like any text.

use std::time::Duration;

use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

const PLACE: &str = "ChIJN1t_tDeuEmsRUsoyG83frY4";

/// A business that asks for reviews at once and reminds after `reminder_secs`.
async fn asking(reminder_secs: u32) -> (TestApp, uuid::Uuid) {
    let app = TestApp::spawn().await;
    let b = app.bookable().await;
    let r = app
        .owner(Method::PUT, "/api/reviews", b)
        .json(&json!({"google_place_id": PLACE, "delay_hours": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    app.set(&format!("review_reminder_secs = {reminder_secs}"))
        .await;
    (app, b)
}

/// A job for `phone`, booked by hand and marked completed.
async fn job_done(app: &TestApp, b: uuid::Uuid, phone: &str, hours_ahead: i64) {
    let start = chrono::Utc::now() + chrono::Duration::hours(hours_ahead);
    let r = app
        .owner(Method::POST, "/api/appointments", b)
        .json(&json!({"start": start, "duration_minutes": 60, "customer_name": "Sam Lee", "customer_phone": phone}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .owner(Method::PATCH, &format!("/api/appointments/{id}"), b)
        .json(&json!({"status": "completed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

fn token_of(body: &str) -> String {
    body.split("/r/")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_completed_job_asks_for_a_review_once_and_reminds_once() {
    let (app, b) = asking(3).await;
    let customer = "+15125550701";
    job_done(&app, b, customer, 3).await;
    let texts = app.expect_texts(customer, 1).await;
    let request = &texts[0].body;
    assert!(
        request.starts_with("Hi Sam! Thanks for choosing Acme Plumbing.")
            && request.contains(&format!("{}/r/", app.api_url)),
        "{request}"
    );
    // Not opened: one reminder, then nothing more.
    let texts = app.expect_texts(customer, 2).await;
    assert!(
        texts[1]
            .body
            .starts_with("A quick reminder from Acme Plumbing"),
        "{}",
        texts[1].body
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        app.texts_to(customer).len(),
        2,
        "never more than one reminder"
    );
    let kinds = app
        .count("select count(*) from messages where kind = 'review_request'")
        .await;
    assert_eq!(kinds, 2);
    let report: Value = app
        .owner(Method::GET, "/api/reports/weekly", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["reviews"]["sent"], 1, "{report}");
    assert_eq!(report["reviews"]["opened"], 0);
}

#[tokio::test]
async fn an_opened_link_is_counted_and_no_reminder_follows_and_an_opted_out_customer_gets_nothing()
{
    let (app, b) = asking(4).await;
    let opener = "+15125550702";
    let opted_out = "+15125550703";
    let r = app
        .owner(Method::POST, "/api/opt-outs", b)
        .json(&json!({"phone": opted_out}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    job_done(&app, b, opener, 3).await;
    job_done(&app, b, opted_out, 6).await;
    let texts = app.expect_texts(opener, 1).await;
    let token = token_of(&texts[0].body);
    // Our link counts the open and sends the customer on to Google's form, whoever they are.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .get(format!("{}/r/{token}", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "a redirect");
    assert_eq!(
        r.headers()["location"],
        format!("https://search.google.com/local/writereview?placeid={PLACE}")
    );
    let r = http
        .get(format!("{}/r/not-a-token", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // A reply reaches the owner like any text.
    app.text(opener, "Thanks, great job!").await;
    wait_until(Duration::from_secs(15), "the owner told", || async {
        app.count("select count(*) from notifications where kind = 'caller_text' and body like '%great job%'")
            .await
            == 1
    })
    .await;
    wait_until(
        Duration::from_secs(20),
        "the opted-out request skipped",
        || async {
            app.count("select count(*) from review_requests where skipped = 'opted_out'")
                .await
                == 1
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        app.texts_to(opted_out).is_empty(),
        "{:?}",
        app.texts_to(opted_out)
    );
    assert!(
        !app.texts_to(opener)
            .iter()
            .any(|m| m.body.contains("quick reminder")),
        "opened: no reminder"
    );
    assert_eq!(
        app.count("select count(*) from review_requests where opens = 1 and opened_at is not null")
            .await,
        1
    );
}

#[tokio::test]
async fn the_owner_finds_their_business_on_google_and_takes_its_place_id() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    let found: Value = app
        .owner(
            Method::GET,
            "/api/reviews/places?q=Acme%20Plumbing%20Austin",
            b,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["configured"], true);
    assert_eq!(found["places"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["places"][0]["id"], PLACE);
    assert_eq!(
        found["places"][0]["address"],
        "12 Main St, Austin, TX 78701, USA"
    );
    let none: Value = app
        .owner(
            Method::GET,
            "/api/reviews/places?q=Nobody%20Here%20Nowhere",
            b,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none["places"], json!([]), "Google's empty answer is `{{}}`");
    // The settings page lists the listings, each a one-tap choice.
    let page = app
        .owner(Method::GET, "/app/settings?place_q=Acme+Plumbing", b)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Acme Plumbing &amp; Heating") && page.contains("This is my business"));
    assert!(page.contains(&format!("value=\"{PLACE}\"")));
    let r = app
        .owner(Method::PUT, "/api/reviews", b)
        .json(&json!({"google_place_id": PLACE}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let chosen: Option<String> = sqlx::query_scalar("select google_place_id from businesses")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(chosen.as_deref(), Some(PLACE));
}
