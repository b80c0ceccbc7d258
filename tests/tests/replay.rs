//! Workflow code must stay compatible with histories already recorded in production: every
//! history in `tests/histories/` is replayed against the current `ConversationWorkflow`, so a
//! non-deterministic change fails the build (change behaviour behind `ctx.patched(..)` instead).
//!
//! Record fresh histories with `cargo test -p nmc-tests --test replay -- --ignored` (needs the
//! Temporal dev server that `scripts/test` starts) and commit the JSON files.

use std::path::PathBuf;
use std::time::Duration;

use nmc_sandbox::Fault;
use nmc_tests::*;
use nmc_workflows::ConversationWorkflow;
use temporalio_client::{WorkflowFetchHistoryOptions, WorkflowHistory};
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

fn histories_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("histories")
}

fn replayer() -> WorkflowReplayer {
    WorkflowReplayer::new(WorkflowReplayerOptions::new().register_workflow::<ConversationWorkflow>().unwrap().build()).unwrap()
}

#[tokio::test]
async fn recorded_histories_replay_against_current_code() {
    let mut files: Vec<_> = std::fs::read_dir(histories_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no recorded histories in tests/histories/");
    let replayer = replayer();
    for file in files {
        let history = WorkflowHistory::from_json(&std::fs::read(&file).unwrap()).unwrap();
        replayer.replay_workflow(history).await.unwrap_or_else(|e| panic!("{} no longer replays: {e}", file.display()));
    }
}

/// Runs a conversation through the real stack and returns its history.
async fn history_of(app: &TestApp, caller: &str) -> Vec<u8> {
    let business_id: uuid::Uuid = sqlx::query_scalar("select id from businesses").fetch_one(&app.db).await.unwrap();
    let wf_id = nmc_domain::conversation_workflow_id(business_id, &nmc_domain::E164::parse(caller).unwrap());
    let client = nmc_api::temporal::connect(&temporal_address(), "default").await.unwrap();
    let handle = client.get_workflow_handle::<ConversationWorkflow>(wf_id);
    handle.fetch_history(WorkflowFetchHistoryOptions::default()).to_json().await.unwrap()
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
    std::fs::write(histories_dir().join("greeting-repeat-help-stop.json"), history_of(&app, caller).await).unwrap();

    // The carrier refuses the number for good (21610): the conversation closes.
    let caller = "+15125550172";
    app.sandbox.add_fault(Fault { to: Some(caller.into()), status: 400, code: Some(21610), count: 1, delay_ms: 0 });
    app.call(caller, "no-answer").await;
    wait_until(Duration::from_secs(10), "closed", || async {
        app.count("select count(*) from conversations where status = 'closed_opted_out'").await == 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::write(histories_dir().join("carrier-refused-21610.json"), history_of(&app, caller).await).unwrap();
}
