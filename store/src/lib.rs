//! PostgreSQL access. Every function that touches tenant data takes the business id it is
//! scoped to; nothing here decides policy, it records what the layers above decided.

pub mod accounts;
pub mod activity;
pub mod alerts;
pub mod billing;
pub mod booking;
pub mod business;
pub mod calendar;
pub mod crm;
pub mod digest;
pub mod events;
pub mod forwarding;
pub mod inbox;
pub mod insights;
pub mod knowledge;
pub mod links;
pub mod mail;
pub mod notifications;
pub mod oauth;
pub mod password_resets;
pub mod phone_codes;
pub mod privacy;
pub mod push;
pub mod registration;
pub mod retention;
pub mod reviews;
pub mod scheduling;
pub mod secrets;
pub mod settings;
pub mod team;
pub mod voice;
pub mod voice_agent;
pub mod voicemail;
pub mod webhook;

pub use links::AlertLinks;
pub use secrets::SecretBox;
pub use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the row; `field` names the API field it maps to.
    #[error("{field} is already in use")]
    Conflict { field: &'static str },
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error("secret: {0}")]
    Secret(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub async fn connect(database_url: &str, max_connections: u32) -> Result<PgPool> {
    Ok(sqlx::postgres::PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(std::time::Duration::from_secs(3))
        .connect(database_url)
        .await?)
}

/// Applies pending migrations (embedded in the binary).
/// Cluster-wide objects the migrations rely on, each made idempotently and tolerant of a twin
/// doing the same at the same moment (its unique index wins, ours is caught).
const CLUSTER_WIDE_STEPS: [&str; 2] = [
    "do $$ begin
         if not exists (select from pg_roles where rolname = 'nmc_app') then create role nmc_app nologin; end if;
     exception when duplicate_object or unique_violation then null;
     end $$",
    "do $$ begin
         if not exists (select from pg_auth_members m join pg_roles r on r.oid = m.roleid
                        where r.rolname = 'nmc_app' and m.member = (select oid from pg_roles where rolname = current_user)) then
             grant nmc_app to current_user;
         end if;
     exception when duplicate_object or unique_violation then null;
     end $$",
];

pub async fn migrate(pool: &PgPool) -> std::result::Result<(), sqlx::migrate::MigrateError> {
    // The tenant role is cluster-wide, so databases migrated side by side on one server (tests,
    // services starting together) raced to create it inside migration 6; make it first and let a
    // concurrent twin win.
    // The same for the membership migration 6 grants (`grant nmc_app to current_user`): twins
    // granting at once collide in pg_auth_members; once it exists, the migration's grant is a no-op.
    for step in CLUSTER_WIDE_STEPS {
        sqlx::query(step).execute(pool).await?;
    }
    sqlx::migrate!("../migrations").run(pool).await
}

pub async fn ping(pool: &PgPool) -> Result<()> {
    sqlx::query("select 1").execute(pool).await?;
    Ok(())
}

/// A member's action, for the audit log (takeovers, hand-backs, owner texts, appointment
/// changes): who, on what, and what changed.
pub async fn audit_member(
    db: &mut sqlx::PgConnection,
    business_id: uuid::Uuid,
    (entity_type, entity_id): (&str, uuid::Uuid),
    action: &str,
    details: serde_json::Value,
) -> Result<()> {
    audit(
        db,
        business_id,
        entity_type,
        Some(entity_id),
        action,
        details,
    )
    .await
}

pub(crate) async fn audit<'e, E: sqlx::PgExecutor<'e>>(
    exec: E,
    business_id: uuid::Uuid,
    entity_type: &str,
    entity_id: Option<uuid::Uuid>,
    action: &str,
    details: serde_json::Value,
) -> Result<()> {
    sqlx::query("insert into audit_log (business_id, entity_type, entity_id, action, details) values ($1, $2, $3, $4, $5)")
        .bind(business_id)
        .bind(entity_type)
        .bind(entity_id)
        .bind(action)
        .bind(details)
        .execute(exec)
        .await?;
    Ok(())
}

/// A pooled connection, for the store functions that take one (they also run inside a caller's
/// transaction, e.g. the owner API's row-level-security transaction).
pub async fn conn(pool: &PgPool) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>> {
    Ok(pool.acquire().await?)
}

/// A transaction as the `nmc_app` role with the tenant set, so PostgreSQL's row-level security
/// confines every query in it to this business (a second wall behind the tenant argument).
pub async fn tenant_transaction(
    pool: &PgPool,
    business_id: uuid::Uuid,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "select set_config('nmc.business_id', $1, true), set_config('role', 'nmc_app', true)",
    )
    .bind(business_id.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// Waits for this key's turn, until the transaction ends (committed, rolled back or dropped):
/// work on one key is done one at a time across every worker.
pub async fn take_turn(db: &mut sqlx::PgConnection, key: &str) -> Result<()> {
    // A wait longer than this is an error (retried by the caller), never a hang.
    sqlx::query("set local lock_timeout = '60s'")
        .execute(&mut *db)
        .await?;
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(db)
        .await?;
    Ok(())
}
