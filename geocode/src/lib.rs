//! Places a typed address, for the service-area radius. Speaks Nominatim's search API
//! (https://nominatim.org/release-docs/latest/api/Search/): `GET /search?q=…&format=jsonv2&
//! limit=1&addressdetails=1`, answered with a JSON array (empty when nothing matched) whose
//! `lat`/`lon` are strings and whose `address` has `postcode` and one of `city`, `town`,
//! `village`, `hamlet`. The usage policy (https://operations.osmfoundation.org/policies/nominatim/)
//! asks for an identifying User-Agent and at most one request a second: the client sends the
//! one and keeps the other itself; a 429 or 403 is reported, never retried in a loop.
//! Hand-written: the Rust geocoding crates pull a blocking HTTP client or a second TLS stack.

pub mod places;

use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum GeocodeError {
    /// 429, or 403 (Nominatim blocks a client that broke its usage policy).
    #[error("the geocoder refused us ({0}): too many requests or blocked")]
    RateLimited(u16),
    #[error("the geocoder failed ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the geocoder is unavailable: {0}")]
    Unavailable(String),
}

/// Where an address is.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub lat: f64,
    pub lon: f64,
    pub zip: Option<String>,
    pub city: Option<String>,
}

#[derive(Deserialize)]
struct Place {
    lat: String,
    lon: String,
    #[serde(default)]
    address: Address,
}

#[derive(Deserialize, Default)]
struct Address {
    postcode: Option<String>,
    city: Option<String>,
    town: Option<String>,
    village: Option<String>,
    hamlet: Option<String>,
}

/// The least time between two requests (Nominatim's public policy: one a second).
const SPACING: Duration = Duration::from_secs(1);

/// Where the geocoder is and how we introduce ourselves.
#[derive(Debug, Clone)]
pub struct Settings {
    pub url: String,
    pub user_agent: String,
    /// ISO 3166-1 alpha-2 codes to search in (`us`), comma-separated.
    pub countries: Option<String>,
}

impl Settings {
    /// `NMC_GEOCODER_URL` (unset: no geocoder), with `NMC_GEOCODER_USER_AGENT` (the policy's
    /// identifying agent; by default naming this deployment) and `NMC_GEOCODER_COUNTRIES` (`us`).
    pub fn from_env(public_base_url: &str) -> Option<Self> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        Some(Self {
            url: var("NMC_GEOCODER_URL")?,
            user_agent: var("NMC_GEOCODER_USER_AGENT")
                .unwrap_or_else(|| format!("NeverMissCall/0.1 (+{public_base_url})")),
            countries: var("NMC_GEOCODER_COUNTRIES").or_else(|| Some("us".into())),
        })
    }
}

pub struct Geocoder {
    http: reqwest::Client,
    base: String,
    /// ISO 3166-1 alpha-2 codes to search in (`us`), comma-separated.
    countries: Option<String>,
    last: Mutex<Option<Instant>>,
}

impl Geocoder {
    /// `url`: `https://nominatim.openstreetmap.org`, or your own server.
    pub fn new(s: &Settings) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .user_agent(&s.user_agent)
            .build()
            .expect("a reqwest client");
        Self {
            http,
            base: s.url.trim_end_matches('/').to_owned(),
            countries: s.countries.clone(),
            last: Mutex::new(None),
        }
    }

    /// The best match for `address`, or `None` when nothing matched. A 429 (another client
    /// of the same server was just served) is tried once more, a second later.
    pub async fn search(&self, address: &str) -> Result<Option<Found>, GeocodeError> {
        match self.search_once(address).await {
            Err(GeocodeError::RateLimited(429)) => self.search_once(address).await,
            other => other,
        }
    }

    async fn search_once(&self, address: &str) -> Result<Option<Found>, GeocodeError> {
        {
            // One request at a time, a second apart.
            let mut last = self.last.lock().await;
            if let Some(at) = *last {
                tokio::time::sleep_until(at + SPACING).await;
            }
            *last = Some(Instant::now());
        }
        let mut query = vec![
            ("q", address),
            ("format", "jsonv2"),
            ("limit", "1"),
            ("addressdetails", "1"),
        ];
        if let Some(c) = &self.countries {
            query.push(("countrycodes", c));
        }
        let response = self
            .http
            .get(format!("{}/search", self.base))
            .query(&query)
            .send()
            .await
            .map_err(|e| GeocodeError::Unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        if matches!(status, 403 | 429) {
            return Err(GeocodeError::RateLimited(status));
        }
        let body = response
            .text()
            .await
            .map_err(|e| GeocodeError::Unavailable(e.to_string()))?;
        if status >= 500 {
            return Err(GeocodeError::Unavailable(format!("{status}")));
        }
        if status != 200 {
            return Err(GeocodeError::Refused {
                status,
                message: body.chars().take(200).collect(),
            });
        }
        let places: Vec<Place> =
            serde_json::from_str(&body).map_err(|e| GeocodeError::Refused {
                status,
                message: format!("unreadable answer: {e}"),
            })?;
        let Some(p) = places.into_iter().next() else {
            return Ok(None);
        };
        let (Ok(lat), Ok(lon)) = (p.lat.parse(), p.lon.parse()) else {
            return Err(GeocodeError::Refused {
                status,
                message: "lat/lon are not numbers".into(),
            });
        };
        let a = p.address;
        Ok(Some(Found {
            lat,
            lon,
            zip: a.postcode,
            city: a.city.or(a.town).or(a.village).or(a.hamlet),
        }))
    }
}
