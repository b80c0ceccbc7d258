//! The callers: the burst of missed calls spread over the businesses, and each caller's next move
//! once the greeting reaches them (text back, text STOP, or stay silent while the owner takes the
//! conversation over and texts them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nmc_sandbox::Sandbox;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{Caller, Stage};
use crate::{ACCOUNT_SID, AUTH_TOKEN, now_us};

/// What a caller who texts back says.
const REPLY: &str = "my kitchen sink is clogged, this is Sam at 12 Oak St";

/// POSTs `params` to `url`, signed as the carrier: the status (0 when unanswered) and the time, ms.
async fn signed_post(http: &reqwest::Client, url: &str, params: &[(String, String)]) -> (u16, f64) {
    let sig = nmc_twilio::signature::sign(AUTH_TOKEN, url, params);
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            form.append_pair(k, v);
        }
        form.finish()
    };
    let t = Instant::now();
    let status = match http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", sig)
        .body(body)
        .send()
        .await
    {
        Ok(r) => {
            let s = r.status().as_u16();
            let _ = r.bytes().await;
            s
        }
        Err(_) => 0,
    };
    (status, t.elapsed().as_secs_f64() * 1000.0)
}

/// A caller's text `body` from `from` to the business number `to`, as the carrier posts it.
fn sms_params(from: &str, to: &str, body: &str) -> Vec<(String, String)> {
    vec![
        ("AccountSid".into(), ACCOUNT_SID.into()),
        ("Body".into(), body.into()),
        ("From".into(), from.into()),
        (
            "MessageSid".into(),
            format!("SM{}", uuid::Uuid::new_v4().simple()),
        ),
        ("NumMedia".into(), "0".into()),
        ("To".into(), to.into()),
    ]
}

/// What the callers' moves share: who they are, the stack they talk to, and what they measure.
#[derive(Clone)]
pub(super) struct Play {
    pub callers: Arc<Mutex<HashMap<String, Caller>>>,
    pub http: reqwest::Client,
    pub api: String,
    /// The first business's owner.
    pub token: String,
    /// The caller-text webhook's answer times.
    pub webhook_sms: Arc<Mutex<Stage>>,
    /// Webhooks not answered 200.
    pub errors: Arc<AtomicUsize>,
}

/// Reads what the carrier received and plays each caller's next move, until aborted.
pub(super) fn spawn_collector(sandbox: Sandbox, play: Play) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut offset = 0;
        loop {
            let new = sandbox.messages_since(offset);
            offset += new.len();
            for m in new {
                let mut map = play.callers.lock().unwrap();
                let Some(c) = map.get_mut(&m.to) else {
                    continue;
                };
                c.got.push((m.received_unix_us, m.body.clone()));
                if c.got.len() != 1 {
                    continue;
                }
                // The greeting arrived: the caller's next move.
                let (caller, business, c2) = (m.to.clone(), c.business.clone(), c.clone());
                drop(map);
                tokio::spawn(next_move(play.clone(), caller, business, c2));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

/// A caller's move 300 ms after their greeting: the owner takes over, or they text back or STOP.
async fn next_move(play: Play, caller: String, business: String, c2: Caller) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    if c2.taken_over {
        take_over(&play, &caller).await;
        return;
    }
    let body = if c2.stops {
        "STOP"
    } else if c2.replies {
        REPLY
    } else {
        return;
    };
    let sent = now_us();
    let (status, ms) = signed_post(
        &play.http,
        &format!("{}/webhook/sms/incoming", play.api),
        &sms_params(&caller, &business, body),
    )
    .await;
    play.webhook_sms.lock().unwrap().0.push(ms);
    if status != 200 {
        play.errors.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(c) = play.callers.lock().unwrap().get_mut(&caller) {
        c.texted_us = Some(sent);
    }
}

/// The owner takes the caller's conversation and texts the caller.
async fn take_over(play: &Play, caller: &str) {
    let (http, api, token) = (&play.http, &play.api, &play.token);
    let list = match http
        .get(format!("{api}/api/conversations?limit=200"))
        .bearer_auth(token)
        .send()
        .await
    {
        Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let found = list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["caller_phone"] == caller))
        .and_then(|i| i["id"].as_str());
    if let Some(id) = found {
        let _ = http
            .post(format!("{api}/api/conversations/{id}/takeover"))
            .bearer_auth(token)
            .send()
            .await;
        let _ = http
            .post(format!("{api}/api/conversations/{id}/message"))
            .bearer_auth(token)
            .json(&json!({"body": "Hi, this is the owner. I'll call you in 5 minutes."}))
            .send()
            .await;
    }
}

/// `n` missed calls at `rate`, spread over the businesses (every 20th to the first): each
/// call-completed webhook's answer time, ms.
pub(super) async fn burst(
    play: &Play,
    numbers: &[String],
    rate: f64,
    n: usize,
) -> anyhow::Result<Stage> {
    let mut webhook_call = Stage::default();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(n);
    let url = format!("{}/webhook/voice/call-completed", play.api);
    for i in 0..n {
        ticker.tick().await;
        let business = if i % 20 == 0 {
            numbers[0].clone()
        } else {
            numbers[i % numbers.len()].clone()
        };
        let caller = format!("+17{i:09}");
        let r = i % 100;
        let c = Caller {
            business: business.clone(),
            called_us: now_us(),
            replies: r < 60,
            stops: (60..65).contains(&r),
            taken_over: i % 20 == 0 && i % 40 == 0,
            ..Default::default()
        };
        play.callers.lock().unwrap().insert(caller.clone(), c);
        let params = crate::setup::missed_call_params(&caller, &business);
        let (http, url) = (play.http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            signed_post(&http, &url, &params).await
        }));
    }
    for t in tasks {
        let (status, ms) = t.await?;
        webhook_call.0.push(ms);
        if status != 200 {
            play.errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(webhook_call)
}
