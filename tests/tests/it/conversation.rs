//! The conversation (issue 3): the caller is qualified by text while the owner keeps priority.
//! Real PostgreSQL, real Temporal, the sandbox carrier; owner actions go through the Temporal
//! client exactly as the owner API sends them.

use std::time::{Duration, Instant};

use nmc_tests::*;
use nmc_workflows::{ConversationWorkflow, Mode, OwnerMessage};
use temporalio_client::{
    WorkflowExecuteUpdateOptions, WorkflowQueryOptions, WorkflowSignalOptions,
};

const CALLER: &str = "+15125550188";

async fn greeted(app: &TestApp) {
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
}

#[tokio::test]
async fn caller_is_qualified_by_text_and_the_owner_gets_a_summary() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0").await;
    greeted(&app).await;
    let script = [
        ("my kitchen sink won't drain", "name"),
        ("Sam Lee", "address"),
        ("55 Birch Ln", "When works best"),
        ("tomorrow morning", "everything"),
    ];
    for (i, (says, expect)) in script.iter().enumerate() {
        app.text(CALLER, says).await;
        let texts = app.expect_texts(CALLER, i + 2).await;
        let reply = &texts[i + 1].body;
        assert!(reply.contains(expect), "turn {i}: {reply}");
        assert!(!nmc_assistant::guardrails::states_price(reply));
        if i == 0 {
            assert!(
                reply.contains("virtual assistant"),
                "first reply discloses: {reply}"
            );
        }
    }
    let lead: (
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as("select status, name, address, service_needed, preferred_time from leads")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(lead.0, "qualified");
    assert_eq!(lead.1.as_deref(), Some("Sam Lee"));
    assert_eq!(lead.2.as_deref(), Some("55 Birch Ln"));
    assert_eq!(lead.3.as_deref(), Some("my kitchen sink won't drain"));
    // The owner gets one summary, by text and in the notifications.
    wait_until(Duration::from_secs(10), "qualified summary", || async {
        app.texts_to(OWNER_PHONE).iter().any(|m| {
            m.body.starts_with(
                "Qualified lead: Sam Lee needs my kitchen sink won't drain at 55 Birch Ln",
            )
        })
    })
    .await;
    assert_eq!(
        app.count("select count(*) from notifications where kind = 'qualified'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from leads").await,
        1,
        "owner alerts create no lead"
    );
    // The thread shows who said what.
    assert_eq!(
        app.count("select count(*) from messages where sender = 'assistant'")
            .await,
        4
    );
    assert_eq!(
        app.count("select count(*) from messages where sender = 'caller'")
            .await,
        4
    );
    let state = app
        .conversation(CALLER)
        .await
        .query(
            ConversationWorkflow::state,
            (),
            WorkflowQueryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(state.fields.name.as_deref(), Some("Sam Lee"));
    assert_eq!(state.mode, Mode::Assistant);
}

#[tokio::test]
async fn owner_answering_inside_the_window_keeps_the_assistant_silent() {
    let app = TestApp::spawn().await;
    // Long enough that a loaded machine still queries inside the head start.
    app.set("owner_window_secs = 10").await;
    greeted(&app).await;
    app.text(CALLER, "do you fix garbage disposals?").await;
    // The owner hears at once, with the head start spelled out.
    wait_until(Duration::from_secs(5), "owner notified", || async {
        app.texts_to(OWNER_PHONE)
            .iter()
            .any(|m| m.body.contains("garbage disposals") && m.body.contains("answers in 10s"))
    })
    .await;
    let handle = app.conversation(CALLER).await;
    let state = handle
        .query(
            ConversationWorkflow::state,
            (),
            WorkflowQueryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(state.waiting_for, nmc_workflows::Waiting::OwnerWindow);
    let window_ends = state.until.expect("the head start's end");
    let id = handle
        .execute_update(
            ConversationWorkflow::owner_message,
            OwnerMessage {
                body: "Yes we do! This is Dana.".into(),
                key: None,
            },
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .unwrap();
    let stored: String = sqlx::query_scalar("select sender from messages where id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, "owner");
    // The head start runs out with nothing from the assistant: let it pass, and a little more.
    let left = (window_ends - chrono::Utc::now())
        .to_std()
        .unwrap_or_default();
    let texts = app
        .expect_no_more_texts(CALLER, 2, left + Duration::from_secs(2))
        .await;
    assert_eq!(texts[1].body, "Yes we do! This is Dana.");
    assert_eq!(
        app.count("select count(*) from messages where sender = 'assistant'")
            .await,
        0
    );
    // An empty message is refused by the validator and changes nothing.
    let refused = handle
        .execute_update(
            ConversationWorkflow::owner_message,
            OwnerMessage {
                body: "   ".into(),
                key: None,
            },
            WorkflowExecuteUpdateOptions::default(),
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(
        app.count("select count(*) from messages where sender = 'owner'")
            .await,
        1
    );
}

#[tokio::test]
async fn assistant_answers_when_the_window_passes() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 2").await;
    greeted(&app).await;
    let sent = Instant::now();
    app.text(CALLER, "the toilet keeps running").await;
    let texts = app.expect_texts(CALLER, 2).await;
    assert!(
        sent.elapsed() >= Duration::from_secs(2),
        "the owner's head start is respected"
    );
    assert!(texts[1].body.contains("name"), "{}", texts[1].body);
    assert_eq!(
        app.count("select count(*) from notifications where kind = 'caller_text'")
            .await,
        1
    );
}

#[tokio::test]
async fn takeover_silences_the_assistant_and_release_resumes_with_history() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 1").await;
    greeted(&app).await;
    let handle = app.conversation(CALLER).await;
    handle
        .execute_update(
            ConversationWorkflow::owner_takeover,
            "dana".to_string(),
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .unwrap();
    wait_until(Duration::from_secs(5), "mode recorded", || async {
        app.count("select count(*) from conversations where mode = 'owner'")
            .await
            == 1
    })
    .await;

    app.text(CALLER, "my water heater is leaking, I'm Sam")
        .await;
    wait_until(Duration::from_secs(5), "owner hears", || async {
        app.texts_to(OWNER_PHONE).iter().any(|m| {
            m.body.contains("water heater") && m.body.contains("you have this conversation")
        })
    })
    .await;
    // Silent while taken over: the owner's alert was the last step for that text.
    app.expect_no_more_texts(CALLER, 1, DUPLICATE_WINDOW).await;

    handle
        .execute_update(
            ConversationWorkflow::owner_release,
            "dana".to_string(),
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .unwrap();
    // The assistant picks up the unanswered text, knowing what was said while the owner had it.
    let texts = app.expect_texts(CALLER, 2).await;
    assert!(
        texts[1].body.contains("address"),
        "it already knows the job and the name: {}",
        texts[1].body
    );
    assert_eq!(
        app.count("select count(*) from conversations where mode = 'assistant'")
            .await,
        1
    );
}

#[tokio::test]
async fn stop_mid_conversation_cancels_follow_ups() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0, follow_up_secs = '{2,3}'")
        .await;
    greeted(&app).await;
    app.text(CALLER, "STOP").await;
    app.expect_texts(CALLER, 2).await;
    // STOP closes the conversation; once closed, no follow-up can go.
    wait_until(Duration::from_secs(10), "closed as opted out", || async {
        app.count("select count(*) from conversations where status = 'closed_opted_out'")
            .await
            == 1
    })
    .await;
    let texts = app.expect_texts(CALLER, 2).await;
    assert!(texts[1].body.contains("unsubscribed"));
    assert_eq!(
        app.count("select count(*) from messages where kind = 'follow_up'")
            .await,
        0
    );
}

#[tokio::test]
async fn follow_ups_fire_in_order_then_the_conversation_closes() {
    let app = TestApp::spawn().await;
    app.set(&format!(
        "follow_up_secs = '{{1,2,3}}', {}",
        quiet_hours_away()
    ))
    .await;
    // Not `greeted`: its exact count of one would race the first follow-up, due a second later.
    app.call(CALLER, "no-answer").await;
    let texts = app.expect_texts(CALLER, 4).await;
    assert!(
        texts[1].body.starts_with("Just checking in"),
        "{}",
        texts[1].body
    );
    assert!(texts[2].body.starts_with("Hey"), "{}", texts[2].body);
    assert!(
        texts[3].body.starts_with("Last note from us"),
        "{}",
        texts[3].body
    );
    for t in &texts[1..] {
        assert!(t.body.ends_with("Reply STOP to opt out."));
    }
    wait_until(Duration::from_secs(10), "closed", || async {
        app.count("select count(*) from conversations where status = 'closed_no_response'")
            .await
            == 1
    })
    .await;
    assert_eq!(
        app.count("select count(*) from leads where status = 'unresponsive'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_follow_up_due_in_quiet_hours_waits_for_the_morning() {
    let app = TestApp::spawn().await;
    // Quiet hours from a minute ago until 8 s from now, on the business's own clock.
    let (start, end): (String, String) = sqlx::query_as(
        "select to_char((now() at time zone 'America/Chicago') - interval '1 minute', 'HH24:MI:SS'),
                to_char((now() at time zone 'America/Chicago') + interval '8 seconds', 'HH24:MI:SS')",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    app.set(&format!(
        "follow_up_secs = '{{1}}', quiet_start = '{start}', quiet_end = '{end}'"
    ))
    .await;
    let started = Instant::now();
    greeted(&app).await;
    // Deliberately past the follow-up's 1 s due time, still inside quiet hours.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        app.texts_to(CALLER).len(),
        1,
        "due after 1 s, but it is quiet time"
    );
    wait_until(
        Duration::from_secs(20),
        "follow-up after quiet hours",
        || async { app.texts_to(CALLER).len() == 2 },
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(7),
        "sent at the end of quiet hours, not before"
    );
}

#[tokio::test]
async fn emergency_alerts_the_owner_at_once_and_skips_the_window() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 600, quiet_start = '00:00', quiet_end = '23:59'")
        .await;
    greeted(&app).await;
    let sent = Instant::now();
    app.text(CALLER, "I smell gas in the basement").await;
    let texts = app.expect_texts(CALLER, 2).await;
    assert!(
        texts[1].body.contains("urgent") && texts[1].body.contains("911"),
        "{}",
        texts[1].body
    );
    assert!(
        sent.elapsed() < Duration::from_secs(30),
        "no 600 s head start for an emergency"
    );
    assert!(
        app.texts_to(OWNER_PHONE)
            .iter()
            .any(|m| m.body.starts_with("EMERGENCY at Acme Plumbing"))
    );
    assert_eq!(
        app.count("select count(*) from notifications where kind = 'emergency' and priority")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from conversations where emergency")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from leads where urgency = 'emergency'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_caller_asking_for_a_person_is_handed_to_the_owner() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 600").await;
    greeted(&app).await;
    app.text(CALLER, "can I talk to a real person please").await;
    let texts = app.expect_texts(CALLER, 2).await;
    assert!(texts[1].body.contains("Dana"), "{}", texts[1].body);
    assert_eq!(app.count("select count(*) from conversations where mode = 'owner' and needs_owner and not emergency").await, 1);
    assert_eq!(
        app.count("select count(*) from notifications where kind = 'needs_owner' and not priority")
            .await,
        1
    );
    // From now on the assistant is silent; the owner hears each message.
    app.text(CALLER, "hello??").await;
    wait_until(Duration::from_secs(10), "the owner hears it", || async {
        app.texts_to(OWNER_PHONE)
            .iter()
            .any(|m| m.body.contains("hello??") && m.body.contains("you have this conversation"))
    })
    .await;
    app.expect_no_more_texts(CALLER, 2, DUPLICATE_WINDOW).await;
}

#[tokio::test]
async fn duplicate_inbound_text_is_one_turn() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0").await;
    greeted(&app).await;
    let req = nmc_sandbox::SmsRequest {
        from: CALLER.into(),
        to: TWILIO_NUMBER.into(),
        body: "my dryer vent needs cleaning".into(),
        message_sid: None,
        deliveries: 2,
    };
    app.sandbox.send_sms_as_caller(req).await.unwrap();
    app.expect_no_more_texts(CALLER, 2, DUPLICATE_WINDOW).await;
    assert_eq!(
        app.count("select count(*) from messages where sender = 'caller'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from notifications where kind <> 'missed_call'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_returning_caller_is_remembered_but_asked_about_the_new_job() {
    let app = TestApp::spawn().await;
    app.set(&format!(
        "owner_window_secs = 0, follow_up_secs = '{{3}}', {}",
        quiet_hours_away()
    ))
    .await;
    greeted(&app).await;
    app.text(CALLER, "This is Sam Lee, my toilet keeps running")
        .await;
    app.expect_texts(CALLER, 2).await;
    // Quiet: the follow-up goes out and the conversation closes.
    wait_until(Duration::from_secs(15), "closed", || async {
        app.count("select count(*) from conversations where closed_at is not null")
            .await
            == 1
    })
    .await;
    assert!(
        app.texts_to(CALLER)[2]
            .body
            .contains("help with your plumbing down the road"),
        "{}",
        app.texts_to(CALLER)[2].body
    );
    app.text(CALLER, "hi again").await;
    let texts = app.expect_texts(CALLER, 4).await;
    assert!(
        texts[3].body.contains("What can we help you with?"),
        "a new job is asked about: {}",
        texts[3].body
    );
    assert!(
        !texts[3].body.contains("name"),
        "the name is remembered: {}",
        texts[3].body
    );
    let (name, last): (Option<String>, Option<String>) =
        sqlx::query_as("select name, last_service from leads")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(name.as_deref(), Some("Sam Lee"));
    assert_eq!(last.as_deref(), Some("my toilet keeps running"));
}

#[tokio::test]
async fn takeover_and_close_cancel_follow_ups() {
    let app = TestApp::spawn().await;
    app.set(&format!("follow_up_secs = '{{2}}', {}", quiet_hours_away()))
        .await;
    greeted(&app).await;
    let h = app.conversation(CALLER).await;
    h.execute_update(
        ConversationWorkflow::owner_takeover,
        "dana".to_string(),
        WorkflowExecuteUpdateOptions::default(),
    )
    .await
    .unwrap();
    // No follow-up while the owner has it: past the one due 2 s after the greeting.
    app.expect_no_more_texts(CALLER, 1, Duration::from_secs(3))
        .await;
    h.signal(
        ConversationWorkflow::close,
        "done".to_string(),
        WorkflowSignalOptions::default(),
    )
    .await
    .unwrap();
    wait_until(Duration::from_secs(10), "closed by the owner", || async {
        app.count("select count(*) from conversations where status = 'closed_manual'")
            .await
            == 1
    })
    .await;
    assert_eq!(
        app.count("select count(*) from messages where kind = 'follow_up'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_conversation_with_nothing_pending_closes_as_stale() {
    // Stale after 2 s here (48 h in production); the owner has it, so no follow-up is pending.
    let app = TestApp::builder().idle_secs(2).spawn().await;
    greeted(&app).await;
    app.conversation(CALLER)
        .await
        .execute_update(
            ConversationWorkflow::owner_takeover,
            "dana".to_string(),
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .unwrap();
    wait_until(Duration::from_secs(15), "stale close", || async {
        app.count("select count(*) from conversations where status = 'closed_stale'")
            .await
            == 1
    })
    .await;
}

#[tokio::test]
async fn the_assistant_never_overwrites_what_the_owner_edited() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0").await;
    greeted(&app).await;
    // The owner corrected the address and cleared a wrong name.
    sqlx::query(
        "update leads set address = '9 Owner Way', name = null, owner_edited = '{address,name}'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    app.text(CALLER, "This is Sam Lee, toilet is clogged at 55 Birch Ln")
        .await;
    app.expect_texts(CALLER, 2).await;
    let (name, address, service): (Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("select name, address, service_needed from leads")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(address.as_deref(), Some("9 Owner Way"));
    assert_eq!(name, None);
    assert!(service.is_some(), "other fields are still learned");
}
