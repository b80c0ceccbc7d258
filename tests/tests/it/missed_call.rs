//! A missed call becomes a durable conversation that texts the caller back: end to end against
//! real PostgreSQL, a real Temporal dev server and the sandbox carrier over HTTP.

use std::time::Duration;

use nmc_sandbox::{CallRequest, Fault, SmsRequest};
use nmc_tests::*;
use serde_json::json;

const CALLER: &str = "+15125550199";

#[tokio::test]
async fn missed_call_texts_the_greeting() {
    let app = TestApp::spawn().await;
    let call = app.call(CALLER, "no-answer").await;
    assert_eq!(call.voice_status, 200);
    assert!(call.voice_twiml.contains(&format!(
        r#"<Dial timeout="20" action="{}/webhook/voice/call-completed?screened=1""#,
        app.api_url
    )));
    assert!(call.voice_twiml.contains(BUSINESS_PHONE));
    assert_eq!(call.dial_status, Some(200));

    let texts = app.expect_texts(CALLER, 1).await;
    assert_eq!(texts[0].from, TWILIO_NUMBER);
    assert_eq!(texts[0].body, nmc_domain::default_greeting("Acme Plumbing"));
    assert!(texts[0].body.ends_with("Reply STOP to opt out."));

    // The call, lead, conversation and message are on record; delivery callbacks land.
    assert_eq!(
        app.count(
            "select count(*) from calls where status = 'missed' and dial_status = 'no-answer'"
        )
        .await,
        1
    );
    let sid = texts[0].sid.clone();
    wait_until(Duration::from_secs(10), "delivered status", || async {
        app.count(&format!("select count(*) from messages where twilio_message_sid = '{sid}' and status = 'delivered'")).await == 1
    })
    .await;
    assert_eq!(
        app.count("select count(*) from leads where status = 'contacted'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from conversations where status = 'active'")
            .await,
        1
    );

    // Ops find it in the Temporal UI by business id and status (typed search attributes).
    let business_id: uuid::Uuid = sqlx::query_scalar("select id from businesses")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let client = nmc_api::temporal::connect(&temporal_address(), "default")
        .await
        .unwrap();
    let query = format!(
        "NmcBusinessId = '{business_id}' AND NmcConversationStatus = 'active' AND ExecutionStatus = 'Running'"
    );
    wait_until(
        Duration::from_secs(10),
        "workflow visible by search attributes",
        || async {
            client
                .count_workflows(query.as_str(), Default::default())
                .await
                .is_ok_and(|c| c.count() == 1)
        },
    )
    .await;
}

#[tokio::test]
async fn after_hours_missed_call_gets_the_after_hours_greeting() {
    let app = TestApp::builder().empty().spawn().await;
    app.onboard(json!({"business_hours": never_open(), "after_hours_greeting": "{business} is closed; {owner} will text you at 7am"})).await;
    app.call(CALLER, "busy").await;
    let texts = app.expect_texts(CALLER, 1).await;
    assert_eq!(
        texts[0].body,
        "Acme Plumbing is closed; Dana Rivera will text you at 7am Reply STOP to opt out."
    );
    assert_eq!(
        app.count("select count(*) from calls where is_after_hours")
            .await,
        1
    );
}

