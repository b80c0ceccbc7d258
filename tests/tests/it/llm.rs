//! The LLM engine through async-openai against a local OpenAI-compatible server, from the real
//! worker process: structured output, guardrails over the model, and the rules fallback.

use std::time::{Duration, Instant};

use nmc_tests::*;
use serde_json::json;

const CALLER: &str = "+15125550177";

async fn stack(double: &LlmDouble, timeout_secs: u64) -> TestApp {
    let base = double.start().await;
    let app = TestApp::builder()
        .worker_env("OPENAI_BASE_URL", base)
        .worker_env("OPENAI_API_KEY", "test-key")
        .worker_env("NMC_LLM_MODEL", "test-model")
        .worker_env("NMC_LLM_TIMEOUT_SECS", timeout_secs.to_string())
        .worker_env("NMC_LLM_ATTEMPTS", "2")
        .spawn()
        .await;
    app.set("owner_window_secs = 0").await;
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    app
}

#[tokio::test]
async fn llm_answers_with_structured_output_and_code_guardrails() {
    let double = LlmDouble::default();
    *double.mode.lock().unwrap() = "ok".into();
    *double.content.lock().unwrap() = json!({
        "reply": "So sorry about the drain! A drain clean is $99. You're booked for 3pm. What's your name?",
        "learned": {"name": null, "service_needed": "clogged kitchen drain", "trade": "plumbing", "urgency": "soon", "address": null, "preferred_time": null},
        "intent": "question", "emergency": false, "needs_human": false, "asked": "name"
    });
    let app = stack(&double, 5).await;
    app.text(CALLER, "kitchen drain is clogged, need someone today")
        .await;
    let texts = app.expect_texts(CALLER, 2).await;
    let reply = &texts[1].body;
    assert!(reply.contains("What's your name?"), "{reply}");
    assert!(
        !nmc_assistant::guardrails::states_price(reply)
            && !nmc_assistant::guardrails::claims_booking(reply),
        "{reply}"
    );
    assert!(
        reply.contains("virtual assistant") && reply.contains("Acme Plumbing"),
        "{reply}"
    );
    let service: Option<String> = sqlx::query_scalar("select service_needed from leads")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(service.as_deref(), Some("clogged kitchen drain"));
    // One call per turn, with the strict JSON schema, the model, and the history.
    let requests = double.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["model"], "test-model");
    assert_eq!(requests[0]["response_format"]["type"], "json_schema");
    assert_eq!(
        requests[0]["response_format"]["json_schema"]["strict"],
        true
    );
    let messages = requests[0]["messages"].as_array().unwrap();
    assert!(messages.iter().any(|m| {
        m["role"] == "assistant"
            && m["content"]
                .as_str()
                .unwrap_or("")
                .contains("Sorry we missed your call")
    }));
    assert_eq!(
        messages.last().unwrap()["content"],
        "kitchen drain is clogged, need someone today"
    );
}

#[tokio::test]
async fn llm_500_falls_back_to_the_rules_assistant() {
    let double = LlmDouble::default();
    *double.mode.lock().unwrap() = "error500".into();
    let app = stack(&double, 5).await;
    app.text(CALLER, "my water heater is leaking").await;
    let texts = app.expect_texts(CALLER, 2).await;
    assert!(
        texts[1].body.contains("Can I get your name?"),
        "the rules assistant answered: {}",
        texts[1].body
    );
    // async-openai's own three retries of a 5xx, then straight to rules.
    assert_eq!(
        double.requests.lock().unwrap().len(),
        4,
        "retried within the bound, then fell back"
    );
    let service: Option<String> = sqlx::query_scalar("select service_needed from leads")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(service.is_some(), "nothing the caller said is lost");
}

#[tokio::test]
async fn llm_that_hangs_or_talks_nonsense_falls_back_within_a_bound() {
    for mode in ["hang", "garbage"] {
        let double = LlmDouble::default();
        *double.mode.lock().unwrap() = mode.into();
        let app = stack(&double, 1).await;
        let sent = Instant::now();
        app.text(CALLER, "the furnace is making a banging noise")
            .await;
        let texts = app.expect_texts(CALLER, 2).await;
        assert!(
            texts[1].body.contains("Can I get your name?"),
            "{mode}: {}",
            texts[1].body
        );
        // Two 1 s attempts plus backoff, not a 60 s hang.
        assert!(
            sent.elapsed() < Duration::from_secs(15),
            "{mode}: took {:?}",
            sent.elapsed()
        );
    }
}

#[tokio::test]
async fn the_owner_hears_at_once_even_while_the_model_is_slow() {
    let double = LlmDouble::default();
    *double.mode.lock().unwrap() = "hang".into();
    let app = stack(&double, 2).await;
    app.set("owner_window_secs = 6").await;
    let sent = Instant::now();
    app.text(CALLER, "the garage door opener is broken").await;
    wait_until(
        Duration::from_secs(3),
        "owner alerted before the model answers",
        || async {
            app.texts_to(OWNER_PHONE)
                .iter()
                .any(|m| m.body.contains("garage door"))
        },
    )
    .await;
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "alert took {:?}",
        sent.elapsed()
    );
    // The model hangs (2 × 2 s), rules answer, and the reply still waits out the 6 s head start
    // counted from the alert, not from when the model gave up.
    let texts = app.expect_texts(CALLER, 2).await;
    let waited = sent.elapsed();
    assert!(
        waited >= Duration::from_secs(6) && waited < Duration::from_secs(12),
        "reply after {waited:?}: {}",
        texts[1].body
    );
}
