//! Password hashing (argon2id) and the rules a new password must meet. Hashing is slow on
//! purpose, so it runs on the blocking pool, a few at a time: a burst of log-ins or sign-ups
//! cannot take the async runtime's threads from the webhooks.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::error::ApiError;

/// Half the cores (at least one) may hash at once; the rest stay with everything else.
fn hashing() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)))
    })
}

/// Runs `f` on the blocking pool once a hashing permit is free. The permit moves into the task,
/// so a request that gives up cannot leave more hashes running than permits.
async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let permit = hashing()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))
}

fn hash_now(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::encode_b64(Uuid::new_v4().as_bytes())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?
        .to_string())
}

pub async fn hash_password(password: &str) -> Result<String, ApiError> {
    let password = password.to_owned();
    off_runtime(move || hash_now(&password)).await?
}

pub(super) async fn verify_password(password: &str, hash: String) -> Result<bool, ApiError> {
    let password = password.to_owned();
    off_runtime(move || {
        PasswordHash::new(&hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
    .await
}

/// A hash nobody's password matches: unknown emails are checked against it, so a log-in takes
/// as long whether or not the account exists.
pub(super) async fn decoy_hash() -> Result<String, ApiError> {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY
        .get_or_try_init(|| async { hash_password(&Uuid::new_v4().to_string()).await })
        .await
        .cloned()
}

/// Length 10–128, not one repeated character, not the email. Reasons come back as the field's error.
pub(super) fn password_problem(password: &str, email: &str) -> Option<&'static str> {
    let n = password.chars().count();
    if n < 10 {
        return Some("at least 10 characters");
    }
    if n > 128 {
        return Some("at most 128 characters");
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Some("not one repeated character");
    }
    if password.eq_ignore_ascii_case(email) {
        return Some("must differ from the email");
    }
    if [
        "password123",
        "1234567890",
        "qwertyuiop",
        "letmein123",
        "password1234",
    ]
    .contains(&password.to_lowercase().as_str())
    {
        return Some("too common");
    }
    None
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    /// On a single-threaded runtime, other tasks keep running while a hash is computed: it is
    /// not on the runtime's thread. (Were it, the hash would finish in its first poll, before
    /// the other future ran once.)
    #[tokio::test(flavor = "current_thread")]
    async fn hashing_leaves_the_runtime_thread_free() {
        let done = Cell::new(false);
        let turns = Cell::new(0u32);
        let hash = async {
            let h = super::hash_password("a long enough passphrase")
                .await
                .unwrap();
            done.set(true);
            h
        };
        let other = async {
            while !done.get() {
                turns.set(turns.get() + 1);
                tokio::task::yield_now().await;
            }
        };
        // Biased: the hash is polled first, so a blocking hash would finish before `other` starts.
        let (h, ()) = tokio::join!(biased; hash, other);
        assert!(turns.get() > 0, "nothing else ran while hashing");
        assert!(
            super::verify_password("a long enough passphrase", h.clone())
                .await
                .unwrap()
        );
        assert!(
            !super::verify_password("another passphrase", h)
                .await
                .unwrap()
        );
    }

    #[test]
    fn weak_passwords_are_named() {
        assert_eq!(
            super::password_problem("short", ""),
            Some("at least 10 characters")
        );
        assert_eq!(
            super::password_problem("aaaaaaaaaaaa", ""),
            Some("not one repeated character")
        );
        assert_eq!(
            super::password_problem("Password123", ""),
            Some("too common")
        );
        assert_eq!(
            super::password_problem("a long enough passphrase", "x@y.example"),
            None
        );
    }
}
