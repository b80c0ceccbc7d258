//! The floors, measured after the run on the same machine: the bare webhook → carrier path, a bare
//! INSERT with the same no-overlap constraint, a bare NOTIFY → LISTEN round trip, and the Temporal
//! floor (`temporal_floor.rs`): our greeting's Temporal operations and nothing else.

use std::time::Instant;

use nmc_sandbox::Sandbox;

use super::Stage;
use super::temporal_floor::{self, TemporalFloor};
use crate::Args;
use crate::greeting::{collect, fire};

/// Each stage's floor.
pub(super) struct Floors {
    pub webhook: Stage,
    pub text: Stage,
    pub insert: Stage,
    pub notify: Stage,
    /// `None` when it could not run (the reason is on stderr): the run's own figures still print.
    pub temporal: Option<TemporalFloor>,
}

/// All the floors, the webhook's and Temporal's against the first business's `number`.
pub(super) async fn measure(
    a: &Args,
    http: &reqwest::Client,
    floor_url: &str,
    sandbox: &Sandbox,
    sandbox_base: &str,
    number: &str,
    db: &sqlx::PgPool,
) -> anyhow::Result<Floors> {
    let (webhook, text) = floor_run(
        http,
        floor_url,
        sandbox,
        number,
        a.rate.min(50.0),
        (a.rate * 10.0) as usize,
    )
    .await;
    let insert = insert_floor(db, 300).await?;
    let notify = notify_floor(a.database_url.as_deref().unwrap_or_default(), 300).await?;
    let temporal = match temporal_floor::measure(a, sandbox, sandbox_base, number).await {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("Temporal floor not measured: {e:#}");
            None
        }
    };
    Ok(Floors {
        webhook,
        text,
        insert,
        notify,
        temporal,
    })
}

/// The bare webhook → carrier path (no record, no workflow), at the same rate.
async fn floor_run(
    http: &reqwest::Client,
    url: &str,
    sandbox: &Sandbox,
    number: &str,
    rate: f64,
    n: usize,
) -> (Stage, Stage) {
    let sent = fire(http, url, number, 5126, rate, n).await;
    let report = collect(sandbox, &sent).await;
    (Stage(report.response), Stage(report.to_text))
}

/// A bare INSERT with the same no-overlap constraint, no API, no tenant transaction.
async fn insert_floor(db: &sqlx::PgPool, n: usize) -> anyhow::Result<Stage> {
    let mut c = db.acquire().await?;
    sqlx::query("create temp table floor_booking (tech int, during tstzrange, exclude using gist (tech with =, during with &&))").execute(&mut *c).await?;
    let mut s = Stage::default();
    for i in 0..n {
        let t = Instant::now();
        sqlx::query("insert into floor_booking values (1, tstzrange(now() + make_interval(hours => $1), now() + make_interval(hours => $1 + 1)))").bind(i as i32).execute(&mut *c).await?;
        s.0.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(s)
}

/// A bare NOTIFY → LISTEN round trip on PostgreSQL.
async fn notify_floor(url: &str, n: usize) -> anyhow::Result<Stage> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen("floor_bench").await?;
    let db = sqlx::PgPool::connect(url).await?;
    let mut s = Stage::default();
    for _ in 0..n {
        let t = Instant::now();
        sqlx::query("select pg_notify('floor_bench', 'x')")
            .execute(&db)
            .await?;
        listener.recv().await?;
        s.0.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(s)
}
