//! The mail outbox (`outbound_emails`). Callers record a mail inside the transaction that decides
//! to send it; the worker claims due rows, delivers them over SMTP (or logs them) and marks each
//! sent, to be retried, or failed.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::Result;

/// What a mail is for: account mail (invitations, resets) has no unsubscribe link; alerts and
/// digests carry one (RFC 8058).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Account,
    Alert,
    Digest,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Alert => "alert",
            Self::Digest => "digest",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewEmail {
    pub business_id: Uuid,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub kind: MailKind,
    /// An https URL taking the RFC 8058 one-click POST.
    pub unsubscribe_url: Option<String>,
    /// The same key recorded twice keeps the first mail only.
    pub idempotency_key: Option<String>,
}

/// A mail the worker has claimed (its lease runs for `LEASE_SECS`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueEmail {
    pub id: Uuid,
    pub business_id: Uuid,
    pub to_email: String,
    pub subject: String,
    pub text: String,
    /// None for mail recorded before HTML parts existed.
    pub html: Option<String>,
    pub kind: String,
    pub unsubscribe_url: Option<String>,
    /// This attempt's number, from 1.
    pub attempts: i32,
}

/// How long a claimed row is the claimer's: a worker that dies mid-send frees it after this.
pub const LEASE_SECS: i64 = 120;

/// Records a mail for delivery. Returns false when its idempotency key was already recorded.
pub async fn record(db: &mut PgConnection, mail: &NewEmail) -> Result<bool> {
    let done = sqlx::query(
        "insert into outbound_emails (business_id, to_email, subject, body, html, kind, unsubscribe_url, idempotency_key)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (idempotency_key) where idempotency_key is not null do nothing",
    )
    .bind(mail.business_id)
    .bind(&mail.to)
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .bind(mail.kind.as_str())
    .bind(&mail.unsubscribe_url)
    .bind(&mail.idempotency_key)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims up to `limit` due mails, oldest first: each gets its attempt counted and a lease (its
/// next attempt pushed `LEASE_SECS` ahead) in the same statement, so two workers never send one
/// mail at once and a crash mid-send only delays it.
pub async fn due(pool: &PgPool, limit: i64) -> Result<Vec<DueEmail>> {
    Ok(sqlx::query_as(
        "update outbound_emails
            set attempts = attempts + 1,
                next_attempt_at = now() + make_interval(secs => $2),
                updated_at = now()
          where id in (select id from outbound_emails
                        where sent_at is null and failed_at is null and next_attempt_at <= now()
                        order by next_attempt_at
                        limit $1
                        for update skip locked)
         returning id, business_id, to_email, subject, body as text, html, kind, unsubscribe_url, attempts",
    )
    .bind(limit)
    .bind(LEASE_SECS as f64)
    .fetch_all(pool)
    .await?)
}

pub async fn mark_sent(pool: &PgPool, id: Uuid) -> Result<()> {
    sqlx::query("update outbound_emails set sent_at = now(), updated_at = now() where id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Tries again after `backoff_secs`, keeping why this attempt failed.
pub async fn mark_retry(pool: &PgPool, id: Uuid, error: &str, backoff_secs: i64) -> Result<()> {
    sqlx::query(
        "update outbound_emails
            set last_error = $2, next_attempt_at = now() + make_interval(secs => $3), updated_at = now()
          where id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(backoff_secs as f64)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives up on the mail (a permanent refusal, or too many attempts).
pub async fn mark_failed(pool: &PgPool, id: Uuid, error: &str) -> Result<()> {
    sqlx::query(
        "update outbound_emails set last_error = $2, failed_at = now(), updated_at = now() where id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// A plain-text body as minimal HTML (escaped, line breaks kept), for callers with no HTML part.
pub fn text_as_html(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 64);
    html.push_str("<!DOCTYPE html><html><body><p style=\"white-space:pre-wrap\">");
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
    html.push_str("</p></body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_as_html_escapes_markup() {
        let html = text_as_html("a <b> & \"c\"\nd");
        assert!(
            html.contains("a &lt;b&gt; &amp; &quot;c&quot;\nd"),
            "{html}"
        );
        assert!(!html.contains("<b>"));
    }
}
