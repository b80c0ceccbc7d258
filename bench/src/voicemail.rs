//! `--voicemail`: a caller leaves a voicemail → the owner's alert (with the transcript) reaches
//! the carrier, one caller at a time, next to its floor: the same offline engine transcribing the
//! same recording by itself, with no recording callback, storage, workflow or alert around it.

use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use nmc_sandbox::{CallRequest, Sandbox};

use crate::{Args, now_us, print_row};

/// The owner's phone the bench business was onboarded with (alerts are texted there).
const OWNER_PHONE: &str = "+15125550111";

const SAID: &str = "Hi, this is Sam Carter. My water heater is leaking all over the basement. Please call me back at 12 Oak Street.";

fn speak() -> anyhow::Result<Vec<u8>> {
    let path = std::env::temp_dir().join(format!("nmc-bench-vm-{}.wav", now_us()));
    let ok = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&path)
        .arg(SAID)
        .status()
        .context("espeak-ng (scripts/bench installs it)")?
        .success();
    anyhow::ensure!(ok, "espeak-ng failed");
    let wav = std::fs::read(&path)?;
    let _ = std::fs::remove_file(&path);
    Ok(wav)
}

/// Every missed call goes to voicemail, and the alert texts go out whatever the hour.
async fn route_to_voicemail(a: &Args, twilio_number: &str) -> anyhow::Result<()> {
    let url = a
        .database_url
        .as_deref()
        .context("--database-url (or DATABASE_URL) is needed to route calls to voicemail")?;
    let db = sqlx::PgPool::connect(url).await?;
    sqlx::query(
        "insert into routing_rules (business_id, grid) select id, repeat('v', 336) from businesses where twilio_number = $1
         on conflict (business_id) do update set grid = excluded.grid",
    )
    .bind(twilio_number)
    .execute(&db)
    .await?;
    sqlx::query("update alert_preferences set quiet_start = null, quiet_end = null")
        .execute(&db)
        .await?;
    Ok(())
}

/// The offline engine alone on `wav`, in ms.
fn floor(wav: &[u8]) -> anyhow::Result<f64> {
    let command = std::env::var("NMC_OFFLINE_TRANSCRIBER")
        .context("NMC_OFFLINE_TRANSCRIBER (scripts/bench sets it)")?;
    let mut words = command.split_whitespace();
    let program = words.next().context("empty NMC_OFFLINE_TRANSCRIBER")?;
    let path = std::env::temp_dir().join(format!("nmc-bench-floor-{}.wav", now_us()));
    std::fs::write(&path, wav)?;
    let t = Instant::now();
    let out = std::process::Command::new(program)
        .args(words)
        .arg(&path)
        .output()?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let _ = std::fs::remove_file(&path);
    anyhow::ensure!(out.status.success(), "the offline engine failed");
    Ok(ms)
}

pub async fn run(a: &Args, sandbox: &Sandbox, twilio_number: &str) -> anyhow::Result<()> {
    route_to_voicemail(a, twilio_number).await?;
    let wav = speak()?;
    let (_, secs) = nmc_domain::audio::check_greeting(&wav).map_err(|e| anyhow::anyhow!("{e}"))?;
    let audio = base64::engine::general_purpose::STANDARD.encode(&wav);
    let (mut alert, mut first_text, mut engine) = (vec![], vec![], vec![]);
    for i in 0..a.callers {
        let caller = format!("+1512777{i:04}");
        let alerts_before = sandbox
            .messages()
            .iter()
            .filter(|m| m.to == OWNER_PHONE)
            .count();
        let call = CallRequest {
            from: caller.clone(),
            to: twilio_number.to_owned(),
            outcome: Some("no-answer".into()),
            voicemail: Some(nmc_sandbox::voice::Voicemail {
                audio_base64: audio.clone(),
                duration_secs: secs.ceil() as u32,
            }),
            ..Default::default()
        };
        sandbox
            .place_call(call)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        // place_call returns once the recording callback was answered: the clock starts there.
        let ready_us = now_us();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let msgs = sandbox.messages();
            let owner = msgs
                .iter()
                .filter(|m| m.to == OWNER_PHONE)
                .skip(alerts_before);
            let voicemail_alert = owner
                .filter(|m| m.body.contains("oicemail from"))
                .map(|m| m.received_unix_us)
                .next();
            let text = msgs
                .iter()
                .find(|m| m.to == caller)
                .map(|m| m.received_unix_us);
            if let (Some(al), Some(tx)) = (voicemail_alert, text) {
                alert.push((al.saturating_sub(ready_us)) as f64 / 1000.0);
                first_text.push((tx.saturating_sub(ready_us)) as f64 / 1000.0);
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "caller {i}: no alert within 120 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        engine.push(floor(&wav)?);
    }
    println!(
        "voicemail → owner alert: {} callers one at a time, a {secs:.1} s recording (espeak-ng)",
        a.callers
    );
    print_row("recording ready → owner's alert at the carrier", &mut alert);
    print_row("recording ready → caller's first text", &mut first_text);
    print_row("floor: the offline engine alone, same audio", &mut engine);
    Ok(())
}
