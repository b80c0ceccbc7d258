//! The deployment files: docker-compose.yml validates against the Compose specification's JSON
//! schema (fetched by scripts/test) and brings up what docs/DEPLOY.md describes; the Dockerfile
//! is multi-stage and runs as a non-root user.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

const CHECK: &str = r#"
import json, sys, yaml, jsonschema
schema = json.load(open(sys.argv[1]))
compose = yaml.safe_load(open(sys.argv[2]))
validator = jsonschema.validators.validator_for(schema)(schema)
errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
for e in errors:
    print("/".join(map(str, e.path)) + ": " + e.message)
print(json.dumps({"valid": not errors, "services": sorted(compose["services"]), "compose": compose}))
"#;

fn validate(schema: &str, file: &Path) -> serde_json::Value {
    let out = Command::new("python3")
        .env("PYTHONPATH", repo().join(".tools/py"))
        .args(["-c", CHECK, schema])
        .arg(file)
        .output()
        .expect("python3 with jsonschema and pyyaml (scripts/test installs them)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap_or_else(|_| panic!("{stdout}"))
}

#[test]
fn the_compose_file_follows_the_compose_specification() {
    let schema = std::env::var("NMC_COMPOSE_SCHEMA").unwrap_or_else(|_| {
        repo()
            .join(".tools/compose-spec.json")
            .display()
            .to_string()
    });
    assert!(
        Path::new(&schema).exists(),
        "the Compose schema at {schema} (scripts/test fetches it)"
    );
    let result = validate(&schema, &repo().join("docker-compose.yml"));
    assert_eq!(result["valid"], true, "{result}");
    let services: Vec<String> = serde_json::from_value(result["services"].clone()).unwrap();
    for s in ["postgres", "temporal", "temporal-ui", "api", "worker"] {
        assert!(services.contains(&s.to_owned()), "{s} in {services:?}");
    }
    let compose = &result["compose"]["services"];
    assert_eq!(
        compose["temporal"]["environment"]["DB"], "postgres12",
        "Temporal persists to PostgreSQL"
    );
    for s in ["api", "worker"] {
        assert_eq!(
            compose[s]["build"], ".",
            "{s} builds from the repo's Dockerfile"
        );
    }

    // The schema is not a rubber stamp: a broken file fails.
    let broken = std::env::temp_dir().join(format!("compose-broken-{}.yml", std::process::id()));
    std::fs::write(
        &broken,
        "services:\n  api:\n    ports: 8080\n    restart: sometimes-maybe\n    unknown_key: 1\n",
    )
    .unwrap();
    let bad = validate(&schema, &broken);
    assert_eq!(bad["valid"], false, "{bad}");
    let _ = std::fs::remove_file(broken);
}

fn compose() -> serde_json::Value {
    let schema = std::env::var("NMC_COMPOSE_SCHEMA").unwrap_or_else(|_| {
        repo()
            .join(".tools/compose-spec.json")
            .display()
            .to_string()
    });
    validate(&schema, &repo().join("docker-compose.yml"))["compose"].clone()
}

/// A published port as (host address, port spec); the short form `"8080:8080"` has no address,
/// which Compose reads as every interface.
fn published(port: &serde_json::Value) -> (String, String) {
    match port {
        serde_json::Value::String(s) if s.matches(':').count() >= 2 => {
            let (ip, rest) = s.split_once(':').unwrap();
            (ip.to_owned(), rest.to_owned())
        }
        serde_json::Value::Object(o) => (
            o.get("host_ip")
                .and_then(|v| v.as_str())
                .unwrap_or("0.0.0.0")
                .to_owned(),
            port.to_string(),
        ),
        other => ("0.0.0.0".to_owned(), other.to_string()),
    }
}

#[test]
fn temporal_is_not_a_public_port() {
    let services = compose()["services"].clone();
    for (name, service) in services.as_object().unwrap() {
        // Caddy is the one public service: TLS in front of nmc-api, which checks Twilio's and
        // Stripe's signatures and owners' sessions.
        if name == "caddy" {
            continue;
        }
        for port in service["ports"].as_array().into_iter().flatten() {
            let (ip, spec) = published(port);
            assert_eq!(ip, "127.0.0.1", "{name} publishes {spec} beyond loopback");
        }
    }
    assert!(
        services["temporal-ui"]["ports"].is_array(),
        "ops still reach the UI (over an SSH tunnel)"
    );
}

/// The environment variables the binaries read: every whole string literal in their sources
/// that names one of ours (or Temporal's, Twilio's, the LLM's, the calendars').
fn variables_read() -> std::collections::BTreeSet<String> {
    const PREFIXES: [&str; 15] = [
        "NMC_",
        "TEMPORAL_",
        "TWILIO_",
        "OPENAI_",
        "GOOGLE_",
        "JOBBER_",
        // Not HubSpot's own constants (`HUBSPOT_DEFINED`).
        "HUBSPOT_API",
        "HUBSPOT_OAUTH",
        "HUBSPOT_CLIENT",
        "GOHIGHLEVEL_",
        "SERVICETITAN_",
        "HOUSECALLPRO_",
        "STRIPE_",
        "DATABASE_",
        "PUBLIC_BASE_URL",
    ];
    let mut found = std::collections::BTreeSet::from(["RUST_LOG".to_owned()]);
    let mut dirs: Vec<std::path::PathBuf> = [
        "api",
        "worker",
        "calendar",
        "crm",
        "geocode",
        "activities",
        "assistant",
        "telemetry",
        "workflows",
        "temporal",
        "activity-defs",
        "twilio",
        "store",
        "domain",
    ]
    .iter()
    .map(|c| repo().join(c).join("src"))
    .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.extend(quoted_names(&text).filter(|n| {
                    PREFIXES.iter().any(|p| n.starts_with(p))
                        && !n.starts_with("NMC_TEST_")
                        && !n.ends_with('_')
                }));
            }
        }
    }
    found
}

