//! Web Push: the browsers each member turned alerts on in, and the deployment's VAPID key
//! (RFC 8292), taken from the environment or generated once and kept sealed.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Result, SecretBox, StoreError};

/// The VAPID signing key. Its public half is the browser's `applicationServerKey`.
#[derive(Clone)]
pub struct VapidKey(p256::SecretKey);

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VapidKey(..)")
    }
}

impl VapidKey {
    /// From 32 bytes, base64url (`NMC_VAPID_PRIVATE_KEY`).
    pub fn from_base64(b64: &str) -> Result<Self> {
        let raw = B64
            .decode(b64.trim().trim_end_matches('='))
            .map_err(|_| StoreError::Secret("the VAPID key is not base64url".into()))?;
        p256::SecretKey::from_slice(&raw)
            .map(Self)
            .map_err(|_| StoreError::Secret("the VAPID key is not a P-256 private key".into()))
    }

    pub fn secret(&self) -> &p256::SecretKey {
        &self.0
    }

    /// The uncompressed public point, base64url: `k=` in the header, `applicationServerKey`.
    pub fn public_base64(&self) -> String {
        B64.encode(self.0.public_key().to_encoded_point(false).as_bytes())
    }
}

const VAPID: &str = "vapid";

/// The configured key, else the stored one, else a new one stored for every process to share
/// (two processes starting together agree: the first insert wins and both read it back).
pub async fn vapid_key(
    pool: &PgPool,
    secrets: &SecretBox,
    configured: Option<&str>,
) -> Result<VapidKey> {
    if let Some(b64) = configured {
        return VapidKey::from_base64(b64);
    }
    let fresh = p256::SecretKey::random(&mut aes_gcm::aead::OsRng);
    let sealed = secrets.encrypt(&B64.encode(fresh.to_bytes()));
    sqlx::query("insert into platform_secrets (name, value_enc) values ($1, $2) on conflict (name) do nothing")
        .bind(VAPID)
        .bind(&sealed)
        .execute(pool)
        .await?;
    let stored: String =
        sqlx::query_scalar("select value_enc from platform_secrets where name = $1")
            .bind(VAPID)
            .fetch_one(pool)
            .await?;
    VapidKey::from_base64(&secrets.decrypt(&stored)?)
}

/// A browser's `PushSubscription`, as checked by the API.
#[derive(Debug, Clone)]
pub struct NewSubscription<'a> {
    pub endpoint: &'a str,
    pub p256dh: &'a str,
    pub auth: &'a str,
}

/// Stores the subscription for this member; the same endpoint again (a re-subscribe, or the
/// browser passing to another member of the same business) replaces the earlier row.
pub async fn subscribe(
    db: &mut PgConnection,
    business_id: Uuid,
    user_id: Uuid,
    s: &NewSubscription<'_>,
) -> Result<Uuid> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "insert into push_subscriptions (business_id, user_id, endpoint, p256dh, auth) values ($1, $2, $3, $4, $5)
         on conflict (endpoint) do update set user_id = excluded.user_id, p256dh = excluded.p256dh,
             auth = excluded.auth, updated_at = now()
         where push_subscriptions.business_id = excluded.business_id
         returning id",
    )
    .bind(business_id)
    .bind(user_id)
    .bind(s.endpoint)
    .bind(s.p256dh)
    .bind(s.auth)
    .fetch_optional(db)
    .await?;
    // Another business holds this endpoint: not ours to take over.
    id.ok_or(StoreError::Conflict { field: "endpoint" })
}

/// Removes this member's subscription; true when there was one.
pub async fn unsubscribe(
    db: &mut PgConnection,
    business_id: Uuid,
    user_id: Uuid,
    endpoint: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "delete from push_subscriptions where business_id = $1 and user_id = $2 and endpoint = $3",
    )
    .bind(business_id)
    .bind(user_id)
    .bind(endpoint)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The subscriptions an alert for this member goes to.
pub async fn subscriptions_of(
    pool: &PgPool,
    business_id: Uuid,
    user_id: Uuid,
) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar("select id from push_subscriptions where business_id = $1 and user_id = $2 order by created_at")
        .bind(business_id)
        .bind(user_id)
        .fetch_all(pool)
        .await?)
}

/// Where and how to push: the endpoint and the browser's keys.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Target {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

pub async fn target(pool: &PgPool, id: Uuid) -> Result<Option<Target>> {
    Ok(
        sqlx::query_as("select endpoint, p256dh, auth from push_subscriptions where id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?,
    )
}

/// The push service said the subscription is gone (404/410) or no longer ours (401/403).
pub async fn forget(pool: &PgPool, id: Uuid) -> Result<()> {
    sqlx::query("delete from push_subscriptions where id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn mark_success(pool: &PgPool, id: Uuid) -> Result<()> {
    sqlx::query("update push_subscriptions set last_success_at = now() where id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
