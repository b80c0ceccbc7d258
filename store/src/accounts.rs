//! Owner accounts: users (OWNER / TECH), sessions with rotating refresh tokens, invitations,
//! log-in failures, and the mail we send. Hashing and token minting happen in the API; only
//! hashes are stored here.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Result, StoreError};

pub struct SignUp<'a> {
    pub business_name: &'a str,
    pub owner_name: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub owner_phone: &'a str,
    pub timezone: &'a str,
    pub trade: Option<&'a str>,
    /// Billing is on: the business texts callers once it has started its plan.
    pub billed: bool,
}

fn email_conflict(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict { field: "email" }
        }
        _ => e.into(),
    }
}

/// A self-serve business and its owner. It has no number yet and is not registered for
/// messaging: automated texts wait until it is (see `messaging_status`).
pub async fn sign_up(pool: &PgPool, s: &SignUp<'_>) -> Result<(Uuid, Uuid)> {
    let mut tx = pool.begin().await?;
    let business_id: Uuid = sqlx::query_scalar(
        "insert into businesses (name, owner_name, owner_phone, owner_email, timezone, call_mode, business_hours, trade, messaging_status, onboarding_step, billing_status)
         values ($1, $2, $3, $4, $5, 'forwarded', '{\"monday\":{\"open\":\"08:00\",\"close\":\"17:00\"},\"tuesday\":{\"open\":\"08:00\",\"close\":\"17:00\"},\"wednesday\":{\"open\":\"08:00\",\"close\":\"17:00\"},\"thursday\":{\"open\":\"08:00\",\"close\":\"17:00\"},\"friday\":{\"open\":\"08:00\",\"close\":\"17:00\"}}', $6, 'not_registered', 'profile', case when $7 then 'none' end)
         returning id",
    )
    .bind(s.business_name)
    .bind(s.owner_name)
    .bind(s.owner_phone)
    .bind(s.email)
    .bind(s.timezone)
    .bind(s.trade)
    .bind(s.billed)
    .fetch_one(&mut *tx)
    .await?;
    let user_id: Uuid = sqlx::query_scalar("insert into users (business_id, email, name, password_hash, role) values ($1, $2, $3, $4, 'owner') returning id")
        .bind(business_id)
        .bind(s.email)
        .bind(s.owner_name)
        .bind(s.password_hash)
        .fetch_one(&mut *tx)
        .await
        .map_err(email_conflict)?;
    crate::audit(
        &mut *tx,
        business_id,
        "business",
        Some(business_id),
        "signed_up",
        serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok((business_id, user_id))
}

/// Gives an admin-onboarded business its owner account.
pub async fn add_user(
    pool: &PgPool,
    business_id: Uuid,
    email: &str,
    name: &str,
    password_hash: &str,
    role: &str,
) -> Result<Uuid> {
    sqlx::query_scalar("insert into users (business_id, email, name, password_hash, role) values ($1, $2, $3, $4, $5) returning id")
        .bind(business_id)
        .bind(email)
        .bind(name)
        .bind(password_hash)
        .bind(role)
        .fetch_one(pool)
        .await
        .map_err(email_conflict)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Credentials {
    pub id: Uuid,
    pub business_id: Uuid,
    pub password_hash: String,
    pub role: String,
}

pub async fn credentials(pool: &PgPool, email: &str) -> Result<Option<Credentials>> {
    Ok(sqlx::query_as("select id, business_id, password_hash, role from users where lower(email) = lower($1) and active")
        .bind(email)
        .fetch_optional(pool)
        .await?)
}

/// Counts a log-in attempt for this email before its password is checked, and says whether it
/// may be checked: the `max`-th attempt since the last success locks the email for `lock`. One
/// upsert, so a parallel burst is counted one by one and cannot slip past the lock.
pub async fn count_login_attempt(
    pool: &PgPool,
    email: &str,
    max: i32,
    lock: Duration,
) -> Result<bool> {
    let attempts: i32 = sqlx::query_scalar(
        "insert into login_failures (email, failures, locked_until)
         values (lower($1), 1, case when 1 >= $2 then now() + make_interval(secs => $3) end)
         on conflict (email) do update set
             failures = case when login_failures.locked_until < now() then 1 else login_failures.failures + 1 end,
             locked_until = case
                 when login_failures.locked_until < now() then null
                 when login_failures.locked_until is not null then login_failures.locked_until
                 when login_failures.failures + 1 >= $2 then now() + make_interval(secs => $3)
                 end,
             updated_at = now()
         returning failures",
    )
    .bind(email)
    .bind(max)
    .bind(lock.num_seconds() as f64)
    .fetch_one(pool)
    .await?;
    Ok(attempts <= max)
}

pub async fn clear_login_failures(pool: &PgPool, email: &str) -> Result<()> {
    sqlx::query("delete from login_failures where email = lower($1)")
        .bind(email)
        .execute(pool)
        .await?;
    Ok(())
}

/// A new session with its first refresh token (`token_hash`).
pub async fn open_session(
    pool: &PgPool,
    business_id: Uuid,
    user_id: Uuid,
    token_hash: &str,
    ttl: Duration,
) -> Result<Uuid> {
    let mut tx = pool.begin().await?;
    let session: Uuid = sqlx::query_scalar(
        "insert into sessions (business_id, user_id) values ($1, $2) returning id",
    )
    .bind(business_id)
    .bind(user_id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("insert into refresh_tokens (business_id, session_id, token_hash, expires_at) values ($1, $2, $3, now() + make_interval(secs => $4))")
        .bind(business_id)
        .bind(session)
        .bind(token_hash)
        .bind(ttl.num_seconds() as f64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(session)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionUser {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub business_id: Uuid,
    pub role: String,
}

#[derive(Debug)]
pub enum Rotation {
    Rotated(SessionUser),
    /// The token just exchanged, presented again within the grace (a page's concurrent
    /// requests): its successor (`new_hash`) still stands unused, so nothing is revoked.
    Repeated(SessionUser),
    /// Unknown, expired, or the session is over.
    Invalid,
    /// A token already exchanged was presented again: someone copied it. The session is revoked.
    Reused,
}

/// Exchanges a refresh token for the next one (`new_hash`, which the caller derives from the old
/// token, so a repeat within `grace` names the same successor), once.
pub async fn rotate_refresh(
    pool: &PgPool,
    old_hash: &str,
    new_hash: &str,
    ttl: Duration,
    grace: Duration,
) -> Result<Rotation> {
    let mut tx = pool.begin().await?;
    let row: Option<(Uuid, bool, bool, bool)> = sqlx::query_as(
        "select r.session_id, r.used_at is not null, (r.expires_at > now() and s.revoked_at is null),
                coalesce(r.used_at > now() - make_interval(secs => $2), false)
         from refresh_tokens r join sessions s on s.id = r.session_id where r.token_hash = $1 for update of r",
    )
    .bind(old_hash)
    .bind(grace.num_seconds() as f64)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((session_id, used, live, just_used)) = row else {
        return Ok(Rotation::Invalid);
    };
    if used {
        if live && just_used && successor_unused(&mut tx, session_id, new_hash).await? {
            return Ok(Rotation::Repeated(session_user(&mut tx, session_id).await?));
        }
        sqlx::query("update sessions set revoked_at = coalesce(revoked_at, now()), updated_at = now() where id = $1").bind(session_id).execute(&mut *tx).await?;
        tx.commit().await?;
        return Ok(Rotation::Reused);
    }
    if !live {
        return Ok(Rotation::Invalid);
    }
    sqlx::query(
        "update refresh_tokens set used_at = now(), updated_at = now() where token_hash = $1",
    )
    .bind(old_hash)
    .execute(&mut *tx)
    .await?;
    let user = session_user(&mut tx, session_id).await?;
    sqlx::query("insert into refresh_tokens (business_id, session_id, token_hash, expires_at) values ($1, $2, $3, now() + make_interval(secs => $4))")
        .bind(user.business_id)
        .bind(session_id)
        .bind(new_hash)
        .bind(ttl.num_seconds() as f64)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Rotation::Rotated(user))
}

async fn successor_unused(
    db: &mut PgConnection,
    session_id: Uuid,
    token_hash: &str,
) -> Result<bool> {
    Ok(sqlx::query_scalar("select exists (select 1 from refresh_tokens where token_hash = $1 and session_id = $2 and used_at is null and expires_at > now())")
        .bind(token_hash)
        .bind(session_id)
        .fetch_one(db)
        .await?)
}

async fn session_user(db: &mut PgConnection, session_id: Uuid) -> Result<SessionUser> {
    sqlx::query_as("select s.id as session_id, u.id as user_id, u.business_id, u.role from sessions s join users u on u.id = s.user_id where s.id = $1 and u.active")
        .bind(session_id)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// The session a refresh token belongs to (used or not), so log-out can end it.
pub async fn session_of_refresh(pool: &PgPool, token_hash: &str) -> Result<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("select session_id from refresh_tokens where token_hash = $1")
            .bind(token_hash)
            .fetch_optional(pool)
            .await?,
    )
}

/// Ends a session: its refresh tokens and access tokens stop working.
pub async fn revoke_session(pool: &PgPool, session_id: Uuid) -> Result<()> {
    sqlx::query("update sessions set revoked_at = coalesce(revoked_at, now()), updated_at = now() where id = $1").bind(session_id).execute(pool).await?;
    Ok(())
}

/// The session behind an access token is still open and its user still active.
pub async fn session_is_live(pool: &PgPool, session_id: Uuid, user_id: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from sessions s join users u on u.id = s.user_id where s.id = $1 and s.user_id = $2 and s.revoked_at is null and u.active)",
    )
    .bind(session_id)
    .bind(user_id)
    .fetch_one(pool)
    .await?)
}

