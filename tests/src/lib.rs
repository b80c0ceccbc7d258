//! End-to-end harness: a fresh PostgreSQL database per test, the shared Temporal dev server
//! started by `scripts/test`, nmc-api in-process on port 0, the sandbox carrier on port 0, and
//! `nmc-worker` as a real child process (so a test can kill -9 it).

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

pub mod browser;
mod doubles;

pub use doubles::{EventStream, FeedEvent, LlmDouble};

use nmc_sandbox::{CallRequest, CallResult, Sandbox, SandboxMessage, SmsRequest, SmsResult};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use uuid::Uuid;

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const SECRET_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const ACCOUNT_SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";
pub const TWILIO_NUMBER: &str = "+15005550006";
pub const BUSINESS_PHONE: &str = "+15125550100";
pub const OWNER_PHONE: &str = "+15125550111";

pub struct TestApp {
    pub api_url: String,
    pub sandbox_url: String,
    pub sandbox: Sandbox,
    pub db: PgPool,
    pub database_url: String,
    pub task_queue: String,
    pub http: reqwest::Client,
    worker: Option<Child>,
    worker_env: Vec<(String, String)>,
    /// Owners' access tokens, by business.
    tokens: std::sync::Mutex<std::collections::HashMap<Uuid, String>>,
    /// The in-process API: its configuration and the switch that stops it (for restart drills).
    api_config: nmc_api::Config,
    api_stop: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    api_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn admin_database_url() -> String {
    std::env::var("NMC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
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

/// Serves the API until the returned switch is flipped.
fn serve_api(
    listener: TcpListener,
    state: nmc_api::AppState,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        nmc_api::run(listener, state, async {
            let _ = stopped.await;
        })
        .await
        .unwrap()
    });
    (stop, task)
}

impl TestApp {
    /// A whole stack with one onboarded business (dial-through unless told otherwise).
    pub async fn spawn() -> Self {
        let app = Self::spawn_empty().await;
        app.onboard(json!({})).await;
        app
    }

    pub async fn spawn_empty() -> Self {
        Self::spawn_empty_with_idle(3600).await
    }

    /// A stack whose conversations close after `idle_secs` without an event.
    pub async fn spawn_empty_with_idle(idle_secs: u64) -> Self {
        Self::spawn_with(idle_secs, vec![]).await
    }

    /// A stack with one onboarded business and extra environment for the worker (e.g. the LLM).
    pub async fn spawn_with_worker_env(env: Vec<(&str, String)>) -> Self {
        let app = Self::spawn_with(
            3600,
            env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        )
        .await;
        app.onboard(json!({})).await;
        app
    }

    /// A stack whose API serves the built-in sandbox carrier at `/sandbox`, as `scripts/dev` does
    /// (the dev phone works); no business yet.
    pub async fn spawn_with_built_in_sandbox() -> Self {
        Self::spawn_inner(3600, vec![], true, |_| {}).await
    }

    /// A stack with one onboarded business whose API configuration `tweak` changes first (an
    /// https PUBLIC_BASE_URL, a trusted proxy header). Requests still go to the plain listener.
    pub async fn spawn_configured(tweak: fn(&mut nmc_api::Config)) -> Self {
        let app = Self::spawn_inner(3600, vec![], false, tweak).await;
        app.onboard(json!({})).await;
        app
    }

    async fn spawn_with(idle_secs: u64, worker_env: Vec<(String, String)>) -> Self {
        Self::spawn_inner(idle_secs, worker_env, false, |_| {}).await
    }

