//! Booking by text and everything after it (issue 4): offers priced from the catalog, the pick,
//! a slot taken meanwhile, reminders, C / R / X replies, owner changes, the Google and Jobber
//! doubles, and the iCalendar feed read by an independent parser. Real PostgreSQL, real
//! Temporal, the sandbox carrier and calendar doubles over HTTP.

use std::time::Duration;

use chrono::{DateTime, Utc};
use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const CALLER: &str = "+15125550177";

/// Texts the script that qualifies a lead; returns the offer text.
async fn qualify(app: &TestApp, caller: &str) -> String {
    app.call(caller, "no-answer").await;
    app.expect_texts(caller, 1).await;
    let script = [
        "my kitchen sink won't drain",
        "Sam Lee",
        "55 Birch Ln",
        "tomorrow morning",
    ];
    for (i, says) in script.iter().enumerate() {
        app.text(caller, says).await;
        app.expect_texts(caller, i + 2).await;
    }
    app.texts_to(caller).last().unwrap().body.clone()
}

async fn appointments(app: &TestApp, b: Uuid) -> Vec<Value> {
    let r = app
        .owner(Method::GET, "/api/appointments?days=30", b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["appointments"]
        .as_array()
        .unwrap()
        .clone()
}

async fn doubles(app: &TestApp) -> Value {
    app.http
        .get(format!("{}/api/calendars", app.sandbox_url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn missed_call_becomes_a_booked_appointment_in_calendars_and_the_ics_feed_and_can_be_moved_by_text()
 {
    let app = TestApp::spawn().await;
    let b = app.bookable().await;
    // Both calendars connected; Google's token is about to expire, so it is refreshed first.
    for (provider, expires) in [("google", 60), ("jobber", 3600)] {
        let r = app
            .owner(Method::POST, &format!("/api/calendar/{provider}/connect"), b)
            .json(&json!({"access_token": format!("{provider}-token"), "refresh_token": "refresh-1", "expires_in": expires}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    let offer = qualify(&app, CALLER).await;
    assert!(
        offer.contains("Sink Clog is $149–$249."),
        "quoted from the catalog: {offer}"
    );
    assert!(
        offer.contains("1) ") && offer.contains("4) "),
        "four numbered slots: {offer}"
    );
    assert!(offer.contains("Reply 1-4 to book"), "{offer}");

    app.text(CALLER, "1").await;
    let texts = app.expect_texts(CALLER, 6).await;
    let confirmation = &texts[5].body;
    let first_line = offer
        .lines()
        .find(|l| l.starts_with("1) "))
        .unwrap()
        .trim_start_matches("1) ");
    assert!(confirmation.starts_with(&format!("You're booked with Acme Plumbing: Sink Clog, {first_line} at 55 Birch Ln. Price: $149–$249.")), "{confirmation}");
    assert!(confirmation.contains("Reply C to confirm, R to reschedule or X to cancel."));

    // Lead booked, conversation closed as booked, the owner told, one appointment.
    wait_until(
        Duration::from_secs(10),
        "conversation closed as booked",
        || async {
            app.count("select count(*) from conversations where status = 'closed_booked'")
                .await
                == 1
        },
    )
    .await;
    assert_eq!(
        app.count("select count(*) from leads where status = 'booked'")
            .await,
        1
    );
    wait_until(
        Duration::from_secs(10),
        "owner told of the booking",
        || async {
            app.texts_to(OWNER_PHONE)
                .iter()
                .any(|m| m.body.starts_with("Booked: Sink Clog for Sam Lee on"))
        },
    )
    .await;
    let list = appointments(&app, b).await;
    assert_eq!(list.len(), 1);
    let appt = &list[0];
    let id = appt["id"].as_str().unwrap().to_owned();
    assert_eq!(appt["price_cents"], 14900);
    assert_eq!(appt["customer_phone"], CALLER);
    assert_eq!(
        (at(&appt["end_at"]) - at(&appt["start_at"])).num_minutes(),
        60
    );

    // Pushed to both calendars by the appointment workflow.
    wait_until(
        Duration::from_secs(20),
        "event in Google and request in Jobber",
        || async {
            let d = doubles(&app).await;
            d["google_events"].as_object().unwrap().len() == 1
                && d["jobber_requests"].as_object().unwrap().len() == 1
        },
    )
    .await;
    let d = doubles(&app).await;
    let event = d["google_events"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(at(&event["start"]["dateTime"]), at(&appt["start_at"]));
    assert_eq!(event["location"], "55 Birch Ln");
    assert!(
        d["token_requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["grant_type"] == "refresh_token"),
        "expiring token refreshed"
    );
    let status: Value = app
        .owner(Method::GET, &format!("/api/appointments/{id}"), b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        status["calendar_sync"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "synced"),
        "{status}"
    );
    let conn: Value = app
        .owner(Method::GET, "/api/calendar", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !conn.to_string().contains("google-token"),
        "tokens never come back"
    );

    // The ICS feed, read by an independent parser (Python icalendar).
    let ics_url = app
        .owner(Method::POST, "/api/calendar/ics/rotate", b)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["ics_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let feed = app.http.get(&ics_url).send().await.unwrap();
    assert_eq!(
        feed.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let parsed = parse_ics(&feed.text().await.unwrap());
    assert_eq!(parsed[0]["uid"], format!("{id}@nevermisscall"));
    assert_eq!(at(&parsed[0]["start"]), at(&appt["start_at"]));
    assert_eq!(parsed[0]["location"], "55 Birch Ln");
    assert!(
        parsed[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Sink Clog")
    );

    // R: fresh slots for the same job; "2" moves it atomically; everything follows.
    app.text(CALLER, "R").await;
    let texts = app.expect_texts(CALLER, 7).await;
    assert!(
        texts[6].body.contains("Other times for your Sink Clog")
            && texts[6].body.contains("Reply 1-4 to move it"),
        "{}",
        texts[6].body
    );
    app.text(CALLER, "2").await;
    let texts = app.expect_texts(CALLER, 8).await;
    assert!(
        texts[7]
            .body
            .starts_with("Done: your Sink Clog is moved to"),
        "{}",
        texts[7].body
    );
    let moved = &appointments(&app, b).await[0];
    assert_eq!(moved["id"].as_str().unwrap(), id, "moved, not re-booked");
    assert_ne!(moved["start_at"], appt["start_at"]);
    wait_until(Duration::from_secs(20), "Google event moved", || async {
        let d = doubles(&app).await;
        let e = d["google_events"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .clone();
        at(&e["start"]["dateTime"]) == at(&moved["start_at"])
    })
    .await;
    let parsed = parse_ics(
        &app.http
            .get(&ics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(at(&parsed[0]["start"]), at(&moved["start_at"]));

    // C confirms.
    app.text(CALLER, "C").await;
    let texts = app.expect_texts(CALLER, 9).await;
    assert!(
        texts[8]
            .body
            .starts_with("Thanks, you're confirmed: Sink Clog"),
        "{}",
        texts[8].body
    );
    assert_eq!(appointments(&app, b).await[0]["status"], "confirmed");

    // The owner cancels: the caller is told, the Google event is deleted, the Jobber request
    // archived, and the feed marks it cancelled.
    let r = app
        .owner(Method::PATCH, &format!("/api/appointments/{id}"), b)
        .json(&json!({"status": "cancelled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let texts = app.expect_texts(CALLER, 10).await;
    assert!(
        texts[9]
            .body
            .starts_with("Acme Plumbing had to cancel your Sink Clog on"),
        "{}",
        texts[9].body
    );
    wait_until(
        Duration::from_secs(20),
        "cancellation in both calendars",
        || async {
            let d = doubles(&app).await;
            let e = d["google_events"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()
                .clone();
            let r = d["jobber_requests"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()
                .clone();
            e["status"] == "cancelled" && r["archived"] == true
        },
    )
    .await;
    let parsed = parse_ics(
        &app.http
            .get(&ics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(parsed[0]["status"], "CANCELLED");

    // Rotating the feed kills the old URL.
    app.owner(Method::POST, "/api/calendar/ics/rotate", b)
        .send()
        .await
        .unwrap();
    assert_eq!(app.http.get(&ics_url).send().await.unwrap().status(), 404);
    assert_eq!(
        app.count("select count(*) from appointments where status <> 'cancelled'")
            .await,
        0
    );
}

fn parse_ics(text: &str) -> Vec<Value> {
    let script = r#"
import sys, json, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.read())
out = []
for e in cal.walk('VEVENT'):
    out.append({"uid": str(e['UID']), "start": e.decoded('DTSTART').isoformat(), "end": e.decoded('DTEND').isoformat(),
                "summary": str(e['SUMMARY']), "location": str(e.get('LOCATION', '')), "status": str(e.get('STATUS', ''))})
print(json.dumps(out))
"#;
    let tools = concat!(env!("CARGO_MANIFEST_DIR"), "/../.tools/py");
    let mut child = std::process::Command::new("python3")
        .args(["-c", script])
        .env("PYTHONPATH", tools)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "icalendar could not parse the feed (is it installed in .tools/py?):\n{text}"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn a_slot_taken_meanwhile_gets_an_apology_and_fresh_slots_never_a_false_confirmation() {
    let app = TestApp::spawn().await;
    let b = app.bookable().await;
    let offer = qualify(&app, CALLER).await;
    assert!(offer.contains("1) "), "{offer}");
    // The owner books the first offered time by hand before the caller answers.
    let offered_start = offer
        .lines()
        .find_map(|l| l.strip_prefix("1) "))
        .and_then(|l| l.split('–').next())
        .unwrap()
        .to_owned();
    let slots: Value = app
        .owner(
            Method::GET,
            "/api/availability?duration_minutes=60&limit=2000",
            b,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = slots["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["label"].as_str().unwrap().starts_with(&offered_start))
        .unwrap_or_else(|| panic!("{offered_start} is not open: {offer}"))
        .clone();
    let r = app
        .owner(Method::POST, "/api/appointments", b)
        .json(&json!({"start": first["start"], "duration_minutes": 60, "customer_name": "Walk-in"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // The same time again answers 409 with alternatives.
    let r = app
        .owner(Method::POST, "/api/appointments", b)
        .json(&json!({"start": first["start"], "duration_minutes": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let conflict: Value = r.json().await.unwrap();
    assert_eq!(conflict["error"]["code"], "slot_taken");
    assert!(!conflict["alternatives"].as_array().unwrap().is_empty());

    app.text(CALLER, "1").await;
    // Only the apology: no confirmation after it, now or a moment later.
    let texts = app.expect_no_more_texts(CALLER, 6, DUPLICATE_WINDOW).await;
    assert!(
        texts[5]
            .body
            .starts_with("Sorry, that time was just taken. Here are the next open times:"),
        "{}",
        texts[5].body
    );
    assert_eq!(
        app.count("select count(*) from appointments where conversation_id is not null")
            .await,
        0,
        "nothing booked"
    );
    app.text(CALLER, "the first one").await;
    let texts = app.expect_texts(CALLER, 7).await;
    assert!(
        texts[6]
            .body
            .starts_with("You're booked with Acme Plumbing"),
        "{}",
        texts[6].body
    );
    assert_eq!(app.count("select count(*) from appointments a join appointments b on a.id < b.id and a.technician_id = b.technician_id and a.during && b.during").await, 0);
}

#[tokio::test]
async fn reminders_owner_moves_and_cancellations_reach_the_caller_and_opt_out_is_respected() {
    let app = TestApp::spawn().await;
    let b = app.bookable().await;
    app.set_rules_reminders(b, "{1}").await;
    // The owner books a caller by hand, starting in 75 s: the 1-minute reminder falls due in ~15 s.
    let start = Utc::now() + chrono::Duration::seconds(75);
    let r = app
        .owner(Method::POST, "/api/appointments", b)
        .json(&json!({"start": start, "duration_minutes": 60, "customer_name": "Kim", "customer_phone": CALLER, "service_name": "Toilet Repair", "address": "9 Elm St"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let texts = app.expect_texts(CALLER, 1).await;
    assert!(
        texts[0]
            .body
            .starts_with("Reminder from Acme Plumbing: Toilet Repair soon,"),
        "{}",
        texts[0].body
    );
    assert!(
        texts[0]
            .body
            .ends_with("Reply C to confirm, R to reschedule or X to cancel.")
    );

    // The owner moves it to tomorrow: the caller is told.
    let tomorrow = start + chrono::Duration::days(1);
    let r = app
        .owner(Method::PATCH, &format!("/api/appointments/{id}"), b)
        .json(&json!({"start": tomorrow}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let texts = app.expect_texts(CALLER, 2).await;
    assert!(
        texts[1]
            .body
            .starts_with("Acme Plumbing moved your Toilet Repair to"),
        "{}",
        texts[1].body
    );

    // X by text cancels; the slot is free again at once.
    app.text(CALLER, "X").await;
    let texts = app.expect_texts(CALLER, 3).await;
    assert!(
        texts[2].body.starts_with("Your Toilet Repair on"),
        "{}",
        texts[2].body
    );
    let a: Value = app
        .owner(Method::GET, &format!("/api/appointments/{id}"), b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a["status"], "cancelled");
    let r = app
        .owner(Method::POST, "/api/appointments", b)
        .json(&json!({"start": tomorrow, "duration_minutes": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        201,
        "a cancelled appointment does not block its slot"
    );

    // An opted-out caller gets no reminder.
    let other = "+15125550166";
    app.text(other, "STOP").await;
    app.expect_texts(other, 1).await;
    let r = app
        .owner(Method::POST, "/api/appointments", b)
        .json(&json!({"start": Utc::now() + chrono::Duration::seconds(70), "duration_minutes": 30, "customer_phone": other, "technician_id": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    wait_until(Duration::from_secs(30), "reminder suppressed", || async {
        app.count("select count(*) from messages where kind = 'reminder' and status = 'suppressed'")
            .await
            == 1
    })
    .await;
    assert_eq!(app.texts_to(other).len(), 1, "only the STOP confirmation");
}

#[tokio::test]
async fn google_busy_time_is_not_offered_and_a_failing_calendar_does_not_block_the_booking() {
    let app = TestApp::spawn().await;
    let b = app.bookable().await;
    let r = app
        .owner(Method::POST, "/api/calendar/google/connect", b)
        .json(&json!({"access_token": "g", "expires_in": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Busy in Google for the next 6 hours, added after connecting (the refresh before offering sees it).
    let (from, to) = (Utc::now(), Utc::now() + chrono::Duration::hours(6));
    app.http
        .post(format!("{}/api/calendars/busy", app.sandbox_url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"start": from, "end": to}))
        .send()
        .await
        .unwrap();
    let offer = qualify(&app, CALLER).await;
    assert!(offer.contains("1) "), "{offer}");
    // Then Google answers 503 three times: the booking stands and the sync catches up with backoff.
    app.http
        .post(format!("{}/api/calendars/faults", app.sandbox_url))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"provider": "google", "status": 503, "count": 3}))
        .send()
        .await
        .unwrap();
    app.text(CALLER, "1").await;
    let texts = app.expect_texts(CALLER, 6).await;
    assert!(
        texts[5].body.starts_with("You're booked"),
        "{}",
        texts[5].body
    );
    let appt = appointments(&app, b).await[0].clone();
    assert!(
        at(&appt["start_at"]) >= to,
        "offered inside Google busy time: {}",
        appt["start_at"]
    );
    let id = appt["id"].as_str().unwrap();
    wait_until(Duration::from_mins(1), "sync after the outage", || async {
        let a: Value = app
            .owner(Method::GET, &format!("/api/appointments/{id}"), b)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        a["calendar_sync"][0]["status"] == "synced"
    })
    .await;
    let a: Value = app
        .owner(Method::GET, &format!("/api/appointments/{id}"), b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        a["calendar_sync"][0]["attempts"].as_i64().unwrap() >= 2,
        "{a}"
    );
}

#[tokio::test]
async fn owner_scheduling_api_validates_and_stays_inside_the_tenant() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    let bad = app.owner(Method::POST, "/api/catalog", b).json(&json!({"name": "", "duration_minutes": 0, "price_min_cents": 500, "price_max_cents": 100})).send().await.unwrap();
    assert_eq!(bad.status(), 422);
    let body: Value = bad.json().await.unwrap();
    for f in ["name", "duration_minutes", "price_cents"] {
        assert!(body["error"]["fields"][f].is_string(), "{body}");
    }
    let ok = app.owner(Method::POST, "/api/catalog", b).json(&json!({"name": "Drain Camera", "keywords": ["camera"], "duration_minutes": 45, "price_cents": 19900})).send().await.unwrap();
    assert_eq!(ok.status(), 201);
    let item: Value = ok.json().await.unwrap();
    assert_eq!(item["price_text"], "$199");
    let dup = app
        .owner(Method::POST, "/api/catalog", b)
        .json(&json!({"name": "Drain Camera", "duration_minutes": 45, "price_cents": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), 409);
    for i in 0..5 {
        assert_eq!(
            app.owner(Method::POST, "/api/technicians", b)
                .json(&json!({"name": format!("Tech {i}")}))
                .send()
                .await
                .unwrap()
                .status(),
            201
        );
    }
    let sixth = app
        .owner(Method::POST, "/api/technicians", b)
        .json(&json!({"name": "Tech 6"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sixth.status(), 422, "at most five technicians");
    let split = json!({"hours": [[["08:00","12:00"],["11:00","17:00"]],[],[],[],[],[],[]], "closures": [], "buffer_minutes": 30, "max_jobs_per_day": 6,
        "booking_window_days": 14, "min_lead_minutes": 60, "step_minutes": 30, "default_job_minutes": 60, "reminder_minutes": [1440, 60]});
    let r = app
        .owner(Method::PUT, "/api/schedule", b)
        .json(&split)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "overlapping shifts are refused");
    assert_eq!(
        app.owner(Method::POST, "/api/appointments", b)
            .body("{")
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let r = app
        .owner(Method::POST, "/api/appointments", b)
        .json(&json!({"customer_phone": "12"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    // Another business cannot see or touch this one's things: 404, never data.
    let other = app.onboard(json!({"name": "Other Co", "twilio_number": "+15005550999", "owner_email": "o@other.example"})).await;
    let item_id = item["id"].as_str().unwrap();
    let r = app
        .owner(Method::PUT, &format!("/api/catalog/{item_id}"), other)
        .json(&json!({"name": "Hijack", "duration_minutes": 45, "price_cents": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        app.owner(Method::DELETE, &format!("/api/catalog/{item_id}"), other)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let r = app
        .owner(Method::GET, "/api/catalog", other)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(r["items"].as_array().unwrap().is_empty());
    assert_eq!(
        app.owner(
            Method::GET,
            &format!("/api/appointments/{}", Uuid::new_v4()),
            b
        )
        .send()
        .await
        .unwrap()
        .status(),
        404
    );
    let no_token = app
        .http
        .get(format!("{}/api/catalog", app.api_url))
        .header("x-business-id", b.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    let admin_token_is_not_an_owner = app
        .http
        .get(format!("{}/api/catalog", app.api_url))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(admin_token_is_not_an_owner.status(), 401);
}

#[tokio::test]
async fn fifty_simultaneous_api_bookings_of_one_slot_give_one_appointment_and_49_conflicts_with_alternatives()
 {
    let app = TestApp::spawn().await;
    let b = app.bookable().await;
    let slots: Value = app
        .owner(Method::GET, "/api/availability?duration_minutes=60", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slot = slots["slots"][3].clone();
    let racers: Vec<_> = (0..50)
        .map(|i| {
            let req = app
                .owner(Method::POST, "/api/appointments", b)
                .json(&json!({"start": slot["start"], "duration_minutes": 60, "technician_id": slot["technician_id"], "customer_name": format!("Racer {i}")}));
            tokio::spawn(async move {
                let r = req.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut created = 0;
    for r in racers {
        let (status, body) = r.await.unwrap();
        match status {
            201 => created += 1,
            409 => {
                assert_eq!(body["error"]["code"], "slot_taken");
                let alts = body["alternatives"].as_array().unwrap();
                assert!(
                    !alts.is_empty() && alts.iter().all(|a| a["start"] != slot["start"]),
                    "fresh alternatives: {body}"
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(app.count("select count(*) from appointments").await, 1);
}

#[tokio::test]
async fn after_hours_with_no_catalog_match_books_the_next_open_day_and_the_owner_quotes() {
    let app = TestApp::spawn().await;
    let b = app.bookable().await;
    // Closed now (after-hours greeting); the only shift is the day after tomorrow, in the business's time.
    app.set("business_hours = '{}'").await;
    let tz: chrono_tz::Tz = "America/Chicago".parse().unwrap();
    let open_day = Utc::now().with_timezone(&tz).date_naive() + chrono::Duration::days(2);
    let mut hours = vec![json!([]); 7];
    hours[chrono::Datelike::weekday(&open_day).num_days_from_monday() as usize] =
        json!([["09:00", "12:00"]]);
    let rules = json!({"hours": hours, "closures": [], "buffer_minutes": 0, "max_jobs_per_day": 5, "booking_window_days": 7,
        "min_lead_minutes": 60, "step_minutes": 30, "default_job_minutes": 90, "reminder_minutes": [1440, 60]});
    assert_eq!(
        app.owner(Method::PUT, "/api/schedule", b)
            .json(&rules)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    app.call(CALLER, "no-answer").await;
    let greeting = app.expect_texts(CALLER, 1).await;
    assert!(
        greeting[0].body.contains("we're closed right now"),
        "after-hours greeting: {}",
        greeting[0].body
    );
    for (i, says) in [
        "hi",
        "replace the shower valve",
        "Sam Lee",
        "55 Birch Ln",
        "tomorrow morning",
    ]
    .iter()
    .enumerate()
    {
        app.text(CALLER, says).await;
        app.expect_texts(CALLER, i + 2).await;
    }
    let offer = app.texts_to(CALLER).last().unwrap().body.clone();
    assert!(
        offer.contains("Dana will confirm the price for this job.") && !offer.contains('$'),
        "no invented price: {offer}"
    );
    let day = open_day.format("%a %b %-d").to_string();
    let lines: Vec<&str> = offer
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "09:00 and 10:30 fit a 90-minute job before noon: {offer}"
    );
    assert!(
        lines.iter().all(|l| l.contains(&day)),
        "only the next open day ({day}): {offer}"
    );
    wait_until(Duration::from_secs(10), "owner asked to quote", || async {
        app.count("select count(*) from notifications where kind = 'needs_quote'")
            .await
            == 1
    })
    .await;
    app.text(CALLER, "2").await;
    let texts = app.expect_texts(CALLER, 7).await;
    assert!(
        texts[6].body.contains(&format!("{day}, 10:30am–12pm"))
            && texts[6]
                .body
                .contains("The price will be confirmed by the owner."),
        "{}",
        texts[6].body
    );
    let a = &appointments(&app, b).await[0];
    assert!(
        a["price_cents"].is_null()
            && a["service_name"]
                .as_str()
                .unwrap()
                .starts_with("Visit: replace the shower valve"),
        "{a}"
    );
}

#[tokio::test]
async fn owner_changes_made_while_temporal_is_down_still_reach_the_caller_and_the_calendar() {
    let app = TestApp::spawn().await;
    let b = app.bookable().await;
    let r = app
        .owner(Method::POST, "/api/calendar/google/connect", b)
        .json(&json!({"access_token": "g", "expires_in": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A second API whose Temporal is unreachable: the booking and the move still stand.
    let down = app.spawn_api_without_temporal().await;
    let token = app.owner_token(b);
    let owner = |m: Method, path: &str| {
        app.http
            .request(m, format!("{down}{path}"))
            .bearer_auth(&token)
    };
    let start = Utc::now() + chrono::Duration::hours(3);
    let r = owner(Method::POST, "/api/appointments").json(&json!({"start": start, "duration_minutes": 60, "customer_phone": CALLER, "service_name": "Leak Repair"})).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let moved = start + chrono::Duration::days(1);
    let r = owner(Method::PATCH, &format!("/api/appointments/{id}"))
        .json(&json!({"start": moved}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The worker's catch-up signals the appointment's workflow: the caller hears, Google gets it.
    let texts = app.expect_texts(CALLER, 1).await;
    assert!(
        texts[0]
            .body
            .starts_with("Acme Plumbing moved your Leak Repair to"),
        "{}",
        texts[0].body
    );
    wait_until(
        Duration::from_secs(30),
        "event in Google at the new time",
        || async {
            let d = doubles(&app).await;
            d["google_events"].as_object().unwrap().values().any(|e| {
                (at(&e["start"]["dateTime"]) - moved)
                    .num_milliseconds()
                    .abs()
                    < 1
            })
        },
    )
    .await;
    wait_until(Duration::from_secs(10), "caught up", || async {
        app.count("select count(*) from appointments where version > workflow_version or caller_notice_pending").await == 0
    })
    .await;
}
