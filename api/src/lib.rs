//! `nmc-api`: Twilio webhooks, the admin API, health, and the built-in Twilio sandbox.

pub mod admin;
pub mod alerts;
pub mod auth;
pub mod billing;
pub mod calendar_connect;
pub mod config;
pub mod crm;
pub mod error;
pub mod events;
pub mod extract;
pub mod forwarding;
pub mod inbox;
pub mod insights;
pub mod messaging;
pub mod notifications;
pub mod numbers;
pub mod openapi;
pub mod owner;
pub mod phone_codes;
pub mod privacy;
pub mod push;
pub mod reviews;
pub mod temporal;
pub mod voice;
pub mod voice_agent;
pub mod web;
pub mod webhook;

use std::future::Future;

use axum::extract::{DefaultBodyLimit, MatchedPath, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use nmc_store::{PgPool, SecretBox};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use extract::ApiJson;
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
    /// Google Places, for "find my business" (none unless configured).
    pub places: Option<std::sync::Arc<nmc_geocode::places::Places>>,
    /// The CRM adapters (checked when an owner connects one).
    pub crms: nmc_crm::Crms,
    pub mailer: auth::Mailer,
    /// Committed events for the live feed, from this instance's LISTEN connection.
    pub events: events::EventHub,
    pub login_limiter: auth::LoginLimiter,
    /// Opens the short signed links in alerts (`/n/{token}`).
    pub links: nmc_store::AlertLinks,
    /// The VAPID key's public half, for browsers subscribing to push.
    pub vapid_public_key: String,
    /// Recordings and uploaded greetings.
    pub storage: nmc_storage::Storage,
    /// The AI voice agent's platform.
    pub vapi: nmc_vapi::VapiClient,
    /// Places the business's address for a service-area radius (`NMC_GEOCODER_URL`).
    pub geocoder: Option<std::sync::Arc<nmc_geocode::Geocoder>>,
}

impl AppState {
    /// Connects to the database (applying migrations) and, in the background, to Temporal.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = nmc_store::connect(&config.database_url, config.database_pool_size).await?;
        migrate(&config, &db).await?;
        let secrets = SecretBox::from_base64(config.secret_key.expose_secret())?;
        let links = nmc_store::AlertLinks::new(config.secret_key.expose_secret());
        let vapid = nmc_store::push::vapid_key(
            &db,
            &secrets,
            config
                .vapid_private_key
                .as_ref()
                .map(ExposeSecret::expose_secret),
        )
        .await?;
        let temporal = Temporal::connect_in_background(
            config.temporal_address.clone(),
            config.temporal_namespace.clone(),
            config.task_queue.clone(),
            config.conversation_idle_secs,
        );
        let sandbox = config.sandbox.then(|| built_in_sandbox(&config));
        let events = events::EventHub::start(db.clone());
        let storage = config.storage.clone();
        let vapi = nmc_vapi::VapiClient::new(&config.vapi_api_base);
        let geocoder = config
            .geocoder
            .as_ref()
            .map(|g| std::sync::Arc::new(nmc_geocode::Geocoder::new(g)));
        let places = config.google_places.as_ref().map(|(base, key)| {
            std::sync::Arc::new(nmc_geocode::places::Places::new(base, key.clone()))
        });
        // A plain-http deployment (development, tests) may send webhooks to local receivers.
        let crms = nmc_crm::Crms::from_env(config.public_base_url.starts_with("http://"));
        Ok(Self {
            vapi,
            geocoder,
            db,
            temporal,
            secrets,
            config: std::sync::Arc::new(config),
            sandbox,
            calendars: nmc_calendar::Calendars::from_env(),
            crms,
            places,
            mailer: Default::default(),
            login_limiter: Default::default(),
            events,
            links,
            vapid_public_key: vapid.public_base64(),
            storage,
        })
    }
}

/// Migrations as the schema's owner when `DATABASE_MIGRATE_URL` names one, so the pool the
/// services use can be a role that owns nothing (RLS then binds it); else over the pool.
async fn migrate(config: &Config, db: &PgPool) -> anyhow::Result<()> {
    match &config.database_migrate_url {
        Some(url) => {
            let owner = nmc_store::connect(url, 1).await?;
            nmc_store::migrate(&owner).await?;
            owner.close().await;
        }
        None => nmc_store::migrate(db).await?,
    }
    Ok(())
}

/// The carrier double, locked down: the control API takes the admin token, the REST API only
/// known accounts (the platform's here; each number brings its own), and webhooks go only
/// under PUBLIC_BASE_URL, so no account can point the server at an internal address.
fn built_in_sandbox(config: &Config) -> nmc_sandbox::Sandbox {
    let sandbox = nmc_sandbox::Sandbox::new()
        .with_admin_token(config.admin_token.expose_secret())
        .with_webhook_base(&config.public_base_url);
    sandbox.set_public_base(&format!("{}/sandbox", config.public_base_url));
    let (sid, token) = config.platform_twilio();
    sandbox.register_account(&sid, &token);
    if let Some(n) = &config.platform_number {
        // The platform's number: test calls and codes come from it; nothing calls it back.
        sandbox.register_number(n, &sid, &token, "", "");
    }
    // The Vapi double's account for development, on loopback only: its key is in the source,
    // and every business there shares the one account.
    if config.bind.ip().is_loopback() {
        sandbox.vapi.add_key(nmc_sandbox::vapi::DEV_KEY);
    }
    sandbox
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
        .merge(owner::router(&state))
        .merge(webhook::voice::router())
        .merge(webhook::sms::router())
        .route(
            "/oauth/{provider}/callback",
            get(calendar_connect::callback),
        )
        .route(
            "/webhook/stripe",
            axum::routing::post(billing::webhook::stripe_webhook),
        )
        .route_layer(axum::middleware::from_fn(record_latency))
        .layer(axum::middleware::from_fn(error::json_for_framework_errors))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        // Cross-site state-changing requests refused; HSTS over https.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::security::guard,
        ))
        .with_state(state.clone());
    if let Some(sandbox) = &state.sandbox {
        app = app.nest("/sandbox", sandbox.router());
    }
    // The last layer added runs first: the request gets its id (or keeps the caller's), the
    // span carries it, and the response hands it back in `x-request-id`.
    app.layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Each request's span: method, route and request id, so every log line it causes (a 500's
