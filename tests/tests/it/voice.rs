//! Callers who won't text: call screening, voicemail (recorded, stored, transcribed by the
//! embedded offline engine, alerted and answered), Lookup's line check, the block list and
//! routing by the time of the call. End to end: real PostgreSQL and Temporal, the sandbox
//! playing Twilio (the call, the whisper, the recording, Lookup) over signed HTTP.

use std::time::Duration;

use chrono::{Datelike, Timelike, Utc};
use nmc_sandbox::CallRequest;
use nmc_sandbox::voice::LineSetup;
use nmc_tests::voice::{speak, voicemail};
use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

const CALLER: &str = "+15125550177";

#[tokio::test]
async fn a_declined_call_is_texted_thanks_to_screening_and_a_taken_one_is_timed() {
    let app = TestApp::spawn().await;
    // The owner's voicemail picks up: Twilio calls that `completed`, but nobody pressed 1.
    let call = app
        .call_with(CallRequest {
            from: CALLER.into(),
            outcome: Some("completed".into()),
            ..Default::default()
        })
        .await;
    assert!(
        call.voice_twiml.contains("<Number url="),
        "{}",
        call.voice_twiml
    );
    assert!(call.voice_twiml.contains("answerOnBridge=\"true\""));
    let texts = app.expect_texts(CALLER, 1).await;
    assert_eq!(texts[0].body, nmc_domain::default_greeting("Acme Plumbing"));
    assert_eq!(
        app.count("select count(*) from calls where status = 'missed' and screened_at is null")
            .await,
        1
    );

    // A person takes the next call: it is bridged, timed, and nobody is texted.
    let other = "+15125550178";
    app.call_with(CallRequest {
        from: other.into(),
        outcome: Some("completed".into()),
        press: Some("1".into()),
        talk_secs: Some(187),
        ..Default::default()
    })
    .await;
    assert_eq!(
        app.count("select count(*) from calls where status = 'answered' and answered_secs = 187 and screened_at is not null")
            .await,
        1
    );
    // Another key is not a yes.
    app.call_with(CallRequest {
        from: "+15125550179".into(),
        outcome: Some("completed".into()),
        press: Some("9".into()),
        ..Default::default()
    })
    .await;
    app.expect_texts("+15125550179", 1).await;
    app.expect_no_more_texts(other, 0, Duration::from_secs(2))
        .await;

    // Screening off: a completed dial is answered as before.
    let b = app.business_id().await;
    let r = app
        .owner(Method::PUT, "/api/voice", b)
        .json(&json!({"call_screening": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let call = app
        .call_with(CallRequest {
            from: "+15125550180".into(),
            outcome: Some("completed".into()),
            ..Default::default()
        })
        .await;
    assert!(!call.voice_twiml.contains("<Number url="));
    assert_eq!(
        app.count("select count(*) from calls where status = 'answered'")
            .await,
        2
    );
}

/// Every half hour of the week to `method` (text or voicemail).
#[tokio::test]
async fn a_voicemail_is_stored_transcribed_alerted_as_an_emergency_and_answered() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    app.route_all("voicemail").await;
    let said = "Hi, this is Sam Carter. A pipe burst and my basement is flooding. Please come right away, I am at 12 Oak Street.";
    let call = app
        .call_with(CallRequest {
            from: CALLER.into(),
            outcome: Some("no-answer".into()),
            voicemail: Some(voicemail(said)),
            ..Default::default()
        })
        .await;
    let after_dial = call.dial_twiml.clone().unwrap();
    assert!(after_dial.contains("<Record "), "{after_dial}");
    assert!(
        after_dial.contains("Please leave your name"),
        "{after_dial}"
    );
    let recording_sid = call.recording_sid.clone().unwrap();

    // Stored by us, gone from Twilio, transcribed by the offline engine.
    wait_until(
        Duration::from_secs(90),
        "the voicemail transcribed",
        || async {
            app.count("select count(*) from recordings where status = 'transcribed'")
                .await
                == 1
        },
    )
    .await;
    let (key, transcript): (String, String) =
        sqlx::query_as("select storage_key, transcript from recordings")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let stored = std::fs::read(objects_dir(&app.database_url).join(&key)).unwrap();
    assert!(stored.starts_with(b"RIFF"));
    assert!(!app.sandbox.has_recording(&recording_sid));
    let heard = transcript.to_lowercase();
    assert!(
        heard.contains("pipe burst") && heard.contains("basement"),
        "{transcript}"
    );

    // The owner hears of it as an emergency, with the words.
    wait_until(Duration::from_secs(20), "the emergency alert", || async {
        app.count("select count(*) from notifications where kind = 'emergency' and body like '%voicemail%'").await == 1
    })
    .await;
    let alert: String =
        sqlx::query_scalar("select body from notifications where kind = 'emergency'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(alert.to_lowercase().contains("basement"), "{alert}");
    // The caller's one first text picks up from what they said (no generic greeting as well).
    let texts = app.expect_texts(CALLER, 1).await;
    assert!(
        texts[0].body.contains("Got your voicemail"),
        "{}",
        texts[0].body
    );
    assert!(texts[0].body.contains("STOP"), "{}", texts[0].body);
    app.expect_no_more_texts(CALLER, 1, Duration::from_secs(2))
        .await;
    // The words are on the thread, and the recording plays for the owner (and for no one else).
    assert_eq!(
        app.count(
            "select count(*) from messages where kind = 'voicemail' and conversation_id is not null"
        )
        .await,
        1
    );
    let id: uuid::Uuid = sqlx::query_scalar("select id from recordings")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let audio = app
        .owner(Method::GET, &format!("/api/recordings/{id}/audio"), b)
        .send()
        .await
        .unwrap();
    assert_eq!(audio.status(), 200);
    assert!(audio.bytes().await.unwrap().starts_with(b"RIFF"));
    let anonymous = app
        .http
        .get(format!("{}/api/recordings/{id}/audio", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let calls: Value = app
        .owner(Method::GET, "/api/calls", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["items"][0]["recording_id"], json!(id.to_string()));
    assert_eq!(calls["items"][0]["route"], "voicemail");
}

#[tokio::test]
async fn a_caller_who_leaves_no_message_gets_the_greeting_at_once() {
    let app = TestApp::spawn().await;
    app.route_all("voicemail").await;
    let call = app.call(CALLER, "busy").await;
    assert!(call.dial_twiml.unwrap().contains("<Record "));
    let texts = app.expect_texts(CALLER, 1).await;
    assert_eq!(texts[0].body, nmc_domain::default_greeting("Acme Plumbing"));
    // The owner heard of the call when it came in.
    assert_eq!(
        app.count("select count(*) from notifications where kind = 'missed_call' and body like '%leaving a voicemail%'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_landline_is_not_texted_and_the_owner_is_told_to_call_back() {
    let app = TestApp::spawn().await;
    app.sandbox.set_lookup(LineSetup {
        number: CALLER.into(),
        line_type: "landline".into(),
        sms_pumping_risk: Some(0),
    });
    app.call(CALLER, "no-answer").await;
    wait_until(Duration::from_secs(15), "the call-back alert", || async {
        app.count("select count(*) from notifications where kind = 'call_back'")
            .await
            == 1
    })
    .await;
    wait_until(
        Duration::from_secs(15),
        "the conversation closed",
        || async {
            app.count("select count(*) from conversations where status = 'closed_undeliverable'")
                .await
                == 1
        },
    )
    .await;
    assert!(app.texts_to(CALLER).is_empty());
    assert_eq!(app.sandbox.lookups_made(), 1);
    // The answer is kept: the next call from the line is not looked up again.
    app.call(CALLER, "no-answer").await;
    wait_until(
        Duration::from_secs(15),
        "the second call-back alert",
        || async {
            app.count("select count(*) from notifications where kind = 'call_back'")
                .await
                == 2
        },
    )
    .await;
    assert_eq!(app.sandbox.lookups_made(), 1);
    assert!(app.texts_to(CALLER).is_empty());

    // A number Lookup flags for SMS pumping gets nothing either; a mobile gets its text.
    let pumped = "+15125550181";
    app.sandbox.set_lookup(LineSetup {
        number: pumped.into(),
        line_type: "mobile".into(),
        sms_pumping_risk: Some(93),
    });
    app.call(pumped, "no-answer").await;
    app.call("+15125550182", "no-answer").await;
    app.expect_texts("+15125550182", 1).await;
    assert!(app.texts_to(pumped).is_empty());
    // The owner still hears of the call (it may be a real customer).
    wait_until(Duration::from_secs(15), "the owner told of the flagged call", || async {
        app.count("select count(*) from notifications where kind = 'missed_call' and body like '%SMS-fraud%'").await == 1
    })
    .await;
}

#[tokio::test]
async fn a_blocked_caller_is_dropped_silently_but_a_stop_still_counts() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    // A robocaller already in a conversation: blocking ends it (no follow-ups to them).
    let robot = "+15125550189";
    app.call(robot, "no-answer").await;
    app.expect_texts(robot, 1).await;
    let r = app
        .owner(Method::POST, "/api/blocked-callers", b)
        .json(&json!({"phone": robot}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    wait_until(
        Duration::from_secs(10),
        "the robocaller's conversation closed",
        || async {
            app.count("select count(*) from conversations where status = 'active'")
                .await
                == 0
        },
    )
    .await;
    let r = app
        .owner(Method::POST, "/api/blocked-callers", b)
        .json(&json!({"phone": CALLER, "note": "robocaller"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let bad = app
        .owner(Method::POST, "/api/blocked-callers", b)
        .json(&json!({"phone": "call me maybe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let call = app.call(CALLER, "no-answer").await;
    assert!(call.voice_twiml.contains("<Reject"), "{}", call.voice_twiml);
    app.text(CALLER, "hello??").await;
    assert_eq!(
        app.count(&format!(
            "select count(*) from leads where phone = '{CALLER}'"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from calls where status = 'blocked'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from notifications n join conversations c on c.id = n.conversation_id join leads l on l.id = c.lead_id where l.phone = '+15125550177'").await,
        0
    );
    app.text(CALLER, "STOP").await;
    wait_until(Duration::from_secs(10), "the opt-out", || async {
        app.count("select count(*) from opt_outs").await == 1
    })
    .await;
    // Unblocked, they reach the business again.
    let plus = CALLER.replace('+', "%2B");
    let r = app
        .owner(Method::DELETE, &format!("/api/blocked-callers/{plus}"), b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let call = app.call(CALLER, "no-answer").await;
    assert!(!call.voice_twiml.contains("<Reject"));
}

#[tokio::test]
async fn each_routing_method_applies_at_its_time_and_holidays_win() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    // The business's clock now, and the half hours around it (so the test cannot straddle).
    let now = Utc::now().with_timezone(&chrono_tz::America::Chicago);
    let day = now.weekday().num_days_from_monday();
    let from = now - chrono::Duration::minutes(40);
    let to = now + chrono::Duration::minutes(40);
    let range = |method: &str| {
        json!({"preset": {"open": "text", "closed": "text"},
               "range": {"days": [day], "from": from.format("%H:%M").to_string(), "to": to.format("%H:%M").to_string(), "method": method}})
    };
    if from.day() != now.day() || to.day() != now.day() {
        // Around midnight the range would cross days; the domain tests cover that.
        return;
    }
    let put = |body: Value| app.owner(Method::PUT, "/api/routing", b).json(&body).send();
    assert_eq!(put(range("voicemail")).await.unwrap().status(), 200);
    let routing: Value = app
        .owner(Method::GET, "/api/routing", b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cell = day as usize * 48 + now.hour() as usize * 2 + usize::from(now.minute() >= 30);
    assert_eq!(routing["grid"][cell], "voicemail");
    assert_eq!(routing["grid"].as_array().unwrap().len(), 336);
    let call = app.call("+15125550183", "no-answer").await;
    assert!(call.dial_twiml.unwrap().contains("<Record "));

    // The same hour as text: the caller is texted straight away.
    assert_eq!(put(range("text")).await.unwrap().status(), 200);
    let call = app.call("+15125550184", "no-answer").await;
    assert!(!call.dial_twiml.unwrap().contains("<Record "));
    app.expect_texts("+15125550184", 1).await;

    // Today as a holiday sends calls to voicemail whatever the week says.
    let r = app
        .owner(Method::POST, "/api/routing/holidays", b)
        .json(&json!({"day": now.date_naive(), "method": "voicemail", "label": "Closed for inventory"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let call = app.call("+15125550185", "no-answer").await;
    assert!(call.dial_twiml.unwrap().contains("<Record "));

    // Saving checks the week is covered, and AI voice waits for a voice agent.
    let short = put(json!({"grid": vec!["text"; 335]})).await.unwrap();
    assert_eq!(short.status(), 422);
    let agent = put(json!({"preset": {"open": "ai_voice", "closed": "text"}}))
        .await
        .unwrap();
    assert_eq!(agent.status(), 422);
}

#[tokio::test]
async fn voicemail_greeting_settings_upload_and_signed_playback() {
    let app = TestApp::spawn().await;
    let b = app.business_id().await;
    let put = |body: Value| app.owner(Method::PUT, "/api/voice", b).json(&body).send();
    let r = put(json!({"voicemail": {"greeting": "Joe's Plumbing here, leave a message!", "voice": "Polly.Matthew-Neural", "max_secs": 90}})).await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["voicemail"]["language"], "en-US");
    for bad in [
        json!({"voicemail": {"voice": "Robot.Evil"}}),
        json!({"voicemail": {"max_secs": 5}}),
        json!({"voicemail": {"voice": "Polly.Lupe-Neural", "language": "en-US"}}),
    ] {
        assert_eq!(put(bad.clone()).await.unwrap().status(), 422, "{bad}");
    }
    app.route_all("voicemail").await;
    let call = app.call(CALLER, "no-answer").await;
    let twiml = call.dial_twiml.unwrap();
    assert!(
        twiml.contains(
            r#"<Say voice="Polly.Matthew-Neural" language="en-US">Joe&apos;s Plumbing here"#
        ),
        "{twiml}"
    );
    assert!(twiml.contains(r#"maxLength="90""#), "{twiml}");

    // An uploaded recording replaces the spoken greeting; Twilio fetches it by a signed URL.
    let upload = |bytes: Vec<u8>| {
        app.owner(Method::PUT, "/api/voice/greeting-audio", b)
            .header("content-type", "audio/wav")
            .body(bytes)
            .send()
    };
    assert_eq!(
        upload(b"<html>not audio</html>".to_vec())
            .await
            .unwrap()
            .status(),
        422
    );
    let wav = speak("Thanks for calling Joe's Plumbing. Leave a message after the tone.");
    let r = upload(wav.clone()).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let call = app.call("+15125550186", "no-answer").await;
    let twiml = call.dial_twiml.unwrap();
    let start = twiml.find("<Play>").unwrap() + "<Play>".len();
    let url = twiml[start..start + twiml[start..].find("</Play>").unwrap()].replace("&amp;", "&");
    let played = app.http.get(&url).send().await.unwrap();
    assert_eq!(played.status(), 200);
    assert_eq!(played.bytes().await.unwrap().to_vec(), wav);
    let forged = app.http.get(format!("{url}x")).send().await.unwrap();
    assert_eq!(forged.status(), 404);
    let preview = app
        .owner(Method::GET, "/api/voice/greeting-audio", b)
        .send()
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    // Back to the spoken greeting.
    let r = app
        .owner(Method::DELETE, "/api/voice/greeting-audio", b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let call = app.call("+15125550187", "no-answer").await;
    assert!(!call.dial_twiml.unwrap().contains("<Play>"));
}

#[tokio::test]
async fn the_calls_page_plays_a_voicemail_and_shows_its_words() {
    let app = TestApp::spawn().await;
    app.route_all("voicemail").await;
    app.call_with(CallRequest {
        from: CALLER.into(),
        outcome: Some("no-answer".into()),
        voicemail: Some(voicemail(
            "My kitchen sink is clogged and the water will not drain.",
        )),
        ..Default::default()
    })
    .await;
    wait_until(
        Duration::from_secs(90),
        "the voicemail transcribed",
        || async {
            app.count("select count(*) from recordings where status = 'transcribed'")
                .await
                == 1
        },
    )
    .await;
    let b = browser::Browser::desktop(&app.api_url).await;
    crate::business::log_in_page(&b, "dana@acme.example", OWNER_PASSWORD).await;
    b.goto("/app/calls").await;
    let words = b.text(".transcript").await.to_lowercase();
    assert!(words.contains("sink"), "{words}");
    b.js("const a = document.querySelector('audio'); a.preload = 'auto'; a.load(); return true;")
        .await;
    let mut played = Value::Null;
    for _ in 0..100 {
        played = b
            .js("const a = document.querySelector('audio'); return {ready: a.readyState, duration: a.duration, error: a.error && a.error.code};")
            .await;
        if played["ready"].as_i64().unwrap_or(0) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(played["ready"].as_i64().unwrap_or(0) >= 1, "{played}");
    assert!(played["duration"].as_f64().unwrap_or(0.0) > 1.0, "{played}");
    b.screenshot("calls-voicemail").await;
    b.close().await;
}

#[tokio::test]
async fn a_configured_transcription_service_is_used_and_a_refusal_still_alerts() {
    let double = LlmDouble::default();
    *double.heard.lock().unwrap() = "Hi it's Jo, the furnace stopped working, 5 Elm Street.".into();
    let base = double.start().await;
    let app = TestApp::builder()
        .worker_env("NMC_TRANSCRIPTION_BASE_URL", base)
        .worker_env("NMC_TRANSCRIPTION_API_KEY", "sk-test")
        .spawn()
        .await;
    app.route_all("voicemail").await;
    let leave = |from: &'static str| {
        app.call_with(CallRequest {
            from: from.into(),
            outcome: Some("no-answer".into()),
            voicemail: Some(voicemail("The furnace stopped working.")),
            ..Default::default()
        })
    };
    leave(CALLER).await;
    wait_until(
        Duration::from_secs(30),
        "transcribed by the service",
        || async {
            app.count("select count(*) from recordings where transcript like '%furnace stopped%'")
                .await
                == 1
        },
    )
    .await;
    let upload = double.uploads.lock().unwrap()[0].clone();
    let body = String::from_utf8_lossy(&upload);
    assert!(
        body.contains("whisper-1") && body.contains("RIFF"),
        "the model and the audio are sent"
    );
    let texts = app.expect_texts(CALLER, 1).await;
    assert!(
        texts[0].body.contains("Got your voicemail"),
        "{}",
        texts[0].body
    );

    // The service refuses the file: the message is kept to play, the owner is told, and the
    // caller still gets the usual greeting.
    *double.mode.lock().unwrap() = "error400".into();
    let other = "+15125550188";
    leave(other).await;
    wait_until(Duration::from_secs(30), "marked failed", || async {
        app.count(
            "select count(*) from recordings where status = 'failed' and storage_key is not null",
        )
        .await
            == 1
    })
    .await;
    let texts = app.expect_texts(other, 1).await;
    assert_eq!(texts[0].body, nmc_domain::default_greeting("Acme Plumbing"));
    assert_eq!(
        app.count("select count(*) from notifications where kind = 'voicemail' and body like '%could not be transcribed%'")
            .await,
        1
    );
}
