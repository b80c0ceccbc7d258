//! CRM sync (issue 19, seed 004 VTCR 8.1-8.5), each vendor over real HTTP against its double in
//! the sandbox: a missed call's conversation ends and the caller lands in the CRM (created, with
//! the conversation as a note); the same caller's next conversation updates that record (no
//! duplicate) while the vendor is down or rate-limiting, and the push is retried to success; the
//! delivery log and the calls page show it.

use std::time::Duration;

use nmc_tests::*;
use nmc_workflows::ConversationWorkflow;
use reqwest::Method;
use serde_json::{Value, json};
use temporalio_client::WorkflowExecuteUpdateOptions;

pub(crate) const WORDS: &str =
    "This is Jane Doe, my water heater is leaking at 12 Main St, Austin, TX 78701";

/// A business whose conversations end two seconds after the owner takes them over.
pub(crate) async fn crm_app() -> (TestApp, uuid::Uuid) {
    let app = TestApp::builder().idle_secs(2).spawn().await;
    let b = app.business_id().await;
    // The assistant answers at once (no owner's head start).
    app.set("owner_window_secs = 0").await;
    (app, b)
}

pub(crate) async fn connect(app: &TestApp, b: uuid::Uuid, body: Value) -> reqwest::Response {
    app.owner(Method::POST, "/api/crm/connections", b)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn connected(app: &TestApp, b: uuid::Uuid, body: Value) -> Value {
    let r = connect(app, b, body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

/// A missed call from `caller`, who then texts `words`; the owner takes over and the
/// conversation ends (idle), which records a push to every connected CRM.
pub(crate) async fn interaction(app: &TestApp, caller: &str, words: &str) {
    let closed = app
        .count("select count(*) from conversations where closed_at is not null")
        .await;
    let before = app.texts_to(caller).len();
    app.call(caller, "no-answer").await;
    wait_until(Duration::from_secs(20), "the greeting", || async {
        app.texts_to(caller).len() > before
    })
    .await;
    let greeted = app.texts_to(caller).len();
    app.text(caller, words).await;
    wait_until(
        Duration::from_secs(20),
        "the assistant's answer",
        || async { app.texts_to(caller).len() > greeted },
    )
    .await;
    app.conversation(caller)
        .await
        .execute_update(
            ConversationWorkflow::owner_takeover,
            "dana".to_string(),
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .unwrap();
    wait_until(
        Duration::from_secs(30),
        "the conversation's end",
        || async {
            app.count("select count(*) from conversations where closed_at is not null")
                .await
                > closed
        },
    )
    .await;
}

pub(crate) async fn wait_synced(app: &TestApp, n: i64) {
    wait_until(Duration::from_secs(60), "the pushes synced", || async {
        app.count("select count(*) from crm_pushes where status = 'synced'")
            .await
            >= n
    })
    .await;
}

/// The latest push's attempts, as the delivery log has them: (ok, http status).
async fn latest_attempts(app: &TestApp, b: uuid::Uuid) -> Vec<(bool, Option<i64>)> {
    let conn: uuid::Uuid = sqlx::query_scalar("select id from crm_connections")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let push: uuid::Uuid =
        sqlx::query_scalar("select id from crm_pushes order by created_at desc limit 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let log: Value = app
        .owner(
            Method::GET,
            &format!("/api/crm/connections/{conn}/deliveries"),
            b,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut attempts: Vec<(i64, bool, Option<i64>)> = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["push_id"] == push.to_string())
        .map(|d| {
            (
                d["attempt"].as_i64().unwrap(),
                d["ok"].as_bool().unwrap(),
                d["http_status"].as_i64(),
            )
        })
        .collect();
    attempts.sort_unstable();
    attempts.into_iter().map(|(_, ok, s)| (ok, s)).collect()
}

/// The shared story: created, then updated through an outage of `fault` (twice).
async fn created_then_updated_through_an_outage(
    app: &TestApp,
    b: uuid::Uuid,
    vendor: &str,
    fault: u16,
    caller: &str,
) {
    interaction(app, caller, WORDS).await;
    wait_synced(app, 1).await;
    assert_eq!(
        app.sandbox.crm.records(vendor).len(),
        1,
        "the new caller was created"
    );
    app.sandbox.crm.fail(vendor, fault, 2);
    interaction(app, caller, "Jane again, the leak is worse now").await;
    wait_synced(app, 2).await;
    assert_eq!(
        app.sandbox.crm.records(vendor).len(),
        1,
        "updated, not duplicated"
    );
    let attempts = latest_attempts(app, b).await;
    assert_eq!(
        attempts,
        vec![
            (false, Some(i64::from(fault))),
            (false, Some(i64::from(fault))),
            (true, None)
        ],
        "two failed attempts logged, then delivered"
    );
    let (created, updated): (bool, bool) = sqlx::query_as(
        "select bool_or(created_remote), bool_or(not created_remote) from crm_pushes",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(created && updated);
}

#[tokio::test]
async fn hubspot_gets_the_caller_once_and_every_conversation_as_a_note() {
    let (app, b) = crm_app().await;
    let r = connect(&app, b, json!({"vendor": "hubspot", "key": "wrong-token"})).await;
    assert_eq!(
        r.status(),
        422,
        "HubSpot refused the key, so nothing is connected"
    );
    assert!(r.text().await.unwrap().contains("HubSpot refused"));
    connected(&app, b, json!({"vendor": "hubspot", "key": "pat-na1-test", "field_map": {"outcome": "nmc_outcome"}})).await;
    let caller = "+15125550731";
    created_then_updated_through_an_outage(&app, b, "hubspot", 503, caller).await;
    let contact = &app.sandbox.crm.records("hubspot")[0];
    assert_eq!(contact["properties"]["phone"], caller);
    assert_eq!(contact["properties"]["firstname"], "Jane");
    assert_eq!(contact["properties"]["lastname"], "Doe");
    assert!(
        contact["properties"]["nmc_outcome"].is_string(),
        "the mapped field: {contact}"
    );
    let notes = app.sandbox.crm.notes("hubspot");
    assert_eq!(notes.len(), 2);
    assert!(notes.iter().all(|n| n["contact"] == contact["id"]));
    assert!(
        notes[0]["body"].as_str().unwrap().contains("water heater"),
        "{notes:?}"
    );
    // The calls page shows each caller's sync and offers a push by hand.
    let page = app
        .owner(Method::GET, "/app/calls", b)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("HubSpot") && page.contains("synced") && page.contains("Push to CRM"));
    let health: Value = app
        .owner(Method::GET, "/api/crm", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["connections"][0]["health"], "healthy", "{health}");
    assert_eq!(health["connections"][0]["synced_24h"], 2);
}

#[tokio::test]
async fn gohighlevel_waits_out_its_rate_limit_and_updates_the_same_contact() {
    let (app, b) = crm_app().await;
    connected(&app, b, json!({"vendor": "gohighlevel", "key": "pit-test", "settings": {"location_id": "ve9EPM428h8vShlRW1KT"}})).await;
    let caller = "+15125550732";
    created_then_updated_through_an_outage(&app, b, "gohighlevel", 429, caller).await;
    let contact = &app.sandbox.crm.records("gohighlevel")[0];
    assert_eq!(contact["phone"], caller);
    assert_eq!(contact["source"], "NeverMissCall");
    assert_eq!(contact["firstName"], "Jane");
    assert_eq!(app.sandbox.crm.notes("gohighlevel").len(), 2);
}

#[tokio::test]
async fn servicetitan_customers_get_notes_and_callers_without_an_address_become_bookings() {
    let (app, b) = crm_app().await;
    let settings = json!({"tenant_id": "1234567", "client_id": "cid.test", "app_key": "ak1.test", "booking_provider": "42"});
    let r = connect(
        &app,
        b,
        json!({"vendor": "servicetitan", "key": "bad-secret", "settings": settings}),
    )
    .await;
    assert_eq!(r.status(), 422);
    connected(
        &app,
        b,
        json!({"vendor": "servicetitan", "key": "st-secret", "settings": settings}),
    )
    .await;
    let caller = "+15125550733";
    created_then_updated_through_an_outage(&app, b, "servicetitan", 500, caller).await;
    let customer = &app.sandbox.crm.records("servicetitan")[0];
    assert_eq!(customer["address"]["city"], "Austin");
    assert_eq!(customer["contacts"][0]["value"], "5125550733");
    let notes = app.sandbox.crm.notes("servicetitan");
    assert_eq!(
        notes
            .iter()
            .filter(|n| n["customer"] == customer["id"])
            .count(),
        2
    );
    // Someone else whose number contains hers is not her (the filter matches partially).
    interaction(&app, "+15125550734", "Hi, need a drain cleaned").await;
    wait_synced(&app, 3).await;
    let bookings: Vec<Value> = app
        .sandbox
        .crm
        .notes("servicetitan")
        .into_iter()
        .filter(|n| n.get("booking").is_some())
        .collect();
    assert_eq!(
        bookings.len(),
        1,
        "no address: a booking on the Calls screen"
    );
    assert_eq!(bookings[0]["booking"]["bookingProviderId"], 42);
    assert_eq!(app.sandbox.crm.records("servicetitan").len(), 1);
}

#[tokio::test]
async fn housecall_pro_has_one_customer_and_a_lead_per_conversation() {
    let (app, b) = crm_app().await;
    connected(&app, b, json!({"vendor": "housecallpro", "key": "hcp-key"})).await;
    let r = connect(
        &app,
        b,
        json!({"vendor": "housecallpro", "key": "hcp-key", "field_map": {"outcome": "x"}}),
    )
    .await;
    assert_eq!(r.status(), 422, "Housecall Pro takes no custom fields");
    let caller = "+15125550735";
    created_then_updated_through_an_outage(&app, b, "housecall", 503, caller).await;
    let customer = &app.sandbox.crm.records("housecall")[0];
    assert_eq!(customer["mobile_number"], "5125550735");
    assert_eq!(
        customer["notifications_enabled"], false,
        "Housecall Pro must not text them too"
    );
    let leads = app.sandbox.crm.notes("housecall");
    assert_eq!(leads.len(), 2);
    assert!(leads.iter().all(|l| l["customer"]["id"] == customer["id"]));
}

#[tokio::test]
async fn jobber_clients_get_a_request_per_conversation_through_its_throttle() {
    let (app, b) = crm_app().await;
    let r = connect(&app, b, json!({"vendor": "jobber"})).await;
    assert_eq!(
        r.status(),
        422,
        "Jobber's grant comes from the calendar connection"
    );
    let r = app
        .owner(Method::POST, "/api/calendar/jobber/connect", b)
        .json(&json!({"access_token": "jobber-token", "refresh_token": "refresh-1", "expires_in": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    connected(&app, b, json!({"vendor": "jobber"})).await;
    let caller = "+15125550736";
    interaction(&app, caller, WORDS).await;
    wait_synced(&app, 1).await;
    // Jobber's throttle (a GraphQL error, nothing run) answers the next push first.
    let fault = json!({"provider": "jobber", "status": 200, "count": 1});
    let r = reqwest::Client::new()
        .post(format!("{}/api/calendars/faults", app.sandbox_url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    interaction(&app, caller, "Jane again, the leak is worse now").await;
    wait_synced(&app, 2).await;
    let state: Value = reqwest::Client::new()
        .get(format!("{}/api/calendars", app.sandbox_url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let clients = state["jobber_clients"].as_object().unwrap();
    assert_eq!(clients.len(), 1, "one client: {state}");
    assert_eq!(
        clients.values().next().unwrap()["phones"][0]["number"],
        caller
    );
    assert_eq!(
        state["jobber_requests"].as_object().unwrap().len(),
        2,
        "a request per conversation"
    );
    assert_eq!(state["jobber_notes"].as_array().unwrap().len(), 2);
    assert_eq!(
        latest_attempts(&app, b).await.len(),
        2,
        "throttled once, then through"
    );
}
