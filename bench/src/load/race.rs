//! Bookings racing for one slot of the first business: every 5 s, ten owners' clients book the
//! same hour at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinHandle;

use super::Stage;

/// Every booking request's time, how many were booked, and how many refused as taken.
pub(super) type Bookings = Arc<Mutex<(Stage, usize, usize)>>;

/// Races every 5 s until aborted.
pub(super) fn spawn_racer(
    http: &reqwest::Client,
    api: &str,
    token: &str,
) -> (Bookings, JoinHandle<()>) {
    let bookings: Bookings = Arc::default();
    let racer = {
        let (bookings, http, api, token) = (
            bookings.clone(),
            http.clone(),
            api.to_owned(),
            token.to_owned(),
        );
        tokio::spawn(async move {
            for round in 0u32.. {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let start = chrono::Utc::now()
                    + chrono::Duration::days(2 + i64::from(round / 20))
                    + chrono::Duration::hours(i64::from(round % 20));
                let start = start.format("%Y-%m-%dT%H:00:00Z").to_string();
                let results = futures_util::future::join_all((0..10).map(|_| {
                    let req = http.post(format!("{api}/api/appointments")).bearer_auth(&token).json(&json!({"start": start, "duration_minutes": 60, "customer_name": "Race"}));
                    async move {
                        let t = Instant::now();
                        let s = req.send().await.map_or(0, |r| r.status().as_u16());
                        (s, t.elapsed().as_secs_f64() * 1000.0)
                    }
                }))
                .await;
                let mut b = bookings.lock().unwrap();
                for (s, ms) in results {
                    b.0.0.push(ms);
                    if s == 201 {
                        b.1 += 1;
                    } else if s == 409 {
                        b.2 += 1;
                    }
                }
            }
        })
    };
    (bookings, racer)
}