/// Every `"NAME"` (upper case, digits, underscores) in `text`, wherever it sits: counting quotes
/// to find literals would go wrong at the first `'"'` or `\"`.
fn quoted_names(text: &str) -> impl Iterator<Item = String> + '_ {
    text.match_indices('"').filter_map(move |(i, _)| {
        let rest = &text[i + 1..];
        let end =
            rest.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))?;
        (end > 0 && rest[end..].starts_with('"')).then(|| rest[..end].to_owned())
    })
}

#[test]
fn every_variable_the_binaries_read_is_passed_to_both() {
    let read = variables_read();
    for expected in [
        "NMC_SANDBOX",
        "TWILIO_ACCOUNT_SID",
        "NMC_METRICS_TOKEN",
        "OPENAI_API_KEY",
        "GOOGLE_CLIENT_ID",
        "TEMPORAL_API_KEY",
    ] {
        assert!(
            read.contains(expected),
            "the source scan finds {expected}: {read:?}"
        );
    }
    let services = compose()["services"].clone();
    for service in ["api", "worker"] {
        let env = services[service]["environment"]
            .as_object()
            .unwrap_or_else(|| panic!("{service}: environment as a map"));
        let missing: Vec<&String> = read
            .iter()
            .filter(|v| !env.contains_key(v.as_str()))
            .collect();
        assert!(missing.is_empty(), "{service} is not given {missing:?}");
    }
}

/// The user in a `postgres://user:password@host/db` URL.
fn url_user(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['@', ':']).next().unwrap_or_default()
}

