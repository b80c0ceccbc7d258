//! The web pages' session cookies: reading one, and finding the session a browser belongs to.

use axum::http::HeaderMap;
use jsonwebtoken::{DecodingKey, Validation};
use nmc_store::accounts;
use uuid::Uuid;

use super::tokens::{Claims, hash, jwt_key};
use crate::web::security::{access_cookie, refresh_cookie};
use crate::{AppState, error::ApiError};

/// The session a browser's cookies belong to, even after the 15-minute access cookie expired:
/// by the access token's signature (its expiry ignored), else by the refresh token.
pub async fn cookie_session(s: &AppState, headers: &HeaderMap) -> Result<Option<Uuid>, ApiError> {
    if let Some(token) = cookie(headers, access_cookie(&s.config)) {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.validate_exp = false;
        if let Ok(d) = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&jwt_key(s)),
            &validation,
        ) {
            return Ok(Some(d.claims.sid));
        }
    }
    match cookie(headers, refresh_cookie(&s.config)) {
        Some(refresh) => Ok(accounts::session_of_refresh(&s.db, &hash(refresh)).await?),
        None => Ok(None),
    }
}

/// A cookie's value from the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
        })
        .filter(|v| !v.is_empty())
}
