//! Owner accounts: sign-up, log-in (short-lived JWT access token + rotating refresh token),
//! log-out, invitations for technicians, and the [`Tenant`] extractor every owner route uses.
//! The business comes only from the verified token, and each request's queries run in a
//! transaction as the `nmc_app` role with the tenant set, so PostgreSQL's row-level security
//! is a second wall behind the store's tenant argument.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use nmc_domain::E164;
use nmc_store::accounts::{self, Rotation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::web::security::{access_cookie, refresh_cookie};
use crate::{
    AppState,
    error::{ApiError, invalid},
};

mod limits;
mod passwords;

pub use limits::{ClientAddr, LoginLimiter, client_address};
pub use passwords::hash_password;
use passwords::{decoy_hash, password_problem, verify_password};

const ACCESS_TTL_MINUTES: i64 = 15;
pub const REFRESH_TTL_DAYS: i64 = 30;
/// A just-rotated refresh token presented again this soon gets the same successor back instead
/// of ending the session: a page's concurrent requests all carry the old cookie.
pub const REFRESH_GRACE_SECS: i64 = 20;
const INVITE_TTL_DAYS: i64 = 7;
/// Log-in attempts in a row (counted before the password is checked) before an email is
/// locked, and for how long.
const MAX_FAILURES: i32 = 5;
const LOCK_MINUTES: i64 = 15;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/signup", post(sign_up))
        .route("/api/auth/login", post(log_in))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/logout", post(log_out))
        .route("/api/auth/me", get(me))
        .route("/api/auth/accept-invite", post(accept_invite))
}

/// Routes about the team, for the owner-route table.
pub async fn list_team(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    t.owner()?;
    let mut tx = t.begin(&s.db).await?;
    let members = accounts::members(&mut tx, t.business_id).await?;
    tx.commit().await.map_err(nmc_store::StoreError::from)?;
    Ok(Json(json!({"members": members})))
}

#[derive(Deserialize)]
pub struct InviteBody {
    email: Option<String>,
}

pub async fn invite(
    t: Tenant,
    State(s): State<AppState>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    t.owner()?;
    let b: InviteBody = crate::owner::parse(&body)?;
    let email = b
        .email
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_lowercase();
    if !looks_like_email(&email) {
        return Err(invalid("email", "not an email address"));
    }
    let token = new_secret();
    let mut tx = t.begin(&s.db).await?;
    let id = accounts::create_invite(
        &mut tx,
        t.business_id,
        &email,
        &hash(&token),
        t.user_id,
        Duration::days(INVITE_TTL_DAYS),
    )
    .await?;
    let link = format!("{}/invite/{token}", s.config.public_base_url);
    s.mailer.send(&mut tx, t.business_id, &email, "You're invited to NeverMissCall", &format!("Join your team on NeverMissCall: {link}\nThe link works once, for {INVITE_TTL_DAYS} days.")).await?;
    tx.commit().await.map_err(nmc_store::StoreError::from)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "email": email, "role": "tech"})),
    ))
}

pub async fn remove_member(
    t: Tenant,
    State(s): State<AppState>,
    Path(user_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    t.owner()?;
    let mut tx = t.begin(&s.db).await?;
    accounts::deactivate_member(&mut tx, t.business_id, user_id).await?;
    tx.commit().await.map_err(nmc_store::StoreError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where invitations and other account mail go. The log mailer records it (`outbound_emails`)
/// and logs that it was sent; a real provider plugs in here.
#[derive(Clone, Default)]
pub struct Mailer;

impl Mailer {
    async fn send(
        &self,
        db: &mut sqlx::PgConnection,
        business_id: Uuid,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), ApiError> {
        accounts::record_email(db, business_id, to, subject, body).await?;
        tracing::info!(%business_id, subject, "email queued (log mailer)");
        Ok(())
    }
}

// ---- tokens --------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    bid: Uuid,
    role: String,
    sid: Uuid,
    iat: i64,
    exp: i64,
}

fn jwt_key(s: &AppState) -> Vec<u8> {
    // A key of its own, derived from the deployment secret unless NMC_JWT_SECRET is set.
    match &s.config.jwt_secret {
        Some(k) => k.as_bytes().to_vec(),
        None => Sha256::digest(format!("nmc-jwt:{}", s.config.secret_key).as_bytes()).to_vec(),
    }
}

pub(crate) fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_secret() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// The refresh token that follows `old`: derived rather than random, so the same token presented
/// again within the grace names the same successor (only hashes are stored, so it could not be
/// looked up). Without the deployment secret nobody can compute it.
fn successor(s: &AppState, old: &str) -> String {
    hash(&format!("nmc-refresh:{}:{old}", s.config.secret_key))
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

async fn open_session(
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

pub(crate) fn looks_like_email(s: &str) -> bool {
    s.len() <= 254
        && s.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !s.contains(char::is_whitespace)
        })
}

// ---- handlers ------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct SignUpBody {
    pub business_name: Option<String>,
    pub owner_name: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub phone: Option<String>,
    pub timezone: Option<String>,
    pub trade: Option<String>,
}

async fn sign_up(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Tokens>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(create_account(&s, ip, crate::owner::parse(&body)?).await?),
    ))
}

