//! The tokens a session carries: a short-lived JWT access token, and a refresh token that works
//! once and names its successor. Only hashes of refresh tokens are stored.

use chrono::{Duration, Utc};
use jsonwebtoken::{EncodingKey, Header};
use nmc_store::accounts::{self, Rotation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{AppState, error::ApiError};

const ACCESS_TTL_MINUTES: i64 = 15;
pub const REFRESH_TTL_DAYS: i64 = 30;
/// A just-rotated refresh token presented again this soon gets the same successor back instead
/// of ending the session: a page's concurrent requests all carry the old cookie.
pub const REFRESH_GRACE_SECS: i64 = 20;

/// What an access token says: the user, their business, role and session.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Claims {
    pub(super) sub: Uuid,
    pub(super) bid: Uuid,
    pub(super) role: String,
    pub(super) sid: Uuid,
    iat: i64,
    exp: i64,
}

pub(super) fn jwt_key(s: &AppState) -> Vec<u8> {
    // A key of its own, derived from the deployment secret unless NMC_JWT_SECRET is set.
    match &s.config.jwt_secret {
        Some(k) => k.expose_secret().as_bytes().to_vec(),
        None => {
            Sha256::digest(format!("nmc-jwt:{}", s.config.secret_key.expose_secret()).as_bytes())
                .to_vec()
        }
    }
}

pub(crate) fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn new_secret() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// The refresh token that follows `old`: derived rather than random, so the same token presented
/// again within the grace names the same successor (only hashes are stored, so it could not be
/// looked up). Without the deployment secret nobody can compute it.
fn successor(s: &AppState, old: &str) -> String {
    hash(&format!(
        "nmc-refresh:{}:{old}",
        s.config.secret_key.expose_secret()
    ))
}

#[derive(Serialize)]
pub struct Tokens {
    pub access_token: String,
    token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    user: Value,
}

impl Tokens {
    pub fn business_id(&self) -> Option<Uuid> {
        self.user["business_id"]
            .as_str()
            .and_then(|b| b.parse().ok())
    }

    pub fn is_owner(&self) -> bool {
        self.user["role"] == "owner"
    }
}

fn issue(
    s: &AppState,
    user_id: Uuid,
    business_id: Uuid,
    role: &str,
    session_id: Uuid,
    refresh_token: String,
) -> Result<Tokens, ApiError> {
    let now = Utc::now().timestamp();
    let claims = Claims {
        sub: user_id,
        bid: business_id,
        role: role.to_owned(),
        sid: session_id,
        iat: now,
        exp: now + ACCESS_TTL_MINUTES * 60,
    };
    let access_token = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(&jwt_key(s)),
    )
    .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Tokens {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_MINUTES * 60,
        refresh_token,
        user: json!({"id": user_id, "business_id": business_id, "role": role}),
    })
}

/// Opens a session for a user who just signed up, logged in or joined, and issues its tokens.
pub(super) async fn open_session(
    s: &AppState,
    user_id: Uuid,
    business_id: Uuid,
    role: &str,
) -> Result<Tokens, ApiError> {
    let refresh_token = new_secret();
    let session = accounts::open_session(
        &s.db,
        business_id,
        user_id,
        &hash(&refresh_token),
        Duration::days(REFRESH_TTL_DAYS),
    )
    .await?;
    issue(s, user_id, business_id, role, session, refresh_token)
}

/// Trades a refresh token for new tokens; it works once, and a second use revokes the session,
/// except within the grace, when the same successor comes back with a fresh access token.
pub async fn rotate(s: &AppState, old: &str) -> Result<Tokens, ApiError> {
    let next = successor(s, old);
    let (ttl, grace) = (
        Duration::days(REFRESH_TTL_DAYS),
        Duration::seconds(REFRESH_GRACE_SECS),
    );
    match accounts::rotate_refresh(&s.db, &hash(old), &hash(&next), ttl, grace).await {
        Ok(Rotation::Rotated(u) | Rotation::Repeated(u)) => {
            issue(s, u.user_id, u.business_id, &u.role, u.session_id, next)
        }
        Ok(Rotation::Reused) => {
            tracing::warn!("a used refresh token was presented again; session revoked");
            Err(ApiError::Unauthorized)
        }
        Ok(Rotation::Invalid) | Err(nmc_store::StoreError::NotFound) => Err(ApiError::Unauthorized),
        Err(e) => Err(e.into()),
    }
}
