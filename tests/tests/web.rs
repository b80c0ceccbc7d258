//! The owner's web pages (issue 6, first slice): log-in with an HttpOnly, SameSite=Strict cookie,
//! the home page with today's numbers, log-out. Plain HTTP here; browser tests come with the UI.

use nmc_tests::*;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn log_in_see_home_log_out() {
    let app = TestApp::spawn().await;
    let http = no_redirects();
    let r = http.get(format!("{}/app", app.api_url)).send().await.unwrap();
    assert_eq!(r.status(), 303, "signed out: to the log-in page");
    assert_eq!(r.headers()["location"], "/login");
    let page = http.get(format!("{}/login", app.api_url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"<label for="email">"#) && page.contains(r#"name="viewport""#), "labelled, phone-sized: {page}");

    let wrong = http.post(format!("{}/login", app.api_url)).header("content-type", "application/x-www-form-urlencoded").body("email=dana%40acme.example&password=nope+nope+nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("That email or password is not right."));

    let ok = http.post(format!("{}/login", app.api_url)).header("content-type", "application/x-www-form-urlencoded").body(format!("email=dana%40acme.example&password={}", OWNER_PASSWORD.replace(' ', "+"))).send().await.unwrap();
    assert_eq!(ok.status(), 303);
    let set = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let home = http.get(format!("{}/app", app.api_url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(html.contains("Acme Plumbing") && html.contains("recovered"), "{html}");
    // The cookie works for the API too (same session).
    assert_eq!(http.get(format!("{}/api/auth/me", app.api_url)).header("cookie", &cookie).send().await.unwrap().status(), 200);

    let out = http.post(format!("{}/logout", app.api_url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let after = http.get(format!("{}/app", app.api_url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(after.status(), 303, "the old cookie's session is over");
}

#[tokio::test]
async fn the_dev_phone_exists_only_with_the_built_in_sandbox() {
    // This stack talks to a carrier at its own address (as a real Twilio account would): no dev phone.
    let app = TestApp::spawn().await;
    let http = no_redirects();
    assert_eq!(http.get(format!("{}/dev/phone", app.api_url)).send().await.unwrap().status(), 404);
    let r = http.post(format!("{}/dev/phone/call", app.api_url)).header("content-type", "application/x-www-form-urlencoded").body("number=%2B15005550006&caller=%2B15125550199").send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(app.sandbox.messages().is_empty());
}

async fn cookie_for(app: &TestApp, http: &reqwest::Client) -> String {
    let ok = http
        .post(format!("{}/login", app.api_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email=dana%40acme.example&password={}", OWNER_PASSWORD.replace(' ', "+")))
        .send()
        .await
        .unwrap();
    ok.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_inbox_shows_the_thread_and_the_owner_takes_over_and_answers() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 600").await;
    let http = no_redirects();
    let cookie = cookie_for(&app, &http).await;
    let get = |path: String| http.get(format!("{}{path}", app.api_url)).header("cookie", cookie.clone()).send();
    let empty = get("/app/inbox".into()).await.unwrap().text().await.unwrap();
    assert!(empty.contains("No conversations here yet"), "an empty state that says what happens next");

    let caller = "+15125550144";
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 1).await;
    app.text(caller, "is anyone there? need a quote for a new faucet").await;
    wait_until(std::time::Duration::from_secs(10), "the text on the thread", || async {
        app.count("select count(*) from messages where direction = 'inbound' and conversation_id is not null").await == 1
    })
    .await;
    let list = get("/app/inbox".into()).await.unwrap().text().await.unwrap();
    assert!(list.contains(caller), "{list}");
    let id: uuid::Uuid = sqlx::query_scalar("select id from conversations").fetch_one(&app.db).await.unwrap();
    let page = get(format!("/app/inbox/{id}")).await.unwrap().text().await.unwrap();
    assert!(page.contains("is anyone there?") && page.contains(">Caller<") && page.contains("Take over"), "{page}");
    assert!(page.contains("EventSource('/api/events')"), "the thread updates live");

    let r = http.post(format!("{}/app/inbox/{id}/takeover", app.api_url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 303);
    wait_until(std::time::Duration::from_secs(10), "owner mode", || async { app.count("select count(*) from conversations where mode = 'owner'").await == 1 }).await;
    let r = http
        .post(format!("{}/app/inbox/{id}/send", app.api_url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("body=On+my+way%2C+Dana")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let texts = app.expect_texts(caller, 2).await;
    assert_eq!(texts[1].body, "On my way, Dana");
    let page = get(format!("/app/inbox/{id}")).await.unwrap().text().await.unwrap();
    assert!(page.contains("Return to assistant") && page.contains(">You<"), "{page}");
    let fragment = get(format!("/app/inbox/{id}/thread")).await.unwrap().text().await.unwrap();
    assert!(fragment.contains("On my way, Dana"));
}

#[tokio::test]
async fn the_appointments_page_lists_the_days_and_cancelling_tells_the_caller() {
    let app = TestApp::spawn().await;
    let http = no_redirects();
    let cookie = cookie_for(&app, &http).await;
    let b = app.business_id().await;
    let empty = http.get(format!("{}/app/appointments", app.api_url)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(empty.contains("No appointments in the next two weeks"));
    app.owner(reqwest::Method::POST, "/api/technicians", b).json(&serde_json::json!({"name": "Alex"})).send().await.unwrap();
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let caller = "+15125550145";
    let r = app
        .owner(reqwest::Method::POST, "/api/appointments", b)
        .json(&serde_json::json!({"start": start, "duration_minutes": 60, "service_name": "Leak Repair", "customer_name": "Pat", "customer_phone": caller}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let page = http.get(format!("{}/app/appointments", app.api_url)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Leak Repair") && page.contains("Pat") && page.contains("<h2>"), "{page}");
    let r = http
        .post(format!("{}/app/appointments/{id}/status", app.api_url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("status=cancelled")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let texts = app.expect_texts(caller, 1).await;
    assert!(texts[0].body.starts_with("Acme Plumbing had to cancel your Leak Repair"), "{}", texts[0].body);
}
