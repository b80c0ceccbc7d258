//! Thin Twilio REST client. The base URL is configurable so the same code path talks to real
//! Twilio (`https://api.twilio.com`) or to the sandbox.

use std::time::Duration;

use serde::Deserialize;

#[derive(Clone)]
pub struct TwilioClient {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    /// Lookup v2 lives on its own host at Twilio; a double serves both under one base.
    pub(crate) lookups_base: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SentMessage {
    pub sid: String,
    pub status: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub date_created: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TwilioError {
    /// Twilio answered with an error body (`code`, `message`, HTTP `status`).
    #[error("twilio error {code} (http {status}): {message}")]
    Api {
        status: u16,
        code: i64,
        message: String,
    },
    /// Timeouts, connection failures, unreadable answers: worth retrying.
    #[error("twilio unreachable: {0}")]
    Transport(String),
}

impl TwilioError {
    /// 429 and 5xx (and transport failures) may succeed later; other 4xx will not.
    pub fn is_retryable(&self) -> bool {
        match self {
            TwilioError::Api { status, code, .. } => {
                *status == 429 || *status >= 500 || *code == 20429
            }
            TwilioError::Transport(_) => true,
        }
    }
}

#[derive(Deserialize)]
struct ApiErrorBody {
    code: Option<i64>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct MessageList {
    messages: Vec<SentMessage>,
}

impl TwilioClient {
    pub fn new(base: impl Into<String>) -> Self {
        crate::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(8))
            .connect_timeout(Duration::from_secs(3))
            .pool_max_idle_per_host(64)
            .build()
            .expect("reqwest client builds");
        let base = base.into().trim_end_matches('/').to_owned();
        let lookups_base = if base == crate::API {
            crate::LOOKUPS.to_owned()
        } else {
            base.clone()
        };
        Self {
            http,
            base,
            lookups_base,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /2010-04-01/Accounts/{sid}/Messages.json`
    pub async fn send_message(
        &self,
        account_sid: &str,
        auth_token: &str,
        from: &str,
        to: &str,
        body: &str,
        status_callback: &str,
    ) -> Result<SentMessage, TwilioError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{account_sid}/Messages.json",
            self.base
        );
        // Built before any await: the serializer is not Send.
        let form = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("To", to)
                .append_pair("From", from)
                .append_pair("Body", body);
            // Empty: no status callbacks (a one-time code is not tracked past its sending).
            if !status_callback.is_empty() {
                form.append_pair("StatusCallback", status_callback);
            }
            form.finish()
        };
        let resp = self
            .http
            .post(url)
            .basic_auth(account_sid, Some(auth_token))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        Self::read(resp).await
    }

    /// The latest messages from `from` to `to`, newest first: used to find out whether an attempt
    /// cut short by a crash actually reached Twilio. No `DateSent` filter: Twilio leaves
    /// `date_sent` empty while a message is queued or accepted (long codes send about one a
    /// second, so bursts queue), and such a message must be found too; callers match on
    /// `date_created`.
    pub async fn list_messages(
        &self,
        account_sid: &str,
        auth_token: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<SentMessage>, TwilioError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("To", to)
            .append_pair("From", from)
            .append_pair("PageSize", "50")
            .finish();
        let url = format!(
            "{}/2010-04-01/Accounts/{account_sid}/Messages.json?{query}",
            self.base
        );
        let resp = self
            .http
            .get(url)
            .basic_auth(account_sid, Some(auth_token))
            .send()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        let list: MessageList = Self::read(resp).await?;
        Ok(list.messages)
    }

    /// `GET /Accounts/{sid}/AvailablePhoneNumbers/US/Local.json?AreaCode=…&SmsEnabled=true&VoiceEnabled=true`
    pub async fn search_local(
        &self,
        account_sid: &str,
        auth_token: &str,
        area_code: &str,
    ) -> Result<Vec<AvailableNumber>, TwilioError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("AreaCode", area_code)
            .append_pair("SmsEnabled", "true")
            .append_pair("VoiceEnabled", "true")
            .append_pair("PageSize", "20")
            .finish();
        let url = format!(
            "{}/2010-04-01/Accounts/{account_sid}/AvailablePhoneNumbers/US/Local.json?{query}",
            self.base
        );
        let resp = self
            .http
            .get(url)
            .basic_auth(account_sid, Some(auth_token))
            .send()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        let list: AvailableList = Self::read(resp).await?;
        Ok(list.available_phone_numbers)
    }

    /// Buys a number (`POST IncomingPhoneNumbers.json`) with its voice and SMS webhooks set.
    pub async fn buy_number(
        &self,
        account_sid: &str,
        auth_token: &str,
        number: &str,
        voice_url: &str,
        sms_url: &str,
    ) -> Result<IncomingNumber, TwilioError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers.json",
            self.base
        );
        self.post_form(
            &url,
            account_sid,
            auth_token,
            &[
                ("PhoneNumber", number),
                ("VoiceUrl", voice_url),
                ("VoiceMethod", "POST"),
                ("SmsUrl", sms_url),
                ("SmsMethod", "POST"),
            ],
        )
        .await
    }

    /// The account's own number, if it has it (`GET IncomingPhoneNumbers.json?PhoneNumber=…`).
    pub async fn find_incoming(
        &self,
        account_sid: &str,
        auth_token: &str,
        number: &str,
    ) -> Result<Option<IncomingNumber>, TwilioError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("PhoneNumber", number)
            .finish();
        let url = format!(
            "{}/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers.json?{query}",
            self.base
        );
        let resp = self
            .http
            .get(url)
            .basic_auth(account_sid, Some(auth_token))
            .send()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        let list: IncomingList = Self::read(resp).await?;
        Ok(list.incoming_phone_numbers.into_iter().next())
    }

    /// Points an existing number's webhooks at us (`POST IncomingPhoneNumbers/{sid}.json`).
    pub async fn set_webhooks(
        &self,
        account_sid: &str,
        auth_token: &str,
        number_sid: &str,
        voice_url: &str,
        sms_url: &str,
    ) -> Result<IncomingNumber, TwilioError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers/{number_sid}.json",
            self.base
        );
        self.post_form(
            &url,
            account_sid,
            auth_token,
            &[
                ("VoiceUrl", voice_url),
                ("VoiceMethod", "POST"),
                ("SmsUrl", sms_url),
                ("SmsMethod", "POST"),
            ],
        )
        .await
    }

    /// Places an outgoing call (`POST Calls.json`): `twiml` is what the callee hears if they
    /// answer; only the final status is reported to `status_callback` (Twilio's default).
    pub async fn create_call(&self, call: &NewCall<'_>) -> Result<PlacedCall, TwilioError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Calls.json",
            self.base, call.account_sid
        );
        let timeout = call.ring_secs.to_string();
        self.post_form(
            &url,
            call.account_sid,
            call.auth_token,
            &[
                ("To", call.to),
                ("From", call.from),
                ("Twiml", call.twiml),
                ("Timeout", &timeout),
                ("StatusCallback", call.status_callback),
                ("StatusCallbackMethod", "POST"),
            ]
            .into_iter()
            // No callback wanted (a preview call): Twilio refuses an empty URL.
            .filter(|(k, _)| !call.status_callback.is_empty() || !k.starts_with("StatusCallback"))
            .collect::<Vec<_>>(),
        )
        .await
    }

    /// Releases a number from the account (`DELETE IncomingPhoneNumbers/{sid}.json`); one
    /// already gone counts as released.
    pub async fn release_number(
        &self,
        account_sid: &str,
        auth_token: &str,
        number_sid: &str,
    ) -> Result<(), TwilioError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{account_sid}/IncomingPhoneNumbers/{number_sid}.json",
            self.base
        );
        self.delete(&url, account_sid, auth_token).await
    }

    /// `DELETE url`: gone already (404) counts as done.
    pub(crate) async fn delete(
        &self,
        url: &str,
        account_sid: &str,
        auth_token: &str,
    ) -> Result<(), TwilioError> {
        let resp = self
            .http
            .delete(url)
            .basic_auth(account_sid, Some(auth_token))
            .send()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        match resp.status().as_u16() {
            200..=299 | 404 => Ok(()),
            status => Err(TwilioError::Api {
                status,
                code: i64::from(status),
                message: resp.text().await.unwrap_or_default(),
            }),
        }
    }

    async fn post_form<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        account_sid: &str,
        auth_token: &str,
        pairs: &[(&str, &str)],
    ) -> Result<T, TwilioError> {
        // Built before any await: the serializer is not Send.
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                form.append_pair(k, v);
            }
            form.finish()
        };
        let resp = self
            .http
            .post(url)
            .basic_auth(account_sid, Some(auth_token))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        Self::read(resp).await
    }

    pub(crate) async fn read<T: serde::de::DeserializeOwned>(
        resp: reqwest::Response,
    ) -> Result<T, TwilioError> {
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes)
                .map_err(|e| TwilioError::Transport(format!("unreadable answer: {e}")));
        }
        let err: Option<ApiErrorBody> = serde_json::from_slice(&bytes).ok();
        Err(TwilioError::Api {
            status,
            code: err
                .as_ref()
                .and_then(|e| e.code)
                .unwrap_or(i64::from(status)),
            message: err
                .and_then(|e| e.message)
                .unwrap_or_else(|| format!("http {status}")),
        })
    }
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct AvailableNumber {
    pub phone_number: String,
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default)]
    pub locality: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct AvailableList {
    #[serde(default)]
    available_phone_numbers: Vec<AvailableNumber>,
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct IncomingNumber {
    pub sid: String,
    pub phone_number: String,
    #[serde(default)]
    pub voice_url: Option<String>,
    #[serde(default)]
    pub sms_url: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct IncomingList {
    #[serde(default)]
    incoming_phone_numbers: Vec<IncomingNumber>,
}

/// An outgoing call to place ([`TwilioClient::create_call`]).
pub struct NewCall<'a> {
    pub account_sid: &'a str,
    pub auth_token: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub twiml: &'a str,
    /// How long to let it ring (Twilio's `Timeout`, 5–600 s).
    pub ring_secs: u32,
    pub status_callback: &'a str,
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct PlacedCall {
    pub sid: String,
    pub status: String,
}
