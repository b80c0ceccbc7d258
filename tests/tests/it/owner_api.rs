//! The owner's API beyond scheduling (issue 5): conversations with takeover / hand-back /
//! sending through the workflow, leads with owner edits that win, calls with filters, opt-outs,
//! the audit log, cursor pagination, and what a technician may do there.

use std::time::Duration;

use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

const CALLER: &str = "+15125550122";

#[tokio::test]
async fn the_owner_works_a_conversation_from_the_api() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 600").await;
    let b = app.business_id().await;
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    app.text(CALLER, "my kitchen sink won't drain").await;
    wait_until(Duration::from_secs(10), "the caller's text on the thread", || async {
        app.count("select count(*) from messages where direction = 'inbound' and conversation_id is not null").await == 1
    })
    .await;

    let list: Value = app
        .owner(Method::GET, "/api/conversations?status=active", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["last_message"], "my kitchen sink won't drain");
    let id = items[0]["id"].as_str().unwrap().to_owned();
    let detail: Value = app
        .owner(Method::GET, &format!("/api/conversations/{id}"), b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let senders: Vec<&str> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sender"].as_str().unwrap())
        .collect();
    assert_eq!(
        senders,
        vec!["system", "caller"],
        "greeting, then the caller; owner alerts are not on the caller's thread"
    );
    assert_eq!(detail["lead"]["phone"], CALLER);

    // Take over, answer, hand back: all through the workflow.
    assert_eq!(
        app.owner(
            Method::POST,
            &format!("/api/conversations/{id}/takeover"),
            b
        )
        .send()
        .await
        .unwrap()
        .status(),
        200
    );
    // An update, not a signal: the inbox shows the new mode by the time the API answers.
    assert_eq!(
        app.count("select count(*) from conversations where mode = 'owner'")
            .await,
        1
    );
    let r = app
        .owner(Method::POST, &format!("/api/conversations/{id}/message"), b)
        .json(&json!({"body": "Hi, Dana here. I can come at 3."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let texts = app.expect_texts(CALLER, 2).await;
    assert_eq!(texts[1].body, "Hi, Dana here. I can come at 3.");
    assert_eq!(
        app.owner(Method::POST, &format!("/api/conversations/{id}/message"), b)
            .json(&json!({"body": "  "}))
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        app.owner(
            Method::POST,
            &format!("/api/conversations/{id}/return-ai"),
            b
        )
        .send()
        .await
        .unwrap()
        .status(),
        200
    );
    assert_eq!(
        app.count("select count(*) from conversations where mode = 'assistant'")
            .await,
        1
    );
    // The audit log says who took over, texted and handed back (issue 16).
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_log where entity_type = 'conversation' and details ? 'by' order by created_at",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        actions,
        ["taken_over", "owner_texted", "returned_to_assistant"]
    );
    let filtered: Value = app
        .owner(Method::GET, "/api/conversations?needs_owner=true", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(filtered["items"].as_array().unwrap().is_empty());

    // Opt-out added by the owner: the next text to that caller is suppressed.
    let r = app
        .owner(Method::POST, "/api/opt-outs", b)
        .json(&json!({"phone": CALLER}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        app.owner(Method::POST, "/api/opt-outs", b)
            .json(&json!({"phone": "nope"}))
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    let r = app
        .owner(Method::POST, &format!("/api/conversations/{id}/message"), b)
        .json(&json!({"body": "One more thing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "opted out: refused with the reason");
    let reason: Value = r.json().await.unwrap();
    assert!(
        reason["error"]["fields"]["body"]
            .as_str()
            .unwrap()
            .contains("opted out"),
        "{reason}"
    );
    assert_eq!(app.texts_to(CALLER).len(), 2);
    let outs: Value = app
        .owner(Method::GET, "/api/opt-outs", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(outs["items"][0]["source"], "owner");
}

#[tokio::test]
async fn leads_and_calls_filter_page_and_owner_edits_win() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0").await;
    let b = app.business_id().await;
    for (i, caller) in ["+15125550161", "+15125550162", "+15125550163"]
        .iter()
        .enumerate()
    {
        app.call(caller, if i == 2 { "completed" } else { "no-answer" })
            .await;
    }
    app.expect_texts("+15125550161", 1).await;
    app.expect_texts("+15125550162", 1).await;
    let missed: Value = app
        .owner(Method::GET, "/api/calls?outcome=missed", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(missed["items"].as_array().unwrap().len(), 2);
    let answered: Value = app
        .owner(Method::GET, "/api/calls?outcome=answered", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answered["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.owner(Method::GET, "/api/calls?outcome=maybe", b)
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    // Pages of one, newest first, no repeats.
    let p1: Value = app
        .owner(Method::GET, "/api/calls?limit=1", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2: Value = app
        .owner(
            Method::GET,
            &format!("/api/calls?limit=1&cursor={cursor}"),
            b,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(p1["items"][0]["id"], p2["items"][0]["id"]);
    assert!(p1["items"][0]["created_at"].as_str() >= p2["items"][0]["created_at"].as_str());
    assert_eq!(
        app.owner(Method::GET, "/api/calls?cursor=garbage", b)
            .send()
            .await
            .unwrap()
            .status(),
        422
    );

    // The owner names the caller; the assistant later hears another name and keeps the owner's.
    let leads: Value = app
        .owner(Method::GET, "/api/leads?status=contacted", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lead = leads["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["phone"] == "+15125550161")
        .unwrap()
        .clone();
    let id = lead["id"].as_str().unwrap();
    let r = app
        .owner(Method::PATCH, &format!("/api/leads/{id}"), b)
        .json(&json!({"name": "Robert Owner-Typed", "notes": "repeat customer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.text("+15125550161", "this is Bob, my toilet is running")
        .await;
    app.expect_texts("+15125550161", 2).await;
    let after: Value = app
        .owner(Method::GET, &format!("/api/leads/{id}"), b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["name"], "Robert Owner-Typed");
    assert_eq!(after["notes"], "repeat customer");
    assert!(
        after["service_needed"].as_str().unwrap().contains("toilet"),
        "the assistant still fills what the owner did not edit"
    );
    assert_eq!(
        app.owner(Method::PATCH, &format!("/api/leads/{id}"), b)
            .json(&json!({"status": "sold"}))
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    let audit: Value = app
        .owner(Method::GET, "/api/audit-log", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["entity_type"] == "lead" && e["action"] == "edited")
    );
}

#[tokio::test]
async fn settings_dashboard_and_reports_show_the_money_recovered() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0").await;
    let b = app.business_id().await;
    let mut settings: Value = app
        .owner(Method::GET, "/api/settings", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["owner_window_secs"], 0);
    settings["greeting"] = json!("Hi! Sorry we missed you — how can we help? 🙂");
    settings["follow_up_secs"] = json!([3600, 60]);
    let r = app
        .owner(Method::PUT, "/api/settings", b)
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.json::<Value>().await.unwrap()["error"]["fields"]["follow_up_secs"].is_string());
    settings["follow_up_secs"] = json!([3600, 86400]);
    settings["notify_by_text"] = json!(false);
    let saved: Value = app
        .owner(Method::PUT, "/api/settings", b)
        .json(&settings)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        saved["greeting_segments"], 1,
        "the segment count the owner sees while typing"
    );
    assert_eq!(saved["notify_by_text"], false);

    // A missed call that replies and books: missed 1, recovered 1, booked 1, revenue from the catalog.
    app.owner(Method::POST, "/api/catalog/adopt", b)
        .json(&json!({"trade": "plumbing"}))
        .send()
        .await
        .unwrap();
    app.owner(Method::POST, "/api/technicians", b)
        .json(&json!({"name": "Alex"}))
        .send()
        .await
        .unwrap();
    let day = json!([["00:00", "23:59"]]);
    app.owner(Method::PUT, "/api/schedule", b)
        .json(&json!({"hours": [day, day, day, day, day, day, day], "closures": [], "buffer_minutes": 0, "max_jobs_per_day": 20,
            "booking_window_days": 7, "min_lead_minutes": 30, "step_minutes": 30, "default_job_minutes": 60, "reminder_minutes": [1440]}))
        .send()
        .await
        .unwrap();
    let caller = "+15125550177";
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 1).await;
    for (i, says) in [
        "my toilet keeps running",
        "Sam Lee",
        "55 Birch Ln",
        "tomorrow morning",
        "1",
    ]
    .iter()
    .enumerate()
    {
        app.text(caller, says).await;
        app.expect_texts(caller, i + 2).await;
    }
    assert!(
        app.texts_to(OWNER_PHONE).is_empty(),
        "alerts by text are off (the app still has them)"
    );
    assert!(app.count("select count(*) from notifications").await > 0);
    let stats: Value = app
        .owner(Method::GET, "/api/dashboard/stats", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let today = &stats["today"];
    assert_eq!(
        (
            today["missed"].as_i64(),
            today["recovered"].as_i64(),
            today["booked"].as_i64()
        ),
        (Some(1), Some(1), Some(1)),
        "{stats}"
    );
    assert_eq!(
        today["revenue_cents"], 12900,
        "Toilet Repair from the catalog"
    );
    assert_eq!(today["recovery_rate"], 1.0);
    assert_eq!(stats["last_14_days"].as_array().unwrap().len(), 14);
    let recent: Value = app
        .owner(Method::GET, "/api/dashboard/recent", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        recent["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "appointment.created")
    );
    let week: Value = app
        .owner(Method::GET, "/api/reports/weekly", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(week["totals"]["revenue_cents"], 12900);
    assert_eq!(week["days"].as_array().unwrap().len(), 7);
    let month: Value = app
        .owner(Method::GET, "/api/reports/monthly?start=2026-02-10", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (month["from"].as_str(), month["to"].as_str()),
        (Some("2026-02-01"), Some("2026-02-28"))
    );
    assert_eq!(
        app.owner(Method::GET, "/api/reports/monthly?start=soon", b)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    // A technician sees the dashboard without revenue, and no reports or settings.
    app.owner(Method::POST, "/api/team/invites", b)
        .json(&json!({"email": "tech@acme.example"}))
        .send()
        .await
        .unwrap();
    let body: String = sqlx::query_scalar("select body from outbound_emails")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let token = body
        .split("/invite/")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let tech: Value = app
        .http
        .post(format!("{}/api/auth/accept-invite", app.api_url))
        .json(&json!({"token": token, "name": "Lee", "password": "a fine long password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tech["access_token"].as_str().unwrap();
    let as_tech = |path: &str| {
        app.http
            .get(format!("{}{path}", app.api_url))
            .bearer_auth(access)
            .send()
    };
    let tech_stats: Value = as_tech("/api/dashboard/stats")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        tech_stats["today"].get("revenue_cents").is_none() && tech_stats["today"]["booked"] == 1,
        "{tech_stats}"
    );
    assert!(!tech_stats.to_string().contains("12900"));
    for path in [
        "/api/reports/weekly",
        "/api/reports/monthly",
        "/api/settings",
        "/api/audit-log",
    ] {
        assert_eq!(as_tech(path).await.unwrap().status(), 403, "{path}");
    }
}

#[tokio::test]
async fn every_error_has_one_shape() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    for (m, path) in [
        (Method::GET, "/api/appointments/not-a-uuid"),
        (Method::GET, "/api/nothing-here"),
        (Method::DELETE, "/api/leads"),
        (Method::GET, "/api/calls?limit=many"),
    ] {
        let r = app.owner(m.clone(), path, b).send().await.unwrap();
        assert!(r.status().is_client_error(), "{m} {path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{m} {path}"
        );
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]["code"].is_string() && body["error"]["message"].is_string(),
            "{m} {path}: {body}"
        );
    }
}