fn too_many_joins() -> ApiError {
    ApiError::TooManyRequests("too many accounts from this address; try again later".into())
}

/// Creates the business and its owner and opens a session (the API's sign-up and the web page's).
pub async fn create_account(s: &AppState, ip: IpAddr, b: SignUpBody) -> Result<Tokens, ApiError> {
    if !s.login_limiter.allow_join(ip) {
        return Err(too_many_joins());
    }
    let mut bad = BTreeMap::new();
    let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let (business_name, owner_name, email) = (
        text(&b.business_name),
        text(&b.owner_name),
        text(&b.email).to_lowercase(),
    );
    if business_name.is_empty() || business_name.chars().count() > 100 {
        bad.insert("business_name", "must be 1 to 100 characters".to_owned());
    }
    if owner_name.is_empty() || owner_name.chars().count() > 100 {
        bad.insert("owner_name", "must be 1 to 100 characters".to_owned());
    }
    if !looks_like_email(&email) {
        bad.insert("email", "not an email address".to_owned());
    }
    let password = b.password.clone().unwrap_or_default();
    if let Some(p) = password_problem(&password, &email) {
        bad.insert("password", p.to_owned());
    }
    let phone = match b.phone.as_deref().map(E164::parse) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            bad.insert("phone", e.to_string());
            None
        }
        None => {
            bad.insert("phone", "the owner's mobile, for alerts".to_owned());
            None
        }
    };
    let timezone = b
        .timezone
        .clone()
        .unwrap_or_else(|| "America/Chicago".into());
    if nmc_domain::hours::parse_timezone(&timezone).is_none() {
        bad.insert("timezone", format!("`{timezone}` is not an IANA timezone"));
    }
    if let Some(t) = b.trade.as_deref()
        && nmc_assistant::catalog::starter(t).is_empty()
    {
        bad.insert(
            "trade",
            "one of plumbing, hvac, electrical, handyman, cleaning, auto".to_owned(),
        );
    }
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    let password_hash = hash_password(&password).await?;
    let signup = accounts::SignUp {
        business_name: &business_name,
        owner_name: &owner_name,
        email: &email,
        password_hash: &password_hash,
        owner_phone: phone.as_ref().map(|p| p.as_str()).unwrap_or_default(),
        timezone: &timezone,
        trade: b.trade.as_deref(),
    };
    let (business_id, user_id) = accounts::sign_up(&s.db, &signup).await?;
    tracing::info!(%business_id, "business signed up");
    open_session(s, user_id, business_id, "owner").await
}

#[derive(Deserialize)]
struct LogIn {
    email: Option<String>,
    password: Option<String>,
}

fn too_many() -> ApiError {
    ApiError::TooManyRequests("too many log-in attempts; try again later".into())
}

async fn log_in(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    body: axum::body::Bytes,
) -> Result<Json<Tokens>, ApiError> {
    let b: LogIn = crate::owner::parse(&body)?;
    Ok(Json(
        authenticate(
            &s,
            ip,
            b.email.as_deref().unwrap_or_default(),
            &b.password.unwrap_or_default(),
        )
        .await?,
    ))
}

