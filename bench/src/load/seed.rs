//! Seeding: the template business (the one onboarded for the run) gets a catalog and a technician
//! and answers at once, at any hour; then `--businesses` − 1 copies of it are inserted and their
//! numbers configured in the sandbox.

use std::time::Instant;

use anyhow::Context;
use nmc_sandbox::Sandbox;
use serde_json::{Value, json};

use crate::{ACCOUNT_SID, AUTH_TOKEN, Args, now_us};

/// Logs in as the owner with `email`: the access token.
pub(super) async fn login(
    http: &reqwest::Client,
    api: &str,
    email: &str,
) -> anyhow::Result<String> {
    let r: Value = http
        .post(format!("{api}/api/auth/login"))
        .json(&json!({"email": email, "password": "bench owner password"}))
        .send()
        .await?
        .json()
        .await?;
    Ok(r["access_token"]
        .as_str()
        .context("owner token")?
        .to_owned())
}

/// Adopts the plumbing catalog and adds a technician to the template business, then has it answer
/// at once at any hour: its id.
pub(super) async fn prepare_template(
    a: &Args,
    http: &reqwest::Client,
    db: &sqlx::PgPool,
    token: &str,
    template_number: &str,
) -> anyhow::Result<uuid::Uuid> {
    let owner = |m: reqwest::Method, path: &str| {
        http.request(m, format!("{}{path}", a.api))
            .bearer_auth(token)
    };
    owner(reqwest::Method::POST, "/api/catalog/adopt")
        .json(&json!({"trade": "plumbing"}))
        .send()
        .await?;
    owner(reqwest::Method::POST, "/api/technicians")
        .json(&json!({"name": "Alex"}))
        .send()
        .await?;
    let template: uuid::Uuid =
        sqlx::query_scalar("select id from businesses where twilio_number = $1")
            .bind(template_number)
            .fetch_one(db)
            .await?;
    // Answer at once, any hour: the owner's head start and quiet hours are product delays, not costs.
    sqlx::query("update businesses set owner_window_secs = 0, quiet_start = '00:00', quiet_end = '00:00', notify_by_text = false, business_hours = $2 where id = $1")
        .bind(template)
        .bind(json!({"monday": {"open": "00:00", "close": "23:59"}, "tuesday": {"open": "00:00", "close": "23:59"}, "wednesday": {"open": "00:00", "close": "23:59"}, "thursday": {"open": "00:00", "close": "23:59"}, "friday": {"open": "00:00", "close": "23:59"}, "saturday": {"open": "00:00", "close": "23:59"}, "sunday": {"open": "00:00", "close": "23:59"}}))
        .execute(db)
        .await?;
    Ok(template)
}

/// Seeds the other businesses as copies of the first (catalog and technician included) and
/// configures their numbers in the sandbox: every business's number, the template's first.
pub(super) async fn seed_copies(
    a: &Args,
    sandbox: &Sandbox,
    db: &sqlx::PgPool,
    template: uuid::Uuid,
    template_number: &str,
) -> anyhow::Result<Vec<String>> {
    let seeded = Instant::now();
    let prefix = format!("{:03}", now_us() % 1_000);
    let others = a.businesses.saturating_sub(1) as i32;
    sqlx::query(
        "insert into businesses (name, owner_name, owner_email, owner_phone, business_phone, twilio_number, twilio_account_sid, twilio_auth_token_enc, timezone,
                                 call_mode, business_hours, messaging_status, owner_window_secs, quiet_start, quiet_end, notify_by_text, trade)
         select 'Load ' || $2 || ' #' || g, t.owner_name, 'owner-' || $2 || '-' || g || '@load.example', t.owner_phone, t.business_phone, '+1555' || $2 || lpad(g::text, 4, '0'), t.twilio_account_sid,
                t.twilio_auth_token_enc, t.timezone, t.call_mode, t.business_hours, t.messaging_status, 0, t.quiet_start, t.quiet_end, false, 'plumbing'
         from businesses t, generate_series(1, $3) g where t.id = $1",
    )
    .bind(template)
    .bind(&prefix)
    .bind(others)
    .execute(db)
    .await
    .context("seed businesses (at most 9999)")?;
    let clones = format!("Load {prefix} #%");
    sqlx::query("insert into technicians (business_id, name) select id, 'Alex' from businesses where name like $1").bind(&clones).execute(db).await?;
    sqlx::query(
        "insert into catalog_items (business_id, name, keywords, duration_minutes, price_cents, price_min_cents, price_max_cents, emergency_surcharge_cents)
         select b.id, c.name, c.keywords, c.duration_minutes, c.price_cents, c.price_min_cents, c.price_max_cents, c.emergency_surcharge_cents
         from businesses b cross join catalog_items c where b.name like $1 and c.business_id = $2",
    )
    .bind(&clones)
    .bind(template)
    .execute(db)
    .await?;
    let mut numbers: Vec<String> =
        sqlx::query_scalar("select twilio_number from businesses where name like $1")
            .bind(&clones)
            .fetch_all(db)
            .await?;
    for n in &numbers {
        sandbox.register_number(
            n,
            ACCOUNT_SID,
            AUTH_TOKEN,
            &format!("{}/webhook/voice/incoming", a.api),
            &format!("{}/webhook/sms/incoming", a.api),
        );
    }
    numbers.insert(0, template_number.to_owned());
    let total_businesses: i64 = sqlx::query_scalar("select count(*) from businesses")
        .fetch_one(db)
        .await?;
    println!(
        "seeded {} businesses in {:.1} s ({} in the database)",
        numbers.len(),
        seeded.elapsed().as_secs_f64(),
        total_businesses
    );
    Ok(numbers)
}
