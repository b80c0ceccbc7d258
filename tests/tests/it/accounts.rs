//! Owner accounts and tenant isolation (issue 5): sign-up, log-in, lock-out without user
//! enumeration, rotating refresh tokens with reuse detection, log-out, technicians by invitation
//! and what their role may do, row-level security in the database, and a walk of every owner
//! route as one tenant against another tenant's ids.

use std::collections::HashMap;

use chrono::Utc;
use nmc_api::owner::Role;
use nmc_tests::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.http
        .post(format!("{}{path}", app.api_url))
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn authed(app: &TestApp, m: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    app.http
        .request(m, format!("{}{path}", app.api_url))
        .bearer_auth(token)
}

#[tokio::test]
async fn sign_up_log_in_refresh_rotation_and_log_out() {
    let app = TestApp::builder().empty().spawn().await;
    let bad = post(
        &app,
        "/api/auth/signup",
        json!({"business_name": "", "email": "nope", "password": "short", "phone": "12"}),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    for f in ["business_name", "owner_name", "email", "password", "phone"] {
        assert!(body["error"]["fields"][f].is_string(), "{f}: {body}");
    }
    let r = post(&app, "/api/auth/signup", json!({"business_name": "Rivera HVAC", "owner_name": "Ana Rivera", "email": "Ana@Rivera.example",
        "password": "a long enough passphrase", "phone": "+15125550142", "timezone": "America/Denver", "trade": "hvac"})).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(tokens["user"]["role"], "owner");
    let me: Value = authed(
        &app,
        Method::GET,
        "/api/auth/me",
        tokens["access_token"].as_str().unwrap(),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(me["business"]["name"], "Rivera HVAC");
    assert_eq!(
        me["business"]["messaging_status"], "not_registered",
        "self-serve sign-ups start unregistered"
    );
    assert!(me["business"]["number"].is_null());
    assert!(
        me.to_string().find("password").is_none(),
        "never a hash: {me}"
    );
    // The same email again: 409 on the field.
    let dup = post(&app, "/api/auth/signup", json!({"business_name": "X", "owner_name": "Y", "email": "ana@rivera.example", "password": "another long passphrase", "phone": "+15125550143"})).await;
    assert_eq!(dup.status(), 409);

    // Log in (email in any case), refresh rotates, the old refresh token is then dead and
    // presenting it again ends the session.
    let login = post(
        &app,
        "/api/auth/login",
        json!({"email": "ANA@rivera.example", "password": "a long enough passphrase"}),
    )
    .await;
    assert_eq!(login.status(), 200);
    let t1: Value = login.json().await.unwrap();
    let r = post(
        &app,
        "/api/auth/refresh",
        json!({"refresh_token": t1["refresh_token"]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let t2: Value = r.json().await.unwrap();
    assert_ne!(t2["refresh_token"], t1["refresh_token"]);
    assert_eq!(
        authed(
            &app,
            Method::GET,
            "/api/auth/me",
            t2["access_token"].as_str().unwrap()
        )
        .send()
        .await
        .unwrap()
        .status(),
        200
    );
    // Past the grace (a page's concurrent requests), a used token again is theft.
    sqlx::query("update refresh_tokens set used_at = used_at - interval '1 minute' where used_at is not null").execute(&app.db).await.unwrap();
    let reuse = post(
        &app,
        "/api/auth/refresh",
        json!({"refresh_token": t1["refresh_token"]}),
    )
    .await;
    assert_eq!(reuse.status(), 401, "a used refresh token is refused");
    assert_eq!(
        authed(
            &app,
            Method::GET,
            "/api/auth/me",
            t2["access_token"].as_str().unwrap()
        )
        .send()
        .await
        .unwrap()
        .status(),
        401,
        "and its session is over"
    );
    assert_eq!(
        post(
            &app,
            "/api/auth/refresh",
            json!({"refresh_token": t2["refresh_token"]})
        )
        .await
        .status(),
        401
    );

    // Log-out ends the session at once, access token included.
    let t3: Value = post(
        &app,
        "/api/auth/login",
        json!({"email": "ana@rivera.example", "password": "a long enough passphrase"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let access = t3["access_token"].as_str().unwrap();
    assert_eq!(
        authed(&app, Method::POST, "/api/auth/logout", access)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        authed(&app, Method::GET, "/api/auth/me", access)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post(
            &app,
            "/api/auth/refresh",
            json!({"refresh_token": t3["refresh_token"]})
        )
        .await
        .status(),
        401
    );
    // A forged token (signed with another key) is refused.
    let forged = format!("{}x", &access[..access.len() - 1]);
    assert_eq!(
        authed(&app, Method::GET, "/api/auth/me", &forged)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn wrong_passwords_lock_the_email_and_never_tell_whether_it_exists() {
    let app = TestApp::spawn().await;
    let known = "dana@acme.example";
    let unknown = "nobody@acme.example";
    let wrong = |email: &'static str| {
        post(
            &app,
            "/api/auth/login",
            json!({"email": email, "password": "not the password at all"}),
        )
    };
    let (a, b) = (wrong(known).await, wrong(unknown).await);
    assert_eq!(
        (a.status(), b.status()),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a, b, "the same answer for a known and an unknown email");
    for _ in 0..4 {
        wrong(known).await;
        wrong(unknown).await;
    }
    // Five failures in a row: both are locked, even with the right password.
    let locked = post(
        &app,
        "/api/auth/login",
        json!({"email": known, "password": OWNER_PASSWORD}),
    )
    .await;
    assert_eq!(locked.status(), 429);
    assert_eq!(
        wrong(unknown).await.status(),
        429,
        "unknown emails lock too"
    );
    assert_eq!(
        app.count("select count(*) from login_failures where locked_until > now()")
            .await,
        2
    );
    // After the lock, the right password works again and clears the count.
    sqlx::query("update login_failures set locked_until = now() - interval '1 second'")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(
        post(
            &app,
            "/api/auth/login",
            json!({"email": known, "password": OWNER_PASSWORD})
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn technicians_join_by_invitation_and_cannot_touch_what_is_the_owners() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    let r = app
        .owner(Method::POST, "/api/team/invites", b)
        .json(&json!({"email": "Tech@Acme.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let (to, body): (String, String) = sqlx::query_as("select to_email, body from outbound_emails")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(to, "tech@acme.example");
    let token = body
        .split("/invite/")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let bad = post(
        &app,
        "/api/auth/accept-invite",
        json!({"token": "made-up", "name": "Lee", "password": "a fine long password"}),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let r = post(
        &app,
        "/api/auth/accept-invite",
        json!({"token": token, "name": "Lee Tech", "password": "a fine long password"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let tech: Value = r.json().await.unwrap();
    assert_eq!(tech["user"]["role"], "tech");
    assert_eq!(
        post(
            &app,
            "/api/auth/accept-invite",
            json!({"token": token, "name": "Again", "password": "a fine long password"})
        )
        .await
        .status(),
        422,
        "one use"
    );
    let access = tech["access_token"].as_str().unwrap().to_owned();

    // Technicians see appointments and work with them…
    assert_eq!(
        authed(&app, Method::GET, "/api/appointments", &access)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // …but the catalog (prices), schedule rules, settings, calendars and the team are the owner's: 403.
    for (m, path, body) in [
        (Method::GET, "/api/catalog", json!({})),
        (Method::GET, "/api/schedule", json!({})),
        (
            Method::POST,
            "/api/catalog",
            json!({"name": "X", "duration_minutes": 30, "price_cents": 100}),
        ),
        (Method::PUT, "/api/schedule", json!({})),
        (Method::POST, "/api/technicians", json!({"name": "Z"})),
        (Method::POST, "/api/calendar/ics/rotate", json!({})),
        (Method::GET, "/api/team", json!({})),
        (
            Method::POST,
            "/api/team/invites",
            json!({"email": "x@y.example"}),
        ),
    ] {
        let r = authed(&app, m.clone(), path, &access)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{m} {path}");
    }
    // The owner removes the technician: their token stops working at once.
    let team: Value = app
        .owner(Method::GET, "/api/team", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tech_id = team["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tech")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.owner(Method::DELETE, &format!("/api/team/{tech_id}"), b)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        authed(&app, Method::GET, "/api/appointments", &access)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn row_level_security_confines_queries_to_the_tenant_even_when_the_code_asks_for_another() {
    let app = TestApp::spawn().await;
    let a = app.business_id().await;
    let b = app.onboard(json!({"name": "Bravo Co", "twilio_number": "+15005550998", "owner_email": "bravo@bravo.example"})).await;
    let item = app
        .owner(Method::POST, "/api/catalog", b)
        .json(&json!({"name": "Bravo Secret Job", "duration_minutes": 30, "price_cents": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(item.status(), 201);
    // A transaction as tenant A asking for B's rows by B's id gets nothing: the database refuses.
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query(
        "select set_config('nmc.business_id', $1, true), set_config('role', 'nmc_app', true)",
    )
    .bind(a.to_string())
    .execute(&mut *tx)
    .await
    .unwrap();
    let rows = nmc_store::scheduling::catalog(&mut tx, b, false)
        .await
        .unwrap();
    assert!(rows.is_empty(), "RLS let tenant A read tenant B's catalog");
    let visible: i64 = sqlx::query_scalar("select count(*) from businesses")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, 1, "only its own business");
    let write = sqlx::query("insert into technicians (business_id, name) values ($1, 'Mole')")
        .bind(b)
        .execute(&mut *tx)
        .await;
    assert!(write.is_err(), "RLS let tenant A write into tenant B");
    drop(tx);
    // Without the tenant set, the app role sees nothing at all (fails closed).
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("select set_config('role', 'nmc_app', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert!(
        sqlx::query_scalar::<_, i64>("select count(*) from catalog_items")
            .fetch_one(&mut *tx)
            .await
            .is_err()
    );
}

/// Walks every owner route (from the same table the router is built from, so new routes are
/// covered) as tenant A with tenant B's ids: never B's data, never a 2xx on B's things, never 403
/// (which would say the id exists); and B's data is unchanged afterwards. Tenant A's technician
/// walks it too: 403 exactly on the routes the table's role column keeps for the owner (before
/// any id is looked at), and on the others the same answers as the owner gets.
#[tokio::test]
async fn every_owner_route_keeps_tenants_apart() {
    let app = TestApp::spawn().await;
    let a = app.business_id().await;
    let b = app.onboard(json!({"name": "Bravo Secret Plumbing", "twilio_number": "+15005550997", "owner_email": "bravo@bravo.example"})).await;
    // Tenant B: a catalog item, a technician, a calendar connection, an appointment, a member.
    let item: Value = app
        .owner(Method::POST, "/api/catalog", b)
        .json(&json!({"name": "Bravo Secret Job", "duration_minutes": 60, "price_cents": 4242}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tech: Value = app
        .owner(Method::POST, "/api/technicians", b)
        .json(&json!({"name": "Bravo Secret Tech"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.owner(Method::POST, "/api/calendar/google/connect", b)
        .json(&json!({"access_token": "bravo-secret-token"}))
        .send()
        .await
        .unwrap();
    app.owner(Method::POST, "/api/calendar/ics/rotate", b)
        .send()
        .await
        .unwrap();
    let start = Utc::now() + chrono::Duration::days(3);
    let appt: Value = app
        .owner(Method::POST, "/api/appointments", b)
        .json(&json!({"start": start, "duration_minutes": 60, "customer_name": "Bravo Secret Caller", "customer_phone": "+15125550900", "address": "1 Bravo Secret St"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.owner(Method::POST, "/api/team/invites", b)
        .json(&json!({"email": "bravo-tech@bravo.example"}))
        .send()
        .await
        .unwrap();
    // A missed call to B: a lead and a conversation of B's.
    app.sandbox
        .place_call(nmc_sandbox::CallRequest {
            from: "+15125550901".into(),
            to: "+15005550997".into(),
            outcome: Some("no-answer".into()),
            call_sid: None,
            deliveries: 1,
            forwarded_from: None,
            ..Default::default()
        })
        .await
        .unwrap();
    app.expect_texts("+15125550901", 1).await;
    let (bravo_lead, bravo_conversation): (Uuid, Uuid) =
        sqlx::query_as("select lead_id, id from conversations where business_id = $1")
            .bind(b)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let bravo_user: Uuid = sqlx::query_scalar("select id from users where business_id = $1")
        .bind(b)
        .fetch_one(&app.db)
        .await
        .unwrap();
    // An alert of B's, for the notification centre's routes.
    let bravo_notification: Uuid = sqlx::query_scalar(
        "insert into notifications (business_id, conversation_id, lead_id, kind, body, idempotency_key)
         values ($1, $2, $3, 'caller_text', 'Bravo Secret alert', 'walk') returning id",
    )
    .bind(b)
    .bind(bravo_conversation)
    .bind(bravo_lead)
    .fetch_one(&app.db)
    .await
    .unwrap();
    // A voicemail of B's, a holiday and a blocked caller, for the voice routes.
    let bravo_recording: Uuid = sqlx::query_scalar(
        "insert into recordings (business_id, call_sid, caller_phone, twilio_recording_sid, twilio_url, storage_key, transcript)
         values ($1, 'CAbravo', '+15125550901', 'REbravo', 'https://api.twilio.com/x', 'recordings/bravo.wav', 'Bravo Secret words') returning id",
    )
    .bind(b)
    .fetch_one(&app.db)
    .await
    .unwrap();
    app.owner(Method::POST, "/api/routing/holidays", b)
        .json(&json!({"day": "2031-12-25", "method": "voicemail", "label": "Bravo Secret day"}))
        .send()
        .await
        .unwrap();
    app.owner(Method::POST, "/api/blocked-callers", b)
        .json(&json!({"phone": "+15125550900", "note": "Bravo Secret spam"}))
        .send()
        .await
        .unwrap();
    let bravo_faq = app
        .owner(Method::POST, "/api/faqs", b)
        .json(&json!({"question": "Bravo Secret question?", "answer": "Bravo Secret answer."}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let bravo_crm: Uuid = sqlx::query_scalar(
        "insert into crm_connections (business_id, vendor, settings) values ($1, 'webhook', '{\"url\": \"https://bravo-secret.example/hook\"}') returning id",
    )
    .bind(b)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let ids: HashMap<&str, String> = HashMap::from([
        ("connection_id", bravo_crm.to_string()),
        ("faq_id", bravo_faq["id"].as_str().unwrap().to_owned()),
        ("recording_id", bravo_recording.to_string()),
        ("day", "2031-12-25".to_owned()),
        ("phone", "+15125550900".to_owned()),
        ("item_id", item["id"].as_str().unwrap().to_owned()),
        ("technician_id", tech["id"].as_str().unwrap().to_owned()),
        ("appointment_id", appt["id"].as_str().unwrap().to_owned()),
        ("user_id", bravo_user.to_string()),
        ("provider", "google".to_owned()),
        ("lead_id", bravo_lead.to_string()),
        ("conversation_id", bravo_conversation.to_string()),
        ("notification_id", bravo_notification.to_string()),
    ]);
    let secrets = [
        "Bravo Secret",
        "bravo-secret",
        "4242",
        "+15125550900",
        "+15125550901",
        "bravo@bravo.example",
    ];
    let mut secrets: Vec<String> = secrets.iter().map(ToString::to_string).collect();
    secrets.extend(ids.values().filter(|v| v.len() > 10).cloned());
    secrets.push(b.to_string());
    let before = snapshot(&app, b).await;
    let technician = technician_token(&app, a, "alpha-tech@alpha.example").await;

    // Valid bodies for writes, so a refusal is about the tenant and not the shape.
    let bodies: HashMap<&str, Value> = HashMap::from([
        (
            "/api/catalog/{item_id}",
            json!({"name": "Hijacked", "duration_minutes": 30, "price_cents": 1}),
        ),
        (
            "/api/technicians/{technician_id}",
            json!({"name": "Hijacked", "active": false}),
        ),
        (
            "/api/appointments/{appointment_id}",
            json!({"status": "cancelled"}),
        ),
        (
            "/api/calendar/{provider}/connect",
            json!({"access_token": "alpha-token"}),
        ),
        (
            "/api/leads/{lead_id}",
            json!({"name": "Hijacked", "status": "lost"}),
        ),
        (
            "/api/faqs/{faq_id}",
            json!({"question": "Hijacked?", "answer": "Hijacked."}),
        ),
        (
            "/api/conversations/{conversation_id}/message",
            json!({"body": "hello from tenant A"}),
        ),
    ]);
    let mut walked = 0;
    for route in nmc_api::owner::routes() {
        let params: Vec<&str> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let mut path = route.path.to_owned();
        for p in &params {
            let id = ids.get(p).unwrap_or_else(|| {
                panic!(
                    "{}: add one of tenant B's ids for `{{{p}}}` to this test",
                    route.path
                )
            });
            path = path.replace(&format!("{{{p}}}"), id);
        }
        for method in route.methods {
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let body = bodies.get(route.path).cloned().unwrap_or_else(|| json!({}));
            let r = app
                .owner(m.clone(), &path, a)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            // Our own base URL is not B's data (its random port once contained B's `4242`).
            let text = r.text().await.unwrap().replace(&app.api_url, "");
            walked += 1;
            for s in &secrets {
                assert!(
                    !leaks(&text, s),
                    "{method} {path} as tenant A leaked `{s}`: {text}"
                );
            }
            assert_ne!(
                status,
                StatusCode::FORBIDDEN,
                "{method} {path}: 403 would confirm the id exists"
            );
            let touches_b = params.iter().any(|p| *p != "provider");
            if touches_b {
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "{method} {path} with tenant B's id: {text}"
                );
            }

            let r = authed(&app, m.clone(), &path, &technician)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let text = r.text().await.unwrap();
            for s in &secrets {
                assert!(
                    !leaks(&text, s),
                    "{method} {path} as tenant A's technician leaked `{s}`: {text}"
                );
            }
            if route.role.for_method(method) == Role::Owner {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} is the owner's; a technician: {text}"
                );
            } else {
                assert_ne!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} is open to technicians: {text}"
                );
                if touches_b {
                    assert_eq!(
                        status,
                        StatusCode::NOT_FOUND,
                        "{method} {path} as a technician with tenant B's id: {text}"
                    );
                }
            }
        }
    }
    assert!(walked >= 20, "walked {walked} route/method pairs");
    assert_eq!(
        snapshot(&app, b).await,
        before,
        "tenant B's data changed while tenant A walked the API"
    );
}

/// Does `text` hold `secret`? A short one (B's card's `4242`) counts only as a whole word: a
/// random id of A's may hold those digits by chance.
fn leaks(text: &str, secret: &str) -> bool {
    if secret.len() >= 8 {
        return text.contains(secret);
    }
    text.match_indices(secret).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + secret.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Invites a technician to the business and returns their access token once they have joined.
async fn technician_token(app: &TestApp, business: Uuid, email: &str) -> String {
    let r = app
        .owner(Method::POST, "/api/team/invites", business)
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    crate::business::accept_invitation(app, email).await
}

/// What tenant B has, to compare before and after the walk.
async fn snapshot(app: &TestApp, b: Uuid) -> Vec<String> {
    let mut out = vec![];
    for q in [
        "select string_agg(name || price_cents::text || active::text, ',' order by id) from catalog_items where business_id = $1",
        "select string_agg(name || active::text, ',' order by id) from technicians where business_id = $1",
        "select string_agg(status || lower(during)::text || version::text, ',' order by id) from appointments where business_id = $1",
        "select string_agg(provider || status || coalesce(access_token_enc, ''), ',' order by id) from calendar_connections where business_id = $1",
        "select coalesce(ics_token_hash, '') from businesses where id = $1",
        "select string_agg(coalesce(name, '') || status, ',' order by id) from leads where business_id = $1",
        "select string_agg(status || mode, ',' order by id) from conversations where business_id = $1",
        "select count(*)::text from messages where business_id = $1 and sender = 'owner'",
        "select string_agg(email || active::text, ',' order by id) from users where business_id = $1",
        "select string_agg(day::text || method, ',' order by day) from routing_holidays where business_id = $1",
        "select string_agg(phone::text, ',' order by phone) from blocked_callers where business_id = $1",
        "select string_agg(id::text, ',' order by id) from recordings where business_id = $1",
        "select string_agg(question || answer, ',' order by id) from faqs where business_id = $1",
        "select coalesce(assistant_name, '') || service_area::text || coalesce(google_place_id, '') from businesses where id = $1",
    ] {
        let v: Option<String> = sqlx::query_scalar(q)
            .bind(b)
            .fetch_one(&app.db)
            .await
            .unwrap();
        out.push(v.unwrap_or_default());
    }
    out
}
