//! The OAuth flow's pending state between "Connect" and the provider sending the owner back.
//! Only hashes of `state` and the binder cookie are kept; a row is used once and lives ten
//! minutes.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::Result;

/// A started connection, as the callback finds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Pending {
    pub provider: String,
    pub business_id: Uuid,
    pub user_id: Uuid,
    pub code_verifier_enc: String,
    pub redirect_uri: String,
    pub binder_hash: String,
}

/// Records a started connection (and forgets this business's expired ones).
pub async fn begin(db: &mut PgConnection, state_hash: &str, p: &Pending) -> Result<()> {
    sqlx::query("delete from oauth_states where business_id = $1 and expires_at < now()")
        .bind(p.business_id)
        .execute(&mut *db)
        .await?;
    sqlx::query(
        "insert into oauth_states (state_hash, provider, business_id, user_id, code_verifier_enc, redirect_uri, binder_hash, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, now() + interval '10 minutes')",
    )
    .bind(state_hash)
    .bind(&p.provider)
    .bind(p.business_id)
    .bind(p.user_id)
    .bind(&p.code_verifier_enc)
    .bind(&p.redirect_uri)
    .bind(&p.binder_hash)
    .execute(db)
    .await?;
    Ok(())
}

/// Takes the pending connection for `state_hash`, once: a replayed or expired state finds
/// nothing.
pub async fn take(pool: &PgPool, state_hash: &str) -> Result<Option<Pending>> {
    Ok(sqlx::query_as(
        "delete from oauth_states where state_hash = $1 and expires_at > now()
         returning provider, business_id, user_id, code_verifier_enc, redirect_uri, binder_hash",
    )
    .bind(state_hash)
    .fetch_optional(pool)
    .await?)
}