/// too) names the request. The route pattern rather than the path when one matched, since a
/// path can carry a secret (the iCalendar feed's token); never the query string.
fn request_span(req: &axum::extract::Request) -> tracing::Span {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path(), MatchedPath::as_str);
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", method = %req.method(), path, request_id)
}

/// Serves until `shutdown` resolves. Tests bind port 0 and pass the listener in.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Client addresses feed the log-in rate limit.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Every matched request into the latency histograms, by route pattern; webhooks and bookings
/// also into their SLO histograms.
async fn record_latency(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let method = req.method().clone();
    let response = next.run(req).await;
    // A live feed stays open for minutes: its duration is not a latency.
    if route == "/api/events" {
        return response;
    }
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status();
    nmc_telemetry::HTTP_SECONDS
        .with_label_values(&[method.as_str(), &route, status.as_str()])
        .observe(seconds);
    if route.starts_with("/webhook/") {
        nmc_telemetry::WEBHOOK_SECONDS
            .with_label_values(&[&route])
            .observe(seconds);
    } else if route == "/api/appointments" && method == axum::http::Method::POST {
        let outcome = match status.as_u16() {
            201 => "booked",
            409 => "slot_taken",
            _ => "refused",
        };
        nmc_telemetry::BOOKING_SECONDS
            .with_label_values(&[outcome])
            .observe(seconds);
    }
    response
}

/// Prometheus metrics. With `NMC_METRICS_TOKEN` set, only a bearer of it may scrape; without one
/// they are served only to a plain-http (local) deployment, never on a public https one.
async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    static TOKEN: std::sync::OnceLock<Option<SecretString>> = std::sync::OnceLock::new();
    let token = TOKEN.get_or_init(|| {
        std::env::var("NMC_METRICS_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .map(SecretString::from)
    });
    match token {
        Some(t) => {
            let given = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or_default();
            if !bool::from(subtle::ConstantTimeEq::ct_eq(
                given.as_bytes(),
                t.expose_secret().as_bytes(),
            )) {
                return error::ApiError::Unauthorized.into_response();
            }
        }
        None if web::security::https(&state.config) => {
            let message = "metrics are not served openly on an https deployment: set NMC_METRICS_TOKEN and scrape with it as a bearer";
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"error": {"code": "forbidden", "message": message, "fields": {}}})),
            )
                .into_response();
        }
        None => {}
    }
    nmc_telemetry::init_metrics();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        nmc_telemetry::render(),
    )
        .into_response()
}

/// Each dependency as "ok" or "unavailable", with a short reason for Temporal; never the error
/// text itself (it can carry hosts and credentials' hints), which goes to the log instead.
async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let (db, temporal) = tokio::join!(nmc_store::ping(&state.db), temporal_health(&state));
    if let Err(e) = &db {
        tracing::warn!(error = %e, "healthz: database unavailable");
    }
    let ok = db.is_ok() && temporal.is_ok();
    let state_of = |up: bool| if up { "ok" } else { "unavailable" };
    let mut body = json!({"status": state_of(ok), "database": state_of(db.is_ok()), "temporal": state_of(temporal.is_ok())});
    if let Err(reason) = temporal {
        body["temporal_reason"] = json!(reason);
    }
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
}

/// Temporal answers, and knows the search attributes every conversation start sets (without
/// them each missed call would fail while this said "ok").
async fn temporal_health(state: &AppState) -> Result<(), &'static str> {
    if let Err(e) = state.temporal.ping().await {
        // Not connected yet: the background connect logs why.
        if e != "not connected" {
            tracing::warn!(error = %e, "healthz: Temporal unavailable");
        }
        return Err(match e.as_str() {
            "not connected" => "not connected",
            "timed out" => "timed out",
            _ => "unreachable",
        });
    }
    let client = state.temporal.client().ok_or("not connected")?;
    let check =
        nmc_temporal::connect::missing_search_attributes(client, &state.config.temporal_namespace);
    match tokio::time::timeout(std::time::Duration::from_secs(2), check).await {
        Ok(Ok(missing)) if missing.is_empty() => Ok(()),
        Ok(Ok(missing)) => {
            tracing::warn!(
                ?missing,
                "healthz: Temporal search attributes missing (the worker log names the commands)"
            );
            Err("search attributes missing")
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "healthz: Temporal search attributes not listed");
            Err("unreachable")
        }
        Err(_) => Err("timed out"),
    }
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
