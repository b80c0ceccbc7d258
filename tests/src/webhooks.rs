//! What the carrier sends us: calls and texts through the sandbox, and hand-made webhook posts
//! (signed or not) for the tests that play a carrier gone wrong.

use nmc_sandbox::{CallRequest, CallResult, SmsRequest, SmsResult};

use crate::{TWILIO_NUMBER, TestApp};

impl TestApp {
    /// A call from `from` to the test business's number, ending as `outcome` (no-answer, busy,
    /// completed…); returns once the carrier has had our answers to its webhooks. `completed`
    /// is a person taking it: they press 1 when the call is screened.
    pub async fn call(&self, from: &str, outcome: &str) -> CallResult {
        self.call_with(CallRequest {
            from: from.into(),
            outcome: Some(outcome.into()),
            press: (outcome == "completed").then(|| "1".into()),
            ..Default::default()
        })
        .await
    }

    /// A call to the test business's number (unless `req.to` names another), as described.
    pub async fn call_with(&self, mut req: CallRequest) -> CallResult {
        if req.to.is_empty() {
            req.to = TWILIO_NUMBER.into();
        }
        self.sandbox.place_call(req).await.unwrap()
    }

    /// A text from `from` to the test business's number; returns once our webhook answered.
    pub async fn text(&self, from: &str, body: &str) -> SmsResult {
        self.sandbox
            .send_sms_as_caller(SmsRequest {
                from: from.into(),
                to: TWILIO_NUMBER.into(),
                body: body.into(),
                message_sid: None,
                deliveries: 1,
            })
            .await
            .unwrap()
    }

    /// Posts a form to one of our webhooks, signed with `token` (or unsigned when `None`).
    pub async fn post_webhook(
        &self,
        path: &str,
        params: &[(&str, &str)],
        token: Option<&str>,
    ) -> reqwest::Response {
        self.post_webhook_to(&self.api_url, path, params, token)
            .await
    }

    /// `post_webhook` to another API instance at `base`.
    pub async fn post_webhook_to(
        &self,
        base: &str,
        path: &str,
        params: &[(&str, &str)],
        token: Option<&str>,
    ) -> reqwest::Response {
        let url = format!("{base}{path}");
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &owned {
            form.append_pair(k, v);
        }
        let mut req = self
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.finish());
        if let Some(token) = token {
            req = req.header(
                "x-twilio-signature",
                nmc_twilio::signature::sign(token, &url, &owned),
            );
        }
        req.send().await.unwrap()
    }
}
