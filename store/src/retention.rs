//! What grows without bound is pruned by the worker every hour.

use sqlx::PgConnection;

use crate::Result;

/// Rows removed by one pass.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pruned {
    pub refresh_tokens: u64,
    pub sessions: u64,
    pub login_failures: u64,
}

/// Refresh tokens a day past expiry; sessions untouched for 30 days with no token left;
/// log-in failure counters idle for a day and not locking anyone.
pub async fn prune_accounts(db: &mut PgConnection) -> Result<Pruned> {
    let refresh_tokens =
        sqlx::query("delete from refresh_tokens where expires_at < now() - interval '1 day'")
            .execute(&mut *db)
            .await?
            .rows_affected();
    let sessions = sqlx::query(
        "delete from sessions s
         where s.updated_at < now() - interval '30 days' and not exists (select 1 from refresh_tokens t where t.session_id = s.id)",
    )
    .execute(&mut *db)
    .await?
    .rows_affected();
    let login_failures = sqlx::query("delete from login_failures where updated_at < now() - interval '1 day' and (locked_until is null or locked_until < now())")
        .execute(&mut *db)
        .await?
        .rows_affected();
    Ok(Pruned {
        refresh_tokens,
        sessions,
        login_failures,
    })
}
