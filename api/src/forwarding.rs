//! Proving the number works (`POST/GET /api/forwarding/test`): the platform calls the business's
//! own phone from its number; the business lets it ring out; the carrier's forwarding should
//! bring it to the NeverMissCall number, where the voice webhook recognises the platform's
//! number and marks forwarding verified. A dial-through business is rung on its NeverMissCall
//! number directly, which proves the number's webhooks reach us. The platform call's final
//! status, or 45 s of silence, explains a failure with the carrier's own dial codes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use nmc_domain::E164;
use nmc_domain::forwarding::{Carrier, Outcome, RING_SECS, TEST_WINDOW_SECS};
use nmc_store::forwarding::{self, Test};
use nmc_twilio::client::NewCall;
use nmc_twilio::twiml;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Tenant;
use crate::error::{ApiError, invalid};
use crate::owner::commit;
use crate::{ApiJson, AppState};

#[derive(Deserialize)]
pub struct Start {
    carrier: Option<String>,
}

/// `POST /api/forwarding/test`: rings the business (202), or 409 while a test is ringing.
pub async fn start(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(b): ApiJson<Start>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let carrier = match b.carrier.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            Carrier::parse(c)
                .ok_or_else(|| invalid("carrier", "one of att, tmobile, verizon, other"))?,
        ),
        None => None,
    };
    let Some((from, (sid, token))) = s.config.platform_caller() else {
        return Err(ApiError::Unavailable(
            "test calls (NMC_PLATFORM_NUMBER is not set)",
        ));
    };
    let mut tx = t.begin(&s.db).await?;
    let line = forwarding::line(&mut tx, t.business_id).await?;
    let number = line
        .twilio_number
        .ok_or_else(|| invalid("twilio_number", "pick your NeverMissCall number first"))?;
    let to = match line.call_mode.as_str() {
        "forwarded" => line
            .business_phone
            .ok_or_else(|| invalid("business_phone", "add the phone your customers call today"))?,
        _ => number,
    };
    let started = forwarding::start(
        &mut tx,
        t.business_id,
        (&from, &to),
        carrier.map(Carrier::code),
        TEST_WINDOW_SECS,
    )
    .await?;
    let Some(id) = started else {
        return Err(invalid(
            "test_call",
            "a test call is ringing now; wait for its result",
        ));
    };
    // Committed before the call is placed: the forwarded call can arrive before Twilio answers.
    commit(tx).await?;
    let say = "This is NeverMissCall testing your call forwarding. You can hang up now.";
    let callback = format!(
        "{}/webhook/voice/test-call?test={id}",
        s.config.public_base_url
    );
    let call = NewCall {
        account_sid: &sid,
        auth_token: &token,
        from: &from,
        to: &to,
        twiml: &twiml::Response::new().say(say).hangup().render(),
        ring_secs: RING_SECS,
        status_callback: &callback,
    };
    let placed = nmc_twilio::TwilioClient::new(s.config.twilio_api_base.clone())
        .create_call(&call)
        .await;
    match placed {
        Ok(c) => forwarding::placed(&s.db, id, &c.sid).await?,
        Err(e) => {
            tracing::warn!(error = %e, "the test call could not be placed");
            forwarding::failed(&s.db, id, Outcome::Unreachable.code(), None).await?;
        }
    }
    let mut tx = t.begin(&s.db).await?;
    let report = report(&mut tx, t.business_id).await?;
    commit(tx).await?;
    Ok((StatusCode::ACCEPTED, Json(report)))
}

/// `GET /api/forwarding/test`: the latest test, explained.
pub async fn latest(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let report = report(&mut tx, t.business_id).await?;
    commit(tx).await?;
    Ok(Json(report))
}

/// The business's forwarding state and its latest test, with what to do next.
pub async fn report(
    db: &mut sqlx::PgConnection,
    business_id: uuid::Uuid,
) -> Result<Value, ApiError> {
    let line = forwarding::line(db, business_id).await?;
    let test = forwarding::latest(db, business_id).await?;
    let carrier = line
        .phone_carrier
        .as_deref()
        .and_then(Carrier::parse)
        .unwrap_or(Carrier::Other);
    let number = line
        .twilio_number
        .as_deref()
        .and_then(|n| E164::parse(n).ok());
    Ok(json!({
        "call_mode": line.call_mode,
        "business_phone": line.business_phone,
        "verified_at": line.forwarding_verified_at,
        "carrier": line.phone_carrier,
        "carriers": Carrier::ALL.map(|c| json!({
            "code": c.code(),
            "name": c.name(),
            "turn_on": number.as_ref().and_then(|n| c.turn_on(n)),
            "turn_off": c.turn_off(),
        })),
        "test": test.map(|t| explain(&t, carrier, number.as_ref())),
    }))
}

/// A test's state in words: still ringing, or its outcome with the carrier's advice. A test
/// nothing came back for within the window has timed out.
fn explain(t: &Test, carrier: Carrier, number: Option<&E164>) -> Value {
    let overdue = Utc::now() - t.started_at > chrono::Duration::seconds(TEST_WINDOW_SECS.into());
    let outcome = match (t.status.as_str(), t.outcome.as_deref()) {
        ("calling", _) if overdue => Some(Outcome::TimedOut),
        ("calling", _) => None,
        (_, o) => o.and_then(Outcome::parse),
    };
    let status = match outcome {
        None => "calling",
        Some(Outcome::Verified) => "verified",
        Some(_) => "failed",
    };
    json!({
        "id": t.id,
        "status": status,
        "outcome": outcome.map(Outcome::code),
        "headline": outcome.map(Outcome::headline),
        "advice": match (outcome, number) {
            (Some(o), Some(n)) => o.advice(carrier, n),
            _ => vec![],
        },
        "rang": t.to_phone,
        "started_at": t.started_at,
        "finished_at": t.finished_at,
    })
}

#[derive(Deserialize)]
pub struct StatusQuery {
    pub test: uuid::Uuid,
}

/// `POST /webhook/voice/test-call?test=…`: the platform call's final status, signed with the
/// platform account's token. A status that is not final changes nothing.
pub async fn call_status(
    s: &AppState,
    test: uuid::Uuid,
    call_status: &str,
) -> Result<(), ApiError> {
    if let Some(outcome) = Outcome::from_call_status(call_status) {
        forwarding::failed(&s.db, test, outcome.code(), Some(call_status)).await?;
    }
    Ok(())
}
