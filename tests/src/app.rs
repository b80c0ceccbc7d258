//! The stack under test: how it is built (`TestApp::builder()`), its processes, and the
//! business-level steps tests take on it (onboarding, settings, the owner API).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use nmc_sandbox::Sandbox;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::{
    ACCOUNT_SID, ADMIN_TOKEN, AUTH_TOKEN, BUSINESS_PHONE, OWNER_PASSWORD, OWNER_PHONE,
    PLATFORM_NUMBER, SECRET_KEY, STRIPE_KEY, STRIPE_WEBHOOK_SECRET, TWILIO_NUMBER, all_week_open,
    bin, fresh_database, log_in, quiet_hours_away, serve, temporal_address,
};

/// Conversations close after this long without an event unless a test asks for less.
const IDLE_SECS: u64 = 3600;

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
    tokens: Mutex<HashMap<Uuid, String>>,
    /// The in-process API: its configuration and the switch that stops it (for restart drills).
    api_config: nmc_api::Config,
    api_stop: Mutex<Option<oneshot::Sender<()>>>,
    api_task: Mutex<Option<JoinHandle<()>>>,
}

type ConfigChange = Box<dyn FnOnce(&mut nmc_api::Config) + Send>;

/// What kind of stack to start. The default is `TestApp::spawn()`'s: one onboarded business
/// (dial-through), conversations idle for an hour, the sandbox carrier on a port of its own.
#[must_use = "nothing starts until `.spawn()`"]
pub struct TestAppBuilder {
    business: bool,
    idle_secs: u64,
    worker_env: Vec<(String, String)>,
    built_in_sandbox: bool,
    configure: Vec<ConfigChange>,
}

impl TestAppBuilder {
    /// No business yet: the test onboards (or signs up) its own.
    pub fn empty(mut self) -> Self {
        self.business = false;
        self
    }

    /// Conversations close after `secs` without an event (48 h in production).
    pub fn idle_secs(mut self, secs: u64) -> Self {
        self.idle_secs = secs;
        self
    }

    /// One more variable in the worker's environment (the LLM's URL, a metrics address…);
    /// it wins over the harness's own.
    pub fn worker_env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.worker_env.push((key.to_owned(), value.into()));
        self
    }

    /// The API serves the built-in sandbox carrier at `/sandbox`, as `scripts/dev` does (the
    /// dev phone works), instead of a sandbox on a port of its own.
    pub fn built_in_sandbox(mut self) -> Self {
        self.built_in_sandbox = true;
        self
    }

    /// Changes the API's configuration before it starts (an https PUBLIC_BASE_URL, a trusted
    /// proxy header), after any earlier change. Requests still go to the plain listener.
    pub fn configure(mut self, change: impl FnOnce(&mut nmc_api::Config) + Send + 'static) -> Self {
        self.configure.push(Box::new(change));
        self
    }

    /// Billing on, against the sandbox's Stripe double (14-day trial, 14 days' grace).
    pub fn billing(self) -> Self {
        self.configure(|c| {
            c.billing = Some(nmc_api::config::Billing {
                api_base: format!("{}/stripe", c.twilio_api_base),
                secret_key: STRIPE_KEY.into(),
                price_id: "price_standard".into(),
                webhook_secret: STRIPE_WEBHOOK_SECRET.into(),
                trial_days: 14,
                grace_days: 14,
            });
        })
    }

    pub async fn spawn(self) -> TestApp {
        let business = self.business;
        let app = TestApp::start(self).await;
        if business {
            app.onboard(json!({})).await;
        }
        app
    }
}

/// Connections each API and worker of a test may hold.
const POOL_SIZE: u32 = 8;

