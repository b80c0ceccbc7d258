//! The assistant knows the business (issue 18): its FAQ answered by the rules engine and
//! marked in the thread, a question it cannot answer passed to the owner, an address outside
//! the service area declined with the owner told (ZIP codes and cities as typed, a radius
//! through the geocoder double), and the caller's preferred time narrowing the offered slots.

use std::time::Duration;

use chrono::Utc;
use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

const CALLER: &str = "+15125550611";
const FAR: &str = "+15125550612";
const NEAR: &str = "+15125550613";

async fn put_area(app: &TestApp, area: Value) -> reqwest::Response {
    let b = app.business_id().await;
    app.owner(Method::PUT, "/api/assistant", b)
        .json(&area)
        .send()
        .await
        .unwrap()
}

/// The caller's texts and the assistant's replies, turn by turn.
async fn say(app: &TestApp, caller: &str, lines: &[&str]) -> String {
    for line in lines {
        let before = app.texts_to(caller).len();
        app.text(caller, line).await;
        app.expect_texts(caller, before + 1).await;
    }
    app.texts_to(caller).last().unwrap().body.clone()
}

async fn notes(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("select note from messages where note is not null order by created_at")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_faq_answers_callers_and_what_it_cannot_goes_to_the_owner() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0").await;
    let b = app.business_id().await;
    let r = app
        .owner(Method::POST, "/api/faqs/adopt", b)
        .json(&json!({"trade": "plumbing"}))
        .send()
        .await
        .unwrap();
    let added = r.json::<Value>().await.unwrap()["added"].as_u64().unwrap();
    assert!(added >= 6, "{added}");
    // Prices belong to the price list; an empty question matches nothing.
    for (bad, field) in [
        (
            json!({"question": "Trip fee?", "answer": "It's $89."}),
            "answer",
        ),
        (json!({"question": "the?", "answer": "Yes."}), "question"),
    ] {
        let r = app
            .owner(Method::POST, "/api/faqs", b)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains(field));
    }
    let r = app
        .owner(Method::POST, "/api/faqs", b)
        .json(&json!({"question": "Do you service boilers?", "answer": "Yes, gas and oil boilers, all brands."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let list: Value = app
        .owner(Method::GET, "/api/faqs", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["faqs"].as_array().unwrap().len() as u64, added + 1);

    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    let reply = say(&app, CALLER, &["hi, are you guys insured?"]).await;
    assert!(reply.contains("licensed and insured"), "{reply}");
    assert!(
        reply.contains("What can we help you with?"),
        "and it goes on: {reply}"
    );
    let reply = say(&app, CALLER, &["Do you do boilers"]).await;
    assert!(reply.contains("gas and oil boilers"), "{reply}");
    // Not in the FAQ: the owner answers, and is told so.
    let reply = say(&app, CALLER, &["are you a family owned business?"]).await;
    assert!(reply.contains("I'll have Dana confirm that"), "{reply}");
    wait_until(Duration::from_secs(15), "the owner asked", || async {
        app.count("select count(*) from notifications where kind = 'needs_owner' and body like '%family owned%'")
            .await
            == 1
    })
    .await;
    assert_eq!(
        notes(&app).await,
        [
            "From your FAQ: Are you licensed and insured?",
            "From your FAQ: Do you service boilers?",
            "Passed to you: not in your FAQ"
        ]
    );
    // The owner's thread shows what was said for them.
    let conv: uuid::Uuid = sqlx::query_scalar("select id from conversations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let thread: Value = app
        .owner(Method::GET, &format!("/api/conversations/{conv}"), b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        thread
            .to_string()
            .contains("From your FAQ: Do you service boilers?"),
        "{thread}"
    );
    let page = app
        .owner(Method::GET, "/app/assistant", b)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Do you service boilers?")
    );
}

#[tokio::test]
async fn a_caller_outside_the_service_area_is_declined_and_the_owner_told() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0").await;
    let r = put_area(
        &app,
        json!({"zips": ["78701", "78702"], "cities": ["Austin"]}),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // A radius needs an address the geocoder can place.
    let r = put_area(&app, json!({"radius_miles": 25})).await;
    assert_eq!(r.status(), 422);
    let r = put_area(&app, json!({"radius_miles": 25, "address": "1 Nowhere Rd"})).await;
    assert_eq!(r.status(), 422, "{}", r.text().await.unwrap());

    for caller in [FAR, NEAR] {
        app.call(caller, "no-answer").await;
        app.expect_texts(caller, 1).await;
        say(&app, caller, &["my kitchen sink is clogged", "Sam Lee"]).await;
    }
    let declined = say(&app, FAR, &["5 Main St, Round Rock, TX 78664"]).await;
    assert!(declined.contains("outside the area we serve"), "{declined}");
    let inside = say(&app, NEAR, &["12 Oak St, Austin TX"]).await;
    assert!(
        inside.contains("When works best"),
        "inside, it goes on: {inside}"
    );
    wait_until(Duration::from_secs(15), "the owner told", || async {
        app.count("select count(*) from notifications where kind = 'needs_owner' and body like '%outside your service area (ZIP 78664, Round Rock)%'")
            .await
            == 1
    })
    .await;
    assert_eq!(
        app.count(&format!(
            "select count(*) from leads where phone = '{FAR}' and lost_reason = 'out_of_area'"
        ))
        .await,
        1
    );
    // No follow-ups chase a declined caller; the near one is not lost.
    assert_eq!(
        app.count("select count(*) from leads where lost_reason is not null")
            .await,
        1
    );

    // A radius around the business, placed by the geocoder: 25 miles takes in Round Rock
    // (about 17 miles) but not San Antonio (about 74).
    let r = put_area(
        &app,
        json!({"radius_miles": 25, "address": "100 Congress Ave, Austin"}),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let far = "+15125550614";
    app.call(far, "no-answer").await;
    app.expect_texts(far, 1).await;
    let reply = say(
        &app,
        far,
        &["water heater leaking", "Jo", "1 Commerce St, San Antonio"],
    )
    .await;
    assert!(reply.contains("outside the area we serve"), "{reply}");
    wait_until(Duration::from_secs(15), "told how far", || async {
        app.count("select count(*) from notifications where body like '%miles away)%'")
            .await
            == 1
    })
    .await;
    assert!(
        app.sandbox
            .geocode
            .queries()
            .iter()
            .any(|q| q == "1 Commerce St, San Antonio"),
        "{:?}",
        app.sandbox.geocode.queries()
    );
}

/// "1) Sun Dec 6, 8am–9am" → ("Sun Dec 6", "8am").
fn offered(offer: &str) -> Vec<(String, String)> {
    offer
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()) && l.contains(") "))
        .map(|l| {
            let rest = l.split_once(") ").unwrap().1;
            let (day, time) = rest.split_once(", ").unwrap();
            (day.to_owned(), time.split('–').next().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_preferred_time_narrows_the_offered_slots() {
    let app = TestApp::spawn().await;
    let b = app.bookable().await;
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    let offer = say(
        &app,
        CALLER,
        &[
            "my kitchen sink won't drain",
            "Sam Lee",
            "55 Birch Ln",
            "tomorrow morning",
        ],
    )
    .await;
    assert!(offer.contains("Open times tomorrow morning:"), "{offer}");
    let tz: chrono_tz::Tz = "America/Chicago".parse().unwrap();
    let tomorrow = (Utc::now().with_timezone(&tz) + chrono::Duration::days(1))
        .format("%a %b %-d")
        .to_string();
    let slots = offered(&offer);
    assert!(!slots.is_empty(), "{offer}");
    for (day, start) in &slots {
        assert_eq!(day, &tomorrow, "{offer}");
        assert!(start.ends_with("am"), "a morning start: {offer}");
    }

    // Closed at weekends: a Saturday gets the nearest times, and says so.
    let day = json!([["08:00", "17:00"]]);
    let rules = json!({
        "hours": [day, day, day, day, day, [], []], "closures": [], "buffer_minutes": 15, "max_jobs_per_day": 20,
        "booking_window_days": 14, "min_lead_minutes": 10, "step_minutes": 15, "default_job_minutes": 60,
        "reminder_minutes": [1440, 60]
    });
    let r = app
        .owner(Method::PUT, "/api/schedule", b)
        .json(&rules)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.call(NEAR, "no-answer").await;
    app.expect_texts(NEAR, 1).await;
    let offer = say(
        &app,
        NEAR,
        &["my toilet keeps running", "Jo Park", "9 Elm Rd", "saturday"],
    )
    .await;
    assert!(
        offer.contains("Nothing is open Saturday; the nearest times:"),
        "{offer}"
    );
    let slots = offered(&offer);
    assert!(!slots.is_empty(), "{offer}");
    assert!(
        slots
            .iter()
            .all(|(d, _)| !d.starts_with("Sat") && !d.starts_with("Sun")),
        "{offer}"
    );
}

#[tokio::test]
async fn the_model_is_told_the_business_and_its_faq_answer_is_marked() {
    let double = LlmDouble::default();
    *double.mode.lock().unwrap() = "ok".into();
    *double.content.lock().unwrap() = json!({
        "reply": "Yes, we're fully licensed and insured. What can we help you with?",
        "learned": {"name": null, "service_needed": null, "trade": null, "urgency": null, "address": null, "preferred_time": null},
        "intent": "question", "emergency": false, "needs_human": false, "asked": "service"
    });
    let base = double.start().await;
    let app = TestApp::builder()
        .worker_env("OPENAI_BASE_URL", base)
        .worker_env("OPENAI_API_KEY", "test-key")
        .worker_env("NMC_LLM_MODEL", "test-model")
        .spawn()
        .await;
    app.set("owner_window_secs = 0").await;
    let b = app.business_id().await;
    app.adopt("/api/faqs/adopt").await;
    app.adopt("/api/catalog/adopt").await;
    let r = put_area(
        &app,
        json!({"assistant_name": "Riley", "instructions": "We are family-owned since 1998.", "zips": ["78701"]}),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // A caller we did a job for last month.
    sqlx::query(
        "with t as (insert into technicians (business_id, name) values ($1, 'Alex') returning id),
              l as (insert into leads (business_id, phone, name, last_service, status)
                    values ($1, $2, 'Sam Lee', 'water heater', 'completed') returning id),
              c as (insert into conversations (id, business_id, lead_id, workflow_id, status)
                    select gen_random_uuid(), $1, l.id, 'earlier', 'closed_idle' from l returning id, lead_id)
         insert into appointments (business_id, technician_id, lead_id, conversation_id, during, status, address, notes)
         select $1, t.id, c.lead_id, c.id, tstzrange(now() - interval '30 days', now() - interval '30 days' + interval '1 hour'),
                'completed', '12 Oak St', 'water heater flush' from t, c",
    )
    .bind(b)
    .bind(CALLER)
    .execute(&app.db)
    .await
    .unwrap();

    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    let reply = say(&app, CALLER, &["are you insured?"]).await;
    assert!(
        reply.starts_with("(Riley, Acme Plumbing's virtual assistant)")
            && reply.contains("licensed and insured"),
        "{reply}"
    );
    let requests = double.requests.lock().unwrap().clone();
    let system = requests[0]["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    for fact in [
        "You are Riley",
        "Q: Are you licensed and insured?",
        "Hours:",
        "ZIP codes 78701",
        "family-owned since 1998",
        "Sink Clog",
        "water heater flush at 12 Oak St (completed)",
        "Never diagnose",
    ] {
        assert!(system.contains(fact), "{fact}: {system}");
    }
    assert!(
        !system.contains("$149"),
        "no prices outside the quote step: {system}"
    );
    assert_eq!(
        notes(&app).await,
        ["From your FAQ: Are you licensed and insured?"]
    );
}
