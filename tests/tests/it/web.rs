//! The owner's web pages over plain HTTP: log-in with HttpOnly, SameSite=Strict cookies, sign-up
//! errors, set-up resumed where it was left, the refresh cookie, the inbox, appointments, the
//! calls CSV. The browser tests (tests/browser.rs) drive the same pages in Chromium.

use nmc_tests::*;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn log_in_see_home_log_out() {
    let app = TestApp::spawn().await;
    let http = no_redirects();
    let r = http
        .get(format!("{}/app", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "signed out: to the log-in page");
    assert_eq!(r.headers()["location"], "/login");
    let page = http
        .get(format!("{}/login", app.api_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<label for="email">"#) && page.contains(r#"name="viewport""#),
        "labelled, phone-sized: {page}"
    );

    let wrong = http
        .post(format!("{}/login", app.api_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=dana%40acme.example&password=nope+nope+nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That email or password is not right.")
    );

    let ok = http
        .post(format!("{}/login", app.api_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email=dana%40acme.example&password={}",
            OWNER_PASSWORD.replace(' ', "+")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    let set = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    let home = http
        .get(format!("{}/app", app.api_url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    let html = home.text().await.unwrap();
    assert!(
        html.contains("Acme Plumbing") && html.contains("recovered"),
        "{html}"
    );
    // The cookie works for the API too (same session).
    assert_eq!(
        http.get(format!("{}/api/auth/me", app.api_url))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let out = http
        .post(format!("{}/logout", app.api_url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = http
        .get(format!("{}/app", app.api_url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303, "the old cookie's session is over");
}

#[tokio::test]
async fn the_dev_phone_exists_only_with_the_built_in_sandbox() {
    // This stack talks to a carrier at its own address (as a real Twilio account would): no dev phone.
    let app = TestApp::spawn().await;
    let http = no_redirects();
    assert_eq!(
        http.get(format!("{}/dev/phone", app.api_url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let r = http
        .post(format!("{}/dev/phone/call", app.api_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("number=%2B15005550006&caller=%2B15125550199")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(app.sandbox.messages().is_empty());
}

async fn cookie_for(app: &TestApp, http: &reqwest::Client) -> String {
    let ok = http
        .post(format!("{}/login", app.api_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "email=dana%40acme.example&password={}",
            OWNER_PASSWORD.replace(' ', "+")
        ))
        .send()
        .await
        .unwrap();
    ok.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_inbox_shows_the_thread_and_the_owner_takes_over_and_answers() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 600").await;
    let http = no_redirects();
    let cookie = cookie_for(&app, &http).await;
    let get = |path: String| {
        http.get(format!("{}{path}", app.api_url))
            .header("cookie", cookie.clone())
            .send()
    };
    let empty = get("/app/inbox".into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        empty.contains("No conversations yet"),
        "an empty state that says what happens next"
    );

    let caller = "+15125550144";
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 1).await;
    app.text(caller, "is anyone there? need a quote for a new faucet")
        .await;
    wait_until(std::time::Duration::from_secs(10), "the text on the thread", || async {
        app.count("select count(*) from messages where direction = 'inbound' and conversation_id is not null").await == 1
    })
    .await;
    let list = get("/app/inbox".into())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("(512) 555-0144"), "{list}");
    let id: uuid::Uuid = sqlx::query_scalar("select id from conversations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let page = get(format!("/app/inbox/{id}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("is anyone there?")
            && page.contains(">Caller<")
            && page.contains("Take over"),
        "{page}"
    );
    assert!(
        page.contains(&format!("data-live=\"/app/inbox/{id}/thread\""))
            && page.contains("/assets/app.js"),
        "the thread updates live"
    );

    let r = http
        .post(format!("{}/app/inbox/{id}/takeover", app.api_url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    wait_until(std::time::Duration::from_secs(10), "owner mode", || async {
        app.count("select count(*) from conversations where mode = 'owner'")
            .await
            == 1
    })
    .await;
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
    let page = get(format!("/app/inbox/{id}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Return to assistant") && page.contains(">You<"),
        "{page}"
    );
    let fragment = get(format!("/app/inbox/{id}/thread"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fragment.contains("On my way, Dana"));
}

#[tokio::test]
async fn the_appointments_page_lists_the_days_and_cancelling_tells_the_caller() {
    let app = TestApp::spawn().await;
    let http = no_redirects();
    let cookie = cookie_for(&app, &http).await;
    let b = app.business_id().await;
    let empty = http
        .get(format!("{}/app/appointments?view=list", app.api_url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(empty.contains("No appointments in these days"));
    app.owner(reqwest::Method::POST, "/api/technicians", b)
        .json(&serde_json::json!({"name": "Alex"}))
        .send()
        .await
        .unwrap();
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    let caller = "+15125550145";
    let r = app
        .owner(reqwest::Method::POST, "/api/appointments", b)
        .json(&serde_json::json!({"start": start, "duration_minutes": 60, "service_name": "Leak Repair", "customer_name": "Pat", "customer_phone": caller}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = http
        .get(format!("{}/app/appointments?view=list", app.api_url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Leak Repair") && page.contains("Pat") && page.contains("<h2"),
        "{page}"
    );
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
    assert!(
        texts[0]
            .body
            .starts_with("Acme Plumbing had to cancel your Leak Repair"),
        "{}",
        texts[0].body
    );
}

fn form(http: &reqwest::Client, url: String, body: String) -> reqwest::RequestBuilder {
    http.post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

fn cookies(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn sign_up_errors_change_nothing_and_set_up_resumes_where_it_was_left() {
    let app = TestApp::spawn().await;
    let http = no_redirects();
    let signup =
        |body: &str| form(&http, format!("{}/signup", app.api_url), body.to_owned()).send();
    let bad = signup("business_name=Pipe+Pros&owner_name=Lee&email=lee%40pipepros.example&phone=12&password=short&trade=plumbing&timezone=America%2FChicago").await.unwrap();
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    assert!(
        html.contains("at least 10 characters")
            && html.contains(r#"aria-invalid="true""#)
            && html.contains("Pipe Pros"),
        "errors by the fields, what was typed kept: {html}"
    );
    assert_eq!(
        app.count("select count(*) from businesses").await,
        1,
        "nothing created"
    );

    let ok = signup("business_name=Pipe+Pros&owner_name=Lee&email=lee%40pipepros.example&phone=%2B15125550177&password=plenty+long+pass&trade=plumbing&timezone=America%2FChicago").await.unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/app/onboarding");
    let jar = cookies(&ok);
    assert!(
        jar.contains("nmc_access=") && jar.contains("nmc_refresh="),
        "{jar}"
    );
    let get = |path: &str, jar: &str| {
        http.get(format!("{}{path}", app.api_url))
            .header("cookie", jar.to_owned())
            .send()
    };
    assert_eq!(
        get("/app", &jar).await.unwrap().headers()["location"],
        "/app/onboarding",
        "a new account starts with set-up"
    );
    assert_eq!(
        get("/app/onboarding", &jar).await.unwrap().headers()["location"],
        "/app/onboarding/profile"
    );
    let greeting = get("/app/onboarding/greeting", &jar)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        greeting.contains("Step 4 of 7") && greeting.contains("<progress"),
        "{greeting}"
    );
    // Going back to an earlier step keeps the place.
    assert_eq!(
        get("/app/onboarding/profile", &jar).await.unwrap().status(),
        200
    );

    // The preview is the text as it will be sent, with its segment count.
    let preview = |text: &str| get(&format!("/app/onboarding/preview?text={text}"), &jar);
    let one = preview("Hi+from+%7Bbusiness%7D")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        one.contains("Hi from Pipe Pros Reply STOP to opt out.") && one.contains("1 SMS segment"),
        "{one}"
    );
    let long = preview(&"word+".repeat(40))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(long.contains("2 SMS segments"), "{long}");
    let emoji = preview("Hi+%F0%9F%94%A7")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(emoji.contains("special character"), "{emoji}");

    // Log out and back in: set-up continues at the step reached.
    assert_eq!(
        http.post(format!("{}/logout", app.api_url))
            .header("cookie", &jar)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let login = form(
        &http,
        format!("{}/login", app.api_url),
        "email=lee%40pipepros.example&password=plenty+long+pass".into(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(login.headers()["location"], "/app/onboarding");
    let jar = cookies(&login);
    assert_eq!(
        get("/app/onboarding", &jar).await.unwrap().headers()["location"],
        "/app/onboarding/greeting"
    );
    let done = http
        .post(format!("{}/app/onboarding/finish", app.api_url))
        .header("cookie", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(done.headers()["location"], "/app/inbox");
    assert_eq!(
        get("/app", &jar).await.unwrap().status(),
        200,
        "set-up finished: home"
    );
}

#[tokio::test]
async fn the_refresh_cookie_keeps_the_owner_signed_in_once_per_token() {
    let app = TestApp::spawn().await;
    let http = no_redirects();
    let login = form(
        &http,
        format!("{}/login", app.api_url),
        format!(
            "email=dana%40acme.example&password={}",
            OWNER_PASSWORD.replace(' ', "+")
        ),
    )
    .send()
    .await
    .unwrap();
    let jar = cookies(&login);
    let refresh = jar
        .split("; ")
        .find(|c| c.starts_with("nmc_refresh="))
        .unwrap()
        .to_owned();
    // The 15-minute access cookie is gone; the refresh cookie renews the session.
    let r = http
        .get(format!("{}/app/calls?outcome=missed", app.api_url))
        .header("cookie", &refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["location"],
        "/session/refresh?next=%2Fapp%2Fcalls%3Foutcome%3Dmissed"
    );
    let renewed = http
        .get(format!(
            "{}/session/refresh?next=%2Fapp%2Fcalls%3Foutcome%3Dmissed",
            app.api_url
        ))
        .header("cookie", &refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(renewed.headers()["location"], "/app/calls?outcome=missed");
    let fresh = cookies(&renewed);
    assert_eq!(
        http.get(format!("{}/app/calls", app.api_url))
            .header("cookie", &fresh)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Only our own pages are places to return to.
    let elsewhere = http
        .get(format!(
            "{}/session/refresh?next=%2F%2Fevil.example",
            app.api_url
        ))
        .header("cookie", &fresh)
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.headers()["location"], "/app");
    // The old refresh token again: refused, and the session it belonged to is over.
    let reused = http
        .get(format!("{}/session/refresh", app.api_url))
        .header("cookie", &refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(reused.headers()["location"], "/login");
    assert_eq!(
        http.get(format!("{}/app/calls", app.api_url))
            .header("cookie", &fresh)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
}

#[tokio::test]
async fn the_calls_log_filters_and_exports_csv() {
    let app = TestApp::spawn().await;
    let http = no_redirects();
    let cookie = cookie_for(&app, &http).await;
    let caller = "+15125550146";
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 1).await;
    app.text(caller, "=HYPERLINK(\"http://evil.example\") is my name")
        .await;
    let get = |path: &str| {
        http.get(format!("{}{path}", app.api_url))
            .header("cookie", cookie.clone())
            .send()
    };
    let missed = get("/app/calls?outcome=missed")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        missed.contains("(512) 555-0146") && missed.contains("missed"),
        "{missed}"
    );
    let answered = get("/app/calls?outcome=answered")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(answered.contains("No calls match") && !answered.contains("(512) 555-0146"));
    let csv = get("/app/calls.csv?outcome=missed").await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("calls.csv")
    );
    let body = csv.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "time,caller_phone,caller_name,outcome,after_hours,repeat,answered_secs,voicemail_transcript"
    );
    assert_eq!(lines.len(), 2, "{body}");
    assert!(
        lines[1].contains(&format!(",{caller},")) && lines[1].contains(",missed,"),
        "{body}"
    );
    assert!(
        !body.contains(",=HYPERLINK"),
        "no formula in a cell: {body}"
    );
    let none = get("/app/calls.csv?outcome=answered")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(none.lines().count(), 1);
}

#[tokio::test]
async fn home_shows_banners_for_emergencies_and_texts_not_delivered() {
    let app = TestApp::spawn().await;
    let http = no_redirects();
    let cookie = cookie_for(&app, &http).await;
    let home = || async {
        http.get(format!("{}/app", app.api_url))
            .header("cookie", cookie.clone())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let quiet = home().await;
    assert!(
        !quiet.contains("not delivered") && !quiet.contains("Emergency:"),
        "{quiet}"
    );

    // A landline: the carrier refuses the text.
    let landline = "+15125550147";
    app.sandbox.add_fault(nmc_sandbox::Fault {
        to: Some(landline.into()),
        status: 400,
        code: Some(21614),
        count: 100,
        delay_ms: 0,
    });
    app.call(landline, "no-answer").await;
    wait_until(
        std::time::Duration::from_secs(15),
        "the failed greeting",
        || async {
            app.count("select count(*) from messages where status = 'failed'")
                .await
                >= 1
        },
    )
    .await;
    // A burst pipe.
    let flooded = "+15125550148";
    app.call(flooded, "no-answer").await;
    app.expect_texts(flooded, 1).await;
    app.text(
        flooded,
        "EMERGENCY pipe burst, water everywhere in the basement",
    )
    .await;
    wait_until(
        std::time::Duration::from_secs(15),
        "the emergency",
        || async {
            app.count("select count(*) from conversations where emergency")
                .await
                == 1
        },
    )
    .await;

    let page = home().await;
    assert!(page.contains("1 text not delivered"), "{page}");
    assert!(
        page.contains("Emergency: ") && page.contains(&format!("tel:{flooded}")),
        "{page}"
    );
    assert!(
        page.contains("Missed call") && page.contains("Caller texted"),
        "the activity feed: {page}"
    );
    assert!(
        page.contains("Missed calls, last 14 days") && page.contains("<svg"),
        "the chart"
    );
}
