//! The [`Tenant`] extractor: the signed-in user and their business, from a verified access
//! token whose session is still open. The business comes only from the token.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{DecodingKey, Validation};
use nmc_store::accounts;
use uuid::Uuid;

use super::cookies::cookie;
use super::tokens::{Claims, jwt_key};
use crate::web::security::access_cookie;
use crate::{AppState, error::ApiError};

/// The signed-in user and their business, from a verified access token whose session is open.
#[derive(Debug, Clone, Copy)]
pub struct Tenant {
    pub business_id: Uuid,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub owner_role: bool,
}

impl Tenant {
    /// Owners only: technicians get 403 (inside their own business; other tenants' ids are 404).
    pub fn owner(&self) -> Result<(), ApiError> {
        if self.owner_role {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// A transaction in which row-level security confines every query to this business.
    pub async fn begin<'a>(
        &self,
        db: &'a sqlx::PgPool,
    ) -> Result<sqlx::Transaction<'a, sqlx::Postgres>, ApiError> {
        Ok(nmc_store::tenant_transaction(db, self.business_id).await?)
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The owner route table's layer has already verified this request's caller.
        if let Some(tenant) = parts.extensions.get::<Tenant>() {
            return Ok(*tenant);
        }
        // A bearer token (the API), or the web pages' HttpOnly, SameSite=Strict cookie.
        let bearer = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let token = bearer
            .or(cookie(&parts.headers, access_cookie(&state.config)))
            .ok_or(ApiError::Unauthorized)?;
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 5;
        let claims = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&jwt_key(state)),
            &validation,
        )
        .map_err(|_| ApiError::Unauthorized)?
        .claims;
        // Log-out and removed technicians take effect at once, not when the token expires.
        if !accounts::session_is_live(&state.db, claims.sid, claims.sub).await? {
            return Err(ApiError::Unauthorized);
        }
        Ok(Tenant {
            business_id: claims.bid,
            user_id: claims.sub,
            session_id: claims.sid,
            owner_role: claims.role == "owner",
        })
    }
}

/// Pages show the log-in form instead of an error when nobody is signed in.
impl axum::extract::OptionalFromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        match <Tenant as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(t) => Ok(Some(t)),
            Err(ApiError::Unauthorized) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
