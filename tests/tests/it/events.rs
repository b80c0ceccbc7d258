//! The owner's live feed (issue 5): server-sent events for the caller's business only, written
//! by the database in the same transaction as each change, fanned out by LISTEN/NOTIFY, and
//! resumable with Last-Event-ID.

use std::time::Duration;

use nmc_tests::*;
use reqwest::Method;
use serde_json::json;

const CALLER: &str = "+15125550133";

#[tokio::test]
async fn a_missed_call_streams_to_its_owner_only_and_a_reconnect_misses_nothing() {
    let app = TestApp::spawn().await;
    let a = app.business_id().await;
    let b = app.onboard(json!({"name": "Other Co", "twilio_number": "+15005550996", "owner_email": "other@other.example"})).await;
    let mut feed_a = EventStream::connect(&app.http, &app.api_url, &app.owner_token(a), None).await;
    let mut feed_b = EventStream::connect(&app.http, &app.api_url, &app.owner_token(b), None).await;

    app.call(CALLER, "no-answer").await;
    let seen = feed_a
        .until("message.updated", Duration::from_secs(10))
        .await;
    let kinds: Vec<&str> = seen.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"call.created"), "{kinds:?}");
    assert!(kinds.contains(&"lead.created"), "{kinds:?}");
    let greeting = seen
        .iter()
        .find(|e| e.kind == "message.created")
        .expect("the greeting");
    assert_eq!(greeting.data["direction"], "outbound");
    assert!(seen.windows(2).all(|w| w[0].id < w[1].id), "in order");
    assert!(
        feed_b.next(Duration::from_millis(500)).await.is_none(),
        "another business hears nothing"
    );

    // The owner's missed-call alert, and whatever else the call caused, before going away.
    app.expect_texts(OWNER_PHONE, 1).await;
    let mut last = seen.last().unwrap().id;
    while let Some(e) = feed_a.next(Duration::from_millis(800)).await {
        last = e.id;
    }
    // Disconnect, let more happen, reconnect with Last-Event-ID: the gap is delivered, in order.
    drop(feed_a);
    app.text(CALLER, "my water heater is leaking").await;
    app.expect_texts(OWNER_PHONE, 2).await;
    let mut again =
        EventStream::connect(&app.http, &app.api_url, &app.owner_token(a), Some(last)).await;
    let missed = again
        .until("message.created", Duration::from_secs(10))
        .await;
    assert!(missed[0].id > last);
    assert_eq!(
        missed.last().unwrap().data["direction"],
        "inbound",
        "the caller's text, missed while away"
    );

    // Appointment changes arrive too.
    app.owner(Method::POST, "/api/technicians", a)
        .json(&json!({"name": "Alex"}))
        .send()
        .await
        .unwrap();
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let booked = app
        .owner(Method::POST, "/api/appointments", a)
        .json(&json!({"start": start, "duration_minutes": 60, "customer_name": "Pat"}))
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), 201, "{}", booked.text().await.unwrap());
    let appt = again
        .until("appointment.created", Duration::from_secs(30))
        .await;
    assert_eq!(appt.last().unwrap().data["customer_name"], "Pat");
    // A second API instance on the same database delivers the same events (LISTEN/NOTIFY, not memory).
    let second = app.spawn_api_without_temporal().await;
    let mut other_instance =
        EventStream::connect(&app.http, &second, &app.owner_token(a), None).await;
    app.owner(Method::POST, "/api/appointments", a).json(&json!({"start": start + chrono::Duration::hours(3), "duration_minutes": 60, "customer_name": "Quinn"})).send().await.unwrap();
    let via_other = other_instance
        .until("appointment.created", Duration::from_secs(30))
        .await;
    assert_eq!(via_other.last().unwrap().data["customer_name"], "Quinn");
    // Without a token: 401.
    assert_eq!(
        app.http
            .get(format!("{}/api/events", app.api_url))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

/// An event id is taken when its row is written but seen when its transaction commits: a slow
/// transaction's event that commits after a later one was sent still reaches the feed, once.
#[tokio::test]
async fn an_event_that_commits_late_is_still_delivered_once() {
    let app = TestApp::spawn().await;
    let a = app.business_id().await;
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    let mut feed = EventStream::connect(&app.http, &app.api_url, &app.owner_token(a), None).await;
    while feed.next(Duration::from_millis(800)).await.is_some() {}
    // The slow one takes its id first and holds it.
    let mut slow = app.db.begin().await.unwrap();
    sqlx::query("update leads set name = 'Late Larry' where business_id = $1")
        .bind(a)
        .execute(&mut *slow)
        .await
        .unwrap();
    sqlx::query("update conversations set needs_owner = not needs_owner where business_id = $1")
        .bind(a)
        .execute(&app.db)
        .await
        .unwrap();
    let seen = feed
        .until("conversation.updated", Duration::from_secs(10))
        .await;
    assert!(!seen.iter().any(|e| e.kind == "lead.updated"));
    slow.commit().await.unwrap();
    let late = feed.until("lead.updated", Duration::from_secs(15)).await;
    let lead = late.last().unwrap();
    assert_eq!(lead.data["name"], "Late Larry");
    assert!(lead.id < seen.last().unwrap().id, "it did commit late");
    assert!(
        feed.next(Duration::from_secs(7)).await.is_none(),
        "and only once, idle catch-up included"
    );
}
