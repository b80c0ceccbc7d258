use nmc_api::{AppState, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    nmc_telemetry::init_logging("info");
    nmc_telemetry::init_metrics();
    let config = Config::from_env()?;
    tracing::info!(?config, "starting nmc-api");
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let state = AppState::build(config).await?;
    nmc_api::run(listener, state, async {
        // Ctrl-C locally, SIGTERM from docker / systemd: finish the requests in flight, then stop.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    })
    .await?;
    Ok(())
}
