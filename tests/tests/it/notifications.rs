//! The notification centre over real HTTP: the alerts a caller's texts raised, each with its
//! link, read and unread per member (the owner reading one leaves it unread for a technician),
//! and the page: an alert opens its conversation, and "Mark all read" works without script.

use std::time::Duration;

use nmc_tests::browser::Browser;
use nmc_tests::*;
use reqwest::Method;
use serde_json::Value;

use crate::business::{
    TECH_PASSWORD, accept_invitation, business_via_api, content_on_every_page, log_in_page,
};

const TOM: &str = "tom@alerts-test.example";

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", app.api_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str) -> u16 {
    reqwest::Client::new()
        .request(Method::POST, format!("{}{path}", app.api_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Tom, invited by the owner, joins; his access token.
async fn join_as_technician(app: &TestApp, owner: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/api/team/invites", app.api_url))
        .bearer_auth(owner)
        .json(&serde_json::json!({"email": TOM}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    accept_invitation(app, TOM).await
}

#[tokio::test]
async fn every_alert_is_in_the_centre_with_its_link_and_each_member_reads_their_own() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let email = "owner@alerts-test.example";
    let (owner, number) = business_via_api(&app, email).await;
    let technician = join_as_technician(&app, &owner).await;
    // The caller answers with an emergency: the owner is alerted.
    let conversation = content_on_every_page(&app, &owner, &number).await;
    wait_until(Duration::from_secs(20), "an alert", || async {
        app.count("select count(*) from notifications").await >= 1
    })
    .await;
    // The caller's text can raise more than one alert (caller text, emergency): count once the
    // number has held still for a second.
    let mut alerts = app.count("select count(*) from notifications").await;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = app.count("select count(*) from notifications").await;
        if now == alerts {
            break;
        }
        alerts = now;
    }

    let list = get(&app, &owner, "/api/notifications").await;
    assert_eq!(list["unread_count"], alerts, "{list}");
    let first = &list["items"][0];
    assert_eq!(first["link"], format!("/app/inbox/{conversation}"));
    assert_eq!(first["read"], false);
    let id = first["id"].as_str().unwrap().to_owned();

    // The owner reads one: read for the owner, still unread for the technician.
    assert_eq!(
        post(&app, &owner, &format!("/api/notifications/{id}/read")).await,
        204
    );
    assert_eq!(
        get(&app, &owner, "/api/notifications").await["unread_count"],
        alerts - 1
    );
    assert_eq!(
        get(&app, &technician, "/api/notifications").await["unread_count"],
        alerts
    );
    let unread = get(&app, &owner, "/api/notifications?unread=true").await;
    assert!(
        unread["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["id"] != id.as_str()),
        "{unread}"
    );
    let made_up = uuid::Uuid::new_v4();
    assert_eq!(
        post(&app, &owner, &format!("/api/notifications/{made_up}/read")).await,
        404
    );

    // The page, as the technician: an alert opens its conversation and is read by opening it;
    // "Mark all read" works as a plain form.
    let b = Browser::no_js_desktop(&app.api_url).await;
    log_in_page(&b, TOM, TECH_PASSWORD).await;
    b.goto("/app/notifications").await;
    b.wait_text("h1", &format!("({alerts} new)"), Duration::from_secs(5))
        .await;
    b.click("#alerts li.unread a.row-main").await;
    b.wait_path(&format!("/app/inbox/{conversation}")).await;
    assert_eq!(
        get(&app, &technician, "/api/notifications").await["unread_count"],
        alerts - 1
    );
    if alerts > 1 {
        b.goto("/app/notifications").await;
        b.click_text("Mark all read").await;
        wait_until(Duration::from_secs(10), "all read", || async {
            get(&app, &technician, "/api/notifications").await["unread_count"] == 0
        })
        .await;
    }

    // All read, for the owner only by the API.
    assert_eq!(post(&app, &owner, "/api/notifications/read-all").await, 200);
    assert_eq!(
        get(&app, &owner, "/api/notifications").await["unread_count"],
        0
    );
    b.close().await;
}
