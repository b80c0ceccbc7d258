//! Onboarding through the admin API.

use nmc_tests::*;
use serde_json::{Value, json};

#[tokio::test]
async fn onboarding_validates_and_protects_the_token() {
    let app = TestApp::builder().empty().spawn().await;
    let url = format!("{}/api/admin/businesses", app.api_url);

    // No token, wrong token.
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        app.http
            .get(&url)
            .bearer_auth("nope")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.http
            .post(&url)
            .bearer_auth("nope")
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // Each bad field is named.
    let r = app
        .admin_post(&json!({"name": " ", "owner_name": "Dana", "owner_phone": "512-555-0111", "owner_email": "dana@acme.example",
            "business_phone": "+15125550100", "twilio_number": "+1500", "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN, "timezone": "Mars/Olympus", "call_mode": "voicemail",
            "business_hours": {"monday": {"open": "17:00", "close": "08:00"}}}))
        .await;
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    let fields = body["error"]["fields"].as_object().unwrap();
    for f in [
        "name",
        "owner_phone",
        "twilio_number",
        "timezone",
        "call_mode",
        "business_hours",
    ] {
        assert!(fields.contains_key(f), "{f} should be named in {body}");
    }
    assert_eq!(app.count("select count(*) from businesses").await, 0);

    // Malformed JSON.
    let r = app
        .http
        .post(&url)
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // A good one, then the same number again.
    let id = app.onboard(json!({})).await;
    let r = app.admin_post(&json!({"name": "Other Co", "owner_name": "Lee", "owner_phone": "+15125550112", "owner_email": "lee@other.example",
        "business_phone": "+15125550101", "twilio_number": TWILIO_NUMBER, "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": "x", "timezone": "America/Denver", "call_mode": "forwarded"})).await;
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["fields"]["twilio_number"].is_string());

    // Listed without the token; stored encrypted.
    let list = app
        .http
        .get(&url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(&id.to_string()));
    assert!(!list.contains(AUTH_TOKEN) && !list.contains("auth_token"));
    let stored: String = sqlx::query_scalar("select twilio_auth_token_enc from businesses")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(!stored.contains(AUTH_TOKEN));
}

#[tokio::test]
async fn healthz_reports_database_and_temporal() {
    let app = TestApp::builder().empty().spawn().await;
    let r = app
        .http
        .get(format!("{}/healthz", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["temporal"], "ok");

    // Point an API at a Temporal that is not there: 503 naming it.
    let other = app.spawn_api_without_temporal().await;
    let r = app
        .http
        .get(format!("{other}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["temporal"], "unavailable", "{body}");
}
