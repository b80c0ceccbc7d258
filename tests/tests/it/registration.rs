//! Texting registration end to end: while a business is not approved its callers are not texted
//! but the owner is alerted by email and the conversation stays open; the registration comes
//! prefilled and is checked field by field; operations decide on their page (Basic auth with the
//! admin token); the owner hears by email and in the app; on approval the fresh held greeting
//! goes out and the stale one is listed for the owner instead.

use std::time::Duration;

use base64::Engine;
use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::business::{buy_number, missed_call_from};
use crate::go_live::{as_owner, sign_up};

const OWNER: &str = "jo@pipepros.example";
const OWNER_MOBILE: &str = "+15125550150";

async fn emails(app: &TestApp, subject_start: &str) -> Vec<(String, String)> {
    sqlx::query_as("select subject, body from outbound_emails where subject like $1 || '%' order by created_at")
        .bind(subject_start)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

/// Operations' page: Basic auth with the admin token, posts from our own origin.
fn operator(app: &TestApp, m: Method, path: &str) -> reqwest::RequestBuilder {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("ops:{ADMIN_TOKEN}"));
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .request(m, format!("{}{path}", app.api_url))
        .header("authorization", format!("Basic {basic}"))
        .header("origin", &app.api_url)
}

async fn decide(app: &TestApp, business: &str, form: &str) {
    let r = operator(
        app,
        Method::POST,
        &format!("/admin/registrations/{business}"),
    )
    .header("content-type", "application/x-www-form-urlencoded")
    .body(form.to_owned())
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn a_held_business_alerts_by_email_registers_and_sends_only_fresh_greetings_once_approved() {
    let app = TestApp::builder().empty().spawn().await;
    let token = sign_up(&app, OWNER).await;
    app.prove_phone(&token, OWNER_MOBILE).await;
    let number = buy_number(&app, &token).await;
    let business: String = sqlx::query_scalar("select id::text from businesses")
        .fetch_one(&app.db)
        .await
        .unwrap();

    // Not approved: the caller is not texted, the owner is alerted by email (not by a text from
    // the unregistered number), and the conversation stays open.
    let fresh = "+15125550181";
    missed_call_from(&app, &number, fresh).await;
    wait_until(
        Duration::from_secs(15),
        "the owner alerted by email",
        || async { !emails(&app, "Missed calls").await.is_empty() },
    )
    .await;
    let (_, alert) = emails(&app, "Missed calls").await.remove(0);
    assert!(
        alert.contains("Missed call from (512) 555-0181") && alert.contains("Not texted"),
        "{alert}"
    );
    assert!(app.texts_to(fresh).is_empty());
    assert!(
        app.texts_to(OWNER_MOBILE)
            .iter()
            .all(|m| m.from == PLATFORM_NUMBER),
        "only the code"
    );
    assert_eq!(
        app.count("select count(*) from conversations where status = 'active'")
            .await,
        1
    );

    // The registration comes prefilled from the business; gaps are named field by field.
    let m: Value = as_owner(&app, Method::GET, "/api/messaging", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["status"], "not_registered");
    let mut registration = m["registration"].clone();
    assert!(
        registration["campaign"]["sample_messages"][0]
            .as_str()
            .unwrap()
            .contains("Pipe Pros"),
        "{m}"
    );
    let r = as_owner(&app, Method::PUT, "/api/messaging", &token)
        .json(&registration)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let bad: Value = r.json().await.unwrap();
    for field in [
        "brand.street",
        "brand.city",
        "brand.state",
        "brand.postal_code",
    ] {
        assert!(bad["error"]["fields"][field].is_string(), "{field}: {bad}");
    }
    registration["brand"]["street"] = json!("1 Main St");
    registration["brand"]["city"] = json!("Austin");
    registration["brand"]["state"] = json!("TX");
    registration["brand"]["postal_code"] = json!("78701");
    let r = as_owner(&app, Method::PUT, "/api/messaging", &token)
        .json(&registration)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Operations: the page needs the admin token, lists the registration, and a rejection needs a reason.
    let r = reqwest::get(format!("{}/admin/registrations", app.api_url))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    let page = operator(&app, Method::GET, "/admin/registrations")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Pipe Pros") && page.contains("1 Main St"),
        "{page}"
    );
    let r = operator(
        &app,
        Method::POST,
        &format!("/admin/registrations/{business}"),
    )
    .header("content-type", "application/x-www-form-urlencoded")
    .body("status=rejected&note=")
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    decide(
        &app,
        &business,
        "status=rejected&note=The+website+does+not+name+the+business",
    )
    .await;
    let (_, why) = emails(&app, "Texting registration needs a fix")
        .await
        .remove(0);
    assert!(
        why.contains("The website does not name the business"),
        "{why}"
    );
    let m: Value = as_owner(&app, Method::GET, "/api/messaging", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (m["status"].as_str(), m["note"].as_str()),
        (
            Some("rejected"),
            Some("The website does not name the business")
        )
    );

    // Fixed and approved. A call held for 40 minutes is stale: listed for the owner, not texted.
    let r = as_owner(&app, Method::PUT, "/api/messaging", &token)
        .json(&registration)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let stale = "+15125550182";
    missed_call_from(&app, &number, stale).await;
    wait_until(
        Duration::from_secs(15),
        "the second greeting held",
        || async {
            app.count("select count(*) from messages where kind = 'greeting' and status = 'held'")
                .await
                == 2
        },
    )
    .await;
    sqlx::query("update messages set created_at = now() - interval '40 minutes' where kind = 'greeting' and to_phone = $1")
        .bind(stale)
        .execute(&app.db)
        .await
        .unwrap();
    decide(&app, &business, "status=approved").await;
    let (_, approved) = emails(&app, "Texting approved").await.remove(0);
    assert!(
        approved.contains("(512) 555-0182") && !approved.contains("(512) 555-0181"),
        "{approved}"
    );
    assert_eq!(
        app.count("select count(*) from notifications where kind = 'registration'")
            .await,
        2
    );
    let greeting = app.expect_texts(fresh, 1).await.remove(0);
    assert!(greeting.body.contains("Pipe Pros"), "{}", greeting.body);
    app.expect_no_more_texts(stale, 0, Duration::from_secs(3))
        .await;

    // From now on a missed call is texted at once, and the owner alerted by text too.
    let next = "+15125550183";
    missed_call_from(&app, &number, next).await;
    app.expect_texts(next, 1).await;
    wait_until(Duration::from_secs(10), "the owner texted", || async {
        app.texts_to(OWNER_MOBILE)
            .iter()
            .any(|m| m.body.contains("555-0183"))
    })
    .await;
}