    async fn spawn_inner(
        idle_secs: u64,
        worker_env: Vec<(String, String)>,
        built_in_sandbox: bool,
        tweak: fn(&mut nmc_api::Config),
    ) -> Self {
        nmc_twilio::install_tls_provider();
        // Fresh database.
        let name = format!("nmc_test_{}", Uuid::new_v4().simple());
        let admin = PgPool::connect(&admin_database_url())
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("create database {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let database_url = format!(
            "{}/{name}",
            admin_database_url().rsplit_once('/').unwrap().0
        );

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_url = format!("http://{}", listener.local_addr().unwrap());
        let (mut sandbox, sandbox_url) = if built_in_sandbox {
            (Sandbox::new(), format!("{api_url}/sandbox"))
        } else {
            let sandbox = Sandbox::new().with_admin_token(ADMIN_TOKEN);
            let url = serve(sandbox.router()).await;
            (sandbox, url)
        };
        let task_queue = format!("nmc-test-{}", Uuid::new_v4().simple());
        let mut config = nmc_api::Config {
            database_url: database_url.clone(),
            database_migrate_url: None,
            temporal_address: temporal_address(),
            temporal_namespace: "default".into(),
            task_queue: task_queue.clone(),
            bind: listener.local_addr().unwrap(),
            public_base_url: api_url.clone(),
            twilio_api_base: sandbox_url.clone(),
            sandbox: built_in_sandbox,
            admin_token: ADMIN_TOKEN.into(),
            secret_key: SECRET_KEY.into(),
            jwt_secret: None,
            platform_twilio: None,
            conversation_idle_secs: idle_secs,
            max_body_bytes: 65536,
            trusted_proxy_header: None,
        };
        tweak(&mut config);
        let state = nmc_api::AppState::build(config.clone())
            .await
            .expect("api state");
        if let Some(built_in) = &state.sandbox {
            sandbox = built_in.clone();
        }
        // The carrier knows the accounts the tests use: the test business's, and the platform's
        // (numbers are bought on it).
        let (platform_sid, platform_token) = config.platform_twilio();
        sandbox.register_account(&platform_sid, &platform_token);
        sandbox.register_account(ACCOUNT_SID, AUTH_TOKEN);
        let db = state.db.clone();
        let (api_stop, api_task) = serve_api(listener, state);

        let mut app = Self {
            api_url,
            sandbox_url,
            sandbox,
            db,
            database_url,
            task_queue,
            http: reqwest::Client::new(),
            worker: None,
            worker_env,
            tokens: Default::default(),
            api_config: config,
            api_stop: std::sync::Mutex::new(Some(api_stop)),
            api_task: std::sync::Mutex::new(Some(api_task)),
        };
        app.start_worker();
        app.wait_healthy().await;
        app
    }

