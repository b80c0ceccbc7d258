//! Waiting on what the stack does: each wait returns as soon as its condition holds. The only
//! deliberate pause is `expect_no_more_texts`, for tests whose point is that something happens
//! once (or not at all).

use std::future::Future;
use std::time::Duration;

use nmc_sandbox::SandboxMessage;
use tokio::time::Instant;

use crate::TestApp;

/// Generous for a loaded CI box; a passing test never waits this long.
const TEXT_TIMEOUT: Duration = Duration::from_secs(45);
const POLL: Duration = Duration::from_millis(50);

/// A text sent twice arrives within this of the first (the carrier answers in milliseconds; a
/// retried send adds Temporal's first retry, 0.5 s): the quiet period for exactly-once checks.
pub const DUPLICATE_WINDOW: Duration = Duration::from_millis(1500);

/// Polls `f` until it holds; after `timeout`, fails naming `what`.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("timed out waiting for {what}");
}

/// Polls `f` until it gives a value; after `timeout`, fails naming `what`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(POLL).await;
    }
    panic!("timed out waiting for {what}");
}

fn bodies(texts: &[SandboxMessage]) -> Vec<&str> {
    texts.iter().map(|m| m.body.as_str()).collect()
}

impl TestApp {
    /// The newest text to `to` that contains `needle`, waited for.
    pub async fn text_containing(&self, to: &str, needle: &str) -> String {
        wait_for(TEXT_TIMEOUT, needle, || async {
            self.texts_to(to)
                .into_iter()
                .rev()
                .find(|m| m.body.contains(needle))
                .map(|m| m.body)
        })
        .await
    }

    pub fn texts_to(&self, to: &str) -> Vec<SandboxMessage> {
        self.sandbox
            .messages()
            .into_iter()
            .filter(|m| m.to == to)
            .collect()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db).await.unwrap()
    }

    /// Waits until `n` texts reached `to` and returns them, the moment there are `n` and our side
    /// has recorded the carrier taking each (its sid stored: a lead is "contacted" by then). More
    /// than `n` fails at once: a duplicate, or a text the test did not expect. A later duplicate
    /// shows in the test's next `expect_texts` (or in `expect_no_more_texts` where "once" is the
    /// point).
    pub async fn expect_texts(&self, to: &str, n: usize) -> Vec<SandboxMessage> {
        let deadline = Instant::now() + TEXT_TIMEOUT;
        loop {
            let texts = self.texts_to(to);
            assert!(
                texts.len() <= n,
                "expected exactly {n} text(s) to {to}, got {}: {:#?}",
                texts.len(),
                bodies(&texts)
            );
            if texts.len() == n && self.recorded(&texts).await {
                return texts;
            }
            assert!(
                Instant::now() <= deadline,
                "timed out waiting for {n} text(s) to {to}, each with its sid stored; got {:#?}\nworker log (last lines, newest first):\n{}",
                bodies(&texts),
                self.worker_log_tail(40)
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Whether every one of `texts` has its carrier sid stored on our message row.
    async fn recorded(&self, texts: &[SandboxMessage]) -> bool {
        if texts.is_empty() {
            return true;
        }
        let sids: Vec<&str> = texts.iter().map(|m| m.sid.as_str()).collect();
        let stored: i64 = sqlx::query_scalar(
            "select (select count(distinct twilio_message_sid) from messages where twilio_message_sid = any($1))
                  + (select count(distinct reply_sid) from team_texts where reply_sid = any($1))",
        )
        .bind(&sids)
        .fetch_one(&self.db)
        .await
        .unwrap();
        stored == texts.len() as i64
    }

    /// For exactly-once checks: waits for `n` texts to `to` as `expect_texts` does, then lets
    /// `quiet` pass and fails as soon as another arrives (late, or sent twice).
    pub async fn expect_no_more_texts(
        &self,
        to: &str,
        n: usize,
        quiet: Duration,
    ) -> Vec<SandboxMessage> {
        self.expect_texts(to, n).await;
        let until = Instant::now() + quiet;
        loop {
            let texts = self.texts_to(to);
            assert!(
                texts.len() == n,
                "expected no more than {n} text(s) to {to} within {quiet:?}, got {}: {:#?}",
                texts.len(),
                bodies(&texts)
            );
            if Instant::now() >= until {
                return texts;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The worker log's last `lines` lines, newest first, for failure messages.
    pub fn worker_log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.worker_log()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(lines).collect();
        tail.join("\n")
    }
}