/// Checks a log-in (rate limit, lock-out, password) and opens a session. Used by the API and
/// by the web pages' form. Both counters count the attempt before the password is checked.
pub async fn authenticate(
    s: &AppState,
    ip: IpAddr,
    email: &str,
    password: &str,
) -> Result<Tokens, ApiError> {
    if !s.login_limiter.allow_log_in(ip) {
        return Err(too_many());
    }
    let email = email.trim().to_lowercase();
    // The same answer whether or not the email has an account (unknown emails lock too).
    if !accounts::count_login_attempt(&s.db, &email, MAX_FAILURES, Duration::minutes(LOCK_MINUTES))
        .await?
    {
        return Err(too_many());
    }
    let creds = accounts::credentials(&s.db, &email).await?;
    let against = match &creds {
        Some(c) => c.password_hash.clone(),
        None => decoy_hash().await?,
    };
    let ok = verify_password(password, against).await? && creds.is_some();
    let Some(c) = creds.filter(|_| ok) else {
        return Err(ApiError::Unauthorized);
    };
    accounts::clear_login_failures(&s.db, &email).await?;
    open_session(s, c.id, c.business_id, &c.role).await
}

#[derive(Deserialize)]
struct RefreshBody {
    refresh_token: Option<String>,
}

async fn refresh(
    State(s): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Tokens>, ApiError> {
    let b: RefreshBody = crate::owner::parse(&body)?;
    Ok(Json(
        rotate(&s, &b.refresh_token.unwrap_or_default()).await?,
    ))
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

async fn log_out(t: Tenant, State(s): State<AppState>) -> Result<StatusCode, ApiError> {
    accounts::revoke_session(&s.db, t.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let m = accounts::member(&mut tx, t.business_id, t.user_id).await?;
    let business: (String, Option<String>, String) = sqlx::query_as(
        "select name, twilio_number, messaging_status from businesses where id = $1",
    )
    .bind(t.business_id)
    .fetch_one(&mut *tx)
    .await
    .map_err(nmc_store::StoreError::from)?;
    Ok(Json(
        json!({"user": m, "business": {"id": t.business_id, "name": business.0, "number": business.1, "messaging_status": business.2}}),
    ))
}

#[derive(Deserialize)]
struct AcceptInvite {
    token: Option<String>,
    name: Option<String>,
    password: Option<String>,
}

async fn accept_invite(
    State(s): State<AppState>,
    ClientAddr(ip): ClientAddr,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Tokens>), ApiError> {
    let b: AcceptInvite = crate::owner::parse(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(
            join(
                &s,
                ip,
                b.token.as_deref().unwrap_or_default(),
                b.name.as_deref(),
                b.password,
            )
            .await?,
        ),
    ))
}

const BAD_INVITE: &str = "this invitation is unknown, used or expired";

/// Accepts an invitation: creates the technician's account and opens their session. The link is
/// checked before the password is hashed, so made-up links cost no hashing.
pub async fn join(
    s: &AppState,
    ip: IpAddr,
    token: &str,
    name: Option<&str>,
    password: Option<String>,
) -> Result<Tokens, ApiError> {
    if !s.login_limiter.allow_join(ip) {
        return Err(too_many_joins());
    }
    let name = name.map(str::trim).unwrap_or_default().to_owned();
    let mut bad = BTreeMap::new();
    if !accounts::invite_is_open(&s.db, &hash(token)).await? {
        bad.insert("token", BAD_INVITE.to_owned());
    }
    if name.is_empty() || name.chars().count() > 100 {
        bad.insert("name", "must be 1 to 100 characters".to_owned());
    }
    let password = password.unwrap_or_default();
    if let Some(p) = password_problem(&password, "") {
        bad.insert("password", p.to_owned());
    }
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    let accepted =
        accounts::accept_invite(&s.db, &hash(token), &name, &hash_password(&password).await?)
            .await?;
    let Some((business_id, user_id, role)) = accepted else {
        return Err(invalid("token", BAD_INVITE));
    };
    open_session(s, user_id, business_id, &role).await
}

// ---- the tenant ----------------------------------------------------------------------------

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
        let mut tx = db.begin().await.map_err(nmc_store::StoreError::from)?;
        sqlx::query(
            "select set_config('nmc.business_id', $1, true), set_config('role', 'nmc_app', true)",
        )
        .bind(self.business_id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(nmc_store::StoreError::from)?;
        Ok(tx)
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
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
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
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