    pub fn start_worker(&mut self) {
        let child = Command::new(bin("nmc-worker"))
            .env("DATABASE_URL", &self.database_url)
            .env("TEMPORAL_ADDRESS", temporal_address())
            .env("TEMPORAL_NAMESPACE", "default")
            .env("TEMPORAL_TASK_QUEUE", &self.task_queue)
            .env("PUBLIC_BASE_URL", &self.api_url)
            .env("TWILIO_API_BASE", &self.sandbox_url)
            .env("NMC_SECRET_KEY", SECRET_KEY)
            .env(
                "NMC_CONVERSATION_IDLE_SECS",
                self.api_config.conversation_idle_secs.to_string(),
            )
            .env("NMC_METRICS_BIND", "off")
            .env("NMC_LOG_FORMAT", "text")
            // The calendar adapters talk to the sandbox's Google and Jobber doubles.
            .env(
                "GOOGLE_CALENDAR_API_BASE",
                format!("{}/google/calendar/v3", self.sandbox_url),
            )
            .env(
                "GOOGLE_OAUTH_TOKEN_URL",
                format!("{}/google/token", self.sandbox_url),
            )
            .env("JOBBER_API_BASE", format!("{}/jobber", self.sandbox_url))
            .env(
                "JOBBER_OAUTH_TOKEN_URL",
                format!("{}/jobber/oauth/token", self.sandbox_url),
            )
            .env(
                "RUST_LOG",
                std::env::var("NMC_TEST_WORKER_LOG")
                    .unwrap_or_else(|_| "warn,nmc_activities=info,nmc_worker=info".into()),
            )
            .envs(self.worker_env.iter().map(|(k, v)| (k, v)))
            // Kept per test, so a failing test can show what the worker saw.
            .stdout(
                std::fs::File::create(self.worker_log())
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
            .kill_on_drop(true)
            .spawn()
            .expect("start nmc-worker (run `cargo build --workspace --bins` first)");
        self.worker = Some(child);
    }

    /// Stops the API (connections are refused, as during a deploy), waits `down_for`, and starts a
    /// new one on the same address with fresh state, as a restarted process would have.
    pub async fn restart_api(&self, down_for: Duration) {
        let stop = self.api_stop.lock().unwrap().take();
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        let task = self.api_task.lock().unwrap().take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        tokio::time::sleep(down_for).await;
        let listener = TcpListener::bind(self.api_config.bind)
            .await
            .expect("the API's address again");
        let state = nmc_api::AppState::build(self.api_config.clone())
            .await
            .expect("api state");
        let (stop, task) = serve_api(listener, state);
        *self.api_stop.lock().unwrap() = Some(stop);
        *self.api_task.lock().unwrap() = Some(task);
        self.wait_healthy().await;
    }

    /// kill -9: no shutdown, no cleanup, exactly like a crash.
    pub async fn kill_worker(&mut self) {
        if let Some(mut w) = self.worker.take() {
            w.start_kill().unwrap();
            w.wait().await.unwrap();
        }
    }

    async fn wait_healthy(&self) {
        let url = format!("{}/healthz", self.api_url);
        let healthy = || async {
            self.http
                .get(&url)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false)
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !healthy().await {
            if tokio::time::Instant::now() > deadline {
                let last = match self.http.get(&url).send().await {
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(e) => e.to_string(),
                };
                panic!("the API did not become healthy: {last}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Onboards a business (fields in `overrides` replace the defaults) and configures its
    /// number in the sandbox as the Twilio console would.
    pub async fn onboard(&self, overrides: Value) -> Uuid {
        let mut body = json!({
            "name": "Acme Plumbing", "owner_name": "Dana Rivera", "owner_phone": OWNER_PHONE,
            "owner_email": "dana@acme.example", "business_phone": BUSINESS_PHONE, "twilio_number": TWILIO_NUMBER,
            "twilio_account_sid": ACCOUNT_SID, "twilio_auth_token": AUTH_TOKEN, "timezone": "America/Chicago",
            "call_mode": "dial_through", "owner_password": OWNER_PASSWORD,
            // Open around the clock, so the greeting does not depend on when the test runs.
            "business_hours": all_week_open(),
        });
        for (k, v) in overrides.as_object().unwrap() {
            body[k] = v.clone();
        }
        let resp = self.admin_post(&body).await;
        assert_eq!(
            resp.status(),
            201,
            "onboarding failed: {}",
            resp.text().await.unwrap()
        );
        let id: Value = resp.json().await.unwrap();
        let number = body["twilio_number"].as_str().unwrap();
        let token = body["twilio_auth_token"].as_str().unwrap();
        self.sandbox.register_number(
            number,
            body["twilio_account_sid"].as_str().unwrap(),
            token,
            &format!("{}/webhook/voice/incoming", self.api_url),
            &format!("{}/webhook/sms/incoming", self.api_url),
        );
        let id: Uuid = id["id"].as_str().unwrap().parse().unwrap();
        // Reminders, notices and follow-ups must not depend on the hour the suite runs at.
        sqlx::query(&format!(
            "update businesses set {} where id = $1",
            quiet_hours_away()
        ))
        .bind(id)
        .execute(&self.db)
        .await
        .unwrap();
        let token = log_in(
            &self.http,
            &self.api_url,
            body["owner_email"].as_str().unwrap(),
            OWNER_PASSWORD,
        )
        .await;
        self.tokens.lock().unwrap().insert(id, token);
        id
    }

    pub async fn admin_post(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/api/admin/businesses", self.api_url))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn call(&self, from: &str, outcome: &str) -> CallResult {
        self.sandbox
            .place_call(CallRequest {
                from: from.into(),
                to: TWILIO_NUMBER.into(),
                outcome: Some(outcome.into()),
                call_sid: None,
                deliveries: 1,
            })
            .await
            .unwrap()
    }

    pub async fn text(&self, from: &str, body: &str) -> SmsResult {
        self.sandbox
            .send_sms_as_caller(SmsRequest {
                from: from.into(),
                to: TWILIO_NUMBER.into(),
                body: body.into(),
                message_sid: None,
                deliveries: 1,
            })
            .await
            .unwrap()
    }

    pub fn texts_to(&self, to: &str) -> Vec<SandboxMessage> {
        self.sandbox
            .messages()
            .into_iter()
            .filter(|m| m.to == to)
            .collect()
    }

    pub fn worker_log(&self) -> PathBuf {
        std::env::temp_dir().join(format!("{}-worker.log", self.task_queue))
    }

    /// Waits until `n` texts reached `to` (45 s: generous for a loaded CI box; a passing test never
    /// waits that long), then a little longer to catch any duplicate.
    pub async fn expect_texts(&self, to: &str, n: usize) -> Vec<SandboxMessage> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
        while self.texts_to(to).len() < n {
            if tokio::time::Instant::now() > deadline {
                let log = std::fs::read_to_string(self.worker_log()).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                panic!(
                    "timed out waiting for {n} text(s) to the caller; got {:#?}\nworker log (last lines, newest first):\n{}",
                    self.texts_to(to)
                        .iter()
                        .map(|m| &m.body)
                        .collect::<Vec<_>>(),
                    tail.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let texts = self.texts_to(to);
        assert_eq!(
            texts.len(),
            n,
            "expected exactly {n} text(s), got {:#?}",
            texts
        );
        texts
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db).await.unwrap()
    }

    /// A second nmc-api on the same database whose Temporal is unreachable; returns its URL.
    pub async fn spawn_api_without_temporal(&self) -> String {
        self.spawn_api_with(|c| c.temporal_address = "http://127.0.0.1:1".into())
            .await
    }

    /// A second nmc-api on the same database and carrier, its own address as PUBLIC_BASE_URL,
    /// with `change` applied to its configuration first; returns its URL.
    pub async fn spawn_api_with(&self, change: impl FnOnce(&mut nmc_api::Config)) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = nmc_api::Config {
            database_url: self.database_url.clone(),
            database_migrate_url: None,
            temporal_address: temporal_address(),
            temporal_namespace: "default".into(),
            task_queue: self.task_queue.clone(),
            bind: addr,
            public_base_url: format!("http://{addr}"),
            twilio_api_base: self.sandbox_url.clone(),
            sandbox: false,
            admin_token: ADMIN_TOKEN.into(),
            secret_key: SECRET_KEY.into(),
            jwt_secret: None,
            platform_twilio: None,
            conversation_idle_secs: 3600,
            max_body_bytes: 65536,
            trusted_proxy_header: None,
        };
        change(&mut config);
        let state = nmc_api::AppState::build(config).await.unwrap();
        tokio::spawn(nmc_api::run(listener, state, std::future::pending()));
        format!("http://{addr}")
    }

    /// Posts a form to one of our webhooks, signed with `token` (or unsigned when `None`).
    pub async fn post_webhook(
        &self,
        path: &str,
        params: &[(&str, &str)],
        token: Option<&str>,
    ) -> reqwest::Response {
        self.post_webhook_to(&self.api_url, path, params, token)
            .await
    }

    pub async fn post_webhook_to(
        &self,
        base: &str,
        path: &str,
        params: &[(&str, &str)],
        token: Option<&str>,
    ) -> reqwest::Response {
        let url = format!("{base}{path}");
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &owned {
            form.append_pair(k, v);
        }
        let mut req = self
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.finish());
        if let Some(token) = token {
            req = req.header(
                "x-twilio-signature",
                nmc_twilio::signature::sign(token, &url, &owned),
            );
        }
        req.send().await.unwrap()
    }
}

impl TestApp {
    pub async fn business_id(&self) -> Uuid {
        sqlx::query_scalar("select id from businesses order by created_at limit 1")
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// Per-business conversation settings, written as the settings API will.
    pub async fn set(&self, assignments: &str) {
        sqlx::query(&format!("update businesses set {assignments}"))
            .execute(&self.db)
            .await
            .unwrap();
    }

    /// Sets the reminder offsets (minutes before) directly, for tests that cannot wait a day.
    pub async fn set_rules_reminders(&self, business: Uuid, minutes: &str) {
        sqlx::query(&format!(
            "update schedule_rules set reminder_minutes = '{minutes}' where business_id = $1"
        ))
        .bind(business)
        .execute(&self.db)
        .await
        .unwrap();
    }

    /// The access token of this business's owner.
    pub fn owner_token(&self, business: Uuid) -> String {
        self.tokens
            .lock()
            .unwrap()
            .get(&business)
            .cloned()
            .expect("a business onboarded by this TestApp")
    }

    /// A call to the owner API as this business's owner (logged in once, token kept).
    pub fn owner(
        &self,
        method: reqwest::Method,
        path: &str,
        business: Uuid,
    ) -> reqwest::RequestBuilder {
        let token = self
            .tokens
            .lock()
            .unwrap()
            .get(&business)
            .cloned()
            .expect("a business onboarded by this TestApp (its owner logs in then)");
        self.http
            .request(method, format!("{}{path}", self.api_url))
            .bearer_auth(token)
    }

    /// Ready to book by text: catalog adopted, one technician, open around the clock in 15-minute steps from 10 minutes out.
    pub async fn bookable(&self) -> Uuid {
        self.set("owner_window_secs = 0").await;
        let b = self.business_id().await;
        let r = self
            .owner(reqwest::Method::POST, "/api/catalog/adopt", b)
            .json(&json!({"trade": "plumbing"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = self
            .owner(reqwest::Method::POST, "/api/technicians", b)
            .json(&json!({"name": "Alex"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let day = json!([["00:00", "23:59"]]);
        let rules = json!({
            "hours": [day, day, day, day, day, day, day], "closures": [], "buffer_minutes": 15, "max_jobs_per_day": 20,
            "booking_window_days": 7, "min_lead_minutes": 10, "step_minutes": 15, "default_job_minutes": 60,
            "reminder_minutes": [1440, 60]
        });
        let r = self
            .owner(reqwest::Method::PUT, "/api/schedule", b)
            .json(&rules)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        b
    }

    /// The caller's conversation, through the Temporal client the owner API uses.
    pub async fn conversation(
        &self,
        caller: &str,
    ) -> temporalio_client::WorkflowHandle<
        temporalio_client::Client,
        nmc_workflows::ConversationWorkflow,
    > {
        let wf_id = nmc_domain::conversation_workflow_id(
            self.business_id().await,
            &nmc_domain::E164::parse(caller).unwrap(),
        );
        let client = nmc_api::temporal::connect(&temporal_address(), "default")
            .await
            .unwrap();
        client.get_workflow_handle::<nmc_workflows::ConversationWorkflow>(wf_id)
    }
}

pub const OWNER_PASSWORD: &str = "correct horse battery staple";

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
    let name = format!("nmc_test_{}", Uuid::new_v4().simple());
    let admin = PgPool::connect(&admin_database_url())
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(&format!("create database {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let url = format!(
        "{}/{name}",
        admin_database_url().rsplit_once('/').unwrap().0
    );
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

pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
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