#[tokio::test]
async fn forwarded_call_is_already_missed() {
    let app = TestApp::builder().empty().spawn().await;
    app.onboard(json!({"call_mode": "forwarded"})).await;
    let call = app.call(CALLER, "no-answer").await;
    assert!(
        call.voice_twiml
            .contains("<Say>Thanks for calling Acme Plumbing."),
        "{}",
        call.voice_twiml
    );
    assert!(!call.voice_twiml.contains("<Dial"));
    assert_eq!(call.dial_status, None);
    app.expect_texts(CALLER, 1).await;
    assert_eq!(
        app.count(
            "select count(*) from calls where status = 'missed' and dial_status = 'forwarded'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn answered_call_sends_no_text() {
    let app = TestApp::spawn().await;
    let call = app.call(CALLER, "completed").await;
    assert_eq!(call.dial_status, Some(200));
    assert_eq!(
        app.count("select count(*) from calls where status = 'answered'")
            .await,
        1
    );
    // No event was handed to a conversation (every hand-over is a webhook event, recorded before
    // the webhook answers), so no text can follow.
    assert_eq!(app.count("select count(*) from webhook_events").await, 0);
    assert!(app.texts_to(CALLER).is_empty());
}

#[tokio::test]
async fn same_webhook_delivered_twice_sends_one_text() {
    let app = TestApp::spawn().await;
    // Only the caller's texts here: the owner's alert texts are off.
    app.set("notify_by_text = false").await;
    let req = CallRequest {
        from: CALLER.into(),
        to: TWILIO_NUMBER.into(),
        outcome: None,
        call_sid: None,
        deliveries: 2,
        forwarded_from: None,
        ..Default::default()
    };
    app.sandbox.place_call(req).await.unwrap();
    app.expect_no_more_texts(CALLER, 1, DUPLICATE_WINDOW).await;
    assert_eq!(app.count("select count(*) from calls").await, 1);
    assert_eq!(app.count("select count(*) from webhook_events").await, 1);
    assert_eq!(
        app.count("select count(*) from messages where direction = 'outbound'")
            .await,
        1
    );
}

#[tokio::test]
async fn second_missed_call_while_open_sends_no_second_text() {
    let app = TestApp::spawn().await;
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;
    let second = app.call(CALLER, "no-answer").await;
    let sid = second.call_sid;
    wait_until(Duration::from_secs(10), "repeat call recorded", || async {
        app.count(&format!(
            "select count(*) from calls where twilio_call_sid = '{sid}' and is_repeat"
        ))
        .await
            == 1
    })
    .await;
    app.expect_no_more_texts(CALLER, 1, DUPLICATE_WINDOW).await;
    // A different caller still gets their own text.
    app.call("+15125550198", "no-answer").await;
    app.expect_texts("+15125550198", 1).await;
}

#[tokio::test]
async fn opted_out_caller_gets_no_text() {
    let app = TestApp::spawn().await;
    // Only the caller's texts here: the owner's alert texts are off.
    app.set("notify_by_text = false").await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from businesses")
        .fetch_one(&app.db)
        .await
        .unwrap();
    sqlx::query("insert into opt_outs (business_id, phone, source) values ($1, $2, 'owner')")
        .bind(id)
        .bind(CALLER)
        .execute(&app.db)
        .await
        .unwrap();
    app.call(CALLER, "no-answer").await;
    wait_until(Duration::from_secs(10), "suppressed greeting", || async {
        app.count("select count(*) from messages where status = 'suppressed'")
            .await
            == 1
    })
    .await;
    // The conversation ends there; closed, it sends nothing more.
    wait_until(Duration::from_secs(10), "closed as opted out", || async {
        app.count("select count(*) from conversations where status = 'closed_opted_out'")
            .await
            == 1
    })
    .await;
    assert!(app.texts_to(CALLER).is_empty());
    assert_eq!(app.sandbox.attempts(), 0);
}

#[tokio::test]
async fn stop_gets_one_confirmation_then_silence() {
    let app = TestApp::spawn().await;
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;

    let stop = app.text(CALLER, "  Stop ").await;
    assert_eq!(stop.status, 200);
    let texts = app.expect_texts(CALLER, 2).await;
    assert!(texts[1].body.contains("unsubscribed"), "{}", texts[1].body);
    assert_eq!(app.count("select count(*) from opt_outs").await, 1);
    assert_eq!(
        app.count("select count(*) from leads where status = 'opted_out'")
            .await,
        1
    );

    // A second STOP, a retried STOP webhook, a new missed call and a plain text: silence.
    app.text(CALLER, "STOP").await;
    app.sandbox
        .send_sms_as_caller(SmsRequest {
            from: CALLER.into(),
            to: TWILIO_NUMBER.into(),
            body: "STOP".into(),
            message_sid: Some(stop.message_sid),
            deliveries: 1,
        })
        .await
        .unwrap();
    app.call(CALLER, "no-answer").await;
    app.text(CALLER, "hello?").await;
    app.expect_no_more_texts(CALLER, 2, DUPLICATE_WINDOW).await;
    // Every text the caller sent is on record.
    assert_eq!(
        app.count("select count(*) from messages where direction = 'inbound'")
            .await,
        3
    );

    // START re-subscribes (with one confirmation), HELP answers.
    app.text(CALLER, "start").await;
    let texts = app.expect_texts(CALLER, 3).await;
    assert!(texts[2].body.contains("resubscribed"));
    app.text(CALLER, "HELP").await;
    let texts = app.expect_texts(CALLER, 4).await;
    assert!(
        texts[3].body.contains("Acme Plumbing") && texts[3].body.contains(BUSINESS_PHONE),
        "{}",
        texts[3].body
    );
}

#[tokio::test]
async fn bad_or_missing_signature_is_refused_and_records_nothing() {
    let app = TestApp::spawn().await;
    let params = [
        ("CallSid", "CA00000000000000000000000000000001"),
        ("From", CALLER),
        ("To", TWILIO_NUMBER),
        ("DialCallStatus", "no-answer"),
        ("CallStatus", "in-progress"),
    ];
    for token in [None, Some("wrong-token")] {
        for path in ["/webhook/voice/incoming", "/webhook/voice/call-completed"] {
            let r = app.post_webhook(path, &params, token).await;
            assert_eq!(r.status(), 403, "{path} with {token:?}");
        }
        let sms = [
            ("MessageSid", "SM00000000000000000000000000000001"),
            ("From", CALLER),
            ("To", TWILIO_NUMBER),
            ("Body", "STOP"),
        ];
        assert_eq!(
            app.post_webhook("/webhook/sms/incoming", &sms, token)
                .await
                .status(),
            403
        );
        let status = [
            ("MessageSid", "SM00000000000000000000000000000001"),
            ("MessageStatus", "delivered"),
            ("From", TWILIO_NUMBER),
        ];
        assert_eq!(
            app.post_webhook("/webhook/sms/status", &status, token)
                .await
                .status(),
            403
        );
    }
    // A signature for a different URL (query string added) is refused too.
    let url_params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sig = nmc_twilio::signature::sign(
        AUTH_TOKEN,
        &format!("{}/webhook/voice/call-completed?x=1", app.api_url),
        &url_params,
    );
    let r = app
        .http
        .post(format!("{}/webhook/voice/call-completed", app.api_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", sig)
        .body("CallSid=CA00000000000000000000000000000001&From=%2B15125550199&To=%2B15005550006&DialCallStatus=no-answer&CallStatus=in-progress")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    for table in [
        "calls",
        "leads",
        "messages",
        "webhook_events",
        "opt_outs",
        "message_status_events",
        "conversations",
    ] {
        assert_eq!(
            app.count(&format!("select count(*) from {table}")).await,
            0,
            "{table} must stay empty"
        );
    }
    // Nothing was recorded, so nothing was handed to a conversation and no text can follow.
    assert!(app.sandbox.messages().is_empty());
}

#[tokio::test]
async fn malformed_webhooks_get_clear_4xx_and_record_nothing() {
    let app = TestApp::spawn().await;
    let url = format!("{}/webhook/voice/call-completed", app.api_url);
    // Wrong content type.
    let r = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // Invalid UTF-8.
    let r = app
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'T', b'o', b'=', 0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Huge body.
    let r = app
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 200_000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Signed but missing fields, or an unknown dial status.
    let r = app
        .post_webhook(
            "/webhook/voice/call-completed",
            &[("To", TWILIO_NUMBER), ("From", CALLER)],
            Some(AUTH_TOKEN),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = app
        .post_webhook(
            "/webhook/voice/call-completed",
            &[
                ("To", TWILIO_NUMBER),
                ("From", CALLER),
                ("CallSid", "CA1"),
                ("DialCallStatus", "exploded"),
            ],
            Some(AUTH_TOKEN),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = app
        .post_webhook(
            "/webhook/sms/incoming",
            &[
                ("To", TWILIO_NUMBER),
                ("From", "not-a-phone"),
                ("MessageSid", "SM1"),
                ("Body", "hi"),
            ],
            Some(AUTH_TOKEN),
        )
        .await;
    assert_eq!(r.status(), 400);
    // Unknown To: a polite answer, HTTP 200, nothing else.
    let r = app
        .post_webhook(
            "/webhook/voice/incoming",
            &[("To", "+15005550009"), ("From", CALLER), ("CallSid", "CA2")],
            None,
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("not in service"));
    for table in ["calls", "leads", "messages", "webhook_events"] {
        assert_eq!(
            app.count(&format!("select count(*) from {table}")).await,
            0,
            "{table} must stay empty"
        );
    }
}

#[tokio::test]
async fn unsubscribed_at_carrier_21610_fails_without_retry() {
    let app = TestApp::spawn().await;
    // Only the caller's texts here: the owner's alert texts are off.
    app.set("notify_by_text = false").await;
    app.sandbox.add_fault(Fault {
        to: Some(CALLER.into()),
        status: 400,
        code: Some(21610),
        count: 100,
        delay_ms: 0,
    });
    app.call(CALLER, "no-answer").await;
    wait_until(Duration::from_secs(10), "message marked failed", || async {
        app.count("select count(*) from messages where status = 'failed' and error_code = 21610")
            .await
            == 1
    })
    .await;
    // The refusal closes the conversation: the send is settled, and nothing retries it after.
    wait_until(Duration::from_secs(10), "closed as opted out", || async {
        app.count("select count(*) from conversations where status = 'closed_opted_out'")
            .await
            == 1
    })
    .await;
    assert_eq!(
        app.sandbox.attempts(),
        1,
        "a permanent error must not be retried"
    );
    assert_eq!(
        app.count(
            "select count(*) from leads where last_error_code = 21610 and status = 'opted_out'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from opt_outs where source = 'carrier'")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from conversations where status = 'closed_opted_out'")
            .await,
        1
    );
}

#[tokio::test]
async fn carrier_503_then_success_sends_exactly_one() {
    let app = TestApp::spawn().await;
    // Only the caller's texts here: the owner's alert texts are off.
    app.set("notify_by_text = false").await;
    app.sandbox.add_fault(Fault {
        to: Some(CALLER.into()),
        status: 503,
        code: None,
        count: 2,
        delay_ms: 0,
    });
    app.call(CALLER, "no-answer").await;
    let texts = app.expect_no_more_texts(CALLER, 1, DUPLICATE_WINDOW).await;
    assert_eq!(app.sandbox.attempts(), 3);
    let stored: String =
        sqlx::query_scalar("select twilio_message_sid from messages where direction = 'outbound'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, texts[0].sid);
}

#[tokio::test]
async fn worker_killed_mid_send_and_restarted_sends_exactly_one() {
    let mut app = TestApp::spawn().await;
    // The carrier takes the message at once but answers 4 s later: the worker dies in between.
    app.sandbox.add_fault(Fault {
        to: Some(CALLER.into()),
        status: 201,
        code: None,
        count: 1,
        delay_ms: 4000,
    });
    app.call(CALLER, "no-answer").await;
    wait_until(
        Duration::from_secs(10),
        "carrier received the send",
        || async { !app.texts_to(CALLER).is_empty() },
    )
    .await;
    app.kill_worker().await;
    assert_eq!(
        app.count(&format!(
            "select count(*) from messages where status = 'dispatching' and to_phone = '{CALLER}'"
        ))
        .await,
        1
    );
    app.start_worker();
    // The activity times out (10 s start-to-close), is retried on the new worker, finds the
    // earlier send at the carrier and adopts it instead of sending again.
    let sid = app.texts_to(CALLER)[0].sid.clone();
    wait_until(Duration::from_secs(40), "message adopted", || async {
        app.count(&format!(
            "select count(*) from messages where twilio_message_sid = '{sid}'"
        ))
        .await
            == 1
    })
    .await;
    app.expect_no_more_texts(CALLER, 1, DUPLICATE_WINDOW).await;
}

#[tokio::test]
async fn status_callbacks_never_move_a_message_backwards() {
    let app = TestApp::spawn().await;
    app.call(CALLER, "no-answer").await;
    let texts = app.expect_texts(CALLER, 1).await;
    let sid = texts[0].sid.clone();
    wait_until(Duration::from_secs(10), "delivered", || async {
        app.count(&format!("select count(*) from messages where twilio_message_sid = '{sid}' and status = 'delivered'")).await == 1
    })
    .await;
    let late = [
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "sent"),
        ("From", TWILIO_NUMBER),
        ("To", CALLER),
    ];
    assert_eq!(
        app.post_webhook("/webhook/sms/status", &late, Some(AUTH_TOKEN))
            .await
            .status(),
        200
    );
    assert_eq!(app.count(&format!("select count(*) from messages where twilio_message_sid = '{sid}' and status = 'delivered'")).await, 1);
    let bogus = [
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "exploded"),
        ("From", TWILIO_NUMBER),
    ];
    assert_eq!(
        app.post_webhook("/webhook/sms/status", &bogus, Some(AUTH_TOKEN))
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn quiet_conversation_closes_and_the_next_call_opens_a_new_one() {
    let app = TestApp::spawn().await;
    // One follow-up, one second after the greeting, then the conversation closes as no-response.
    sqlx::query(&format!(
        "update businesses set follow_up_secs = '{{1}}', {}",
        quiet_hours_away()
    ))
    .execute(&app.db)
    .await
    .unwrap();
    app.call(CALLER, "no-answer").await;
    let texts = app.expect_texts(CALLER, 2).await;
    assert!(
        texts[1].body.starts_with("Last note from us"),
        "{}",
        texts[1].body
    );
    wait_until(Duration::from_secs(15), "no-response close", || async {
        app.count("select count(*) from conversations where status = 'closed_no_response' and closed_at is not null").await == 1
    })
    .await;
    assert_eq!(
        app.count("select count(*) from leads where status = 'unresponsive'")
            .await,
        1
    );
    // The conversation is over, so a new missed call is greeted again, in a new conversation,
    // owning up to the earlier call today.
    app.call(CALLER, "no-answer").await;
    let texts = app.expect_texts(CALLER, 4).await;
    assert!(
        texts[2]
            .body
            .starts_with("Hi, this is Acme Plumbing. I see you called earlier today too;"),
        "{}",
        texts[2].body
    );
    assert_eq!(app.count("select count(*) from conversations").await, 2);
    assert_eq!(
        app.count("select count(*) from calls where is_repeat")
            .await,
        0
    );
}

#[tokio::test]
async fn temporal_unreachable_the_call_and_the_text_are_acted_on_without_a_redelivery() {
    let app = TestApp::spawn().await;
    app.set("owner_window_secs = 0").await;
    let degraded = app.spawn_api_without_temporal().await;
    let call = [
        ("CallSid", "CA00000000000000000000000000000077"),
        ("From", CALLER),
        ("To", TWILIO_NUMBER),
        ("DialCallStatus", "no-answer"),
        ("CallStatus", "in-progress"),
    ];
    // Real Twilio does not redeliver a 5xx: the webhook is answered 200 once it is recorded.
    let r = app
        .post_webhook_to(
            &degraded,
            "/webhook/voice/call-completed",
            &call,
            Some(AUTH_TOKEN),
        )
        .await;
    assert_eq!(r.status(), 200);
    let text = [
        ("MessageSid", "SM00000000000000000000000000000077"),
        ("From", CALLER),
        ("To", TWILIO_NUMBER),
        ("Body", "my water heater is leaking"),
    ];
    let r = app
        .post_webhook_to(&degraded, "/webhook/sms/incoming", &text, Some(AUTH_TOKEN))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.count("select count(*) from webhook_events where signalled_at is null")
            .await,
        2
    );
    // Delivered once each, nothing from the carrier again: the worker's outbox signals both.
    let texts = app.expect_texts(CALLER, 2).await;
    assert_eq!(texts[0].body, nmc_domain::default_greeting("Acme Plumbing"));
    assert!(
        texts[1].body.contains("name"),
        "the assistant answered the text: {}",
        texts[1].body
    );
    wait_until(Duration::from_secs(10), "both marked signalled", || async {
        app.count("select count(*) from webhook_events where signalled_at is not null")
            .await
            == 2
    })
    .await;
    assert_eq!(app.count("select count(*) from calls").await, 1);
}

#[tokio::test]
async fn call_arriving_while_the_conversation_closes_is_not_lost() {
    let app = TestApp::spawn().await;
    // One follow-up 4 s after the greeting, then the conversation closes as no-response.
    sqlx::query(&format!(
        "update businesses set follow_up_secs = '{{4}}', {}",
        quiet_hours_away()
    ))
    .execute(&app.db)
    .await
    .unwrap();
    app.call(CALLER, "no-answer").await;
    app.expect_texts(CALLER, 1).await;

    // Hold the conversation row so the close activity blocks mid-flight…
    let mut lock = app.db.begin().await.unwrap();
    // (no key update: the follow-up's foreign-key check may pass, the close's update may not)
    sqlx::query("select id from conversations for no key update")
        .execute(&mut *lock)
        .await
        .unwrap();
    wait_until(Duration::from_secs(15), "close activity blocked on the row", || async {
        app.count("select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query like 'update conversations%'").await == 1
    })
    .await;
    // …call again while it is closing, then let the close finish.
    let second = app.call(CALLER, "no-answer").await;
    let sid = second.call_sid.clone();
    wait_until(Duration::from_secs(10), "the call signalled to the closing run", || async {
        app.count(&format!(
            "select count(*) from webhook_events where provider_sid = '{sid}' and signalled_at is not null"
        ))
        .await
            == 1
    })
    .await;
    lock.rollback().await.unwrap();

    // The call was not swallowed by the closing run: a new conversation greets the caller.
    let texts = app.expect_texts(CALLER, 3).await;
    assert!(
        texts[2]
            .body
            .starts_with("Hi, this is Acme Plumbing. I see you called earlier today too;"),
        "{}",
        texts[2].body
    );
    let key = format!("greeting:{}", second.call_sid);
    assert_eq!(
        app.count(&format!(
            "select count(*) from messages where idempotency_key = '{key}'"
        ))
        .await,
        1
    );
    assert_eq!(app.count("select count(*) from conversations").await, 2);
}
