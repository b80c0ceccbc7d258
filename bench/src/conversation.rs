//! `--conversation`: caller text received → assistant reply sent, with the owner's head start set
//! to 0 (it is a product delay, not a cost). Each caller first gets the greeting, then texts once;
//! the assistant is the rules, or an LLM double served here (`--llm-double-bind`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::routing::post;
use nmc_sandbox::Sandbox;
use serde_json::json;

use crate::{ACCOUNT_SID, AUTH_TOKEN, Args, now_us, print_row};

/// An OpenAI-compatible double that answers every turn at once with a valid structured turn.
async fn serve_llm_double(bind: &str) -> anyhow::Result<()> {
    let content = json!({
        "reply": "Sorry about that! Can I get your name?",
        "learned": {"name": null, "service_needed": "kitchen sink won't drain", "trade": "plumbing", "urgency": null, "address": null, "preferred_time": null},
        "intent": "question", "emergency": false, "needs_human": false, "asked": "name"
    })
    .to_string();
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move || {
            let content = content.clone();
            async move {
                axum::Json(json!({
                    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "bench",
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .context("bind the LLM double")?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(())
}

/// Sets the business's owner window to 0 and its quiet hours to none: the assistant answers at
/// once.
async fn answer_at_once(a: &Args, twilio_number: &str) -> anyhow::Result<()> {
    let db = sqlx::PgPool::connect(
        a.database_url
            .as_deref()
            .context("--database-url (or DATABASE_URL) is needed to set the owner window to 0")?,
    )
    .await?;
    sqlx::query("update businesses set owner_window_secs = 0, quiet_start = '00:00', quiet_end = '00:00' where twilio_number = $1")
        .bind(twilio_number)
        .execute(&db)
        .await?;
    Ok(())
}

/// One missed call per caller, at the given rate: each gets the greeting.
async fn call_all(
    a: &Args,
    sandbox: &Sandbox,
    twilio_number: &str,
    callers: &[String],
) -> anyhow::Result<()> {
    let completed = format!("{}/webhook/voice/call-completed", a.api);
    for caller in callers {
        let params = crate::setup::missed_call_params(caller, twilio_number);
        sandbox
            .post_signed(&completed, AUTH_TOKEN, &params)
            .await
            .map_err(anyhow::Error::msg)?;
        tokio::time::sleep(Duration::from_secs_f64(1.0 / a.rate)).await;
    }
    Ok(())
}

/// Waits (up to a minute) until the carrier has sent `n` texts to `callers`.
async fn wait_for_texts(sandbox: &Sandbox, callers: &[String], n: usize) {
    let texts = || {
        sandbox
            .messages()
            .iter()
            .filter(|m| callers.contains(&m.to))
            .count()
    };
    let deadline = Instant::now() + Duration::from_mins(1);
    while texts() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One text per caller, at the rate: when each was sent (µs since the epoch), and how many
/// webhooks failed.
async fn text_all(
    a: &Args,
    sandbox: &Sandbox,
    twilio_number: &str,
    callers: &[String],
) -> anyhow::Result<(HashMap<String, u128>, usize)> {
    let incoming = format!("{}/webhook/sms/incoming", a.api);
    let mut sent_at: HashMap<String, u128> = HashMap::new();
    let mut errors = 0;
    for caller in callers {
        let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
        let params: Vec<(String, String)> = vec![
            ("AccountSid".into(), ACCOUNT_SID.into()),
            ("Body".into(), "Hi, my kitchen sink won't drain".into()),
            ("From".into(), caller.clone()),
            ("MessageSid".into(), sid),
            ("NumMedia".into(), "0".into()),
            ("To".into(), twilio_number.into()),
        ];
        sent_at.insert(caller.clone(), now_us());
        if sandbox
            .post_signed(&incoming, AUTH_TOKEN, &params)
            .await
            .map_err(anyhow::Error::msg)?
            .0
            != 200
        {
            errors += 1;
        }
        tokio::time::sleep(Duration::from_secs_f64(1.0 / a.rate)).await;
    }
    Ok((sent_at, errors))
}

/// Caller text → assistant reply at the carrier, ms, for every reply; and the texts beyond the
/// greeting and one reply per caller.
fn replies(sandbox: &Sandbox, sent_at: &HashMap<String, u128>) -> (Vec<f64>, usize) {
    let mut latencies = Vec::new();
    let mut per_caller: HashMap<String, usize> = HashMap::new();
    for m in sandbox.messages() {
        if let Some(t0) = sent_at.get(&m.to) {
            *per_caller.entry(m.to.clone()).or_default() += 1;
            if m.received_unix_us > *t0 {
                latencies.push((m.received_unix_us - t0) as f64 / 1000.0);
            }
        }
    }
    let duplicates: usize = per_caller.values().map(|n| n.saturating_sub(2)).sum();
    (latencies, duplicates)
}

/// Greets every caller, has each text once, and reports the replies; exits 1 unless every caller
/// got exactly one.
pub async fn run(a: &Args, sandbox: &Sandbox, twilio_number: &str) -> anyhow::Result<()> {
    answer_at_once(a, twilio_number).await?;
    let engine = match &a.llm_double_bind {
        Some(bind) => {
            serve_llm_double(bind).await?;
            "LLM (local OpenAI-compatible double, answers at once)"
        }
        None => "rules",
    };
    let callers: Vec<String> = (0..a.callers).map(|i| format!("+1512444{i:04}")).collect();
    // Greetings first (not measured here), at the given rate.
    call_all(a, sandbox, twilio_number, &callers).await?;
    wait_for_texts(sandbox, &callers, callers.len()).await;
    // Then one text per caller, at the rate.
    let (sent_at, errors) = text_all(a, sandbox, twilio_number, &callers).await?;
    wait_for_texts(sandbox, &callers, callers.len() * 2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (mut latencies, duplicates) = replies(sandbox, &sent_at);
    let replied = latencies.len();
    println!(
        "nmc-bench conversation: {} callers texting at {} /s, assistant: {engine}",
        a.callers, a.rate
    );
    print_row(
        "caller text webhook sent → assistant reply at carrier",
        &mut latencies,
    );
    println!(
        "  replies {replied}/{}, duplicates {duplicates}, webhook errors {errors}",
        a.callers
    );
    if replied != a.callers || duplicates != 0 {
        std::process::exit(1);
    }
    Ok(())
}
