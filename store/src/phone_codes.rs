//! One-time codes that prove a member's alert phone is theirs before any alert is texted to
//! it or any text from it counts as a command. Only a hash of each code is kept; a code lives
//! ten minutes and takes five tries; a member gets one code every 30 s and five an hour.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Result;

const TTL_MINUTES: i32 = 10;
const MAX_TRIES: i32 = 5;
const PER_HOUR: i64 = 5;
const GAP_SECS: i64 = 30;

/// The phone alerts go to for this member (their own, or the owner's from sign-up), and
/// whether it is proved.
pub async fn alert_phone(
    db: &mut PgConnection,
    business_id: Uuid,
    user_id: Uuid,
) -> Result<(Option<String>, bool)> {
    let row: Option<(Option<String>, bool)> = sqlx::query_as(
        "select coalesce(p.phone::text, case when u.role = 'owner' then b.owner_phone::text end),
                case when p.phone is not null then p.phone_verified_at is not null
                     else u.role = 'owner' and b.owner_phone_verified_at is not null end
         from users u join businesses b on b.id = u.business_id
         left join alert_preferences p on p.user_id = u.id
         where u.id = $1 and u.business_id = $2",
    )
    .bind(user_id)
    .bind(business_id)
    .fetch_optional(db)
    .await?;
    Ok(row.unwrap_or((None, false)))
}

fn hash(id: Uuid, code: &str) -> String {
    let digest = Sha256::new()
        .chain_update(id.as_bytes())
        .chain_update(code.trim().as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why a code was not issued.
#[derive(Debug, PartialEq, Eq)]
pub enum NotIssued {
    /// Asked again within 30 s, or more than five times this hour: seconds to wait.
    TooSoon(i64),
}

/// Records a new code for `phone` (replacing any earlier one) and returns it with its expiry,
/// or says when the member may ask again.
pub async fn issue(
    db: &mut PgConnection,
    business_id: Uuid,
    user_id: Uuid,
    phone: &str,
    code: &str,
) -> Result<std::result::Result<DateTime<Utc>, NotIssued>> {
    // One request at a time per member: the limits below are a count, then an insert.
    sqlx::query("select 1 from users where id = $1 for update")
        .bind(user_id)
        .execute(&mut *db)
        .await?;
    let (recent, last): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "select count(*), max(created_at) from phone_verifications
         where user_id = $1 and created_at > now() - interval '1 hour'",
    )
    .bind(user_id)
    .fetch_one(&mut *db)
    .await?;
    let since_last = last.map_or(i64::MAX, |l| (Utc::now() - l).num_seconds());
    if since_last < GAP_SECS {
        return Ok(Err(NotIssued::TooSoon(GAP_SECS - since_last)));
    }
    if recent >= PER_HOUR {
        return Ok(Err(NotIssued::TooSoon(3600 - since_last.min(3600))));
    }
    let id = Uuid::new_v4();
    let expires: DateTime<Utc> = sqlx::query_scalar(
        "insert into phone_verifications (id, business_id, user_id, phone, code_hash, expires_at)
         values ($1, $2, $3, $4::e164, $5, now() + make_interval(mins => $6)) returning expires_at",
    )
    .bind(id)
    .bind(business_id)
    .bind(user_id)
    .bind(phone)
    .bind(hash(id, code))
    .bind(TTL_MINUTES)
    .fetch_one(db)
    .await?;
    Ok(Ok(expires))
}

/// Whether a code check proved the phone.
#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Verified,
    Wrong,
    /// No live code: none sent, expired, used, or out of tries.
    NoCode,
}

/// Checks `code` against the member's latest live code for `phone`; a match proves the phone
/// wherever this member's alerts go to it.
pub async fn check(db: &mut PgConnection, user_id: Uuid, phone: &str, code: &str) -> Result<Check> {
    let live: Option<(Uuid, String)> = sqlx::query_as(
        "update phone_verifications set attempts = attempts + 1
         where id = (select id from phone_verifications
                     where user_id = $1 and phone::text = $2 and verified_at is null
                       and expires_at > now() and attempts < $3
                     order by created_at desc limit 1)
         returning id, code_hash",
    )
    .bind(user_id)
    .bind(phone)
    .bind(MAX_TRIES)
    .fetch_optional(&mut *db)
    .await?;
    let Some((id, stored)) = live else {
        return Ok(Check::NoCode);
    };
    if !constant_time_eq(hash(id, code).as_bytes(), stored.as_bytes()) {
        return Ok(Check::Wrong);
    }
    sqlx::query("update phone_verifications set verified_at = now() where id = $1")
        .bind(id)
        .execute(&mut *db)
        .await?;
    sqlx::query(
        "update alert_preferences set phone_verified_at = now() where user_id = $1 and phone::text = $2",
    )
    .bind(user_id)
    .bind(phone)
    .execute(&mut *db)
    .await?;
    sqlx::query(
        "update businesses b set owner_phone_verified_at = now() from users u
         where u.id = $1 and u.role = 'owner' and b.id = u.business_id and b.owner_phone::text = $2",
    )
    .bind(user_id)
    .bind(phone)
    .execute(&mut *db)
    .await?;
    Ok(Check::Verified)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An owner's own row that names the owner's proved sign-up phone is proved too.
pub async fn carry_owner_verification(db: &mut PgConnection, user_id: Uuid) -> Result<()> {
    sqlx::query(
        "update alert_preferences p set phone_verified_at = b.owner_phone_verified_at
         from users u join businesses b on b.id = u.business_id
         where p.user_id = $1 and u.id = p.user_id and u.role = 'owner'
           and p.phone_verified_at is null and p.phone = b.owner_phone",
    )
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(())
}
