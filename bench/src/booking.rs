//! `--booking`: a business with its starter catalog and five technicians, open every day; then
//! `GET /api/availability` and `POST /api/appointments` from `--clients` concurrent clients for
//! `--duration` seconds each, then 50 concurrent bookings of one technician's same slot.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::{Args, print_row};

/// Bookings the clients make between them, each a real insert that succeeds.
const BOOKINGS: i64 = 500;

/// A request to the owner's API for `business`, as the admin.
fn owner(
    a: &Args,
    http: &reqwest::Client,
    business: &str,
    m: reqwest::Method,
    path: &str,
) -> reqwest::RequestBuilder {
    http.request(m, format!("{}{path}", a.api))
        .bearer_auth(&a.admin_token)
        .header("x-business-id", business)
}

/// The id of the business just onboarded with `twilio_number`.
async fn business_id(
    a: &Args,
    http: &reqwest::Client,
    twilio_number: &str,
) -> anyhow::Result<String> {
    let list: serde_json::Value = http
        .get(format!("{}/api/admin/businesses", a.api))
        .bearer_auth(&a.admin_token)
        .send()
        .await?
        .json()
        .await?;
    Ok(list
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["twilio_number"] == twilio_number)
        .context("the business just onboarded")?["id"]
        .as_str()
        .context("business id")?
        .to_owned())
}

/// Adopts the plumbing catalog, adds five technicians and opens every day 7:00–19:00: the
/// technicians' ids.
async fn set_up(a: &Args, http: &reqwest::Client, business: &str) -> anyhow::Result<Vec<String>> {
    owner(
        a,
        http,
        business,
        reqwest::Method::POST,
        "/api/catalog/adopt",
    )
    .json(&json!({"trade": "plumbing"}))
    .send()
    .await?
    .error_for_status()?;
    let mut techs = vec![];
    for i in 0..5 {
        let r: serde_json::Value =
            owner(a, http, business, reqwest::Method::POST, "/api/technicians")
                .json(&json!({"name": format!("Tech {i}")}))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
        techs.push(r["id"].as_str().unwrap_or_default().to_owned());
    }
    let day = json!([["07:00", "19:00"]]);
    owner(a, http, business, reqwest::Method::PUT, "/api/schedule")
        .json(&json!({"hours": [day, day, day, day, day, day, day], "closures": [], "buffer_minutes": 0, "max_jobs_per_day": 50,
                      "booking_window_days": 14, "min_lead_minutes": 0, "step_minutes": 30, "default_job_minutes": 60, "reminder_minutes": [1440, 60]}))
        .send()
        .await?
        .error_for_status()?;
    Ok(techs)
}

/// What every client of a run shares.
#[derive(Clone)]
struct Clients {
    http: reqwest::Client,
    api: String,
    token: String,
    business: String,
    techs: Vec<String>,
    /// Tomorrow, 00:00 in the business's time.
    base: DateTime<Utc>,
    /// How many clients run at once.
    count: usize,
}

/// Request `j` of a run: an availability query, or booking `j`.
fn request(ctx: &Clients, endpoint: &str, j: i64) -> reqwest::RequestBuilder {
    let api = &ctx.api;
    if endpoint == "availability" {
        ctx.http.get(format!(
            "{api}/api/availability?duration_minutes=90&limit=50"
        ))
    } else {
        // Booking j: technician j % 5, day 1 + m / 10, hour 7 + m % 10 (m = j / 5).
        let m = j / 5;
        let start =
            ctx.base + chrono::Duration::days(1 + m / 10) + chrono::Duration::hours(7 + m % 10);
        let tech = &ctx.techs[(j % 5) as usize];
        ctx.http.post(format!("{api}/api/appointments")).json(&json!({"start": start, "duration_minutes": 60, "technician_id": tech, "customer_name": "Bench"}))
    }
}

/// One client: availability queries until `deadline`, or its share of the bookings. Each
/// request's time in ms, and how many failed.
async fn client(
    ctx: Clients,
    endpoint: &'static str,
    index: usize,
    deadline: Instant,
) -> (Vec<f64>, usize) {
    let (mut times, mut errors, mut round) = (Vec::new(), 0usize, 0i64);
    loop {
        let j = round * ctx.count as i64 + index as i64;
        if (endpoint == "availability" && Instant::now() >= deadline)
            || (endpoint != "availability" && j >= BOOKINGS)
        {
            break;
        }
        round += 1;
        let started = Instant::now();
        let ok = match request(&ctx, endpoint, j)
            .bearer_auth(&ctx.token)
            .header("x-business-id", &ctx.business)
            .send()
            .await
        {
            Ok(resp) => {
                let ok = resp.status().is_success();
                let _ = resp.bytes().await;
                ok
            }
            Err(_) => false,
        };
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        errors += usize::from(!ok);
    }
    (times, errors)
}

