//! End-to-end harness: a fresh PostgreSQL database per test, the shared Temporal dev server
//! started by `scripts/test`, nmc-api in-process on port 0, the sandbox carrier on port 0, and
//! `nmc-worker` as a real child process (so a test can kill -9 it).
//!
//! `TestApp::spawn()` is the common stack; `TestApp::builder()` changes it (no business, a
//! short idle close, worker environment, the built-in sandbox, API configuration).
// An end-to-end test reads as one story, start to finish: long is fine here.
#![allow(clippy::too_many_lines)]

use std::path::PathBuf;

use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::net::TcpListener;
use uuid::Uuid;

mod app;
pub mod browser;
mod doubles;
pub mod model_server;
pub mod smtp;
pub mod voice;
mod wait;
mod webhooks;

pub use app::{TestApp, TestAppBuilder};
pub use doubles::{EventStream, FeedEvent, LlmDouble};
pub use smtp::{Mail, SmtpServer, Tls};
pub use voice::objects_dir;
pub use wait::{DUPLICATE_WINDOW, wait_for, wait_until};

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const SECRET_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const ACCOUNT_SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";
pub const TWILIO_NUMBER: &str = "+15005550006";
pub const BUSINESS_PHONE: &str = "+15125550100";
pub const OWNER_PHONE: &str = "+15125550111";
/// The platform's own number: test calls and one-time codes come from it.
pub const PLATFORM_NUMBER: &str = "+15005550001";
/// The Stripe double's secret key and webhook signing secret.
pub const STRIPE_KEY: &str = "sk_test_nevermisscall";
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_test_nevermisscall";
pub const OWNER_PASSWORD: &str = "correct horse battery staple";

fn admin_database_url() -> String {
    std::env::var("NMC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Creates an empty database on the test server; returns its URL.
async fn fresh_database() -> String {
    let name = format!("nmc_test_{}", Uuid::new_v4().simple());
    let admin = PgPool::connect(&admin_database_url())
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("create database {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    format!(
        "{}/{name}",
        admin_database_url().rsplit_once('/').unwrap().0
    )
}

pub fn temporal_address() -> String {
    std::env::var("TEMPORAL_ADDRESS").unwrap_or_else(|_| "http://127.0.0.1:17233".into())
}

/// The workspace's built binaries sit two levels above a test executable (target/debug/deps/…).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe path");
    exe.parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .join(name)
}

pub(crate) async fn serve(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// Set in the child process `in_own_process` starts.
const ALONE: &str = "NMC_TEST_IN_OWN_PROCESS";

/// For a test that reads process-wide state (the API's Prometheus registry): all tests share one
/// binary, so the test runs again, alone, in a fresh process of it. Returns true in that process
/// (go on with the test) and false in the calling one, once the child has passed.
/// `module` is `module_path!()`, `test` the test function's name.
pub fn in_own_process(module: &str, test: &str) -> bool {
    if std::env::var_os(ALONE).is_some() {
        return true;
    }
    // Test names leave out the crate: `it::operability` runs as `operability::…`.
    let module = module.split_once("::").map_or("", |(_, rest)| rest);
    let name = if module.is_empty() {
        test.to_owned()
    } else {
        format!("{module}::{test}")
    };
    let out = std::process::Command::new(std::env::current_exe().expect("test exe path"))
        .args(["--exact", &name, "--nocapture", "--test-threads=1"])
        .env(ALONE, "1")
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{name} failed in its own process:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "{name} did not run in its own process:\n{stdout}"
    );
    false
}

/// Logs in through the API; returns the access token.
pub async fn log_in(http: &reqwest::Client, api: &str, email: &str, password: &str) -> String {
    let r = http
        .post(format!("{api}/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "log-in failed: {}",
        r.text().await.unwrap()
    );
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A fresh, migrated database with one business, for store-level tests that need no Temporal.
pub async fn database_with_business(max_connections: u32) -> (PgPool, Uuid) {
    let url = fresh_database().await;
    let pool = nmc_store::connect(&url, max_connections).await.unwrap();
    nmc_store::migrate(&pool).await.unwrap();
    let id: Uuid = sqlx::query_scalar(
        "insert into businesses (name, owner_name, owner_phone, owner_email, business_phone, twilio_number, twilio_account_sid,
             twilio_auth_token_enc, timezone, call_mode, business_hours)
         values ('Acme Plumbing', 'Dana', '+15125550111', 'dana@acme.example', '+15125550100', $1, 'ACx', 'sealed',
                 'America/Chicago', 'dial_through', '{}') returning id",
    )
    .bind(format!("+1500{:07}", rand_digits()))
    .fetch_one(&pool)
    .await
    .unwrap();
    (pool, id)
}

fn rand_digits() -> u32 {
    (Uuid::new_v4().as_u128() % 10_000_000) as u32
}

pub fn all_week_open() -> Value {
    let day = json!({"open": "00:00", "close": "23:59"});
    json!({"monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day, "saturday": day, "sunday": day})
}

pub fn never_open() -> Value {
    json!({})
}

/// Quiet hours that do not cover now (a one-minute window twelve hours away, in the test
/// business's timezone): for tests whose follow-ups must go out whenever they run. Quiet hours
/// cannot be switched off (an empty window means the default 21:00–08:00).
pub fn quiet_hours_away() -> String {
    let local = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Chicago)
        .time()
        + chrono::Duration::hours(12);
    let end = local + chrono::Duration::minutes(1);
    format!(
        "quiet_start = '{}', quiet_end = '{}'",
        local.format("%H:%M"),
        end.format("%H:%M")
    )
}

impl TestApp {
    /// Proves a member's alert phone as they would: asks for a code, reads it off the text
    /// from the platform's number, and enters it.
    pub async fn prove_phone(&self, token: &str, phone: &str) {
        let post = |path: &str, body: Value| {
            self.http
                .post(format!("{}{path}", self.api_url))
                .bearer_auth(token)
                .json(&body)
                .send()
        };
        let r = post("/api/me/phone/code", json!({})).await.unwrap();
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        let texts = self.texts_to(phone);
        let code = texts
            .iter()
            .rev()
            .find(|m| m.from == PLATFORM_NUMBER)
            .map(|m| m.body[..6].to_owned())
            .expect("the code's text");
        let r = post("/api/me/phone/verify", json!({ "code": code }))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
}
