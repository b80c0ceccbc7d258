//! Call recordings (<https://www.twilio.com/docs/voice/api/recording>): the media is fetched
//! with the account's credentials, and deleted from Twilio once we hold our own copy.

use crate::{TwilioClient, TwilioError};

/// A fetched recording's bytes and content type.
pub struct Media {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

impl TwilioClient {
    /// `GET {RecordingUrl}.wav`. The URL comes from Twilio's callback; it must be on the
    /// configured API base, so a forged callback cannot send our credentials elsewhere.
    pub async fn fetch_recording(
        &self,
        account_sid: &str,
        auth_token: &str,
        recording_url: &str,
    ) -> Result<Media, TwilioError> {
        if !recording_url.starts_with(&format!("{}/", self.base)) {
            return Err(TwilioError::Api {
                status: 400,
                code: 20404,
                message: "recording URL is not on the Twilio API".into(),
            });
        }
        let url = format!("{}.wav", recording_url.trim_end_matches(".json"));
        let resp = self
            .http
            .get(url)
            .basic_auth(account_sid, Some(auth_token))
            .timeout(std::time::Duration::from_secs(60))
            .send()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(TwilioError::Api {
                status,
                code: i64::from(status),
                message: resp.text().await.unwrap_or_default(),
            });
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("audio/x-wav")
            .to_owned();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        Ok(Media {
            bytes: bytes.to_vec(),
            content_type,
        })
    }

    /// `DELETE Recordings/{sid}.json`; one already gone counts as deleted.
    pub async fn delete_recording(
        &self,
        account_sid: &str,
        auth_token: &str,
        recording_sid: &str,
    ) -> Result<(), TwilioError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{account_sid}/Recordings/{recording_sid}.json",
            self.base
        );
        self.delete(&url, account_sid, auth_token).await
    }
}
