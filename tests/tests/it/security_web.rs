//! Sessions and the web (issue 12): the live feed ends with its session; a page's concurrent
//! refreshes inside the grace keep the owner signed in while reuse after it still ends the
//! session; log-in redirects stay on the site; web log-out works after the access cookie
//! expired; `__Host-` Secure cookies and HSTS over https; cross-site writes refused; the log-in
//! limits count before the password is checked and per trusted-proxy address; sign-up and
//! invitation acceptance are rate-limited; technicians get 403 on prices and schedule rules.

use std::time::Duration;

use futures::future::join_all;
use nmc_tests::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const OWNER_EMAIL: &str = "dana@acme.example";
const TECH_PASSWORD: &str = "a fine long password";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.http
        .post(format!("{}{path}", app.api_url))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn form(http: &reqwest::Client, url: String, body: String) -> reqwest::RequestBuilder {
    http.post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

/// `name=value` pairs of a response's Set-Cookie headers, as a Cookie header.
fn cookies(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

fn cookie_named(jar: &str, prefix: &str) -> String {
    jar.split("; ")
        .find(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} in {jar}"))
        .to_owned()
}

/// Logs in through the log-in form; returns the response (its cookies, its Location).
async fn form_log_in(
    app: &TestApp,
    http: &reqwest::Client,
    query: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let body = format!(
        "email={}&password={}",
        email.replace('@', "%40"),
        password.replace(' ', "+")
    );
    form(http, format!("{}/login{query}", app.api_url), body)
        .send()
        .await
        .unwrap()
}

/// Invites a technician and accepts as them; returns their tokens.
async fn technician(app: &TestApp, business: Uuid) -> Value {
    let r = app
        .owner(Method::POST, "/api/team/invites", business)
        .json(&json!({"email": "lee@acme.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: String =
        sqlx::query_scalar("select body from outbound_emails order by created_at desc limit 1")
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
    let r = post(
        app,
        "/api/auth/accept-invite",
        json!({"token": token, "name": "Lee Tech", "password": TECH_PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), 201);
    r.json().await.unwrap()
}

async fn commit_event(app: &TestApp, business: Uuid) -> i64 {
    sqlx::query_scalar(
        "insert into events (business_id, kind, data) values ($1, 'test.ping', '{}') returning id",
    )
    .bind(business)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn latest_session(app: &TestApp) -> Uuid {
    sqlx::query_scalar("select id from sessions order by created_at desc limit 1")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_live_feed_ends_when_its_session_is_revoked_expires_or_its_user_is_removed() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    let logged_out = log_in(&app.http, &app.api_url, OWNER_EMAIL, OWNER_PASSWORD).await;
    let expiring = log_in(&app.http, &app.api_url, OWNER_EMAIL, OWNER_PASSWORD).await;
    let expiring_session = latest_session(&app).await;
    let stays = log_in(&app.http, &app.api_url, OWNER_EMAIL, OWNER_PASSWORD).await;
    let tech = technician(&app, b).await;
    let (http, api) = (&app.http, &app.api_url);
    let feed = |token: String| async move { EventStream::connect(http, api, &token, None).await };
    let mut feeds = [
        feed(logged_out.clone()).await,
        feed(expiring).await,
        feed(tech["access_token"].as_str().unwrap().to_owned()).await,
    ];
    let mut staying = feed(stays).await;

    // Every feed works to begin with.
    let first = commit_event(&app, b).await;
    for f in feeds.iter_mut().chain([&mut staying]) {
        assert_eq!(
            f.next(Duration::from_secs(10)).await.map(|e| e.id),
            Some(first)
        );
    }

    // Log out one session, expire another, remove the technician.
    let r = app
        .http
        .post(format!("{}/api/auth/logout", app.api_url))
        .bearer_auth(&logged_out)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    sqlx::query(
        "update refresh_tokens set expires_at = now() - interval '1 second' where session_id = $1",
    )
    .bind(expiring_session)
    .execute(&app.db)
    .await
    .unwrap();
    let tech_id = tech["user"]["id"].as_str().unwrap();
    assert_eq!(
        app.owner(Method::DELETE, &format!("/api/team/{tech_id}"), b)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    // Deliberately past the few seconds a feed may trust its last check.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let second = commit_event(&app, b).await;
    assert_eq!(
        staying.next(Duration::from_secs(10)).await.map(|e| e.id),
        Some(second),
        "an open session still gets events"
    );
    for (f, why) in feeds
        .iter_mut()
        .zip(["logged out", "expired", "technician removed"])
    {
        assert!(
            f.ends_within(Duration::from_secs(10)).await,
            "{why}: the feed delivered the event or stayed open"
        );
    }
}

#[tokio::test]
async fn a_pages_concurrent_refreshes_keep_the_session_and_reuse_after_the_grace_still_ends_it() {
    let app = TestApp::spawn().await;
    let t0: Value = post(
        &app,
        "/api/auth/login",
        json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}),
    )
    .await
    .json()
    .await
    .unwrap();
    let refresh = |token: Value| post(&app, "/api/auth/refresh", json!({"refresh_token": token}));
    // Five requests at once with the same refresh token, as a page's parallel fetches send it.
    let answers = join_all((0..5).map(|_| refresh(t0["refresh_token"].clone()))).await;
    let mut successors = vec![];
    for r in answers {
        assert_eq!(r.status(), 200, "inside the grace nothing is revoked");
        successors.push(r.json::<Value>().await.unwrap()["refresh_token"].clone());
    }
    assert!(
        successors.iter().all(|t| *t == successors[0]) && successors[0] != t0["refresh_token"],
        "one successor: {successors:?}"
    );
    let t1 = successors[0].clone();
    let t2: Value = refresh(t1.clone()).await.json().await.unwrap();
    let me = |token: Value| {
        app.http
            .get(format!("{}/api/auth/me", app.api_url))
            .bearer_auth(token.as_str().unwrap().to_owned())
            .send()
    };
    assert_eq!(
        me(t2["access_token"].clone()).await.unwrap().status(),
        200,
        "the session goes on"
    );

    // The pages: two renewals at once with one refresh cookie both land, with the same cookies.
    let http = no_redirects();
    let jar = cookies(&form_log_in(&app, &http, "", OWNER_EMAIL, OWNER_PASSWORD).await);
    let old = cookie_named(&jar, "nmc_refresh=");
    let renew = || {
        http.get(format!(
            "{}/session/refresh?next=%2Fapp%2Fcalls",
            app.api_url
        ))
        .header("cookie", &old)
        .send()
    };
    let (a, b) = tokio::join!(renew(), renew());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        (
            a.headers()["location"].to_str().unwrap(),
            b.headers()["location"].to_str().unwrap()
        ),
        ("/app/calls", "/app/calls")
    );
    assert_eq!(
        cookie_named(&cookies(&a), "nmc_refresh="),
        cookie_named(&cookies(&b), "nmc_refresh=")
    );
    assert_eq!(
        http.get(format!("{}/app/calls", app.api_url))
            .header("cookie", cookies(&b))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // After the grace, the just-rotated token again is theft: the session ends.
    sqlx::query("update refresh_tokens set used_at = used_at - interval '1 minute' where used_at is not null").execute(&app.db).await.unwrap();
    assert_eq!(refresh(t1).await.status(), 401);
    assert_eq!(
        me(t2["access_token"].clone()).await.unwrap().status(),
        401,
        "reuse after the grace revokes the session"
    );
    let reused = http
        .get(format!("{}/session/refresh", app.api_url))
        .header("cookie", &old)
        .send()
        .await
        .unwrap();
    assert_eq!(reused.headers()["location"], "/login");
    assert_eq!(
        http.get(format!("{}/app/calls", app.api_url))
            .header("cookie", cookies(&b))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
}

#[tokio::test]
async fn log_in_sends_the_browser_only_to_this_site_and_web_log_out_works_after_the_access_cookie_expired()
 {
    let app = TestApp::spawn().await;
    let http = no_redirects();
    for (next, to) in [
        ("/%09/evil.example", "/app"),
        ("%2F%5Cevil.example", "/app"),
        ("https://evil.example/", "/app"),
        (
            "%2Fapp%2Fcalls%3Foutcome%3Dmissed",
            "/app/calls?outcome=missed",
        ),
    ] {
        let r = form_log_in(
            &app,
            &http,
            &format!("?next={next}"),
            OWNER_EMAIL,
            OWNER_PASSWORD,
        )
        .await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], to, "next={next}");
    }
    let jar = cookies(&form_log_in(&app, &http, "", OWNER_EMAIL, OWNER_PASSWORD).await);
    let elsewhere = http
        .get(format!(
            "{}/session/refresh?next=/%09/evil.example",
            app.api_url
        ))
        .header("cookie", cookie_named(&jar, "nmc_refresh="))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.headers()["location"], "/app");

    // The browser dropped the 15-minute access cookie; log-out finds the session by the refresh cookie.
    let jar = cookies(&elsewhere);
    let (access, refresh) = (
        cookie_named(&jar, "nmc_access="),
        cookie_named(&jar, "nmc_refresh="),
    );
    assert_eq!(
        http.get(format!("{}/app", app.api_url))
            .header("cookie", &access)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let out = http
        .post(format!("{}/logout", app.api_url))
        .header("cookie", &refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()
            .get_all("set-cookie")
            .iter()
            .all(|v| v.to_str().unwrap().contains("Max-Age=0"))
    );
    assert_eq!(
        http.get(format!("{}/app", app.api_url))
            .header("cookie", &access)
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "the session is over"
    );
    let renew = http
        .get(format!("{}/session/refresh", app.api_url))
        .header("cookie", &refresh)
        .send()
        .await
        .unwrap();
    assert_eq!(renew.headers()["location"], "/login");
}

#[tokio::test]
async fn over_https_the_cookies_are_host_prefixed_and_secure_and_hsts_is_sent() {
    // Only cookies and headers are checked here: the webhook signatures would use the https URL.
    let app = TestApp::builder()
        .configure(|c| c.public_base_url = c.public_base_url.replacen("http://", "https://", 1))
        .spawn()
        .await;
    let http = no_redirects();
    let page = http
        .get(format!("{}/login", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let r = form_log_in(&app, &http, "", OWNER_EMAIL, OWNER_PASSWORD).await;
    assert_eq!(r.status(), 303);
    let set: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(set.len(), 2);
    for c in &set {
        assert!(
            c.starts_with("__Host-nmc_")
                && c.contains("; Secure")
                && c.contains("Path=/")
                && !c.contains("Domain"),
            "{c}"
        );
    }
    let jar = cookies(&r);
    assert_eq!(
        http.get(format!("{}/app", app.api_url))
            .header("cookie", &jar)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The plain names are not read over https.
    let plain = jar.replace("__Host-", "");
    assert_eq!(
        http.get(format!("{}/app", app.api_url))
            .header("cookie", plain)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let out = http
        .post(format!("{}/logout", app.api_url))
        .header("cookie", &jar)
        .send()
        .await
        .unwrap();
    assert!(
        out.headers()
            .get_all("set-cookie")
            .iter()
            .all(|v| v.to_str().unwrap().starts_with("__Host-"))
    );
    assert_eq!(
        http.get(format!("{}/app", app.api_url))
            .header("cookie", &jar)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
}

#[tokio::test]
async fn state_changing_requests_from_other_sites_are_refused() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    let http = no_redirects();
    let jar = cookies(&form_log_in(&app, &http, "", OWNER_EMAIL, OWNER_PASSWORD).await);
    assert!(
        app.http
            .get(format!("{}/login", app.api_url))
            .send()
            .await
            .unwrap()
            .headers()
            .get("strict-transport-security")
            .is_none(),
        "no HSTS over http"
    );
    let add = |header: Option<(&str, &str)>, name: &str| {
        let mut req = http
            .post(format!("{}/api/technicians", app.api_url))
            .header("cookie", &jar)
            .json(&json!({"name": name}));
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        req.send()
    };
    for h in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("referer", "https://evil.example/page"),
    ] {
        let r = add(Some(h), "Mole").await.unwrap();
        assert_eq!(r.status(), 403, "{h:?}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"]["code"],
            "cross_site"
        );
    }
    assert_eq!(
        app.count("select count(*) from technicians").await,
        0,
        "nothing written"
    );
    let ours = format!("{}/app/settings", app.api_url);
    assert_eq!(
        add(Some(("origin", app.api_url.as_str())), "Alex")
            .await
            .unwrap()
            .status(),
        201,
        "our own pages"
    );
    assert_eq!(
        add(Some(("referer", ours.as_str())), "Sam")
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        add(None, "Kim").await.unwrap().status(),
        201,
        "no Origin: not a browser"
    );
    // Bearer tokens are not sent by browsers on their own; reads are not checked.
    let bearer = app
        .owner(Method::POST, "/api/technicians", b)
        .header("origin", "https://evil.example")
        .json(&json!({"name": "Jo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 201);
    assert_eq!(
        http.get(format!("{}/app", app.api_url))
            .header("cookie", &jar)
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Another site cannot log the browser out, nor into an account of its choosing.
    let out = http
        .post(format!("{}/logout", app.api_url))
        .header("cookie", &jar)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 403);
    assert_eq!(
        http.get(format!("{}/app", app.api_url))
            .header("cookie", &jar)
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "still signed in"
    );
    let body = format!(
        "email=dana%40acme.example&password={}",
        OWNER_PASSWORD.replace(' ', "+")
    );
    assert_eq!(
        form(&http, format!("{}/login", app.api_url), body)
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test]
async fn a_parallel_burst_of_wrong_passwords_cannot_get_past_the_lock() {
    let app = TestApp::spawn().await;
    let wrong = || {
        post(
            &app,
            "/api/auth/login",
            json!({"email": OWNER_EMAIL, "password": "not the password at all"}),
        )
    };
    let answers = join_all((0..15).map(|_| wrong())).await;
    let count = |s: StatusCode| answers.iter().filter(|r| r.status() == s).count();
    // Five attempts are checked (the fifth locks the email); the other ten are refused unchecked.
    assert_eq!(
        (
            count(StatusCode::UNAUTHORIZED),
            count(StatusCode::TOO_MANY_REQUESTS)
        ),
        (5, 10)
    );
    let right = post(
        &app,
        "/api/auth/login",
        json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD}),
    )
    .await;
    assert_eq!(right.status(), 429, "locked, even with the right password");
}

#[tokio::test]
async fn the_log_in_limit_counts_per_address_from_the_trusted_proxy_header() {
    let app = TestApp::builder()
        .configure(|c| c.trusted_proxy_header = Some("x-forwarded-for".into()))
        .spawn()
        .await;
    // Whatever a client puts first, the proxy's own entry (the last) is the address.
    let attempt = |i: usize, xff: String| {
        app.http.post(format!("{}/api/auth/login", app.api_url)).header("x-forwarded-for", xff).json(&json!({"email": format!("nobody{i}@acme.example"), "password": "wrong wrong wrong"})).send()
    };
    for i in 0..20 {
        assert_eq!(
            attempt(i, format!("198.51.100.{i}, 203.0.113.7"))
                .await
                .unwrap()
                .status(),
            401,
            "attempt {i}"
        );
    }
    assert_eq!(
        attempt(20, "192.0.2.1, 203.0.113.7".into())
            .await
            .unwrap()
            .status(),
        429,
        "the 21st in a minute from 203.0.113.7"
    );
    assert_eq!(
        attempt(21, "203.0.113.8".into()).await.unwrap().status(),
        401,
        "another client has its own budget"
    );
}

#[tokio::test]
async fn sign_up_and_invitation_acceptance_are_rate_limited_and_made_up_invitations_refused_first()
{
    let app = TestApp::spawn().await;
    // A made-up link is refused before anything else (its password would otherwise be hashed).
    let r = post(
        &app,
        "/api/auth/accept-invite",
        json!({"token": "made-up", "name": "Lee", "password": "short"}),
    )
    .await;
    assert_eq!(r.status(), 422);
    let fields = r.json::<Value>().await.unwrap()["error"]["fields"].clone();
    assert!(fields["token"].is_string(), "the link is checked: {fields}");
    for i in 0..9 {
        assert_eq!(
            post(&app, "/api/auth/signup", json!({})).await.status(),
            422,
            "sign-up {i}"
        );
    }
    assert_eq!(
        post(&app, "/api/auth/signup", json!({})).await.status(),
        429,
        "ten an hour per address"
    );
    assert_eq!(
        post(&app, "/api/auth/accept-invite", json!({"token": "made-up"}))
            .await
            .status(),
        429,
        "one budget for both"
    );
    let filled = "business_name=X&owner_name=Y&email=y%40y.example&phone=%2B15125550190&password=plenty+long+pass&trade=plumbing&timezone=America%2FChicago";
    let page = form(
        &no_redirects(),
        format!("{}/signup", app.api_url),
        filled.into(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(page.status(), 429);
}

#[tokio::test]
async fn technicians_get_403_on_prices_and_schedule_rules() {
    let app = TestApp::spawn().await;
    // Price list adopted, a technician, open around the clock.
    let b = app.bookable().await;
    let items: Value = app
        .owner(Method::GET, "/api/catalog", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = items["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.owner(Method::GET, "/api/schedule", b)
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "the owner's"
    );

    let tech = technician(&app, b).await;
    let access = tech["access_token"].as_str().unwrap();
    let item_path = format!("/api/catalog/{item}");
    for (m, path) in [
        (Method::GET, "/api/catalog"),
        (Method::POST, "/api/catalog"),
        (Method::POST, "/api/catalog/adopt"),
        (Method::PUT, item_path.as_str()),
        (Method::DELETE, item_path.as_str()),
        (Method::GET, "/api/schedule"),
        (Method::PUT, "/api/schedule"),
    ] {
        let r = app
            .http
            .request(m.clone(), format!("{}{path}", app.api_url))
            .bearer_auth(access)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{m} {path}");
    }
    assert_eq!(
        app.http
            .get(format!("{}/api/appointments", app.api_url))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "their own work"
    );
    // The pages for the same things.
    let http = no_redirects();
    let jar = cookies(&form_log_in(&app, &http, "", "lee@acme.example", TECH_PASSWORD).await);
    for page in [
        "/app/catalog",
        "/app/assistant",
        "/app/onboarding/hours",
        "/app/onboarding/catalog",
        "/app/settings",
        "/app/settings/integrations",
    ] {
        assert_eq!(
            http.get(format!("{}{page}", app.api_url))
                .header("cookie", &jar)
                .send()
                .await
                .unwrap()
                .status(),
            403,
            "{page}"
        );
    }
    // Booking from a conversation: the technician picks the job without its price.
    app.call("+15125550166", "no-answer").await;
    app.expect_texts("+15125550166", 1).await;
    let id: Uuid = sqlx::query_scalar("select id from conversations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let page = http
        .get(format!("{}/app/inbox/{id}", app.api_url))
        .header("cookie", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Book this job") && !page.contains('$'),
        "no prices for a technician"
    );
    let owner_jar =
        cookies(&form_log_in(&app, &http, "", "dana@acme.example", OWNER_PASSWORD).await);
    let owners = http
        .get(format!("{}/app/inbox/{id}", app.api_url))
        .header("cookie", &owner_jar)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(owners.contains('$'), "the owner sees them");
}
