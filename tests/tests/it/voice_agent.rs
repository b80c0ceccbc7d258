//! The AI voice agent end to end: real Temporal and PostgreSQL, the sandbox carrier dialling
//! the agent's SIP number, and the Vapi double holding the assistant we made and playing a
//! caller who talks to it. The agent books through the conversation (the same slots and
//! no-double-booking rule as texts); a Vapi that cannot be reached sends the caller to
//! voicemail, a call that breaks down or a caller who hangs up early continues by text; the
//! server URL takes only Vapi's secret.

use std::time::Duration;

use nmc_sandbox::vapi::{AgentScript, ScriptedTool};
use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

const CALLER: &str = "+15125550161";
const KEY: &str = "vapi-private-key-acme";

async fn put_agent(app: &TestApp, body: &Value) -> reqwest::Response {
    let b = app.business_id().await;
    app.owner(Method::PUT, "/api/voice-agent", b)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The business's Vapi account connected, and every missed call routed to `method`.
async fn connected(app: &TestApp, method: &str) {
    app.sandbox.vapi.add_key(KEY);
    let r = put_agent(app, &json!({"api_key": KEY, "voice": "Emma"})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    app.route_all(method).await;
}

fn tool(name: &str, arguments: Value) -> ScriptedTool {
    ScriptedTool {
        name: name.into(),
        arguments,
    }
}

#[tokio::test]
async fn the_owner_connects_vapi_and_the_assistant_is_kept_in_sync() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    // AI voice cannot be routed to before an agent is connected.
    let r = app
        .owner(Method::PUT, "/api/routing", b)
        .json(&json!({"preset": {"open": "ai_voice", "closed": "voicemail"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    app.sandbox.vapi.add_key(KEY);
    for bad in [
        json!({"api_key": "not-a-key"}),
        json!({"voice": "Emma"}),
        json!({"api_key": KEY, "voice": "Spencer"}),
        json!({"api_key": KEY, "collect": ["name"]}),
        json!({"api_key": KEY, "greeting": "x".repeat(301)}),
    ] {
        let r = put_agent(&app, &bad).await;
        assert_eq!(r.status(), 422, "{bad}");
    }
    assert!(app.sandbox.vapi.assistants().is_empty(), "nothing made");

    // Vapi rate-limits the key check once: retried, then connected.
    app.sandbox.vapi.rate_limit(1);
    let r = put_agent(
        &app,
        &json!({"api_key": KEY, "voice": "Emma", "greeting": "Acme Plumbing, how can we help?",
                "collect": ["need", "name", "address"]}),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["connected"], true);
    assert_eq!(view["in_sync"], true);
    assert!(view.get("api_key").is_none(), "the key is never shown");
    let assistants = app.sandbox.vapi.assistants();
    assert_eq!(assistants.len(), 1);
    let a = &assistants[0];
    assert_eq!(a["firstMessage"], "Acme Plumbing, how can we help?");
    assert_eq!(a["voice"]["voiceId"], "Emma");
    assert_eq!(
        a["server"]["url"],
        format!("{}/webhook/vapi?b={b}", app.api_url)
    );
    assert_eq!(
        a["server"]["headers"]["X-Vapi-Secret"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    let numbers = app.sandbox.vapi.phone_numbers();
    assert_eq!(numbers.len(), 1);
    assert!(
        numbers[0]["sipUri"]
            .as_str()
            .unwrap()
            .ends_with("@sip.vapi.ai")
    );
    assert_eq!(
        app.count("select count(*) from voice_agents where api_key_sealed not like '%acme%'")
            .await,
        1,
        "sealed at rest"
    );

    // A change updates the same assistant.
    let r = put_agent(&app, &json!({"voice": "Clara"})).await;
    assert_eq!(r.status(), 200);
    let assistants = app.sandbox.vapi.assistants();
    assert_eq!(assistants.len(), 1);
    assert_eq!(assistants[0]["voice"]["voiceId"], "Clara");
    assert_eq!(
        assistants[0]["firstMessage"],
        "Acme Plumbing, how can we help?"
    );
    // Voices come with Vapi's samples where its library has one.
    let voices: Value = app
        .owner(Method::GET, "/api/voice-agent/voices", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let emma = voices["voices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "Emma")
        .unwrap();
    let sample = emma["preview_url"].as_str().unwrap();
    let wav = reqwest::get(sample).await.unwrap();
    assert_eq!(wav.status(), 200);
    assert!(wav.bytes().await.unwrap().starts_with(b"RIFF"));

    // The business's new name reaches the assistant.
    let mut settings: Value = app
        .owner(Method::GET, "/api/settings", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    settings["name"] = json!("Acme Drains");
    let r = app
        .owner(Method::PUT, "/api/settings", b)
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let assistants = app.sandbox.vapi.assistants();
    assert_eq!(assistants[0]["name"], "Acme Drains (NeverMissCall)");
    assert!(
        assistants[0]["model"]["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("Acme Drains")
    );

    // Now AI voice can be routed to; disconnecting deletes what we made at Vapi.
    app.route_all("ai_voice").await;
    let r = app
        .owner(Method::DELETE, "/api/voice-agent", b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(app.sandbox.vapi.assistants().is_empty());
    assert!(app.sandbox.vapi.phone_numbers().is_empty());
    // With no agent, an AI-voice cell sends the caller to voicemail.
    let call = app.call(CALLER, "no-answer").await;
    let twiml = call.dial_twiml.unwrap_or_default();
    assert!(twiml.contains("<Record"), "{twiml}");
}

#[tokio::test]
async fn an_ai_voice_call_books_the_job_and_the_owner_hears_what_was_said() {
    let app = TestApp::spawn().await;
    app.bookable().await;
    connected(&app, "ai_voice").await;
    let need = "water heater leaking in the garage";
    app.sandbox.vapi.script(AgentScript {
        caller_lines: vec![
            "Hi, this is Sam Ortiz.".into(),
            format!("My {need}."),
            "I'm at 12 Oak Street, Austin 78701.".into(),
            "The first time works.".into(),
        ],
        tools: vec![
            tool("check_availability", json!({"need": need})),
            tool(
                "book_appointment",
                json!({"slot": 1, "name": "Sam Ortiz", "address": "12 Oak Street, Austin 78701", "need": need}),
            ),
        ],
        summary: Some("Sam Ortiz's water heater is leaking; booked the first time.".into()),
        structured: Some(json!({"name": "Sam Ortiz", "need": need})),
        // Vapi redelivers: the call is recorded once.
        report_deliveries: 2,
        secs: 95,
        ..Default::default()
    });
    let call = app.call(CALLER, "no-answer").await;
    assert_eq!(call.agent_status.as_deref(), Some("completed"));
    let answers = app.sandbox.vapi.tool_answers();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(
        answers[0].result.starts_with("Job: ") && answers[0].result.contains("Open times: 1) "),
        "{}",
        answers[0].result
    );
    assert!(
        answers[1].result.starts_with("Booked: "),
        "{}",
        answers[1].result
    );
    assert!(answers.iter().all(|a| a.status == 200));

    // The caller's one text is the booking's confirmation, not a greeting.
    let texts = app.expect_texts(CALLER, 1).await;
    assert!(
        texts[0]
            .body
            .starts_with("You're booked with Acme Plumbing")
            && texts[0].body.contains("12 Oak Street"),
        "{}",
        texts[0].body
    );
    app.expect_no_more_texts(CALLER, 1, Duration::from_secs(3))
        .await;
    let booked: (String, String) =
        sqlx::query_as("select customer_name, address from appointments")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        booked,
        ("Sam Ortiz".into(), "12 Oak Street, Austin 78701".into())
    );

    // The owner: the booking and the call's summary; the transcript on the thread.
    let summary = app.text_containing(OWNER_PHONE, "AI call from").await;
    assert!(
        summary.contains("(1:35)") && summary.contains("booked the first time"),
        "{summary}"
    );
    wait_until(Duration::from_secs(20), "closed booked", || async {
        app.count("select count(*) from conversations where status = 'closed_booked'")
            .await
            == 1
    })
    .await;
    assert_eq!(
        app.count(
            "select count(*) from agent_calls a join calls c on c.twilio_call_sid = a.call_sid
             where a.outcome = 'completed' and a.duration_secs = 95 and c.caller_phone = a.caller_phone"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from messages where kind = 'agent_call' and conversation_id is not null and body like '%User: Hi, this is Sam Ortiz.%'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from notifications where kind = 'booked'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_unreachable_agent_sends_the_caller_to_voicemail_and_a_broken_call_to_text() {
    let app = TestApp::spawn().await;
    connected(&app, "ai_voice").await;
    app.sandbox.vapi.set_down(true);
    let call = app.call(CALLER, "no-answer").await;
    assert_eq!(call.agent_status.as_deref(), Some("failed"));
    let twiml = call.dial_twiml.unwrap_or_default();
    assert!(twiml.contains("<Record"), "voicemail instead: {twiml}");
    // They left no message: the usual greeting, once.
    let texts = app.expect_texts(CALLER, 1).await;
    assert!(texts[0].body.contains("Acme Plumbing"), "{}", texts[0].body);

    // Vapi answers, then breaks down mid-call: the caller continues by text.
    app.sandbox.vapi.set_down(false);
    let other = "+15125550162";
    app.sandbox.vapi.script(AgentScript {
        caller_lines: vec!["Hi, my furnace stopped working and the house is cold.".into()],
        ended_reason: "call.in-progress.error-vapifault-openai-llm-failed".into(),
        secs: 20,
        ..Default::default()
    });
    let call = app.call(other, "no-answer").await;
    assert_eq!(call.agent_status.as_deref(), Some("completed"));
    let texts = app.expect_texts(other, 1).await;
    assert!(
        texts[0]
            .body
            .starts_with("Hi, this is Acme Plumbing. Sorry we got cut off"),
        "{}",
        texts[0].body
    );
    let alert = app
        .text_containing(OWNER_PHONE, "The call broke down")
        .await;
    assert!(alert.contains("furnace"), "{alert}");
    assert_eq!(
        app.count("select count(*) from agent_calls where outcome = 'failed'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_caller_who_hangs_up_early_is_texted_from_what_they_said() {
    let app = TestApp::spawn().await;
    connected(&app, "ai_voice").await;
    app.sandbox.vapi.script(AgentScript {
        caller_lines: vec!["Hi, my kitchen sink is clogged and won't drain.".into()],
        ended_reason: "customer-ended-call".into(),
        secs: 12,
        ..Default::default()
    });
    app.call(CALLER, "no-answer").await;
    let texts = app.expect_texts(CALLER, 1).await;
    let body = &texts[0].body;
    assert!(
        body.starts_with("Hi, this is Acme Plumbing. Sorry we got cut off about"),
        "{body}"
    );
    assert!(body.contains("STOP"), "{body}");
    app.expect_no_more_texts(CALLER, 1, Duration::from_secs(2))
        .await;
    let alert = app.text_containing(OWNER_PHONE, "They hung up early").await;
    assert!(alert.contains("(0:12)"), "{alert}");
    let lead: Option<String> = sqlx::query_scalar("select service_needed from leads")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(lead.is_some(), "the lead is filled from what they said");
}

#[tokio::test]
async fn the_server_url_takes_only_vapis_secret_and_readable_messages() {
    let app = TestApp::spawn().await;
    connected(&app, "ai_voice").await;
    let b = app.business_id().await;
    let secret = app.sandbox.vapi.assistants()[0]["server"]["headers"]["X-Vapi-Secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let report = json!({"message": {"type": "end-of-call-report", "endedReason": "customer-ended-call",
        "call": {"id": "c-forged", "customer": {"number": CALLER}},
        "artifact": {"transcript": "User: hi", "messages": [{"role": "user", "message": "hi"}]}}});
    let post = |url: String, secret: Option<String>, body: String| {
        let http = app.http.clone();
        async move {
            let mut r = http.post(url).header("content-type", "application/json");
            if let Some(s) = secret {
                r = r.header("X-Vapi-Secret", s);
            }
            r.body(body).send().await.unwrap().status().as_u16()
        }
    };
    // Not Vapi for this business: 403, as every webhook with a bad signature.
    let url = format!("{}/webhook/vapi?b={b}", app.api_url);
    assert_eq!(post(url.clone(), None, report.to_string()).await, 403);
    assert_eq!(
        post(url.clone(), Some("wrong".into()), report.to_string()).await,
        403
    );
    let other = format!("{}/webhook/vapi?b={}", app.api_url, uuid::Uuid::new_v4());
    assert_eq!(
        post(other, Some(secret.clone()), report.to_string()).await,
        403
    );
    assert_eq!(
        post(url.clone(), Some(secret.clone()), "{not json".into()).await,
        400
    );
    assert_eq!(
        post(
            url.clone(),
            Some(secret.clone()),
            json!({"message": {}}).to_string()
        )
        .await,
        400
    );
    assert_eq!(app.count("select count(*) from agent_calls").await, 0);
    assert_eq!(app.count("select count(*) from webhook_events").await, 0);
    // Other messages are acknowledged and change nothing.
    let status = json!({"message": {"type": "status-update", "status": "ringing"}});
    assert_eq!(post(url, Some(secret), status.to_string()).await, 200);
    assert_eq!(app.count("select count(*) from webhook_events").await, 0);
}

#[tokio::test]
async fn ai_voice_and_text_greets_at_once_then_answers_what_was_said_on_the_call() {
    let app = TestApp::spawn().await;
    connected(&app, "both").await;
    app.sandbox.vapi.script(AgentScript {
        caller_lines: vec!["It's Lee, the upstairs toilet keeps running.".into()],
        ended_reason: "customer-ended-call".into(),
        structured: Some(
            json!({"name": "Lee Park", "need": "upstairs toilet keeps running", "urgency": "Soon"}),
        ),
        secs: 30,
        ..Default::default()
    });
    let call = app.call(CALLER, "no-answer").await;
    assert_eq!(call.agent_status.as_deref(), Some("completed"));
    // The greeting at the call, then the assistant's answer to the call, as to a text.
    let texts = app.expect_texts(CALLER, 2).await;
    assert!(texts[0].body.contains("Acme Plumbing"), "{}", texts[0].body);
    assert_ne!(texts[0].body, texts[1].body);
    app.expect_no_more_texts(CALLER, 2, Duration::from_secs(2))
        .await;
    // What the agent collected is on the lead.
    let lead: (Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("select name, service_needed, urgency from leads")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(lead.0.as_deref(), Some("Lee Park"));
    assert_eq!(lead.1.as_deref(), Some("upstairs toilet keeps running"));
    assert_eq!(lead.2.as_deref(), Some("soon"));

    // The business deleted: what we made in its Vapi account goes too.
    let b = app.business_id().await;
    let r = app
        .owner(Method::DELETE, "/api/business", b)
        .json(&json!({"confirm": "Acme Plumbing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert!(app.sandbox.vapi.assistants().is_empty());
    assert!(app.sandbox.vapi.phone_numbers().is_empty());
}
