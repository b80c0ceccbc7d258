//! Garbage at every webhook: thousands of generated requests (missing and unknown fields, junk
//! values, wrong content types, invalid UTF-8, huge bodies, bad and good signatures). Every answer
//! is below 500, and a rejected request records nothing. Status callbacks replayed and out of
//! order never move a message backwards or record twice.

use std::time::Duration;

use nmc_tests::*;

const HOOKS: [&str; 4] = [
    "/webhook/voice/incoming",
    "/webhook/voice/call-completed",
    "/webhook/sms/incoming",
    "/webhook/sms/status",
];
const KEYS: [&str; 12] = [
    "CallSid",
    "From",
    "To",
    "DialCallStatus",
    "CallStatus",
    "MessageSid",
    "Body",
    "MessageStatus",
    "ErrorCode",
    "AccountSid",
    "NumMedia",
    "Junk",
];

/// A small deterministic generator (xorshift), so a failure replays with the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

fn junk_value(r: &mut Rng) -> String {
    match r.below(12) {
        0 => String::new(),
        1 => "+15125550199".into(),
        2 => TWILIO_NUMBER.into(),
        3 => "not-a-phone".into(),
        4 => "CA".to_owned() + &"f".repeat(r.below(40)),
        5 => r
            .pick(&[
                "no-answer",
                "busy",
                "failed",
                "completed",
                "canceled",
                "in-progress",
                "delivered",
                "sent",
                "undelivered",
                "queued",
                "exploded",
            ])
            .into(),
        6 => "\u{0}\u{7}\r\n\t".into(),
        7 => "🔧💧 ñ 漢字 \u{202e}".into(),
        8 => "x".repeat(r.below(5000)),
        9 => "%%%zz%".into(),
        10 => r.next().to_string(),
        _ => "STOP".into(),
    }
}

async fn tables(app: &TestApp) -> [i64; 4] {
    [
        app.count("select count(*) from webhook_events").await,
        app.count("select count(*) from calls").await,
        app.count("select count(*) from messages where direction = 'inbound'")
            .await,
        app.count("select count(*) from message_status_events")
            .await,
    ]
}

#[tokio::test]
async fn generated_garbage_never_gets_a_5xx_and_rejected_requests_record_nothing() {
    let app = TestApp::spawn().await;
    let seed = std::env::var("NMC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe_u64);
    let rounds: usize = std::env::var("NMC_FUZZ_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500);
    let mut r = Rng(seed);
    let mut answers = std::collections::BTreeMap::<u16, usize>::new();
    for round in 0..rounds {
        let hook = HOOKS[r.below(HOOKS.len())];
        let url = format!("{}{hook}", app.api_url);
        let before = tables(&app).await;
        let status = match r.below(10) {
            // Raw bodies: wrong or missing content types, invalid UTF-8, oversized.
            0 => {
                let ct = r.pick(&[
                    "application/json",
                    "text/plain",
                    "multipart/form-data; boundary=x",
                    "application/x-www-form-urlencoded; charset=utf-16",
                    "",
                ]);
                let mut req = app
                    .http
                    .post(&url)
                    .body(format!("{{\"CallSid\": \"{}\"}}", junk_value(&mut r)));
                if !ct.is_empty() {
                    req = req.header("content-type", ct);
                }
                req.send().await.unwrap().status()
            }
            1 => {
                let mut body = b"From=%2B15125550199&Body=".to_vec();
                body.extend((0..r.below(64)).map(|_| (r.next() & 0xff) as u8));
                app.http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
            2 => app
                .http
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(vec![b'B'; 70_000 + r.below(100_000)])
                .send()
                .await
                .unwrap()
                .status(),
            // Forms with random fields: unsigned, wrongly signed, or correctly signed.
            n => {
                let fields: Vec<(String, String)> = (0..r.below(8))
                    .map(|_| (r.pick(&KEYS).to_owned(), junk_value(&mut r)))
                    .collect();
                let params: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let token = match n {
                    3 => None,
                    4 => Some("wrong-token"),
                    _ => Some(AUTH_TOKEN),
                };
                app.post_webhook(hook, &params, token).await.status()
            }
        };
        *answers.entry(status.as_u16()).or_default() += 1;
        assert!(
            status.as_u16() < 500,
            "round {round} (seed {seed}) on {hook}: {status}"
        );
        if status.is_client_error() {
            assert_eq!(
                tables(&app).await,
                before,
                "round {round} (seed {seed}) on {hook}: rejected with {status} but something was recorded"
            );
        }
    }
    println!("{rounds} generated webhook requests (seed {seed}): {answers:?}");
    assert!(
        answers.keys().any(|s| *s == 403)
            && answers.keys().any(|s| *s == 400)
            && answers.keys().any(|s| *s == 413)
            && answers.keys().any(|s| *s == 415)
    );
}

#[tokio::test]
async fn status_callbacks_replayed_and_out_of_order_settle_on_the_furthest_state_once() {
    let app = TestApp::spawn().await;
    // Only the caller's texts here: the owner's alert texts are off.
    app.set("notify_by_text = false").await;
    let caller = "+15125550171";
    app.call(caller, "no-answer").await;
    let sid = app.expect_texts(caller, 1).await[0].sid.clone();
    wait_until(Duration::from_secs(10), "delivered", || async {
        app.count(&format!("select count(*) from messages where twilio_message_sid = '{sid}' and status = 'delivered'")).await == 1
    })
    .await;
    let mut recorded = Vec::new();
    for _ in 0..2 {
        for status in [
            "sent",
            "queued",
            "delivered",
            "sent",
            "delivered",
            "queued",
            "sent",
        ] {
            let cb = [
                ("MessageSid", sid.as_str()),
                ("MessageStatus", status),
                ("From", TWILIO_NUMBER),
                ("To", caller),
                ("AccountSid", ACCOUNT_SID),
            ];
            assert_eq!(
                app.post_webhook("/webhook/sms/status", &cb, Some(AUTH_TOKEN))
                    .await
                    .status(),
                200,
                "{status}"
            );
        }
        assert_eq!(app.count(&format!("select count(*) from messages where twilio_message_sid = '{sid}' and status = 'delivered'")).await, 1, "never backwards");
        recorded.push(
            app.count("select count(*) from message_status_events")
                .await,
        );
    }
    assert_eq!(
        recorded[0], 3,
        "sent, delivered and the late queued, once each"
    );
    assert_eq!(
        recorded[1], recorded[0],
        "replaying the whole sequence records nothing more"
    );
    // A callback for a message we never sent changes nothing.
    let stranger = [
        ("MessageSid", "SM0000000000000000000000000000dead"),
        ("MessageStatus", "delivered"),
        ("From", TWILIO_NUMBER),
        ("To", caller),
    ];
    assert!(
        app.post_webhook("/webhook/sms/status", &stranger, Some(AUTH_TOKEN))
            .await
            .status()
            .as_u16()
            < 500
    );
    assert_eq!(app.count("select count(*) from messages where twilio_message_sid = 'SM0000000000000000000000000000dead'").await, 0);
}
