//! A Stripe double for billing (notes in docs/research/stripe.md): Customers, Checkout
//! Sessions in subscription mode, Customer Portal sessions, hosted pages a browser can click
//! through, and signed webhooks (`Stripe-Signature: t=…,v1=…`, HMAC-SHA256 with the whole
//! `whsec_` secret over `"{t}.{body}"`), redelivered on any non-2xx answer. Its awkward parts
//! are Stripe's: Bearer or Basic auth with the secret key (401 otherwise), `Idempotency-Key`
//! replays (400 `idempotency_error` for the same key with other parameters), 404
//! `resource_missing`, the subscription's period end on its first item (basil), and
//! `checkout.session.completed` delivered before `customer.subscription.created`.
//!
//! Control API (admin token): `POST /api/stripe/subscriptions/{id} {status}` moves a
//! subscription as Stripe's retries or the clock would; `GET /api/stripe` shows the state.

mod routes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub use routes::control_router;

/// How the double is reached and where it sends events.
#[derive(Clone, Debug)]
pub struct StripeSetup {
    /// The secret key callers authenticate with (`sk_test_…`).
    pub key: String,
    /// The double's own public base (for the hosted pages' URLs).
    pub base: String,
    /// Where events are posted, and the endpoint's signing secret.
    pub webhook_url: String,
    pub webhook_secret: String,
}

#[derive(Default)]
struct Inner {
    setup: Option<StripeSetup>,
    customers: HashMap<String, Value>,
    sessions: HashMap<String, Value>,
    subscriptions: HashMap<String, Value>,
    portals: HashMap<String, Value>,
    /// Idempotency-Key → (the request's parameters, the answer).
    replays: HashMap<String, (String, Value)>,
    events: Vec<Value>,
}

#[derive(Clone, Default)]
pub struct StripeDouble {
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
}

