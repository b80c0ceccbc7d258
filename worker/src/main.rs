//! `nmc-worker` runs the Temporal worker.
//!
//! `nmc-worker replay FILE...` replays saved histories (tests/histories/) and
//! `nmc-worker replay --workflow-id ID...` fetches live ones from TEMPORAL_ADDRESS; both replay
//! against this build's workflow code and exit non-zero on any mismatch (non-determinism).

use temporalio_client::WorkflowFetchHistoryOptions;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let replaying = args.first().map(String::as_str) == Some("replay");
    let default_log = if replaying { "warn" } else { "info" };
    nmc_telemetry::init_logging(default_log);
    if replaying {
        return replay(&args[1..]).await;
    }
    nmc_telemetry::init_metrics();
    // Prometheus scrapes the worker here; "off" turns it off. A taken port is logged, not fatal.
    let bind = std::env::var("NMC_METRICS_BIND").unwrap_or_else(|_| "127.0.0.1:9464".into());
    if bind != "off" {
        match bind.parse() {
            Ok(addr) => {
                tokio::spawn(async move {
                    if let Err(e) = nmc_telemetry::serve_metrics(addr).await {
                        tracing::warn!(error = %e, "metrics endpoint not available");
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "NMC_METRICS_BIND is not an address"),
        }
    }
    nmc_worker::run(nmc_worker::WorkerConfig::from_env()?).await
}

async fn replay(args: &[String]) -> anyhow::Result<()> {
    let (ids, files): (Vec<&String>, Vec<&String>) = match args.first().map(String::as_str) {
        Some("--workflow-id") => (args[1..].iter().collect(), vec![]),
        _ => (vec![], args.iter().collect()),
    };
    anyhow::ensure!(
        !ids.is_empty() || !files.is_empty(),
        "usage: nmc-worker replay HISTORY.json... | nmc-worker replay --workflow-id ID..."
    );
    let mut results = Vec::new();
    for file in files {
        results.push((
            file.clone(),
            nmc_temporal::replay::replay_json(&std::fs::read(file)?).await,
        ));
    }
    if !ids.is_empty() {
        let address = std::env::var("TEMPORAL_ADDRESS").unwrap_or_else(|_| "127.0.0.1:7233".into());
        let namespace = std::env::var("TEMPORAL_NAMESPACE").unwrap_or_else(|_| "default".into());
        let client = nmc_worker::connect(&address, &namespace).await?;
        for id in ids {
            let handle =
                client.get_workflow_handle::<nmc_workflows::ConversationWorkflow>(id.clone());
            let history = handle.fetch_history(WorkflowFetchHistoryOptions::default());
            results.push((id.clone(), nmc_temporal::replay::replay(history).await));
        }
    }
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    for (what, r) in &results {
        match r {
            Ok(()) => println!("ok      {what}"),
            Err(e) => println!("FAILED  {what}\n        {e}"),
        }
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} histories no longer replay against this code",
            results.len()
        );
        std::process::exit(1);
    }
    Ok(())
}
