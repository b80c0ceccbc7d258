//! Web Push over real HTTP: a browser's subscription is taken (and a bad one refused), a missed
//! call is pushed to every browser encrypted for it and signed with our VAPID key (the push
//! double decrypts and verifies, so a malformed push fails here), an unsubscribed browser (410)
//! and an expired one (404) are forgotten; and in a real browser the owner turns alerts on, the
//! service worker takes the push and shows it, and its link opens the thread after a log-in.

use std::time::Duration;

use nmc_tests::browser::Browser;
use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::business::log_in_page;

const CALLER: &str = "+15125550188";

async fn subscribe(app: &TestApp, business: uuid::Uuid, sub: &Value) -> reqwest::Response {
    app.owner(Method::POST, "/api/push/subscriptions", business)
        .json(sub)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn alerts_are_pushed_encrypted_and_signed_and_a_gone_browser_is_forgotten() {
    let app = TestApp::spawn().await;
    let business = app.business_id().await;
    let key: Value = app
        .owner(Method::GET, "/api/push/vapid-public-key", business)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = key["public_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 87, "65 bytes, base64url: {key}");

    let phone = app.sandbox.push.subscribe(&app.sandbox_url);
    let laptop = app.sandbox.push.subscribe(&app.sandbox_url);
    assert_eq!(subscribe(&app, business, &phone).await.status(), 201);
    assert_eq!(subscribe(&app, business, &laptop).await.status(), 201);
    // The same browser again replaces, never duplicates.
    assert_eq!(subscribe(&app, business, &phone).await.status(), 201);
    for (field, bad) in [
        ("endpoint", json!("https://evil.example/push/1")),
        ("endpoint", json!("http://169.254.169.254/latest")),
        (
            "keys",
            json!({"p256dh": "AAAA", "auth": phone["keys"]["auth"]}),
        ),
        (
            "keys",
            json!({"p256dh": phone["keys"]["p256dh"], "auth": "c2hvcnQ"}),
        ),
    ] {
        let mut sub = phone.clone();
        sub[field] = bad;
        let r = subscribe(&app, business, &sub).await;
        assert_eq!(r.status(), 422, "{sub}");
    }
    assert_eq!(
        app.count("select count(*) from push_subscriptions").await,
        2
    );

    app.call(CALLER, "no-answer").await;
    wait_until(
        Duration::from_secs(10),
        "pushed to both browsers",
        || async { app.sandbox.push.received().len() == 2 },
    )
    .await;
    for got in app.sandbox.push.received() {
        assert_eq!(
            got.vapid_key, key,
            "signed with the key the browser subscribed with"
        );
        let body = got.payload["body"].as_str().unwrap();
        assert!(
            body.starts_with("Missed call from (512) 555-0188"),
            "{body}"
        );
        assert!(got.payload["url"].as_str().unwrap().contains("/n/"));
        assert_eq!(got.payload["title"], "Acme Plumbing");
        assert!(got.ttl > 0 && got.urgency.as_deref() == Some("normal"));
    }

    // The laptop's browser unsubscribed at its push service: 410, and we forget it.
    app.sandbox
        .push
        .unsubscribe(laptop["endpoint"].as_str().unwrap());
    app.text(CALLER, "Water heater is leaking, can someone come today?")
        .await;
    wait_until(
        Duration::from_secs(10),
        "the gone browser forgotten",
        || async {
            app.count("select count(*) from push_subscriptions").await == 1
                && app.sandbox.push.received().len() >= 3
        },
    )
    .await;
    let last = app.sandbox.push.received().remove(2);
    assert!(
        last.payload["body"]
            .as_str()
            .unwrap()
            .contains("Water heater"),
        "{:?}",
        last.payload
    );
    assert_eq!(
        app.count(
            "select count(*) from alert_deliveries where channel = 'push' and status = 'gone'"
        )
        .await,
        1
    );
    // A subscription that expired at its push service: 404, and we forget it as well.
    let tablet = app.sandbox.push.subscribe(&app.sandbox_url);
    assert_eq!(subscribe(&app, business, &tablet).await.status(), 201);
    app.sandbox
        .push
        .expire(tablet["endpoint"].as_str().unwrap());
    app.call("+15125550199", "no-answer").await;
    wait_until(
        Duration::from_secs(10),
        "the expired browser forgotten",
        || async {
            app.count(
                "select count(*) from alert_deliveries where channel = 'push' and status = 'gone'",
            )
            .await
                == 2
        },
    )
    .await;
    assert_eq!(
        app.count("select count(*) from push_subscriptions").await,
        1
    );
    // Turning alerts off on the phone: 204, then 404.
    for expected in [204, 404] {
        let r = app
            .owner(Method::DELETE, "/api/push/subscriptions", business)
            .json(&json!({"endpoint": phone["endpoint"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), expected);
    }
}

/// Headless Chromium cannot reach a real push service here (no network), so the page gets the
/// double's subscription from a stubbed `PushManager`; everything after is real: our page posts
/// it, the worker pushes, the double decrypts, and our service worker's own code shows the
/// notification and opens its link on a tap.
const STUB_PUSH: &str = r"
    const sub = arguments[0];
    let current = null;
    PushManager.prototype.subscribe = async function (options) {
      window.appServerKey = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)));
      current = { endpoint: sub.endpoint, toJSON: () => sub, unsubscribe: async () => { current = null; return true; } };
      return current;
    };
    PushManager.prototype.getSubscription = async function () { return current; };
    Notification.requestPermission = async () => 'granted';
";

/// Runs sw.js against a recording `self`: the push shows a notification, its tap opens a URL.
const RUN_SERVICE_WORKER: &str = r"
    const [payload, done] = arguments;
    (async () => {
      const code = await (await fetch('/sw.js')).text();
      const on = {}, shown = [], opened = [];
      const self = {
        addEventListener: (type, f) => { on[type] = f; },
        registration: { showNotification: async (title, options) => { shown.push({ title, options }); } },
        clients: { matchAll: async () => [], openWindow: async (url) => { opened.push(url); } },
        location,
      };
      new Function('self', code)(self);
      const fire = (type, event) => new Promise((resolve) => on[type]({ ...event, waitUntil: (p) => p.then(resolve) }));
      await fire('push', { data: { json: () => payload } });
      await fire('notificationclick', { notification: { data: shown[0].options.data, close() {} } });
      done({ shown, opened });
    })().catch((e) => done({ error: String(e) }));
";

#[tokio::test]
async fn the_owner_turns_alerts_on_and_a_pushed_alert_opens_the_thread() {
    let app = TestApp::spawn().await;
    let b = Browser::phone(&app.api_url).await;
    log_in_page(&b, "dana@acme.example", OWNER_PASSWORD).await;
    b.goto("/app/settings/alerts").await;
    let sub = app.sandbox.push.subscribe(&app.sandbox_url);
    b.client
        .execute(STUB_PUSH, vec![sub.clone()])
        .await
        .unwrap();
    b.wait_text("#push-toggle", "Turn on alerts", Duration::from_secs(5))
        .await;
    b.click("#push-toggle").await;
    b.wait_text(
        "#push-alerts",
        "Alerts are on for this device",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        app.count("select count(*) from push_subscriptions").await,
        1
    );

    app.call(CALLER, "no-answer").await;
    wait_until(Duration::from_secs(10), "the alert pushed", || async {
        !app.sandbox.push.received().is_empty()
    })
    .await;
    let payload = app.sandbox.push.received()[0].payload.clone();
    let ran = b
        .client
        .execute_async(RUN_SERVICE_WORKER, vec![payload.clone()])
        .await
        .unwrap();
    assert!(ran["error"].is_null(), "{ran}");
    assert_eq!(ran["shown"][0]["title"], "Acme Plumbing");
    assert_eq!(ran["shown"][0]["options"]["body"], payload["body"]);
    let url = ran["opened"][0].as_str().unwrap().to_owned();
    assert_eq!(url, payload["url"].as_str().unwrap());
    let path = url.strip_prefix(&app.api_url).unwrap();
    b.goto(path).await;
    b.wait_path("/app/inbox/").await;
    b.close().await;
}
