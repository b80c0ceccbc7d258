//! Callers who have been here before (issue 18): greeted by name and asked about their last job,
//! or, calling again the same day after their conversation ended, told we saw the earlier call.

use nmc_tests::*;

const CALLER: &str = "+15125550193";

/// A caller known from an earlier, finished conversation.
async fn earlier_conversation(app: &TestApp, name: Option<&str>, last_job: Option<&str>) {
    let business = app.business_id().await;
    let lead: uuid::Uuid = sqlx::query_scalar(
        "insert into leads (business_id, phone, name, last_service, status) values ($1, $2, $3, $4, 'completed') returning id",
    )
    .bind(business)
    .bind(CALLER)
    .bind(name)
    .bind(last_job)
    .fetch_one(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "insert into conversations (id, business_id, lead_id, workflow_id, status, closed_at, created_at)
         values (gen_random_uuid(), $1, $2, 'earlier', 'closed_idle', now() - interval '1 hour', now() - interval '2 hours')",
    )
    .bind(business)
    .bind(lead)
    .execute(&app.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_returning_caller_is_greeted_by_name_and_asked_about_the_last_job() {
    let app = TestApp::spawn().await;
    earlier_conversation(&app, Some("Sam Ortiz"), Some("the water heater")).await;
    app.call(CALLER, "no-answer").await;
    let greeting = app.expect_texts(CALLER, 1).await.remove(0);
    assert_eq!(
        greeting.body,
        "Welcome back, Sam! This is Acme Plumbing, sorry we missed your call. Is this about the water heater again? Reply STOP to opt out."
    );
}

#[tokio::test]
async fn a_caller_who_called_earlier_today_hears_that_we_saw_it() {
    let app = TestApp::spawn().await;
    earlier_conversation(&app, None, None).await;
    let business = app.business_id().await;
    sqlx::query(
        "insert into calls (business_id, twilio_call_sid, caller_phone, status, created_at)
         values ($1, 'CA00000000000000000000000000000193', $2, 'missed', now() - interval '1 minute')",
    )
    .bind(business)
    .bind(CALLER)
    .execute(&app.db)
    .await
    .unwrap();
    app.call(CALLER, "no-answer").await;
    let greeting = app.expect_texts(CALLER, 1).await.remove(0);
    assert!(
        greeting
            .body
            .starts_with("Hi, this is Acme Plumbing. I see you called earlier today too; sorry we missed your call."),
        "{}",
        greeting.body
    );
}

#[tokio::test]
async fn a_first_time_caller_gets_the_usual_greeting() {
    let app = TestApp::spawn().await;
    app.call(CALLER, "no-answer").await;
    let greeting = app.expect_texts(CALLER, 1).await.remove(0);
    assert!(
        greeting
            .body
            .starts_with("Hi, this is Acme Plumbing. Sorry we missed your call!"),
        "{}",
        greeting.body
    );
}
