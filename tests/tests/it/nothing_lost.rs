//! Nothing lost, nothing doubled (issue 12): an owner's slow send is never sent twice by a
//! resubmit, provider sids are unique per business (not across tenants), "recovered" counts
//! only real recoveries, and what grows without bound is pruned.

use nmc_sandbox::Fault;
use nmc_tests::*;
use serde_json::{Value, json};

const CALLER: &str = "+15125550171";

#[tokio::test]
async fn a_slow_owner_send_answers_sending_and_a_resubmit_sends_it_once() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from conversations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    // The carrier throttles: five 429s, retried with backoff (0.5 + 1 + 2 + 4 + 8 s) before it takes the text.
    app.sandbox.add_fault(Fault {
        to: Some(CALLER.into()),
        status: 429,
        code: Some(20429),
        count: 5,
        delay_ms: 0,
    });
    let send = || {
        app.owner(
            reqwest::Method::POST,
            &format!("/api/conversations/{id}/message"),
            b,
        )
        .header("idempotency-key", "tap-1")
        .json(&json!({"body": "On my way, 20 minutes."}))
        .send()
    };
    let first = send().await.unwrap();
    assert_eq!(
        first.status(),
        202,
        "still sending, not a 503 that invites a resubmit"
    );
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["status"], "sending");
    // The owner taps again; then once more after the carrier answered.
    let again = send().await.unwrap();
    assert!(
        again.status() == 202 || again.status() == 201,
        "{}",
        again.status()
    );
    let texts = app.expect_texts(CALLER, 2).await;
    assert_eq!(texts[1].body, "On my way, 20 minutes.");
    let last = send().await.unwrap();
    assert_eq!(last.status(), 201);
    let stored: uuid::Uuid =
        sqlx::query_scalar("select id from messages where kind = 'owner_message'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        last.json::<Value>().await.unwrap()["message_id"],
        json!(stored)
    );
    app.expect_no_more_texts(CALLER, 2, DUPLICATE_WINDOW).await;
}

#[tokio::test]
async fn the_same_sid_at_two_businesses_is_two_calls_and_two_greetings() {
    let app = TestApp::spawn().await;
    let other_number = "+15005550007";
    app.onboard(json!({"name": "Bolt Electric", "twilio_number": other_number, "owner_email": "bo@bolt.example", "business_phone": "+15125550200"})).await;
    let sid = "CA0000000000000000000000000000dupe";
    for to in [TWILIO_NUMBER, other_number] {
        let params = [
            ("CallSid", sid),
            ("From", CALLER),
            ("To", to),
            ("DialCallStatus", "no-answer"),
            ("CallStatus", "in-progress"),
        ];
        let r = app
            .post_webhook("/webhook/voice/call-completed", &params, Some(AUTH_TOKEN))
            .await;
        assert_eq!(r.status(), 200);
    }
    let texts = app.expect_texts(CALLER, 2).await;
    let mut from: Vec<&str> = texts.iter().map(|t| t.from.as_str()).collect();
    from.sort_unstable();
    assert_eq!(
        from,
        [TWILIO_NUMBER, other_number],
        "each business greets its own caller"
    );
    assert_eq!(app.count("select count(*) from calls").await, 2);
    assert_eq!(
        app.count("select count(distinct business_id) from webhook_events")
            .await,
        2
    );
}

async fn recovered_today(app: &TestApp) -> i64 {
    let b = app.business_id().await;
    let stats: Value = app
        .owner(reqwest::Method::GET, "/api/dashboard/stats", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["today"]["recovered"]
        .as_i64()
        .unwrap_or_else(|| panic!("{stats}"))
}

#[tokio::test]
async fn an_opt_out_a_wrong_number_or_a_decline_is_not_a_recovery() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0").await;
    let answers = [
        ("+15125550181", "STOP"),
        ("+15125550182", "wrong number"),
        ("+15125550183", "no thanks, we found someone"),
    ];
    for (caller, says) in answers {
        app.call(caller, "no-answer").await;
        app.expect_texts(caller, 1).await;
        app.text(caller, says).await;
        app.expect_texts(caller, 2).await;
    }
    assert_eq!(recovered_today(&app).await, 0);
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    app.text(CALLER, "the kitchen sink is clogged").await;
    app.expect_texts(CALLER, 2).await;
    assert_eq!(recovered_today(&app).await, 1);
}

#[tokio::test]
async fn expired_sessions_refresh_tokens_and_login_failures_are_pruned() {
    let (pool, business) = database_with_business(2).await;
    let user: uuid::Uuid = sqlx::query_scalar(
        "insert into users (business_id, email, name, password_hash, role) values ($1, 'old@acme.example', 'Old', 'x', 'owner') returning id",
    )
    .bind(business)
    .fetch_one(&pool)
    .await
    .unwrap();
    let session = |age_days: i32| {
        sqlx::query_scalar::<_, uuid::Uuid>("insert into sessions (business_id, user_id, updated_at) values ($1, $2, now() - make_interval(days => $3)) returning id")
            .bind(business)
            .bind(user)
            .bind(age_days)
    };
    let (old, live) = (
        session(40).fetch_one(&pool).await.unwrap(),
        session(0).fetch_one(&pool).await.unwrap(),
    );
    for (s, expires, hash) in [
        (old, "now() - interval '10 days'", "a"),
        (live, "now() + interval '20 days'", "b"),
    ] {
        sqlx::query(&format!("insert into refresh_tokens (business_id, session_id, token_hash, expires_at) values ($1, $2, $3, {expires})"))
            .bind(business)
            .bind(s)
            .bind(hash)
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query("insert into login_failures (email, failures, updated_at) values ('x@y.example', 3, now() - interval '2 days'), ('z@y.example', 1, now())")
        .execute(&pool)
        .await
        .unwrap();
    let mut db = pool.acquire().await.unwrap();
    let pruned = nmc_store::retention::prune_accounts(&mut db).await.unwrap();
    assert_eq!(
        (
            pruned.refresh_tokens,
            pruned.sessions,
            pruned.login_failures
        ),
        (1, 1, 1)
    );
    let left: i64 = sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 1, "the live session stays");
}
