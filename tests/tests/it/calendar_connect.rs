//! Calendars connected from the app (issue 16): OAuth 2.0 with `state` and PKCE against the
//! sandbox's Google and Jobber doubles, over real HTTP: the consent round trip, the binder
//! cookie that ties the callback to the browser that started, a state used once, a denial, the
//! calendar picker, Jobber's expiry read from its JWT, and disconnect revoking the grant.

use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Starts "Connect" as the owner: returns the provider's consent URL and the binder cookie.
async fn start(app: &TestApp, b: Uuid, provider: &str) -> (String, String) {
    start_at(app, b, &format!("/app/calendar/{provider}/connect")).await
}

/// Starts a connection from the page form at `path`.
pub(crate) async fn start_at(app: &TestApp, b: Uuid, path: &str) -> (String, String) {
    let r = no_redirects()
        .post(format!("{}{path}", app.api_url))
        .bearer_auth(app.owner_token(b))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("SameSite=Lax")
            && cookie.contains("HttpOnly")
            && cookie.contains("Max-Age=600"),
        "{cookie}"
    );
    let binder = cookie.split(';').next().unwrap().to_owned();
    (to, binder)
}

/// The provider decides and sends the browser back: the callback URL it redirects to.
pub(crate) async fn consent(url: &str) -> String {
    let r = no_redirects().get(url).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Follows the callback with (or without) the binder; returns where the page sends the owner.
pub(crate) async fn callback(url: &str, binder: Option<&str>) -> String {
    let mut req = no_redirects().get(url);
    if let Some(c) = binder {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let at = html.find("url=").unwrap() + 4;
    html[at..html[at..].find('"').unwrap() + at].to_owned()
}

async fn connections(app: &TestApp, b: Uuid) -> Value {
    app.owner(Method::GET, "/api/calendar", b)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["connections"]
        .clone()
}

#[tokio::test]
async fn google_connects_with_state_and_pkce_the_owner_picks_calendars_and_disconnect_revokes() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    let (authorize, binder) = start(&app, b, "google").await;
    assert!(
        authorize.contains("code_challenge_method=S256")
            && authorize.contains("access_type=offline"),
        "{authorize}"
    );
    assert!(authorize.contains("calendar.events.freebusy") && authorize.contains("state="));
    let back = consent(&authorize).await;
    assert!(
        back.starts_with(&format!("{}/oauth/google/callback?", app.api_url)),
        "{back}"
    );

    // The callback needs the browser that started: without the binder nothing is connected,
    // and the state is spent.
    assert!(
        callback(&back, None)
            .await
            .ends_with("calendar_error=another_browser")
    );
    assert!(connections(&app, b).await.as_array().unwrap().is_empty());

    let (authorize, binder2) = start(&app, b, "google").await;
    assert_ne!(binder, binder2, "a new binder per start");
    let back = consent(&authorize).await;
    assert!(
        callback(&back, Some(&binder2))
            .await
            .ends_with("connected=google")
    );
    // Replayed: the state was used once.
    assert!(
        callback(&back, Some(&binder2))
            .await
            .ends_with("calendar_error=expired")
    );
    let c = connections(&app, b).await;
    assert_eq!(c[0]["provider"], "google");
    assert_eq!(c[0]["status"], "connected");
    assert!(
        c[0]["granted_scope"]
            .as_str()
            .unwrap()
            .contains("calendar.events")
    );
    // The code went back with the verifier and the same redirect_uri.
    let exchange = app
        .sandbox
        .calendars
        .token_requests()
        .into_iter()
        .rev()
        .find(|r| r["grant_type"] == "authorization_code")
        .unwrap();
    assert_eq!(exchange["code_verifier"].as_str().unwrap().len(), 43);
    assert_eq!(
        exchange["redirect_uri"],
        format!("{}/oauth/google/callback", app.api_url)
    );

    // The picker: every page of the owner's calendars; jobs only where they may write.
    let list: Value = app
        .owner(Method::GET, "/api/calendar/google/calendars", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["calendars"].as_array().unwrap().len(), 3, "{list}");
    let put = |body: Value| {
        app.owner(Method::PUT, "/api/calendar/google/calendars", b)
            .json(&body)
            .send()
    };
    let refused = put(json!({"write_calendar_id": "holidays@group.v.calendar.google.com"}))
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let chosen = put(
        json!({"write_calendar_id": "crew-b@group.calendar.google.com",
        "busy_calendar_ids": ["owner@example.com", "crew-b@group.calendar.google.com"]}),
    )
    .await
    .unwrap();
    assert_eq!(chosen.status(), 204);
    let c = connections(&app, b).await;
    assert_eq!(c[0]["calendar_id"], "crew-b@group.calendar.google.com");
    assert_eq!(c[0]["busy_calendar_ids"].as_array().unwrap().len(), 2);

    // Disconnect: the grant is revoked at Google and no token stays with us.
    let r = app
        .owner(Method::DELETE, "/api/calendar/google", b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(app.sandbox.calendars.revoked("refresh-"));
    let kept = app.count("select count(*) from calendar_connections where access_token_enc is not null or refresh_token_enc is not null").await;
    assert_eq!(kept, 0);
}

#[tokio::test]
async fn a_denial_connects_nothing_and_jobber_tokens_expire_when_their_jwt_says() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    app.sandbox
        .calendars
        .arm_consent(json!({"decision": "deny"}));
    let (authorize, binder) = start(&app, b, "jobber").await;
    let back = consent(&authorize).await;
    assert!(back.contains("error=access_denied"), "{back}");
    assert!(
        callback(&back, Some(&binder))
            .await
            .ends_with("calendar_error=access_denied")
    );
    assert!(connections(&app, b).await.as_array().unwrap().is_empty());

    let (authorize, binder) = start(&app, b, "jobber").await;
    assert!(
        !authorize.contains("scope="),
        "Jobber's scopes are fixed on the app"
    );
    let back = consent(&authorize).await;
    assert!(
        callback(&back, Some(&binder))
            .await
            .ends_with("connected=jobber")
    );
    let minutes: f64 = sqlx::query_scalar(
        "select (extract(epoch from expires_at - now()) / 60)::float8 from calendar_connections where provider = 'jobber'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        (55.0..=61.0).contains(&minutes),
        "expires in {minutes} min, from the token's exp"
    );

    // Disconnecting Jobber is its appDisconnect mutation; the token stops working there.
    let r = app
        .owner(Method::DELETE, "/api/calendar/jobber", b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(app.sandbox.calendars.revoked("eyJ"));
}
