//! `GET /api/events`: server-sent events for the signed-in user's business only. The database
//! writes each event (triggers, same transaction as the change) and NOTIFYs on commit; one
//! LISTEN connection per API instance fans them out, so every instance behind a load balancer
//! delivers every event. `Last-Event-ID` resumes from the event log without gaps. A feed ends
//! when its session is revoked or expires or its user is removed (checked before each event).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;
use nmc_store::{accounts, events};
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;

use crate::auth::Tenant;
use crate::{AppState, error::ApiError};

pub use nmc_store::events::LiveEvent;

/// The instance's fan-out of committed events.
#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<LiveEvent>,
}

impl EventHub {
    /// Starts listening (reconnecting forever) and returns the hub.
    pub fn start(db: sqlx::PgPool) -> Self {
        let (tx, _) = broadcast::channel(4096);
        let hub = Self { tx: tx.clone() };
        tokio::spawn(async move {
            loop {
                if let Err(e) = listen(&db, &tx).await {
                    tracing::warn!(error = %e, "event listener lost its connection; reconnecting");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        hub
    }
}

async fn listen(
    db: &sqlx::PgPool,
    tx: &broadcast::Sender<LiveEvent>,
) -> Result<(), nmc_store::StoreError> {
    let mut listener = PgListener::connect_with(db).await?;
    listener.listen("nmc_events").await?;
    loop {
        let n = listener.recv().await?;
        let Some(id) = n
            .payload()
            .split_once(':')
            .and_then(|(_, id)| id.parse::<i64>().ok())
        else {
            continue;
        };
        if let Some(e) = events::by_id(db, id).await? {
            let _ = tx.send(e);
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/events", get(stream))
}

fn to_sse(e: &LiveEvent) -> Event {
    Event::default()
        .id(e.id.to_string())
        .event(e.kind.clone())
        .data(e.data.to_string())
}

/// How old a "the session still stands" answer may be when an event is about to go out.
const RECHECK: Duration = Duration::from_secs(2);
/// A quiet feed checks its session this often too, notices a client that went away, and reads
/// the log for anything committed whose NOTIFY never reached this instance (a listener that
/// reconnected, a notification dropped under load): late by seconds at most, never lost.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// How far below the newest id sent a late event is still looked for. Ids are taken when a
/// row is written but become visible when its transaction commits, so a slower transaction's
/// event (an appointment booked while status callbacks stream in) can commit after a later id
/// was sent; it is delivered then, once, rather than skipped.
const LATE_IDS: i64 = 200;

/// One client's feed: it ends when its session is revoked or expires or its user is removed.
struct Feed {
    db: sqlx::PgPool,
    out: tokio::sync::mpsc::Sender<Event>,
    tenant: Tenant,
    /// Where the feed began (the client's Last-Event-ID, or the newest event then): nothing at
    /// or before it is sent.
    start: i64,
    /// The newest id sent.
    last: i64,
    /// Ids sent within [`LATE_IDS`] of `last`, so a late one goes once.
    sent: std::collections::BTreeSet<i64>,
    checked: Instant,
}

impl Feed {
    /// Asks the database again once the last answer is older than [`RECHECK`]; a session that
    /// ended ends the feed (the browser reconnects and signs in again if it can). A check that
    /// could not be made (the database busy for a moment) is made again at the next event
    /// rather than dropping every open feed at once.
    async fn session_stands(&mut self) -> bool {
        if self.checked.elapsed() < RECHECK {
            return true;
        }
        match accounts::session_is_open(&self.db, self.tenant.session_id, self.tenant.user_id).await
        {
            Ok(open) => {
                self.checked = Instant::now();
                open
            }
            Err(e) => {
                tracing::warn!(error = %e, "live feed: could not check the session; checking again at the next event");
                true
            }
        }
    }

    /// Sends one event, once; `false` ends the stream.
    async fn deliver(&mut self, e: &LiveEvent) -> bool {
        if e.id <= self.start || e.id <= self.last - LATE_IDS || self.sent.contains(&e.id) {
            return true;
        }
        if !self.session_stands().await {
            return false;
        }
        self.last = self.last.max(e.id);
        self.sent.insert(e.id);
        let floor = self.last - LATE_IDS;
        self.sent.retain(|id| *id > floor);
        self.out.send(to_sse(e)).await.is_ok()
    }

    /// Anything in the log after the last event sent (a reconnect, or a client that fell
    /// behind), and, once the feed runs, anything that committed late just below it.
    async fn catch_up(&mut self, late_too: bool) -> bool {
        let from = if late_too {
            self.last - LATE_IDS
        } else {
            self.last
        };
        let Ok(rows) = events::after(&self.db, self.tenant.business_id, from).await else {
            return true;
        };
        for e in &rows {
            if !self.deliver(e).await {
                return false;
            }
        }
        true
    }

    async fn run(mut self, mut rx: broadcast::Receiver<LiveEvent>) {
        // A reconnect asks for what came after its Last-Event-ID, nothing before it.
        if !self.catch_up(false).await {
            return;
        }
        loop {
            let more = match tokio::time::timeout(IDLE_CHECK, rx.recv()).await {
                Ok(Ok(e)) if e.business_id == self.tenant.business_id => self.deliver(&e).await,
                Ok(Ok(_)) => true,
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => self.catch_up(true).await,
                Ok(Err(broadcast::error::RecvError::Closed)) => false,
                Err(_) => {
                    !self.out.is_closed()
                        && self.session_stands().await
                        && self.catch_up(true).await
                }
            };
            if !more {
                return;
            }
        }
    }
}

async fn stream(
    t: Tenant,
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribe before reading the backlog, so nothing committed in between is missed.
    let rx = s.events.tx.subscribe();
    let resume: Option<i64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let last = match resume {
        Some(id) => id,
        None => events::latest_id(&s.db, t.business_id).await?.unwrap_or(0),
    };
    let db = s.db.clone();
    // The extractor has just checked the session.
    let stream = async_stream(move |out| {
        Feed {
            db,
            out,
            tenant: t,
            start: last,
            last,
            sent: std::collections::BTreeSet::new(),
            checked: Instant::now(),
        }
        .run(rx)
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// A stream fed by a task through a small channel (no extra crate needed).
fn async_stream<F, Fut>(f: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    tokio::spawn(f(tx));
    futures::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok)
}
