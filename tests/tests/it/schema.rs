//! The owner API against its own OpenAPI document (`/api/openapi.json`, generated from the route
//! table), fuzzed by schemathesis (PyPI; scripts/test installs it into .tools/schemathesis) with
//! an owner's token: no 5xx, status codes and bodies as documented.

use nmc_tests::*;

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_responses_match_the_document() {
    let app = TestApp::spawn().await;
    let business = app.business_id().await;
    // Something to find: a technician, the catalog, an appointment.
    app.owner(reqwest::Method::POST, "/api/technicians", business)
        .json(&serde_json::json!({"name": "Alex"}))
        .send()
        .await
        .unwrap();
    app.owner(reqwest::Method::POST, "/api/catalog/adopt", business)
        .json(&serde_json::json!({"trade": "plumbing"}))
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = app
        .http
        .get(format!("{}/api/openapi.json", app.api_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documented = doc["paths"].as_object().unwrap().len();
    assert_eq!(
        documented,
        nmc_api::owner::routes().len(),
        "every owner route is documented"
    );

    let tools = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/schemathesis");
    let out = tokio::process::Command::new("python3")
        .env("PYTHONPATH", &tools)
        .args(["-m", "schemathesis.cli", "run", &format!("{}/api/openapi.json", app.api_url)])
        .args(["-H", &format!("Authorization: Bearer {}", app.owner_token(business))])
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"])
        .args(["--max-examples", &std::env::var("NMC_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "15".into())])
        .args(["--phases", "examples,fuzzing", "--seed", "1", "--no-color"])
        .output()
        .await
        .expect("python3 with schemathesis (scripts/test installs it)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "{}",
        report
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}"
    );
}
