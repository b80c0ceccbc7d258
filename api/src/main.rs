use nmc_api::{AppState, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into())).init();
    let config = Config::from_env()?;
    tracing::info!(?config, "starting nmc-api");
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let state = AppState::build(config).await?;
    nmc_api::run(listener, state, async {
        // Ctrl-C locally, SIGTERM from docker / systemd: finish the requests in flight, then stop.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    })
    .await?;
    Ok(())
}
