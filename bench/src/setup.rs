//! What every mode runs against: the sandbox carrier, served by this process, and a fresh
//! business onboarded through the admin API with its number configured in that sandbox.

use anyhow::Context;
use nmc_sandbox::Sandbox;
use serde_json::json;

use crate::{ACCOUNT_SID, AUTH_TOKEN, Args, now_us};

/// Serves the sandbox carrier at `bind`: the sandbox and its base URL.
pub async fn start_sandbox(bind: &str) -> anyhow::Result<(Sandbox, String)> {
    let sandbox = Sandbox::new();
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .context("bind the sandbox")?;
    let sandbox_base = format!("http://{}", listener.local_addr()?);
    sandbox.set_public_base(&sandbox_base);
    let router = sandbox.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((sandbox, sandbox_base))
}

/// The business just onboarded.
pub struct Business {
    pub twilio_number: String,
    pub owner_email: String,
}

/// A fresh business for this run, its number configured in our sandbox.
pub async fn onboard(
    a: &Args,
    http: &reqwest::Client,
    sandbox: &Sandbox,
) -> anyhow::Result<Business> {
    let twilio_number = format!("+1500{:07}", now_us() % 10_000_000);
    let owner_email = format!("owner-{}@bench.example", now_us());
    let resp = http
        .post(format!("{}/api/admin/businesses", a.api))
        .bearer_auth(&a.admin_token)
        .json(&json!({
            "name": "Bench Plumbing", "owner_name": "Bench Owner", "owner_phone": "+15125550111",
            "business_phone": "+15125550100", "twilio_number": twilio_number,
            "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN, "timezone": "America/Chicago",
            "call_mode": "dial_through",
            "owner_email": owner_email, "owner_password": "bench owner password"
        }))
        .send()
        .await?;
    anyhow::ensure!(
        resp.status() == 201,
        "onboarding failed: {} {}",
        resp.status(),
        resp.text().await?
    );
    sandbox.register_number(
        &twilio_number,
        ACCOUNT_SID,
        AUTH_TOKEN,
        &format!("{}/webhook/voice/incoming", a.api),
        &format!("{}/webhook/sms/incoming", a.api),
    );
    Ok(Business {
        twilio_number,
        owner_email,
    })
}

/// The form Twilio posts to `call-completed` when the business did not answer `caller`.
pub fn missed_call_params(caller: &str, twilio_number: &str) -> Vec<(String, String)> {
    vec![
        ("AccountSid".into(), ACCOUNT_SID.into()),
        (
            "CallSid".into(),
            format!("CA{}", uuid::Uuid::new_v4().simple()),
        ),
        ("CallStatus".into(), "in-progress".into()),
        ("DialCallStatus".into(), "no-answer".into()),
        ("Direction".into(), "inbound".into()),
        ("From".into(), caller.to_owned()),
        ("To".into(), twilio_number.to_owned()),
    ]
}
