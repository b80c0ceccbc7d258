//! What grows without bound is pruned: accounts every hour, and the seeds' retention limits every day (a Temporal Schedule runs [`apply_due`]).

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

/// What one daily retention pass removed (each rule in batches, until nothing is due).
#[derive(Debug, Default, Clone, Copy, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct RetentionPass {
    pub message_bodies: u64,
    pub callers: u64,
    pub webhook_rows: u64,
    pub dispatched_rows: u64,
}

/// Voicemails whose audio is past the 180 days text bodies keep: `(id, storage key)`, for the
/// caller to delete from storage, then [`audio_forgotten`].
pub async fn expired_audio(db: &mut PgConnection, batch: i64) -> Result<Vec<(uuid::Uuid, String)>> {
    Ok(sqlx::query_as(
        "select id, storage_key from recordings
         where created_at < now() - interval '180 days' and storage_key is not null limit $1",
    )
    .bind(batch)
    .fetch_all(db)
    .await?)
}

pub async fn audio_forgotten(db: &mut PgConnection, id: uuid::Uuid) -> Result<()> {
    sqlx::query("update recordings set storage_key = null, updated_at = now() where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// The seeds' limits: text bodies (and voicemail transcripts) 180 days; a caller's calls, leads and conversations 13
/// months after their last contact (the opt-out stays, number only); webhook dedupe rows 90
/// days; feed events, sent mail, alert deliveries and carrier status rows 30 days after
/// dispatch. Up to `batch` rows per statement; run again until it returns zeros. Idempotent.
pub async fn apply_due(db: &mut PgConnection, batch: i64) -> Result<RetentionPass> {
    let mut pass = RetentionPass::default();
    for sql in [
        "update messages set body = '' where id in (select id from messages where created_at < now() - interval '180 days' and body <> '' limit $1)",
        "update team_texts set body = '', reply_body = null where id in (select id from team_texts where created_at < now() - interval '180 days' and body <> '' limit $1)",
        "update notifications set body = '' where id in (select id from notifications where created_at < now() - interval '180 days' and body <> '' limit $1)",
        "update recordings set transcript = null where id in (select id from recordings where created_at < now() - interval '180 days' and transcript is not null limit $1)",
        "update agent_calls set transcript = null, caller_words = null, summary = null, structured = null, recording_url = null
         where id in (select id from agent_calls where created_at < now() - interval '180 days'
                      and num_nonnulls(transcript, caller_words, summary, structured, recording_url) > 0 limit $1)",
    ] {
        pass.message_bodies += run(db, sql, batch).await?;
    }
    pass.webhook_rows = run(db, "delete from webhook_events where id in (select id from webhook_events where created_at < now() - interval '90 days' limit $1)", batch).await?
        + run(db, "delete from stripe_events where id in (select id from stripe_events where received_at < now() - interval '90 days' limit $1)", batch).await?;
    for sql in [
        "delete from events where id in (select id from events where created_at < now() - interval '30 days' limit $1)",
        "delete from outbound_emails where id in (select id from outbound_emails where coalesce(sent_at, failed_at) < now() - interval '30 days' limit $1)",
        "delete from alert_deliveries where id in (select id from alert_deliveries where status <> 'pending' and updated_at < now() - interval '30 days' limit $1)",
        "delete from message_status_events where id in (select id from message_status_events where created_at < now() - interval '30 days' limit $1)",
        "delete from phone_verifications where id in (select id from phone_verifications where created_at < now() - interval '30 days' limit $1)",
        "delete from forwarding_tests where id in (select id from forwarding_tests where started_at < now() - interval '30 days' limit $1)",
        "delete from oauth_states where state_hash in (select state_hash from oauth_states where expires_at < now() limit $1)",
    ] {
        pass.dispatched_rows += run(db, sql, batch).await?;
    }
    // A caller silent for 13 months: everything about them goes, as an erasure would.
    // Last contact is the newest lead change, call, or text to or from the caller (not the
    // owner's alerts about them); a conversation still open or a job still ahead keeps them.
    let silent: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "select l.business_id, l.phone::text from leads l group by l.business_id, l.phone
         having greatest(max(l.updated_at), max(l.created_at),
                    (select max(c.created_at) from calls c where c.business_id = l.business_id and c.caller_phone = l.phone),
                    (select max(m.created_at) from messages m join leads ml on ml.id = m.lead_id
                      where ml.business_id = l.business_id and ml.phone = l.phone
                        and l.phone in (m.from_phone, m.to_phone))) < now() - interval '13 months'
            and not exists (select 1 from conversations cv join leads cl on cl.id = cv.lead_id
                            where cl.business_id = l.business_id and cl.phone = l.phone and cv.status = 'active')
            and not exists (select 1 from appointments a where a.business_id = l.business_id
                            and a.customer_phone = l.phone and upper(a.during) > now())
         limit $1",
    )
    .bind(batch)
    .fetch_all(&mut *db)
    .await?;
    for (business_id, phone) in silent {
        crate::privacy::erase_caller(db, business_id, &phone).await?;
        pass.callers += 1;
    }
    Ok(pass)
}

async fn run(db: &mut PgConnection, sql: &str, batch: i64) -> Result<u64> {
    Ok(sqlx::query(sql)
        .bind(batch)
        .execute(db)
        .await?
        .rows_affected())
}

impl RetentionPass {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn add(&mut self, other: Self) {
        self.message_bodies += other.message_bodies;
        self.callers += other.callers;
        self.webhook_rows += other.webhook_rows;
        self.dispatched_rows += other.dispatched_rows;
    }
}
