//! What operators see: structured logs and the Prometheus metrics behind the SLOs.
//!
//! Logs are JSON lines by default (`NMC_LOG_FORMAT=text` for people); callers' numbers only ever
//! appear masked (`E164::masked`, last four digits) and message bodies are never logged at info.
//! Metrics are process-wide; `nmc-api` serves them at `/metrics`, `nmc-worker` on
//! `NMC_METRICS_BIND` (default 127.0.0.1:9464). docs/OPERATIONS.md lists them and the alerts.

use std::sync::LazyLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

pub static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let r = Registry::new_custom(Some("nmc".into()), None).expect("registry");
    #[cfg(target_os = "linux")]
    let _ = r.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ));
    r
});

/// Seconds, from a few milliseconds (webhook answers) to minutes (replies after the owner's head start).
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 75.0, 120.0,
    300.0,
];

fn histogram(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let h = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()),
        labels,
    )
    .expect("histogram");
    REGISTRY
        .register(Box::new(h.clone()))
        .expect("register histogram");
    h
}

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("counter");
    REGISTRY
        .register(Box::new(c.clone()))
        .expect("register counter");
    c
}

/// Every HTTP request the API answers, by route pattern (never the raw path: ids stay out).
pub static HTTP_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    histogram(
        "http_request_duration_seconds",
        "Time to answer an HTTP request",
        &["method", "route", "status"],
    )
});

/// SLO: Twilio webhook in → our answer out.
pub static WEBHOOK_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    histogram(
        "webhook_answer_seconds",
        "Time to answer a Twilio webhook",
        &["hook"],
    )
});

/// SLO: booking through the owner API (POST /api/appointments).
pub static BOOKING_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    histogram(
        "booking_seconds",
        "Time to book an appointment through the API",
        &["outcome"],
    )
});

fn plain_histogram(name: &str, help: &str) -> Histogram {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()))
        .expect("histogram");
    REGISTRY
        .register(Box::new(h.clone()))
        .expect("register histogram");
    h
}

/// SLO: missed call recorded → greeting accepted by the carrier.
pub static FIRST_TEXT_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    plain_histogram(
        "missed_call_first_text_seconds",
        "Missed call recorded to first text accepted by the carrier",
    )
});

/// SLO: caller's text recorded → the assistant's reply accepted (includes the owner's head start).
pub static REPLY_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    plain_histogram(
        "reply_seconds",
        "Caller text recorded to the assistant's reply accepted by the carrier",
    )
});

/// Texts by kind and outcome; `code` is the carrier's error code (0 when sent).
pub static TEXTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "texts_total",
        "Texts by kind, outcome (sent, failed, held, suppressed) and carrier error code",
        &["kind", "outcome", "code"],
    )
});

/// Carrier answers that Temporal retries (429, 5xx, timeouts).
pub static CARRIER_RETRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "carrier_retries_total",
        "Carrier calls that failed in a retryable way",
        &["reason"],
    )
});

/// Recorded webhooks the worker's outbox had to signal (the API could not), by outcome
/// (signalled, failed): non-zero means Temporal was away from the API for a while.
pub static OUTBOX_SIGNALS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "webhook_outbox_signals_total",
        "Recorded webhooks signalled by the worker's outbox",
        &["outcome"],
    )
});

/// Model replies not sent because they made no sense (`nmc_assistant::plausible`), by reason;
/// the rules assistant answered those turns.
pub static MODEL_REPLIES_REJECTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "assistant_model_replies_rejected_total",
        "Model replies replaced by the rules assistant's, by the reason they were refused",
        &["reason"],
    )
});

/// Registers every metric, so a scrape shows them all (at zero) from the start.
pub fn init_metrics() {
    LazyLock::force(&HTTP_SECONDS);
    LazyLock::force(&WEBHOOK_SECONDS);
    LazyLock::force(&BOOKING_SECONDS);
    LazyLock::force(&FIRST_TEXT_SECONDS);
    LazyLock::force(&REPLY_SECONDS);
    LazyLock::force(&TEXTS);
    LazyLock::force(&CARRIER_RETRIES);
    LazyLock::force(&OUTBOX_SIGNALS);
    LazyLock::force(&MODEL_REPLIES_REJECTED);
}

/// The Prometheus text exposition of everything registered.
pub fn render() -> String {
    let mut out = Vec::new();
    let _ = TextEncoder::new().encode(&REGISTRY.gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Logs: JSON lines unless `NMC_LOG_FORMAT=text`; level from `RUST_LOG` (default `info`).
pub fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| default_filter.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var("NMC_LOG_FORMAT").is_ok_and(|f| f == "text") {
        builder.init();
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init();
    }
}

/// The worker's metrics endpoint (the API serves `/metrics` on its own port).
pub async fn serve_metrics(bind: std::net::SocketAddr) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            ([("content-type", "text/plain; version=0.0.4")], render())
        }),
    );
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tracing::info!(%bind, "metrics endpoint listening");
    axum::serve(listener, app).await
}
