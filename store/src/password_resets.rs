//! One-time password-reset links. Only the token's hash is stored; a link works once, until it
//! expires, and a new one (or a reset) closes the ones before it. These run before anyone is
//! signed in, so over the pool as the services' role, not in a tenant's transaction.

use chrono::Duration;
use sqlx::PgPool;
use uuid::Uuid;

use crate::Result;

/// Who a reset link was made for.
pub struct ResetFor {
    pub business_id: Uuid,
    pub name: String,
}

/// A link for the active account with this email, or `None` when there is none (the caller
/// answers the same either way).
pub async fn create(
    pool: &PgPool,
    email: &str,
    token_hash: &str,
    ttl: Duration,
) -> Result<Option<ResetFor>> {
    let mut tx = pool.begin().await?;
    let user: Option<(Uuid, Uuid, String)> = sqlx::query_as(
        "select id, business_id, name from users where lower(email) = lower($1) and active",
    )
    .bind(email)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id, business_id, name)) = user else {
        return Ok(None);
    };
    // One open link per account: the newest.
    sqlx::query("update password_resets set used_at = now(), updated_at = now() where user_id = $1 and used_at is null")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("insert into password_resets (business_id, user_id, token_hash, expires_at) values ($1, $2, $3, now() + make_interval(secs => $4))")
        .bind(business_id)
        .bind(user_id)
        .bind(token_hash)
        .bind(ttl.num_seconds() as f64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(ResetFor { business_id, name }))
}

pub async fn is_open(pool: &PgPool, token_hash: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from password_resets where token_hash = $1 and used_at is null and expires_at > now())",
    )
    .bind(token_hash)
    .fetch_one(pool)
    .await?)
}

/// Uses the link: the new password hash replaces the old, every session of the account ends,
/// and its log-in lock is lifted. Returns the account (business, user, role), or `None` when the
/// link is unknown, used or expired.
pub async fn reset(
    pool: &PgPool,
    token_hash: &str,
    password_hash: &str,
) -> Result<Option<(Uuid, Uuid, String)>> {
    let mut tx = pool.begin().await?;
    let used: Option<(Uuid, Uuid)> = sqlx::query_as(
        "update password_resets set used_at = now(), updated_at = now()
         where token_hash = $1 and used_at is null and expires_at > now() returning business_id, user_id",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((business_id, user_id)) = used else {
        return Ok(None);
    };
    let account: Option<(String, String)> = sqlx::query_as(
        "update users set password_hash = $2, updated_at = now() where id = $1 and active returning role, email",
    )
    .bind(user_id)
    .bind(password_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((role, email)) = account else {
        return Ok(None);
    };
    sqlx::query("update sessions set revoked_at = coalesce(revoked_at, now()), updated_at = now() where user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("delete from login_failures where email = lower($1)")
        .bind(&email)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some((business_id, user_id, role)))
}