/// All the clients at once on `endpoint` ("availability" for `duration` s, or "appointments"):
/// every request's time in ms, and how many failed.
async fn run_clients(ctx: &Clients, endpoint: &'static str, duration: f64) -> (Vec<f64>, usize) {
    let deadline = Instant::now() + Duration::from_secs_f64(duration);
    let mut tasks = vec![];
    for c in 0..ctx.count {
        tasks.push(tokio::spawn(client(ctx.clone(), endpoint, c, deadline)));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (times, e) = t.await.unwrap();
        all.extend(times);
        errors += e;
    }
    (all, errors)
}

/// The race: 50 clients book technician `tech`'s same hour at once. How many were booked, how
/// many refused as a conflict (409), and how many of those came with fresh alternatives.
async fn race(
    a: &Args,
    http: &reqwest::Client,
    business: &str,
    tech: &str,
    base: DateTime<Utc>,
) -> anyhow::Result<(usize, usize, usize)> {
    let start = base + chrono::Duration::days(12) + chrono::Duration::hours(10);
    let mut racers = vec![];
    for _ in 0..50 {
        let req = owner(
            a,
            http,
            business,
            reqwest::Method::POST,
            "/api/appointments",
        )
        .json(&json!({"start": start, "duration_minutes": 60, "technician_id": tech}));
        racers.push(tokio::spawn(async move {
            let r = req.send().await.ok()?;
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            Some((status, body["alternatives"].as_array().map_or(0, Vec::len)))
        }));
    }
    let mut outcomes: HashMap<u16, usize> = HashMap::new();
    let mut with_alternatives = 0;
    for r in racers {
        if let Some((status, alts)) = r.await? {
            *outcomes.entry(status).or_default() += 1;
            with_alternatives += usize::from(status == 409 && alts > 0);
        }
    }
    let created = outcomes.get(&201).copied().unwrap_or(0);
    let conflicts = outcomes.get(&409).copied().unwrap_or(0);
    Ok((created, conflicts, with_alternatives))
}

/// Sets the business up, times both endpoints, then runs the race; exits 1 unless exactly one
/// racer booked, the other 49 were refused, and no request failed.
pub async fn run(a: &Args, http: &reqwest::Client, twilio_number: &str) -> anyhow::Result<()> {
    let business = business_id(a, http, twilio_number).await?;
    let techs = set_up(a, http, &business).await?;
    println!(
        "nmc-bench --booking: {} concurrent clients, {} s per endpoint; business with 5 technicians",
        a.clients, a.duration
    );

    // 500 bookings spread over the next 10 days, five technicians, inside the shifts: each client
    // books its own share, so every booking is a real insert that succeeds (conflicts are the
    // race's job below). Availability then works around those 500 appointments.
    let tz: chrono_tz::Tz = "America/Chicago".parse()?;
    let tomorrow = (Utc::now().with_timezone(&tz) + chrono::Duration::days(1)).date_naive();
    let base = {
        use chrono::TimeZone;
        tz.from_local_datetime(&tomorrow.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    };
    let ctx = Clients {
        http: http.clone(),
        api: a.api.clone(),
        token: a.admin_token.clone(),
        business: business.clone(),
        techs: techs.clone(),
        base,
        count: a.clients,
    };
    let t0 = Instant::now();
    let (mut booked, booking_errors) = run_clients(&ctx, "appointments", a.duration).await;
    let booking_secs = t0.elapsed().as_secs_f64();
    // Let the 500 appointment workflows (calendar sync, reminder timers) settle first, so the
    // availability figures are the endpoint's own.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let (mut avail, avail_errors) = run_clients(&ctx, "availability", a.duration).await;
    print_row("POST /api/appointments", &mut booked);
    println!(
        "    {} bookings in {booking_secs:.1} s ({:.0}/s), errors {booking_errors}",
        booked.len(),
        booked.len() as f64 / booking_secs
    );
    print_row("GET /api/availability (90-min job, 14 days)", &mut avail);
    println!(
        "    {} requests over those {} appointments ({:.0}/s), errors {avail_errors}",
        avail.len(),
        booked.len(),
        avail.len() as f64 / a.duration
    );

    let (created, conflicts, with_alternatives) = race(a, http, &business, &techs[0], base).await?;
    println!(
        "  50-way race for one slot: {created} booked, {conflicts} conflict (409), {with_alternatives} of them with fresh alternatives, other {}",
        50 - created - conflicts
    );
    if created != 1 || conflicts != 49 || booking_errors > 0 || avail_errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}