#[test]
fn the_services_connect_as_a_role_that_is_neither_superuser_nor_owner() {
    let services = compose()["services"].clone();
    let superuser = services["postgres"]["environment"]["POSTGRES_USER"]
        .as_str()
        .unwrap_or("postgres")
        .to_owned();
    let app = url_user(
        services["api"]["environment"]["DATABASE_URL"]
            .as_str()
            .unwrap(),
    )
    .to_owned();
    let owner = url_user(
        services["api"]["environment"]["DATABASE_MIGRATE_URL"]
            .as_str()
            .unwrap(),
    )
    .to_owned();
    assert!(
        app != superuser && app != "postgres",
        "the services connect as {app}, the superuser"
    );
    assert!(
        owner != superuser && owner != app,
        "migrations run as {owner}: its own role, not the superuser's or the services'"
    );
    assert_eq!(
        services["worker"]["environment"]["DATABASE_URL"]
            .as_str()
            .map(url_user),
        Some(app.as_str())
    );
    assert_eq!(
        services["worker"]["environment"]["DATABASE_MIGRATE_URL"], "",
        "the worker holds no owner credentials"
    );
    let volumes = services["postgres"]["volumes"].to_string();
    assert!(
        volumes.contains("./deploy/postgres-init:/docker-entrypoint-initdb.d"),
        "the roles are created at first start: {volumes}"
    );
    let init = std::fs::read_to_string(repo().join("deploy/postgres-init/10-roles.sh")).unwrap();
    for role in [
        "create role :\"owner\" login noinherit nosuperuser",
        "create role :\"app\" login noinherit nosuperuser nocreatedb nocreaterole nobypassrls",
    ] {
        assert!(init.contains(role), "{role}");
    }
}

#[test]
fn the_image_is_multi_stage_and_runs_as_a_non_root_user() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let stages = dockerfile
        .lines()
        .filter(|l| l.trim_start().starts_with("FROM "))
        .count();
    assert!(stages >= 2, "multi-stage: {stages}");
    let last_user = dockerfile
        .lines()
        .filter_map(|l| l.trim().strip_prefix("USER "))
        .next_back()
        .expect("a USER line");
    assert!(
        last_user != "root" && last_user != "0",
        "runs as {last_user}"
    );
    assert!(dockerfile.contains("--bin nmc-api") && dockerfile.contains("--bin nmc-worker"));
}

/// The compose stack's TLS: Caddy publishes 80 and 443 for `NMC_DOMAIN` and proxies to nmc-api,
/// which builds its https links from the same name and believes only the client address Caddy
/// writes. The Caddyfile is checked by Caddy itself (`caddy adapt`, the binary from Debian).
#[test]
fn caddy_terminates_tls_in_front_of_the_api() {
    let services = compose()["services"].clone();
    let caddy = &services["caddy"];
    let ports = caddy["ports"].to_string();
    assert!(
        ports.contains(r#""443:443""#) && ports.contains(r#""80:80""#),
        "{ports}"
    );
    assert!(
        caddy["volumes"]
            .to_string()
            .contains("./deploy/Caddyfile:/etc/caddy/Caddyfile")
    );
    let env = &services["api"]["environment"];
    assert!(
        env["PUBLIC_BASE_URL"]
            .as_str()
            .unwrap()
            .starts_with("https://${NMC_DOMAIN"),
        "{env}"
    );
    assert!(
        env["NMC_TRUSTED_PROXY_HEADER"]
            .as_str()
            .unwrap()
            .contains("x-real-ip")
    );

    let caddy_bin = std::env::var("NMC_CADDY_BIN").unwrap_or_else(|_| "caddy".into());
    let out = Command::new(caddy_bin)
        .args(["adapt", "--adapter", "caddyfile", "--config"])
        .arg(repo().join("deploy/Caddyfile"))
        .env("NMC_DOMAIN", "calls.example.com")
        .output()
        .expect("caddy (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let adapted: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let server = &adapted["apps"]["http"]["servers"]["srv0"];
    assert_eq!(server["listen"], serde_json::json!([":443"]));
    let route = &server["routes"][0];
    assert_eq!(
        route["match"][0]["host"],
        serde_json::json!(["calls.example.com"])
    );
    let text = route.to_string();
    assert!(text.contains(r#""dial":"api:8080""#), "{text}");
    assert!(
        text.contains(r#""X-Real-Ip":["{http.request.remote.host}"]"#),
        "{text}"
    );
    assert!(
        text.contains(r#""flush_interval":-1"#),
        "the live feed streams: {text}"
    );
}
