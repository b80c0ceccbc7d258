//! What the load run watches besides the texts: the API's and worker's memory and CPU, sampled from
//! /proc, and the live feed of the first business (event committed → received here).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use super::Stage;
use crate::Args;

/// Per process name: peak resident memory (MiB), and CPU seconds at the first and the last sample.
pub(super) type Peaks = Arc<Mutex<HashMap<&'static str, (f64, f64, f64)>>>;

/// Peak resident memory (MiB) and CPU seconds of a process, from /proc.
fn proc_sample(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some((rss_kb / 1024.0, ticks / 100.0))
}

/// Samples the API's and the worker's process (`--api-pid`, `--worker-pid`) every 250 ms until
/// aborted.
pub(super) fn spawn_sampler(a: &Args) -> (Peaks, JoinHandle<()>) {
    let peaks: Peaks = Arc::default();
    let sampler = {
        let peaks = peaks.clone();
        let pids = [("api", a.api_pid), ("worker", a.worker_pid)];
        tokio::spawn(async move {
            loop {
                for (name, pid) in pids {
                    if let Some(pid) = pid
                        && let Some((rss, cpu)) = proc_sample(pid)
                    {
                        let mut p = peaks.lock().unwrap();
                        let e = p.entry(name).or_insert((0.0, cpu, cpu));
                        e.0 = e.0.max(rss);
                        e.2 = cpu;
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    (peaks, sampler)
}

/// Subscribes to the live feed of the first business: each event's delay from its commit, ms.
pub(super) async fn spawn_feed(
    http: &reqwest::Client,
    api: &str,
    token: &str,
) -> anyhow::Result<Arc<Mutex<Stage>>> {
    let sse: Arc<Mutex<Stage>> = Arc::default();
    {
        let sse = sse.clone();
        let mut resp = http
            .get(format!("{api}/api/events"))
            .bearer_auth(token)
            .send()
            .await?;
        tokio::spawn(async move {
            let mut buf = String::new();
            while let Ok(Some(chunk)) = resp.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let frame: String = buf.drain(..end + 2).collect();
                    if let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:"))
                        && let Ok(v) = serde_json::from_str::<Value>(data.trim())
                        && let Some(at) = v["data"]["created_at"]
                            .as_str()
                            .or(v["created_at"].as_str())
                            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    {
                        let ms = (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
                            .num_microseconds()
                            .unwrap_or(0) as f64
                            / 1000.0;
                        sse.lock().unwrap().0.push(ms);
                    }
                }
            }
        });
    }
    Ok(sse)
}
