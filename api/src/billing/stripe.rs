//! Stripe's REST API, the three calls billing makes (docs.stripe.com/api: Customers, Checkout
//! Sessions, Customer Portal Sessions; notes in docs/research/stripe.md). Hand-written over
//! reqwest: async-stripe generates thousands of types, a heavy build on two cores for three
//! form posts. Requests pin `Stripe-Version`, so the shapes we read never shift under us, and
//! carry an `Idempotency-Key`, retried on connection errors, 409 and 5xx as Stripe's SDKs do
//! (its `Stripe-Should-Retry` header decides when present).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// The API version the adapter reads (basil moved the period end onto subscription items).
pub const API_VERSION: &str = "2025-03-31.basil";

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    #[error("stripe answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("stripe unreachable: {0}")]
    Transport(String),
}

#[derive(Clone)]
pub struct Stripe {
    http: reqwest::Client,
    base: String,
    key: SecretString,
}

/// A subscription Checkout for one business.
pub struct Checkout<'a> {
    pub business_id: uuid::Uuid,
    pub customer: &'a str,
    pub price: &'a str,
    pub trial_days: u32,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
}

impl Stripe {
    pub fn new(base: &str, key: SecretString) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client builds");
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            key,
        }
    }

    /// The business's Stripe customer, made once (the key makes a retry, or a second click
    /// within a day, return the same one).
    pub async fn create_customer(
        &self,
        business_id: uuid::Uuid,
        email: &str,
        name: &str,
    ) -> Result<String, StripeError> {
        let id = business_id.to_string();
        let form = [
            ("email", email),
            ("name", name),
            ("metadata[business_id]", id.as_str()),
        ];
        let v = self
            .post("/v1/customers", &format!("customer:{id}"), &form)
            .await?;
        field(&v, "id")
    }

    /// A hosted Checkout page for the plan; returns its URL. The business id goes on the
    /// subscription's metadata, so every subscription event names it.
    pub async fn checkout(&self, c: &Checkout<'_>) -> Result<String, StripeError> {
        let id = c.business_id.to_string();
        let trial = c.trial_days.to_string();
        let mut form = vec![
            ("mode", "subscription"),
            ("customer", c.customer),
            ("line_items[0][price]", c.price),
            ("line_items[0][quantity]", "1"),
            ("success_url", c.success_url),
            ("cancel_url", c.cancel_url),
            ("client_reference_id", id.as_str()),
            ("metadata[business_id]", id.as_str()),
            ("subscription_data[metadata][business_id]", id.as_str()),
        ];
        if c.trial_days > 0 {
            form.push(("subscription_data[trial_period_days]", trial.as_str()));
        }
        // Each click is a new session: a fresh key.
        let key = format!("checkout:{}", uuid::Uuid::new_v4());
        let v = self.post("/v1/checkout/sessions", &key, &form).await?;
        field(&v, "url")
    }

    /// A Customer Portal session (card, invoices, cancel); its URL is short-lived.
    pub async fn portal(&self, customer: &str, return_url: &str) -> Result<String, StripeError> {
        let form = [("customer", customer), ("return_url", return_url)];
        let key = format!("portal:{}", uuid::Uuid::new_v4());
        let v = self
            .post("/v1/billing_portal/sessions", &key, &form)
            .await?;
        field(&v, "url")
    }

    /// Ends a subscription now (`DELETE /v1/subscriptions/{id}`): a deleted account is not
    /// charged again. One already ended counts as done.
    pub async fn cancel(&self, subscription: &str) -> Result<(), StripeError> {
        let resp = self
            .http
            .delete(format!("{}/v1/subscriptions/{subscription}", self.base))
            .bearer_auth(self.key.expose_secret())
            .header("Stripe-Version", API_VERSION)
            .send()
            .await
            .map_err(|e| StripeError::Transport(e.to_string()))?;
        match read(resp).await {
            Ok(_) | Err((StripeError::Api { status: 404, .. }, _)) => Ok(()),
            Err((e, _)) => Err(e),
        }
    }

    async fn post(
        &self,
        path: &str,
        idempotency_key: &str,
        form: &[(&str, &str)],
    ) -> Result<Value, StripeError> {
        let body = {
            let mut s = form_urlencoded::Serializer::new(String::new());
            s.extend_pairs(form);
            s.finish()
        };
        let mut wait = Duration::from_millis(250);
        for attempt in 1..=3 {
            let sent = self
                .http
                .post(format!("{}{path}", self.base))
                .bearer_auth(self.key.expose_secret())
                .header("Stripe-Version", API_VERSION)
                .header("Idempotency-Key", idempotency_key)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await;
            let retry = match sent {
                Ok(resp) => match read(resp).await {
                    Ok(v) => return Ok(v),
                    Err((e, retry)) if !retry || attempt == 3 => return Err(e),
                    Err((e, _)) => e,
                },
                Err(e) if attempt == 3 => return Err(StripeError::Transport(e.to_string())),
                Err(e) => StripeError::Transport(e.to_string()),
            };
            tracing::warn!(error = %retry, attempt, "stripe call failed; retrying with the same key");
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        unreachable!("the last attempt returns")
    }
}

/// The JSON of a 2xx, or the error and whether to retry it.
async fn read(resp: reqwest::Response) -> Result<Value, (StripeError, bool)> {
    let status = resp.status().as_u16();
    let should_retry = resp
        .headers()
        .get("stripe-should-retry")
        .and_then(|v| v.to_str().ok())
        .map(|v| v == "true");
    if let Some(id) = resp
        .headers()
        .get("request-id")
        .and_then(|v| v.to_str().ok())
    {
        tracing::debug!(request_id = id, status, "stripe answered");
    }
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(v);
    }
    let message = v["error"]["message"]
        .as_str()
        .unwrap_or("no message")
        .to_owned();
    let retry = should_retry.unwrap_or(status == 409 || status >= 500);
    Err((StripeError::Api { status, message }, retry))
}

fn field(v: &Value, name: &str) -> Result<String, StripeError> {
    v[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| StripeError::Transport(format!("no `{name}` in Stripe's answer")))
}
