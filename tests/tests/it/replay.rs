//! Workflow code must stay compatible with histories already recorded in production: every
//! history in `tests/histories/` is replayed against the current `ConversationWorkflow`, so a
//! non-deterministic change fails the build (change behaviour behind `ctx.patched(..)` instead).
//!
//! Record fresh histories with `cargo test -p nmc-tests --test it -- --ignored replay::` (needs the
//! Temporal dev server that `scripts/test` starts) and commit the JSON files.

use std::path::PathBuf;
use std::time::Duration;

use nmc_sandbox::Fault;
use nmc_tests::*;
use nmc_workflows::ConversationWorkflow;
use temporalio_client::WorkflowFetchHistoryOptions;

pub(crate) fn histories_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("histories")
}

#[tokio::test]
async fn recorded_histories_replay_against_current_code() {
    let mut files: Vec<_> = std::fs::read_dir(histories_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no recorded histories in tests/histories/"
    );
    for file in files {
        nmc_temporal::replay::replay_json(&std::fs::read(&file).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{} no longer replays: {e}", file.display()));
    }
}

/// The conversation's workflow id for `caller` at the (only) business.
async fn workflow_id(app: &TestApp, caller: &str) -> String {
    let business_id: uuid::Uuid = sqlx::query_scalar("select id from businesses")
        .fetch_one(&app.db)
        .await
        .unwrap();
    nmc_domain::conversation_workflow_id(business_id, &nmc_domain::E164::parse(caller).unwrap())
}

/// Writes the conversation's history as the `temporal` CLI exports it (proto3 JSON), so the
/// replayer's reading of that form stays tested.
async fn cli_export(app: &TestApp, caller: &str, file: &str) {
    let temporal = std::env::var("NMC_TEMPORAL_BIN").expect("scripts/test sets NMC_TEMPORAL_BIN");
    let out = std::process::Command::new(temporal)
        .args(["workflow", "show", "--output", "json", "--address"])
        .arg(temporal_address().trim_start_matches("http://"))
        .arg("--workflow-id")
        .arg(workflow_id(app, caller).await)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(histories_dir().join(file), out.stdout).unwrap();
}

/// Runs a conversation through the real stack and returns its history.
async fn history_of(app: &TestApp, caller: &str) -> Vec<u8> {
    let wf_id = workflow_id(app, caller).await;
    let client = nmc_api::temporal::connect(&temporal_address(), "default")
        .await
        .unwrap();
    let handle = client.get_workflow_handle::<ConversationWorkflow>(wf_id);
    handle
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .to_json()
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "records histories into tests/histories/; run by hand after a deliberate workflow change"]
async fn record_histories() {
    let app = TestApp::spawn().await;

    // Greeting, a repeat call, a text, HELP, then STOP closes the conversation.
    let caller = "+15125550171";
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 1).await;
    app.call(caller, "busy").await;
    app.text(caller, "my water heater is leaking").await;
    app.text(caller, "HELP").await;
    app.expect_texts(caller, 2).await;
    app.text(caller, "STOP").await;
    app.expect_texts(caller, 3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::write(
        histories_dir().join("baseline-greeting-repeat-help-stop.json"),
        history_of(&app, caller).await,
    )
    .unwrap();

    // The carrier refuses the number for good (21610): the conversation closes.
    let caller = "+15125550172";
    app.sandbox.add_fault(Fault {
        to: Some(caller.into()),
        status: 400,
        code: Some(21610),
        count: 1,
        delay_ms: 0,
    });
    app.call(caller, "no-answer").await;
    wait_until(Duration::from_secs(10), "closed", || async {
        app.count("select count(*) from conversations where status = 'closed_opted_out'")
            .await
            == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::write(
        histories_dir().join("baseline-carrier-refused-21610.json"),
        history_of(&app, caller).await,
    )
    .unwrap();
}

#[tokio::test]
#[ignore = "records histories into tests/histories/; run by hand after a deliberate workflow change"]
async fn record_patch_histories() {
    let app = TestApp::spawn().await;
    // `missed-call-alert`: the greeting, the owner's alert at the call, a repeat call.
    let caller = "+15125550173";
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 1).await;
    app.expect_texts(OWNER_PHONE, 1).await;
    app.call(caller, "busy").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::write(
        histories_dir().join("patch-missed-call-alert.json"),
        history_of(&app, caller).await,
    )
    .unwrap();

    // `held-greeting-waits`: held while texting is not approved, sent once it is.
    app.set("messaging_status = 'submitted'").await;
    let caller = "+15125550174";
    app.call(caller, "no-answer").await;
    wait_until(Duration::from_secs(10), "held", || async {
        app.count("select count(*) from messages where status = 'held' and kind = 'greeting'")
            .await
            == 1
    })
    .await;
    app.set("messaging_status = 'approved'").await;
    app.expect_texts(caller, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::write(
        histories_dir().join("patch-held-greeting-waits.json"),
        history_of(&app, caller).await,
    )
    .unwrap();

    // `line-check`: a landline is not texted; the owner is told to call back.
    let caller = "+15125550175";
    app.sandbox.set_lookup(nmc_sandbox::voice::LineSetup {
        number: caller.into(),
        line_type: "landline".into(),
        sms_pumping_risk: None,
    });
    app.call(caller, "no-answer").await;
    wait_until(Duration::from_secs(10), "closed", || async {
        app.count("select count(*) from conversations where status = 'closed_undeliverable'")
            .await
            == 1
    })
    .await;
    std::fs::write(
        histories_dir().join("patch-line-check.json"),
        history_of(&app, caller).await,
    )
    .unwrap();

    // `voicemail`: the message stored, transcribed, alerted and answered by its first text.
    let b = app.business_id().await;
    app.owner(reqwest::Method::PUT, "/api/routing", b)
        .json(&serde_json::json!({"preset": {"open": "voicemail", "closed": "voicemail"}}))
        .send()
        .await
        .unwrap();
    let caller = "+15125550176";
    app.call_with(nmc_sandbox::CallRequest {
        from: caller.into(),
        outcome: Some("no-answer".into()),
        voicemail: Some(voice::voicemail("My kitchen sink is clogged, this is Sam.")),
        ..Default::default()
    })
    .await;
    app.expect_texts(caller, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::write(
        histories_dir().join("patch-voicemail.json"),
        history_of(&app, caller).await,
    )
    .unwrap();
}

/// `ai-voice`: the agent's tools answered by the conversation (an update each), a booking in
/// the call, then the report; written as patch-ai-voice.json.
#[tokio::test]
#[ignore = "records histories into tests/histories/; run by hand after a deliberate workflow change"]
async fn record_ai_voice_history() {
    use nmc_sandbox::vapi::{AgentScript, ScriptedTool};
    let app = TestApp::spawn().await;
    let b = app.bookable().await;
    app.sandbox.vapi.add_key("vapi-key-for-history");
    let r = app
        .owner(reqwest::Method::PUT, "/api/voice-agent", b)
        .json(&serde_json::json!({"api_key": "vapi-key-for-history"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.route_all("ai_voice").await;
    let tool = |name: &str, arguments: serde_json::Value| ScriptedTool {
        name: name.into(),
        arguments,
    };
    app.sandbox.vapi.script(AgentScript {
        caller_lines: vec!["This is Sam, my kitchen sink is clogged, 9 Elm St.".into()],
        tools: vec![
            tool(
                "check_availability",
                serde_json::json!({"need": "kitchen sink clogged"}),
            ),
            tool(
                "book_appointment",
                serde_json::json!({"slot": 1, "name": "Sam", "address": "9 Elm St"}),
            ),
        ],
        structured: Some(
            serde_json::json!({"name": "Sam", "need": "kitchen sink clogged", "urgency": "soon"}),
        ),
        secs: 40,
        ..Default::default()
    });
    let caller = "+15125550177";
    app.call(caller, "no-answer").await;
    wait_until(Duration::from_secs(20), "booked", || async {
        app.count("select count(*) from conversations where status = 'closed_booked'")
            .await
            == 1
    })
    .await;
    std::fs::write(
        histories_dir().join("patch-ai-voice.json"),
        history_of(&app, caller).await,
    )
    .unwrap();
}

/// `returning-caller`: a caller known from before greeted by name; patch-returning-caller.json.
#[tokio::test]
#[ignore = "records histories into tests/histories/; run by hand after a deliberate workflow change"]
async fn record_returning_caller_history() {
    let app = TestApp::spawn().await;
    let caller = "+15125550178";
    let business = app.business_id().await;
    sqlx::query(
        "with lead as (insert into leads (business_id, phone, name, last_service, status)
                       values ($1, $2, 'Sam Lee', 'the kitchen sink', 'completed') returning id)
         insert into conversations (id, business_id, lead_id, workflow_id, status)
         select gen_random_uuid(), $1, id, 'earlier', 'closed_idle' from lead",
    )
    .bind(business)
    .bind(caller)
    .execute(&app.db)
    .await
    .unwrap();
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::write(
        histories_dir().join("patch-returning-caller.json"),
        history_of(&app, caller).await,
    )
    .unwrap();
}

/// `assistant-knows`: an FAQ answered (its note on the reply), a question passed to the owner
/// (their alert), and the preferred time narrowing the offer; patch-assistant-knows.json.
#[tokio::test]
#[ignore = "records histories into tests/histories/; run by hand after a deliberate workflow change"]
async fn record_assistant_knows_history() {
    let app = TestApp::spawn().await;
    app.bookable().await;
    app.adopt("/api/faqs/adopt").await;
    let caller = "+15125550179";
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 1).await;
    let script = [
        "are you insured?",
        "are you family owned?",
        "my kitchen sink won't drain",
        "Sam Lee",
        "55 Birch Ln",
        "tomorrow morning",
    ];
    for (i, says) in script.iter().enumerate() {
        app.text(caller, says).await;
        app.expect_texts(caller, i + 2).await;
    }
    let offer = app.texts_to(caller).last().unwrap().body.clone();
    assert!(offer.contains("Open times tomorrow morning"), "{offer}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::write(
        histories_dir().join("patch-assistant-knows.json"),
        history_of(&app, caller).await,
    )
    .unwrap();
}

/// `review-request`: a job marked completed starts its review workflow, which asks once and
/// reminds once; patch-review-request.json (the appointment) and review-request.json.
#[tokio::test]
#[ignore = "records histories into tests/histories/; run by hand after a deliberate workflow change"]
async fn record_review_request_histories() {
    let app = TestApp::spawn().await;
    let b = app.bookable().await;
    app.set("google_place_id = 'ChIJN1t_tDeuEmsRUsoyG83frY4', review_delay_secs = 0, review_reminder_secs = 2")
        .await;
    let customer = "+15125550709";
    let start = chrono::Utc::now() + chrono::Duration::hours(3);
    let r = app
        .owner(reqwest::Method::POST, "/api/appointments", b)
        .json(&serde_json::json!({"start": start, "duration_minutes": 60, "customer_phone": customer}))
        .send()
        .await
        .unwrap();
    let id: uuid::Uuid = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.owner(
        reqwest::Method::PATCH,
        &format!("/api/appointments/{id}"),
        b,
    )
    .json(&serde_json::json!({"status": "completed"}))
    .send()
    .await
    .unwrap();
    app.expect_texts(customer, 2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let client = nmc_api::temporal::connect(&temporal_address(), "default")
        .await
        .unwrap();
    for (workflow_id, file) in [
        (
            nmc_workflows::appointment_workflow_id(id),
            "patch-review-request.json",
        ),
        (nmc_workflows::review_workflow_id(id), "review-request.json"),
    ] {
        let history = client
            .get_workflow_handle::<nmc_workflows::ReviewWorkflow>(workflow_id)
            .fetch_history(WorkflowFetchHistoryOptions::default())
            .to_json()
            .await
            .unwrap();
        std::fs::write(histories_dir().join(file), history).unwrap();
    }
}

/// The conversation paths of the baseline (docs/WORKFLOWS.md), written as baseline-*.json.
#[tokio::test]
#[ignore = "records histories into tests/histories/; run by hand after a deliberate workflow change"]
async fn record_assistant_histories() {
    use nmc_workflows::{ConversationWorkflow, OwnerMessage};
    use temporalio_client::WorkflowExecuteUpdateOptions;
    let app = TestApp::spawn().await;
    app.set(&format!(
        "owner_window_secs = 1, follow_up_secs = '{{2,3}}', {}",
        quiet_hours_away()
    ))
    .await;

    // Qualified by text, with the owner's head start on each turn.
    let caller = "+15125550181";
    app.call(caller, "no-answer").await;
    for (i, says) in [
        "my kitchen sink won't drain",
        "Sam Lee",
        "55 Birch Ln",
        "tomorrow morning",
    ]
    .iter()
    .enumerate()
    {
        app.text(caller, says).await;
        app.expect_texts(caller, i + 2).await;
    }
    std::fs::write(
        histories_dir().join("baseline-qualified.json"),
        history_of(&app, caller).await,
    )
    .unwrap();

    // The owner answers, takes over, the caller writes, the owner releases, the assistant answers.
    let caller = "+15125550182";
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 1).await;
    let h = app.conversation(caller).await;
    app.text(caller, "do you fix garbage disposals?").await;
    h.execute_update(
        ConversationWorkflow::owner_message,
        OwnerMessage {
            body: "Yes we do!".into(),
            key: None,
        },
        WorkflowExecuteUpdateOptions::default(),
    )
    .await
    .unwrap();
    h.execute_update(
        ConversationWorkflow::owner_takeover,
        "dana".to_string(),
        WorkflowExecuteUpdateOptions::default(),
    )
    .await
    .unwrap();
    app.text(caller, "great, I'm Kim at 9 Elm Ct").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    h.execute_update(
        ConversationWorkflow::owner_release,
        "dana".to_string(),
        WorkflowExecuteUpdateOptions::default(),
    )
    .await
    .unwrap();
    app.expect_texts(caller, 3).await;
    std::fs::write(
        histories_dir().join("baseline-owner-takeover-release.json"),
        history_of(&app, caller).await,
    )
    .unwrap();

    // An emergency skips the head start and alerts the owner.
    let caller = "+15125550183";
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 1).await;
    app.text(caller, "pipe burst, water everywhere").await;
    app.expect_texts(caller, 2).await;
    std::fs::write(
        histories_dir().join("baseline-emergency.json"),
        history_of(&app, caller).await,
    )
    .unwrap();
    cli_export(&app, caller, "baseline-emergency.cli-export.json").await;

    // A quiet caller: two follow-ups, then closed as no-response.
    let caller = "+15125550184";
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 3).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::write(
        histories_dir().join("baseline-follow-ups-no-response.json"),
        history_of(&app, caller).await,
    )
    .unwrap();

    // Qualified, offered slots, picks one: booked (the appointment workflow starts as a child).
    let app = TestApp::spawn().await;
    app.bookable().await;
    let caller = "+15125550185";
    app.call(caller, "no-answer").await;
    for (i, says) in [
        "my kitchen sink won't drain",
        "Sam Lee",
        "55 Birch Ln",
        "tomorrow morning",
        "1",
    ]
    .iter()
    .enumerate()
    {
        app.text(caller, says).await;
        app.expect_texts(caller, i + 2).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::write(
        histories_dir().join("baseline-booked.json"),
        history_of(&app, caller).await,
    )
    .unwrap();

    // The appointment that booking started (its reminders, calendar sync and state reads).
    let appointment_id: uuid::Uuid = sqlx::query_scalar("select id from appointments")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let client = nmc_api::temporal::connect(&temporal_address(), "default")
        .await
        .unwrap();
    let handle = client.get_workflow_handle::<nmc_workflows::AppointmentWorkflow>(
        nmc_workflows::appointment_workflow_id(appointment_id),
    );
    let history = handle
        .fetch_history(WorkflowFetchHistoryOptions::default())
        .to_json()
        .await
        .unwrap();
    std::fs::write(
        histories_dir().join("baseline-appointment-booked.json"),
        history,
    )
    .unwrap();
}

#[tokio::test]
async fn replay_subcommand_reports_non_determinism_and_fails() {
    // A history whose workflow scheduled a different activity than today's code would.
    let original =
        std::fs::read_to_string(histories_dir().join("baseline-emergency.json")).unwrap();
    let tampered = original.replacen(
        "ConversationActivities::assistant_turn",
        "ConversationActivities::close_conversation",
        1,
    );
    assert_ne!(original, tampered);
    let dir = std::env::temp_dir().join(format!("nmc-replay-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("tampered.json");
    std::fs::write(&bad, tampered).unwrap();
    let good = histories_dir().join("baseline-emergency.cli-export.json");
    let out = std::process::Command::new(bin("nmc-worker"))
        .arg("replay")
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("ok      ") && stdout.contains("baseline-emergency.cli-export.json"),
        "the CLI's proto JSON replays: {stdout}"
    );
    assert!(
        stdout.contains("FAILED  ") && stdout.to_lowercase().contains("nondetermin"),
        "{stdout}"
    );
}
