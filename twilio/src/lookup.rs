//! Lookup v2 (`GET /v2/PhoneNumbers/{E.164}?Fields=line_type_intelligence,sms_pumping_risk`,
//! <https://www.twilio.com/docs/lookup/v2-api>): what kind of line a caller is on, and how
//! likely the number is to be part of an SMS pumping scheme. Each lookup is priced, so callers
//! of this cache the answer per number.

use serde::Deserialize;

use crate::{TwilioClient, TwilioError};

/// What Lookup said about a number. Fields Lookup could not fill stay `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineInfo {
    /// `mobile`, `landline`, `fixedVoip`, `nonFixedVoip`, `tollFree`, `personal`, `pager`,
    /// `voicemail`, `sharedCost`, `uan`, `unknown`…
    pub line_type: Option<String>,
    pub carrier_name: Option<String>,
    /// 0–100 (`sms_pumping_risk.sms_pumping_risk_score`).
    pub sms_pumping_risk: Option<i32>,
    /// Lookup's `valid`: false for a number that cannot exist.
    pub valid: bool,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    valid: Option<bool>,
    #[serde(default)]
    line_type_intelligence: Option<LineTypeIntelligence>,
    #[serde(default)]
    sms_pumping_risk: Option<PumpingRisk>,
}

#[derive(Deserialize)]
struct LineTypeIntelligence {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    carrier_name: Option<String>,
}

#[derive(Deserialize)]
struct PumpingRisk {
    #[serde(default)]
    sms_pumping_risk_score: Option<i32>,
}

impl TwilioClient {
    /// Looks a number up with the account's own credentials (the account pays for it).
    pub async fn lookup_line(
        &self,
        account_sid: &str,
        auth_token: &str,
        number: &str,
    ) -> Result<LineInfo, TwilioError> {
        let url = format!(
            "{}/v2/PhoneNumbers/{}",
            self.lookups_base,
            form_urlencoded::byte_serialize(number.as_bytes()).collect::<String>()
        );
        let resp = self
            .http
            .get(url)
            .query(&[("Fields", "line_type_intelligence,sms_pumping_risk")])
            .basic_auth(account_sid, Some(auth_token))
            .send()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        let answer: Answer = Self::read(resp).await?;
        let lti = answer.line_type_intelligence;
        Ok(LineInfo {
            line_type: lti.as_ref().and_then(|l| l.kind.clone()),
            carrier_name: lti.and_then(|l| l.carrier_name),
            sms_pumping_risk: answer
                .sms_pumping_risk
                .and_then(|r| r.sms_pumping_risk_score),
            valid: answer.valid.unwrap_or(true),
        })
    }
}
