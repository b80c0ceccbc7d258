//! HubSpot and GoHighLevel connected by OAuth (authorization code with `state` and PKCE, as the
//! calendars are) against the sandbox's doubles: the grant sealed, GoHighLevel's location taken
//! from its token answer, an expired access token refreshed before a push, and a pasted token
//! replacing the grant.

use std::time::Duration;

use nmc_tests::*;
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use crate::calendar_connect::{callback, consent, start_at};

async fn connect_by_oauth(app: &TestApp, b: Uuid, vendor: &str) -> String {
    let (authorize, binder) = start_at(app, b, &format!("/app/crm/{vendor}/connect")).await;
    let back = consent(&authorize).await;
    let landed = callback(&back, Some(&binder)).await;
    assert!(
        landed.ends_with(&format!("/app/settings/integrations?connected={vendor}")),
        "{landed}"
    );
    authorize
}

async fn lead(app: &TestApp, b: Uuid, phone: &str) -> Uuid {
    sqlx::query_scalar(
        "insert into leads (business_id, phone, name, service_needed) values ($1, $2, 'Jo Park', 'a dripping tap') returning id",
    )
    .bind(b)
    .bind(phone)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn push_synced(app: &TestApp, b: Uuid, lead: Uuid, n: i64) {
    // Earlier manual pushes out of the way of the once-a-minute limit.
    sqlx::query("update crm_pushes set created_at = created_at - interval '2 minutes'")
        .execute(&app.db)
        .await
        .unwrap();
    let r = app
        .owner(Method::POST, &format!("/api/leads/{lead}/crm/push"), b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    wait_until(Duration::from_secs(30), "the push synced", || async {
        app.count("select count(*) from crm_pushes where status = 'synced'")
            .await
            == n
    })
    .await;
}

fn refreshes(app: &TestApp, client_id: &str) -> usize {
    app.sandbox
        .calendars
        .token_requests()
        .iter()
        .filter(|r| r["grant_type"] == "refresh_token" && r["client_id"] == client_id)
        .count()
}

#[tokio::test]
async fn hubspot_by_oauth_refreshes_its_token_before_a_push() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    let authorize = connect_by_oauth(&app, b, "hubspot").await;
    assert!(
        authorize.contains("crm.objects.contacts.write")
            && authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    let (access, refresh): (String, Option<String>) =
        sqlx::query_as("select secret_enc, refresh_token_enc from crm_connections")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        !access.starts_with("hso-") && refresh.is_some(),
        "sealed at rest"
    );
    let caller = lead(&app, b, "+15125550751").await;
    push_synced(&app, b, caller, 1).await;
    assert_eq!(app.sandbox.crm.records("hubspot").len(), 1);
    assert_eq!(refreshes(&app, "nmc-test-hubspot"), 0, "still fresh");

    sqlx::query("update crm_connections set token_expires_at = now() - interval '1 minute'")
        .execute(&app.db)
        .await
        .unwrap();
    push_synced(&app, b, caller, 2).await;
    assert_eq!(
        refreshes(&app, "nmc-test-hubspot"),
        1,
        "refreshed before the push"
    );
    assert_eq!(app.sandbox.crm.records("hubspot").len(), 1);
    assert_eq!(app.sandbox.crm.notes("hubspot").len(), 2);

    // A pasted private-app token replaces the grant: nothing is refreshed from it any more.
    let r = app
        .owner(Method::POST, "/api/crm/connections", b)
        .json(&serde_json::json!({"vendor": "hubspot", "key": "pat-na1-pasted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let left: Option<String> = sqlx::query_scalar("select refresh_token_enc from crm_connections")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(left, None);
}

#[tokio::test]
async fn gohighlevel_by_oauth_takes_the_location_from_its_token() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    let authorize = connect_by_oauth(&app, b, "gohighlevel").await;
    assert!(authorize.contains("contacts.write"), "{authorize}");
    let exchange = app
        .sandbox
        .calendars
        .token_requests()
        .into_iter()
        .find(|r| r["grant_type"] == "authorization_code")
        .unwrap();
    assert_eq!(exchange["user_type"], "Location");
    let settings: Value = sqlx::query_scalar("select settings from crm_connections")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(settings["location_id"], "ve9EPM428h8vShlRW1KT");
    let caller = lead(&app, b, "+15125550752").await;
    push_synced(&app, b, caller, 1).await;
    let contact = &app.sandbox.crm.records("gohighlevel")[0];
    assert_eq!(contact["locationId"], "ve9EPM428h8vShlRW1KT");
    assert_eq!(contact["firstName"], "Jo");
    // Its refresh token rotates: the old one is refused from then on, so ours must move on.
    sqlx::query("update crm_connections set token_expires_at = now() - interval '1 minute'")
        .execute(&app.db)
        .await
        .unwrap();
    push_synced(&app, b, caller, 2).await;
    sqlx::query("update crm_connections set token_expires_at = now() - interval '1 minute'")
        .execute(&app.db)
        .await
        .unwrap();
    push_synced(&app, b, caller, 3).await;
    assert_eq!(refreshes(&app, "nmc-test-ghl"), 2);
    assert_eq!(app.sandbox.crm.records("gohighlevel").len(), 1);
}