/// Live (as above) and not expired: a refresh token of the session is still valid. The live feed
/// outlasts its access token, so it asks this.
pub async fn session_is_open(pool: &PgPool, session_id: Uuid, user_id: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from sessions s join users u on u.id = s.user_id where s.id = $1 and s.user_id = $2 and s.revoked_at is null and u.active
             and exists (select 1 from refresh_tokens r where r.session_id = s.id and r.expires_at > now()))",
    )
    .bind(session_id)
    .bind(user_id)
    .fetch_one(pool)
    .await?)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Member {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

pub async fn members(db: &mut PgConnection, business_id: Uuid) -> Result<Vec<Member>> {
    Ok(sqlx::query_as("select id, email, name, role, active, created_at from users where business_id = $1 order by created_at, id")
        .bind(business_id)
        .fetch_all(db)
        .await?)
}

pub async fn member(db: &mut PgConnection, business_id: Uuid, user_id: Uuid) -> Result<Member> {
    sqlx::query_as("select id, email, name, role, active, created_at from users where business_id = $1 and id = $2")
        .bind(business_id)
        .bind(user_id)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Removes a technician: their sessions end at once. The owner cannot be removed this way.
pub async fn deactivate_member(
    db: &mut PgConnection,
    business_id: Uuid,
    user_id: Uuid,
) -> Result<()> {
    let done = sqlx::query("update users set active = false, updated_at = now() where business_id = $1 and id = $2 and role = 'tech'")
        .bind(business_id)
        .bind(user_id)
        .execute(&mut *db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query("update sessions set revoked_at = coalesce(revoked_at, now()), updated_at = now() where business_id = $1 and user_id = $2")
        .bind(business_id)
        .bind(user_id)
        .execute(&mut *db)
        .await?;
    crate::audit(
        &mut *db,
        business_id,
        "user",
        Some(user_id),
        "removed",
        serde_json::json!({}),
    )
    .await
}

pub async fn create_invite(
    db: &mut PgConnection,
    business_id: Uuid,
    email: &str,
    token_hash: &str,
    invited_by: Uuid,
    ttl: Duration,
) -> Result<Uuid> {
    let id = sqlx::query_scalar(
        "insert into invites (business_id, email, role, token_hash, invited_by, expires_at) values ($1, $2, 'tech', $3, $4, now() + make_interval(secs => $5)) returning id",
    )
    .bind(business_id)
    .bind(email)
    .bind(token_hash)
    .bind(invited_by)
    .bind(ttl.num_seconds() as f64)
    .fetch_one(&mut *db)
    .await?;
    crate::audit(
        &mut *db,
        business_id,
        "invite",
        Some(id),
        "created",
        serde_json::json!({"role": "tech"}),
    )
    .await?;
    Ok(id)
}

/// Whether an invitation can still be accepted: checked before the password is hashed, so
/// made-up links cost no hashing.
pub async fn invite_is_open(pool: &PgPool, token_hash: &str) -> Result<bool> {
    Ok(sqlx::query_scalar("select exists (select 1 from invites where token_hash = $1 and accepted_at is null and expires_at > now())")
        .bind(token_hash)
        .fetch_one(pool)
        .await?)
}

/// Uses an invitation once: the technician's account. `Ok(None)` when the link is unknown,
/// used or expired.
pub async fn accept_invite(
    pool: &PgPool,
    token_hash: &str,
    name: &str,
    password_hash: &str,
) -> Result<Option<(Uuid, Uuid, String)>> {
    let mut tx = pool.begin().await?;
    let invite: Option<(Uuid, Uuid, String, String)> = sqlx::query_as(
        "update invites set accepted_at = now(), updated_at = now() where token_hash = $1 and accepted_at is null and expires_at > now()
         returning id, business_id, email, role",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((invite_id, business_id, email, role)) = invite else {
        return Ok(None);
    };
    let user_id: Uuid = sqlx::query_scalar("insert into users (business_id, email, name, password_hash, role) values ($1, $2, $3, $4, $5) returning id")
        .bind(business_id)
        .bind(&email)
        .bind(name)
        .bind(password_hash)
        .bind(&role)
        .fetch_one(&mut *tx)
        .await
        .map_err(email_conflict)?;
    crate::audit(
        &mut *tx,
        business_id,
        "invite",
        Some(invite_id),
        "accepted",
        serde_json::json!({"user_id": user_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(Some((business_id, user_id, role)))
}

/// Account mail with a plain-text body only (its HTML part is that text, escaped); the worker
/// delivers it. Mail with an HTML part of its own goes through `crate::mail::record`.
pub async fn record_email(
    db: &mut PgConnection,
    business_id: Uuid,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<()> {
    let mail = crate::mail::NewEmail {
        business_id,
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: body.to_owned(),
        html: crate::mail::text_as_html(body),
        kind: crate::mail::MailKind::Account,
        unsubscribe_url: None,
        idempotency_key: None,
    };
    crate::mail::record(db, &mail).await?;
    Ok(())
}

/// The business as its signed-in members see it: name, number (none until it goes live) and
/// messaging status.
pub async fn member_business(
    db: &mut PgConnection,
    business_id: Uuid,
) -> Result<(String, Option<String>, String)> {
    Ok(
        sqlx::query_as(
            "select name, twilio_number, messaging_status from businesses where id = $1",
        )
        .bind(business_id)
        .fetch_one(db)
        .await?,
    )
}