/// The API configuration the harness runs with; callers change what their test needs.
fn api_config(
    database_url: &str,
    task_queue: &str,
    bind: SocketAddr,
    public_base_url: String,
    twilio_api_base: &str,
) -> nmc_api::Config {
    nmc_api::Config {
        database_url: database_url.to_owned(),
        database_migrate_url: None,
        // Four tests at once, each with an API and a worker, stay well under PostgreSQL's 100.
        database_pool_size: POOL_SIZE,
        temporal_address: temporal_address(),
        temporal_namespace: "default".into(),
        task_queue: task_queue.to_owned(),
        bind,
        public_base_url,
        twilio_api_base: twilio_api_base.to_owned(),
        vapi_api_base: format!("{twilio_api_base}/vapi"),
        sandbox: false,
        admin_token: ADMIN_TOKEN.into(),
        secret_key: SECRET_KEY.into(),
        jwt_secret: None,
        // The sandbox's own platform account, named so test calls may use it.
        platform_twilio: Some((
            "AC00000000000000000000000000000000".into(),
            "sandbox-auth-token".into(),
        )),
        conversation_idle_secs: IDLE_SECS,
        max_body_bytes: 65536,
        trusted_proxy_header: None,
        slack_webhook_base: format!("{twilio_api_base}/slack/services/"),
        push_services: vec![twilio_api_base.trim_end_matches('/').to_owned()],
        vapid_private_key: None,
        phone_countries: vec!["US".into(), "CA".into()],
        platform_number: Some(PLATFORM_NUMBER.into()),
        billing: None,
        storage: nmc_storage::Storage::local(&crate::voice::objects_dir(database_url)).unwrap(),
        google_places: Some((
            format!("{twilio_api_base}/places"),
            "test-places-key".into(),
        )),
        geocoder: Some(nmc_geocode::Settings {
            url: format!("{twilio_api_base}/geocode"),
            user_agent: "nmc-tests".into(),
            countries: Some("us".into()),
        }),
    }
}

/// Serves the API until the returned switch is flipped.
fn serve_api(
    listener: TcpListener,
    state: nmc_api::AppState,
) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        nmc_api::run(listener, state, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (stop, task)
}

