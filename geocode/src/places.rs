//! Google's Places API (New) Text Search, for "find my business": the owner types their name
//! and town, and picks their listing, whose Place ID builds the review link
//! (https://developers.google.com/maps/documentation/places/web-service/text-search):
//! `POST /v1/places:searchText` with `{"textQuery", "pageSize"}`, the key in `X-Goog-Api-Key`
//! and a required `X-Goog-FieldMask` (no mask is a 400); the answer is `{"places": [...]}`,
//! or `{}` when nothing matched. Errors are Google's `{"error": {code, message, status}}`.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::GeocodeError;

/// A listing the owner may pick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub id: String,
    pub name: String,
    pub address: String,
}

#[derive(Debug, Clone)]
pub struct Places {
    pub http: reqwest::Client,
    /// `https://places.googleapis.com` unless `GOOGLE_PLACES_API_BASE` says otherwise.
    pub base: String,
    pub key: SecretString,
}

#[derive(Deserialize)]
struct Found {
    #[serde(default)]
    places: Vec<Place>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Place {
    id: String,
    #[serde(default)]
    display_name: Option<Text>,
    #[serde(default)]
    formatted_address: Option<String>,
}

#[derive(Deserialize)]
struct Text {
    text: String,
}

impl Places {
    pub fn new(base: &str, key: SecretString) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            base: base.trim_end_matches('/').to_owned(),
            key,
        }
    }

    /// Up to five listings for what the owner typed.
    pub async fn search(&self, query: &str) -> Result<Vec<Listing>, GeocodeError> {
        let resp = self
            .http
            .post(format!("{}/v1/places:searchText", self.base))
            .header("X-Goog-Api-Key", self.key.expose_secret())
            .header(
                "X-Goog-FieldMask",
                "places.id,places.displayName,places.formattedAddress",
            )
            .json(&serde_json::json!({"textQuery": query, "pageSize": 5}))
            .send()
            .await
            .map_err(|_| GeocodeError::Unavailable("Places did not answer".into()))?;
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        if status == 429 {
            return Err(GeocodeError::RateLimited(status));
        }
        if status != 200 {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let message = v["error"]["message"]
                .as_str()
                .unwrap_or("refused")
                .to_owned();
            return Err(if status >= 500 {
                GeocodeError::Unavailable(message)
            } else {
                GeocodeError::Refused { status, message }
            });
        }
        let found: Found = serde_json::from_str(&body).map_err(|e| GeocodeError::Refused {
            status,
            message: e.to_string(),
        })?;
        Ok(found
            .places
            .into_iter()
            .map(|p| Listing {
                id: p.id,
                name: p.display_name.map(|t| t.text).unwrap_or_default(),
                address: p.formatted_address.unwrap_or_default(),
            })
            .collect())
    }
}
