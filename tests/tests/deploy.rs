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
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap_or_else(|_| panic!("{stdout}"))
}

#[test]
fn the_compose_file_follows_the_compose_specification() {
    let schema = std::env::var("NMC_COMPOSE_SCHEMA").unwrap_or_else(|_| repo().join(".tools/compose-spec.json").display().to_string());
    assert!(Path::new(&schema).exists(), "the Compose schema at {schema} (scripts/test fetches it)");
    let result = validate(&schema, &repo().join("docker-compose.yml"));
    assert_eq!(result["valid"], true, "{result}");
    let services: Vec<String> = serde_json::from_value(result["services"].clone()).unwrap();
    for s in ["postgres", "temporal", "temporal-ui", "api", "worker"] {
        assert!(services.contains(&s.to_owned()), "{s} in {services:?}");
    }
    let compose = &result["compose"]["services"];
    assert_eq!(compose["temporal"]["environment"]["DB"], "postgres12", "Temporal persists to PostgreSQL");
    for s in ["api", "worker"] {
        assert_eq!(compose[s]["build"], ".", "{s} builds from the repo's Dockerfile");
    }

    // The schema is not a rubber stamp: a broken file fails.
    let broken = std::env::temp_dir().join(format!("compose-broken-{}.yml", std::process::id()));
    std::fs::write(&broken, "services:\n  api:\n    ports: 8080\n    restart: sometimes-maybe\n    unknown_key: 1\n").unwrap();
    let bad = validate(&schema, &broken);
    assert_eq!(bad["valid"], false, "{bad}");
    let _ = std::fs::remove_file(broken);
}

#[test]
fn the_image_is_multi_stage_and_runs_as_a_non_root_user() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let stages = dockerfile.lines().filter(|l| l.trim_start().starts_with("FROM ")).count();
    assert!(stages >= 2, "multi-stage: {stages}");
    let last_user = dockerfile.lines().filter_map(|l| l.trim().strip_prefix("USER ")).last().expect("a USER line");
    assert!(last_user != "root" && last_user != "0", "runs as {last_user}");
    assert!(dockerfile.contains("--bin nmc-api") && dockerfile.contains("--bin nmc-worker"));
}