impl TestApp {
    /// A whole stack with one onboarded business (dial-through unless told otherwise).
    pub async fn spawn() -> Self {
        Self::builder().spawn().await
    }

    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            business: true,
            idle_secs: IDLE_SECS,
            worker_env: vec![],
            built_in_sandbox: false,
            configure: vec![],
        }
    }

    async fn start(how: TestAppBuilder) -> Self {
        nmc_twilio::install_tls_provider();
        let database_url = fresh_database().await;

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let bind = listener.local_addr().unwrap();
        let api_url = format!("http://{bind}");
        let (mut sandbox, sandbox_url) = if how.built_in_sandbox {
            (Sandbox::new(), format!("{api_url}/sandbox"))
        } else {
            let sandbox = Sandbox::new().with_admin_token(ADMIN_TOKEN);
            let url = serve(sandbox.router()).await;
            sandbox.set_public_base(&url);
            (sandbox, url)
        };
        let task_queue = format!("nmc-test-{}", Uuid::new_v4().simple());
        let mut config = api_config(
            &database_url,
            &task_queue,
            bind,
            api_url.clone(),
            &sandbox_url,
        );
        config.sandbox = how.built_in_sandbox;
        config.conversation_idle_secs = how.idle_secs;
        for change in how.configure {
            change(&mut config);
        }
        let mut state = nmc_api::AppState::build(config.clone())
            .await
            .expect("api state");
        let vendors = crate::doubles::vendor_env(&sandbox_url);
        let var = |k: &str| {
            vendors
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
        };
        state.calendars = nmc_calendar::Calendars::from_vars(var);
        state.crms = nmc_crm::Crms::from_vars(var, true);
        if let Some(built_in) = &state.sandbox {
            sandbox = built_in.clone();
        }
        // The carrier knows the accounts the tests use: the test business's, and the platform's
        // (numbers are bought on it).
        let (platform_sid, platform_token) = config.platform_twilio();
        sandbox.register_account(&platform_sid, &platform_token);
        sandbox.register_account(ACCOUNT_SID, AUTH_TOKEN);
        if let Some(n) = &config.platform_number {
            sandbox.register_number(n, &platform_sid, &platform_token, "", "");
        }
        if config.billing.is_some() {
            sandbox.stripe.configure(nmc_sandbox::stripe::StripeSetup {
                key: STRIPE_KEY.into(),
                base: sandbox_url.clone(),
                webhook_url: format!("{api_url}/webhook/stripe"),
                webhook_secret: STRIPE_WEBHOOK_SECRET.into(),
            });
        }
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
            worker_env: how.worker_env,
            tokens: Mutex::default(),
            api_config: config,
            api_stop: Mutex::new(Some(api_stop)),
            api_task: Mutex::new(Some(api_task)),
        };
        app.start_worker();
        app.wait_healthy().await;
        app
    }

    pub fn start_worker(&mut self) {
        let child = Command::new(bin("nmc-worker"))
            .env("DATABASE_URL", &self.database_url)
            .env("NMC_DATABASE_POOL_SIZE", POOL_SIZE.to_string())
            .env("TEMPORAL_ADDRESS", temporal_address())
            .env("TEMPORAL_NAMESPACE", "default")
            .env("TEMPORAL_TASK_QUEUE", &self.task_queue)
            .env("PUBLIC_BASE_URL", &self.api_url)
            .env("TWILIO_API_BASE", &self.sandbox_url)
            .env("NMC_SECRET_KEY", SECRET_KEY)
            .env(
                "NMC_STORAGE_URL",
                format!(
                    "file://{}",
                    crate::voice::objects_dir(&self.database_url).display()
                ),
            )
            .env(
                "NMC_CONVERSATION_IDLE_SECS",
                self.api_config.conversation_idle_secs.to_string(),
            )
            .env("NMC_METRICS_BIND", "off")
            .env("NMC_LOG_FORMAT", "text")
            // The calendar adapters talk to the sandbox's Google and Jobber doubles.
            .envs(crate::doubles::vendor_env(&self.sandbox_url))
            .env(
                "RUST_LOG",
                std::env::var("NMC_TEST_WORKER_LOG")
                    .unwrap_or_else(|_| "warn,nmc_activities=info,nmc_worker=info".into()),
            )
            .envs(self.worker_env.iter().map(|(k, v)| (k, v)))
            // Kept per test, so a failing test can show what the worker saw.
            .stdout(
                std::fs::File::create(self.worker_log())
                    .map_or_else(|_| Stdio::null(), Stdio::from),
            )
            .kill_on_drop(true)
            .spawn()
            .expect("start nmc-worker (run `cargo build --workspace --bins` first)");
        self.worker = Some(child);
    }

    /// Where this stack's worker writes its log.
    pub fn worker_log(&self) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("{}-worker.log", self.task_queue))
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
        // The outage itself: deliberately this long.
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
                .is_ok_and(|r| r.status().is_success())
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
        let mut config = api_config(
            &self.database_url,
            &self.task_queue,
            addr,
            format!("http://{addr}"),
            &self.sandbox_url,
        );
        change(&mut config);
        let state = nmc_api::AppState::build(config).await.unwrap();
        tokio::spawn(nmc_api::run(listener, state, std::future::pending()));
        format!("http://{addr}")
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
            .expect("a business onboarded by this TestApp (its owner logs in then)")
    }

    /// A call to the owner API as this business's owner (logged in once, token kept).
    pub fn owner(
        &self,
        method: reqwest::Method,
        path: &str,
        business: Uuid,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.api_url))
            .bearer_auth(self.owner_token(business))
    }

    /// The plumbing starters adopted: `/api/catalog/adopt` or `/api/faqs/adopt`.
    pub async fn adopt(&self, path: &str) {
        let b = self.business_id().await;
        let r = self
            .owner(reqwest::Method::POST, path, b)
            .json(&json!({"trade": "plumbing"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }

    /// Ready to book by text: catalog adopted, one technician, open around the clock in 15-minute steps from 10 minutes out.
    pub async fn bookable(&self) -> Uuid {
        self.set("owner_window_secs = 0").await;
        let b = self.business_id().await;
        self.adopt("/api/catalog/adopt").await;
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
