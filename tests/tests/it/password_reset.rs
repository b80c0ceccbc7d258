//! Password reset over real HTTP: the same answer whether or not the account exists, a one-time
//! link that expires, every earlier session ended, the old password refused and the new one
//! accepted; and the two pages, in Chromium with JavaScript off.

use std::time::Duration;

use nmc_tests::browser::Browser;
use nmc_tests::*;
use serde_json::{Value, json};

use crate::business::{PASSWORD, business_via_api};

const NEW_PASSWORD: &str = "new pipes and drains 7";

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", app.api_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The token in the newest reset email to `email`, and how many such emails there are.
async fn reset_mail(app: &TestApp, email: &str) -> (Option<String>, i64) {
    let rows: Vec<String> = sqlx::query_scalar(
        "select body from outbound_emails where to_email = $1 and subject like 'Reset%' order by created_at desc",
    )
    .bind(email)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let token = rows.first().and_then(|body| {
        body.split_whitespace()
            .find_map(|w| w.split("/password/reset/").nth(1))
            .map(str::to_owned)
    });
    (token, rows.len() as i64)
}

async fn me(app: &TestApp, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/api/auth/me", app.api_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_reset_link_works_once_ends_every_session_and_says_nothing_about_who_has_an_account() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let email = "owner@reset-test.example";
    let (old_token, _) = business_via_api(&app, email).await;

    // The same answer for an account and for nobody; only the account gets mail.
    let (status, nobody) = post(
        &app,
        "/api/auth/password/forgot",
        json!({"email": "nobody@reset-test.example"}),
    )
    .await;
    assert_eq!(status, 202);
    let (status, somebody) = post(
        &app,
        "/api/auth/password/forgot",
        json!({"email": "Owner@Reset-Test.example"}),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        nobody, somebody,
        "the answer does not tell who has an account"
    );
    assert_eq!(reset_mail(&app, "nobody@reset-test.example").await.1, 0);
    let (token, mails) = reset_mail(&app, email).await;
    assert_eq!(mails, 1);
    let token = token.expect("a link in the mail");
    let (status, _) = post(
        &app,
        "/api/auth/password/forgot",
        json!({"email": "not an email"}),
    )
    .await;
    assert_eq!(status, 422);

    // A short password or a made-up link changes nothing.
    let (status, body) = post(
        &app,
        "/api/auth/password/reset",
        json!({"token": token, "password": "short"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(
        &app,
        "/api/auth/password/reset",
        json!({"token": "made-up", "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["fields"]["token"].is_string()),
        (422, true)
    );
    assert_eq!(me(&app, &old_token).await, 200, "nothing changed yet");

    // The link: new password set, every earlier session ended, a new one opened.
    let (status, tokens) = post(
        &app,
        "/api/auth/password/reset",
        json!({"token": token, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(
        me(&app, tokens["access_token"].as_str().unwrap()).await,
        200
    );
    assert_eq!(me(&app, &old_token).await, 401, "the earlier session ended");
    let log_in = |password: &'static str| {
        post(
            &app,
            "/api/auth/login",
            json!({"email": email, "password": password}),
        )
    };
    assert_eq!(log_in(PASSWORD).await.0, 401);
    assert_eq!(log_in(NEW_PASSWORD).await.0, 200);

    // Once only.
    let (status, _) = post(
        &app,
        "/api/auth/password/reset",
        json!({"token": token, "password": "yet another password 9"}),
    )
    .await;
    assert_eq!(status, 422);

    // A newer link closes the older one; an expired link is refused.
    post(&app, "/api/auth/password/forgot", json!({"email": email})).await;
    let first = reset_mail(&app, email).await.0.unwrap();
    post(&app, "/api/auth/password/forgot", json!({"email": email})).await;
    let second = reset_mail(&app, email).await.0.unwrap();
    let (status, _) = post(
        &app,
        "/api/auth/password/reset",
        json!({"token": first, "password": "yet another password 9"}),
    )
    .await;
    assert_eq!(
        status, 422,
        "the older link closed when a newer one was sent"
    );
    sqlx::query(
        "update password_resets set expires_at = now() - interval '1 minute' where used_at is null",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let (status, _) = post(
        &app,
        "/api/auth/password/reset",
        json!({"token": second, "password": "yet another password 9"}),
    )
    .await;
    assert_eq!(status, 422, "30 minutes, no more");
    assert_eq!(log_in(NEW_PASSWORD).await.0, 200);
}

#[tokio::test]
async fn an_owner_resets_the_password_from_the_log_in_page_without_javascript() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let email = "owner@reset-page.example";
    business_via_api(&app, email).await;
    let b = Browser::no_js_desktop(&app.api_url).await;
    b.goto("/login").await;
    b.click_text("Forgot your password?").await;
    b.wait_path("/password/forgot").await;
    b.fill("#email", email).await;
    b.click_text("Send me a link").await;
    b.wait_text("main", "Check your email", Duration::from_secs(10))
        .await;
    let token = reset_mail(&app, email).await.0.expect("a reset mail");

    b.goto(&format!("/password/reset/{token}")).await;
    b.fill("#password", "short").await;
    b.click_text("Save and log in").await;
    b.wait_text(
        "#password-error",
        "at least 10 characters",
        Duration::from_secs(10),
    )
    .await;
    b.fill("#password", NEW_PASSWORD).await;
    b.click_text("Save and log in").await;
    b.wait_path("/app").await;
    b.wait_text("main", "Rivera Plumbing", Duration::from_secs(10))
        .await;

    // The link is spent: the page says so and offers a new one.
    b.goto(&format!("/password/reset/{token}")).await;
    b.wait_text("h1", "no longer works", Duration::from_secs(5))
        .await;
    b.close().await;
}
