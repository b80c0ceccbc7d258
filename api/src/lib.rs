//! `nmc-api`: Twilio webhooks, the admin API, health, and the built-in Twilio sandbox.

pub mod admin;
pub mod auth;
pub mod config;
pub mod error;
pub mod events;
pub mod inbox;
pub mod insights;
pub mod numbers;
pub mod openapi;
pub mod owner;
pub mod temporal;
pub mod web;
pub mod webhook;

use std::future::Future;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use nmc_store::{PgPool, SecretBox};
use serde_json::json;
use tokio::net::TcpListener;

pub use config::Config;
pub use temporal::Temporal;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub temporal: Temporal,
    pub secrets: SecretBox,
    pub config: std::sync::Arc<Config>,
    /// The built-in carrier, when no real Twilio is configured.
    pub sandbox: Option<nmc_sandbox::Sandbox>,
    /// Calendar adapters (OAuth code exchange when an owner connects a calendar).
    pub calendars: nmc_calendar::Calendars,
    pub mailer: auth::Mailer,
    /// Committed events for the live feed, from this instance's LISTEN connection.
    pub events: events::EventHub,
    pub login_limiter: auth::LoginLimiter,
}

impl AppState {
    /// Connects to the database (applying migrations) and, in the background, to Temporal.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = nmc_store::connect(&config.database_url, 16).await?;
        nmc_store::migrate(&db).await?;
        let secrets = SecretBox::from_base64(&config.secret_key)?;
        let temporal = Temporal::connect_in_background(
            config.temporal_address.clone(),
            config.temporal_namespace.clone(),
            config.task_queue.clone(),
            config.conversation_idle_secs,
        );
        let sandbox = config.sandbox.then(nmc_sandbox::Sandbox::new);
        let events = events::EventHub::start(db.clone());
        Ok(Self { db, temporal, secrets, config: std::sync::Arc::new(config), sandbox, calendars: nmc_calendar::Calendars::from_env(), mailer: Default::default(), login_limiter: Default::default(), events })
    }
}

pub fn router(state: AppState) -> Router {
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi::serve))
        .merge(admin::router())
        .merge(auth::router())
        .merge(web::router())
        .merge(events::router())
        .merge(owner::router())
        .merge(webhook::voice::router())
        .merge(webhook::sms::router())
        .route_layer(axum::middleware::from_fn(record_latency))
        .layer(axum::middleware::from_fn(error::json_for_framework_errors))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .with_state(state.clone());
    if let Some(sandbox) = &state.sandbox {
        app = app.nest("/sandbox", sandbox.router());
    }
    app
}

/// Serves until `shutdown` resolves. Tests bind port 0 and pass the listener in.
pub async fn run(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    // Client addresses feed the log-in rate limit.
    axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await
}

/// Every matched request into the latency histograms, by route pattern; webhooks and bookings
/// also into their SLO histograms.
async fn record_latency(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let started = std::time::Instant::now();
    let route = req.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let method = req.method().clone();
    let response = next.run(req).await;
    // A live feed stays open for minutes: its duration is not a latency.
    if route == "/api/events" {
        return response;
    }
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status();
    nmc_telemetry::HTTP_SECONDS.with_label_values(&[method.as_str(), &route, status.as_str()]).observe(seconds);
    if route.starts_with("/webhook/") {
        nmc_telemetry::WEBHOOK_SECONDS.with_label_values(&[&route]).observe(seconds);
    } else if route == "/api/appointments" && method == axum::http::Method::POST {
        let outcome = match status.as_u16() {
            201 => "booked",
            409 => "slot_taken",
            _ => "refused",
        };
        nmc_telemetry::BOOKING_SECONDS.with_label_values(&[outcome]).observe(seconds);
    }
    response
}

/// Prometheus metrics. With `NMC_METRICS_TOKEN` set, only a bearer of it may scrape.
async fn metrics(headers: axum::http::HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse;
    static TOKEN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let token = TOKEN.get_or_init(|| std::env::var("NMC_METRICS_TOKEN").ok().filter(|t| !t.is_empty()));
    if let Some(t) = token {
        let given = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
        if !bool::from(subtle::ConstantTimeEq::ct_eq(given.as_bytes(), t.as_bytes())) {
            return error::ApiError::Unauthorized.into_response();
        }
    }
    nmc_telemetry::init_metrics();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], nmc_telemetry::render()).into_response()
}

async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let (db, temporal) = tokio::join!(nmc_store::ping(&state.db), state.temporal.ping());
    let db = db.map_err(|e| e.to_string());
    let ok = db.is_ok() && temporal.is_ok();
    let show = |r: &Result<(), String>| match r {
        Ok(()) => json!("ok"),
        Err(e) => json!({"error": e}),
    };
    let body = json!({"status": if ok { "ok" } else { "unavailable" }, "database": show(&db), "temporal": show(&temporal)});
    (if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}

/// Notes that the workflow has the event, off the request path: if this write is lost, a
/// Twilio retry signals again and the workflow drops the duplicate by its sid.
pub(crate) fn mark_signalled_later(state: &AppState, event_id: uuid::Uuid) {
    let db = state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = nmc_store::webhook::mark_signalled(&db, event_id).await {
            tracing::warn!(error = %e, "could not mark webhook event as signalled");
        }
    });
}
