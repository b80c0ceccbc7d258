//! The owner's loop over real HTTP: a missed call alerts the owner at once with a short signed
//! link (log in, then land on the thread), a repeat call does not alert again, and the owner's
//! own phone is a command channel: a reply reaches the caller and makes no lead; `#n`, `AI`,
//! `CALL`, `?`, HELP and unknown commands each get their answer.

use std::time::{Duration, Instant};

use nmc_tests::*;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

const CALLER: &str = "+15125550144";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The path and query the answer sends the browser to.
fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location ({})", r.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `/n/…` path in an alert text.
fn link_path(alert: &str, base: &str) -> String {
    let at = alert
        .find(&format!("{base}/n/"))
        .expect("a link in the alert");
    alert[at + base.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_missed_call_alerts_the_owner_at_once_and_its_link_lands_on_the_thread() {
    let app = TestApp::spawn().await;
    let started = Instant::now();
    app.call(CALLER, "no-answer").await;
    let alert = app.expect_texts(OWNER_PHONE, 1).await.remove(0);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "alerted after {took:?}");
    assert!(
        alert
            .body
            .starts_with("Missed call from (512) 555-0144 at "),
        "{}",
        alert.body
    );
    assert!(
        alert.body.contains("#1 Reply to text them back"),
        "{}",
        alert.body
    );
    assert!(!alert.body.contains("after hours"), "open all week");
    // A repeat call inside the open conversation does not alert again.
    app.call(CALLER, "busy").await;
    app.expect_no_more_texts(OWNER_PHONE, 1, Duration::from_secs(2))
        .await;

    // The link: signed out, log in first, then land on the thread.
    let http = no_redirects();
    let path = link_path(&alert.body, &app.api_url);
    assert!(path.len() < 50, "short: {path}");
    let r = http
        .get(format!("{}{path}", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let open = location(&r);
    assert!(open.starts_with("/app/notifications/") && open.ends_with("/open"));
    let r = http
        .get(format!("{}{open}", app.api_url))
        .send()
        .await
        .unwrap();
    let login = location(&r);
    assert!(login.starts_with("/login?next="), "{login}");
    let (landed, cookies) = page_log_in(&http, &app.api_url, &login, "dana@acme.example").await;
    assert_eq!(landed, open);
    let r = http
        .get(format!("{}{open}", app.api_url))
        .header(COOKIE, &cookies)
        .send()
        .await
        .unwrap();
    let conversation: uuid::Uuid = sqlx::query_scalar("select id from conversations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(location(&r), format!("/app/inbox/{conversation}"));

    // An altered link opens nothing.
    let mut bad = path.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    let r = http
        .get(format!("{}{bad}", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // An expired link says so and opens nothing.
    let notification: uuid::Uuid = open
        .trim_start_matches("/app/notifications/")
        .trim_end_matches("/open")
        .parse()
        .unwrap();
    let old = nmc_store::links::AlertLinks::new(SECRET_KEY)
        .token(notification, chrono::Utc::now() - chrono::Duration::days(8));
    let r = http
        .get(format!("{}/n/{old}", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("expired"));

    // The owner of another business, signed in, never lands on this thread.
    app.onboard(
        json!({"name": "Beta Electric", "owner_email": "lee@beta.example",
        "owner_phone": "+15125550177", "twilio_number": "+15125550188"}),
    )
    .await;
    let r = http
        .get(format!("{}{path}", app.api_url))
        .send()
        .await
        .unwrap();
    let login = location(
        &http
            .get(format!("{}{}", app.api_url, location(&r)))
            .send()
            .await
            .unwrap(),
    );
    let (_, theirs) = page_log_in(&http, &app.api_url, &login, "lee@beta.example").await;
    let r = http
        .get(format!("{}{open}", app.api_url))
        .header(COOKIE, &theirs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "not theirs: nothing opens");
}

/// Logs in through the page's form at `login` (its `?next=` kept); returns where the answer
/// sends the browser and the session cookies.
async fn page_log_in(
    http: &reqwest::Client,
    base: &str,
    login: &str,
    email: &str,
) -> (String, String) {
    let r = http
        .post(format!("{base}{login}"))
        .header("origin", base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("email", email)
                .append_pair("password", OWNER_PASSWORD)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    (location(&r), cookies.join("; "))
}

#[tokio::test]
async fn a_caller_known_from_an_earlier_conversation_is_named_in_the_alert() {
    let app = TestApp::spawn().await;
    let business = app.business_id().await;
    sqlx::query("insert into leads (business_id, phone, name, status) values ($1, $2, 'Jane Doe', 'completed')")
        .bind(business)
        .bind(CALLER)
        .execute(&app.db)
        .await
        .unwrap();
    // Closed all week: the alert says the call came after hours.
    app.set("business_hours = '{}'").await;
    app.call(CALLER, "no-answer").await;
    let alert = app.expect_texts(OWNER_PHONE, 1).await.remove(0);
    assert!(
        alert
            .body
            .starts_with("Missed call from Jane Doe (512) 555-0144 at "),
        "{}",
        alert.body
    );
    assert!(alert.body.contains(", after hours."), "{}", alert.body);
}

#[tokio::test]
async fn the_owner_answers_from_their_phone_and_no_lead_is_made() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 600").await;
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    app.expect_texts(OWNER_PHONE, 1).await;

    // A plain reply goes to the caller from the business number; the owner has taken over.
    app.text(OWNER_PHONE, "Hi, this is Dana. I can come at 3 today.")
        .await;
    let to_caller = app.expect_texts(CALLER, 2).await;
    assert_eq!(
        to_caller[1].body,
        "Hi, this is Dana. I can come at 3 today."
    );
    assert_eq!(to_caller[1].from, TWILIO_NUMBER);
    assert_eq!(app.count("select count(*) from leads").await, 1);
    assert_eq!(
        app.count("select count(*) from messages where from_phone = '+15125550111' or to_phone = '+15125550111' and kind <> 'owner_alert'").await,
        0,
        "the owner's text is not a caller's message"
    );
    wait_until(Duration::from_secs(5), "the owner took over", || async {
        app.count("select count(*) from conversations where mode = 'owner'")
            .await
            == 1
    })
    .await;
    // No confirmation on success.
    app.expect_no_more_texts(OWNER_PHONE, 1, Duration::from_secs(1))
        .await;

    // Commands, each answered on the owner's phone.
    let answers = [
        ("CALL", "Call (512) 555-0144: tel:+15125550144"),
        ("#99 hello", "There is no alert #99."),
        ("HELP", "NeverMissCall team commands"),
        ("#", "Reply to text them."),
        ("AI", "The assistant has (512) 555-0144 again (#1)."),
    ];
    for (n, (command, answer)) in answers.iter().enumerate() {
        app.text(OWNER_PHONE, command).await;
        let got = app.expect_texts(OWNER_PHONE, n + 2).await;
        assert!(
            got[n + 1].body.starts_with(answer),
            "{command}: {}",
            got[n + 1].body
        );
    }
    wait_until(Duration::from_secs(5), "handed back", || async {
        app.count("select count(*) from conversations where mode = 'assistant'")
            .await
            == 1
    })
    .await;
    app.text(OWNER_PHONE, "?").await;
    let got = app.expect_texts(OWNER_PHONE, 7).await;
    assert_eq!(got[6].body, "Nobody is waiting on you.");

    // `#1 text` answers alert #1 by its number.
    app.text(OWNER_PHONE, "#1 On my way now").await;
    let to_caller = app.expect_texts(CALLER, 3).await;
    assert_eq!(to_caller[2].body, "On my way now");
    assert_eq!(app.count("select count(*) from leads").await, 1);
    assert_eq!(
        app.count("select count(*) from team_texts where outcome is not null")
            .await,
        8
    );
}

#[tokio::test]
async fn a_team_text_recorded_while_temporal_is_away_is_acted_on_later() {
    let app = TestApp::spawn().await;
    app.call(CALLER, "no-answer").await;
    app.expect_texts(OWNER_PHONE, 1).await;
    // The API cannot reach Temporal: the text is recorded and the worker's outbox starts it.
    let degraded = app.spawn_api_without_temporal().await;
    let text = [
        ("MessageSid", "SM00000000000000000000000000000078"),
        ("From", OWNER_PHONE),
        ("To", TWILIO_NUMBER),
        ("Body", "CALL"),
    ];
    let r = app
        .post_webhook_to(&degraded, "/webhook/sms/incoming", &text, Some(AUTH_TOKEN))
        .await;
    assert_eq!(r.status(), 200);
    let got = app.expect_texts(OWNER_PHONE, 2).await;
    assert!(
        got[1].body.starts_with("Call (512) 555-0144"),
        "{}",
        got[1].body
    );
    // Twilio redelivering the same text changes nothing.
    app.post_webhook_to(&degraded, "/webhook/sms/incoming", &text, Some(AUTH_TOKEN))
        .await;
    app.expect_no_more_texts(OWNER_PHONE, 2, Duration::from_secs(2))
        .await;
    assert_eq!(app.count("select count(*) from team_texts").await, 1);
    assert_eq!(app.count("select count(*) from leads").await, 1);
}

#[tokio::test]
async fn the_owner_hears_who_is_waiting_and_why_a_reply_did_not_go() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 600").await;
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    app.expect_texts(OWNER_PHONE, 1).await;
    app.text(
        CALLER,
        "Water is pouring through the ceiling, a pipe burst!",
    )
    .await;
    wait_until(Duration::from_secs(20), "the emergency flagged", || async {
        app.count("select count(*) from conversations where emergency")
            .await
            == 1
    })
    .await;
    let n = app
        .count("select max(number)::bigint from notifications where kind = 'emergency'")
        .await;
    app.text(OWNER_PHONE, "?").await;
    let list = app.text_containing(OWNER_PHONE, "waiting:").await;
    assert_eq!(
        list,
        format!("1 waiting: #{n} (512) 555-0144 EMERGENCY. Reply #n TEXT to answer.")
    );

    // The caller opts out: the owner's reply cannot go, and only then does the owner hear back.
    app.text(CALLER, "STOP").await;
    wait_until(Duration::from_secs(20), "the opt-out recorded", || async {
        app.count("select count(*) from opt_outs").await == 1
    })
    .await;
    app.text(OWNER_PHONE, "On my way").await;
    let refused = app.text_containing(OWNER_PHONE, "Not sent").await;
    assert!(refused.starts_with("Not sent"), "{refused}");
    assert!(
        !app.texts_to(CALLER).iter().any(|m| m.body == "On my way"),
        "nothing reaches an opted-out caller"
    );
}

/// The `n`th text (from 0) to `to`, once it came.
async fn nth_text(app: &TestApp, to: &str, n: usize) -> String {
    wait_for(Duration::from_secs(30), "a text", || async {
        app.texts_to(to).get(n).map(|m| m.body.clone())
    })
    .await
}

/// A technician's own phone, proved, is a command channel as the owner's is: an alert's reply
/// reaches the caller, and the commands answer; it is never a caller.
#[tokio::test]
async fn a_technicians_phone_answers_alerts_and_takes_commands() {
    const TECH_PHONE: &str = "+15125550169";
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 600").await;
    let b = app.business_id().await;
    let r = app
        .owner(reqwest::Method::POST, "/api/team/invites", b)
        .json(&json!({"email": "lee@acme.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let tech = crate::business::accept_invitation(&app, "lee@acme.example").await;
    let r = app
        .http
        .put(format!("{}/api/me/alerts", app.api_url))
        .bearer_auth(&tech)
        .json(&json!({"phone": TECH_PHONE, "channels": {"sms": ["missed_call"], "email": [], "push": []}, "quiet_hours": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    app.prove_phone(&tech, TECH_PHONE).await;
    let proved = app.texts_to(TECH_PHONE).len();

    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    // (The proving code came from the platform's number, not the business's: read the phone.)
    let alert = nth_text(&app, TECH_PHONE, proved).await;
    assert!(alert.contains("(512) 555-0144"), "{alert}");
    app.text(TECH_PHONE, "Lee here, I can be there by 4.").await;
    let to_caller = app.expect_texts(CALLER, 2).await;
    assert_eq!(to_caller[1].body, "Lee here, I can be there by 4.");
    app.text(TECH_PHONE, "HELP").await;
    let help = nth_text(&app, TECH_PHONE, proved + 1).await;
    assert!(help.starts_with("NeverMissCall team commands"), "{help}");
    assert_eq!(
        app.count("select count(*) from leads").await,
        1,
        "the technician is no lead"
    );
}