fn id(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..24]
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The `v1` signature Stripe puts on an event body sent at `t`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl StripeDouble {
    pub fn configure(&self, setup: StripeSetup) {
        self.inner.lock().unwrap().setup = Some(setup);
    }

    fn setup(&self) -> Option<StripeSetup> {
        self.inner.lock().unwrap().setup.clone()
    }

    /// Every event sent so far, oldest first.
    pub fn events(&self) -> Vec<Value> {
        self.inner.lock().unwrap().events.clone()
    }

    pub fn subscription(&self, id: &str) -> Option<Value> {
        self.inner.lock().unwrap().subscriptions.get(id).cloned()
    }

    pub fn subscriptions(&self) -> Vec<Value> {
        self.inner
            .lock()
            .unwrap()
            .subscriptions
            .values()
            .cloned()
            .collect()
    }

    /// Checkout completed on the hosted page: the customer's subscription starts (trialing
    /// when the session asked for a trial). Returns where the browser goes next.
    pub async fn complete_checkout(&self, session_id: &str) -> Option<String> {
        let (session, sub) = {
            let mut inner = self.inner.lock().unwrap();
            let session = inner.sessions.get_mut(session_id)?;
            if session["status"] != "open" {
                return None;
            }
            let trial_days = session["trial_days"].as_i64().unwrap_or(0);
            let sub_id = id("sub");
            let start = now();
            let period_end = start + if trial_days > 0 { trial_days } else { 30 } * 86_400;
            let sub = json!({
                "id": sub_id, "object": "subscription", "customer": session["customer"],
                "status": if trial_days > 0 { "trialing" } else { "active" },
                "trial_end": if trial_days > 0 { json!(period_end) } else { Value::Null },
                "cancel_at_period_end": false, "cancel_at": null, "canceled_at": null,
                "metadata": session["subscription_metadata"],
                "items": {"object": "list", "data": [{"id": id("si"), "current_period_end": period_end,
                    "price": {"id": session["price"]}}]},
                "livemode": false,
            });
            session["status"] = json!("complete");
            session["subscription"] = json!(sub_id);
            session["payment_status"] = json!(if trial_days > 0 {
                "no_payment_required"
            } else {
                "paid"
            });
            session["url"] = Value::Null;
            let session = session.clone();
            inner
                .sessions
                .insert(session_id.to_owned(), session.clone());
            inner.subscriptions.insert(sub_id, sub.clone());
            (session, sub)
        };
        // Stripe does not promise order: the session's event comes first here.
        self.emit("checkout.session.completed", &session, None)
            .await;
        self.emit("customer.subscription.created", &sub, None).await;
        let success = session["success_url"].as_str().unwrap_or_default();
        Some(success.replace("{CHECKOUT_SESSION_ID}", session_id))
    }

    /// Moves a subscription to `status` as Stripe would report it: a declined renewal
    /// (`past_due`, with `invoice.payment_failed`), a paid one (`active`), the end (`canceled`,
    /// as `customer.subscription.deleted`), or a cancellation at the period's end (`cancel`).
    pub async fn move_subscription(&self, sub_id: &str, status: &str) -> Option<Value> {
        let (sub, previous) = {
            let mut inner = self.inner.lock().unwrap();
            let sub = inner.subscriptions.get_mut(sub_id)?;
            let previous = sub["status"].clone();
            if status == "cancel" {
                sub["cancel_at_period_end"] = json!(true);
                sub["cancel_at"] = sub["items"]["data"][0]["current_period_end"].clone();
            } else {
                sub["status"] = json!(status);
                if status == "active" {
                    sub["trial_end"] = Value::Null;
                }
                if status == "canceled" {
                    sub["canceled_at"] = json!(now());
                    sub["ended_at"] = json!(now());
                }
            }
            (sub.clone(), previous)
        };
        if status == "past_due" {
            let invoice = json!({
                "id": id("in"), "object": "invoice", "customer": sub["customer"], "status": "open",
                "attempt_count": 1, "billing_reason": "subscription_cycle",
                "parent": {"type": "subscription_details", "subscription_details": {
                    "subscription": sub_id, "metadata": sub["metadata"]}},
            });
            self.emit("invoice.payment_failed", &invoice, None).await;
        }
        let kind = if status == "canceled" {
            "customer.subscription.deleted"
        } else {
            "customer.subscription.updated"
        };
        self.emit(kind, &sub, Some(json!({"status": previous})))
            .await;
        Some(sub)
    }

    /// Records an event and posts it, signed, until the endpoint answers 2xx (three tries).
    async fn emit(&self, kind: &str, object: &Value, previous: Option<Value>) {
        let Some(setup) = self.setup() else { return };
        let mut data = json!({ "object": object });
        if let Some(p) = previous {
            data["previous_attributes"] = p;
        }
        let event = json!({
            "id": id("evt"), "object": "event", "api_version": "2025-03-31.basil",
            "created": now(), "livemode": false, "pending_webhooks": 1, "type": kind,
            "request": {"id": null, "idempotency_key": null}, "data": data,
        });
        self.inner.lock().unwrap().events.push(event.clone());
        self.deliver(&setup, &event).await;
    }

    /// Posts one event (Stripe sends it pretty-printed); a new `t` and signature each try.
    pub async fn deliver(&self, setup: &StripeSetup, event: &Value) -> u16 {
        let body = serde_json::to_vec_pretty(event).unwrap_or_default();
        let mut status = 0;
        for attempt in 0..3u32 {
            let t = now();
            let header = format!("t={t},v1={}", sign(&setup.webhook_secret, t, &body));
            let sent = self
                .http
                .post(&setup.webhook_url)
                .header("content-type", "application/json")
                .header("stripe-signature", header)
                .body(body.clone())
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            status = sent.map_or(0, |r| r.status().as_u16());
            if (200..300).contains(&status) {
                return status;
            }
            tracing::warn!(
                status,
                attempt,
                "stripe double: event not taken; redelivering"
            );
            tokio::time::sleep(Duration::from_millis(100 * 4u64.pow(attempt))).await;
        }
        status
    }
}
