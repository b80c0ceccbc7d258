//! `--availability`: times the pure availability function (no stack needed) over 14 days of slots
//! for a business with five technicians and 500 appointments.

use std::time::Instant;

use chrono::{DateTime, Duration as D, NaiveDate, NaiveTime, TimeZone, Utc};
use nmc_domain::availability::{
    Busy, Request, ScheduleRules, Technician, WeekSchedule, available_slots,
};

/// Open six days a week, 7–12 and 13–18; five technicians on the business's hours.
fn schedule() -> (ScheduleRules, Vec<Technician>) {
    let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
    let mut week: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
    for d in week.iter_mut().take(6) {
        *d = vec![(t(7), t(12)), (t(13), t(18))];
    }
    let rules = ScheduleRules {
        hours: WeekSchedule(week),
        closures: vec![],
        buffer_minutes: 30,
        max_jobs_per_day: 8,
        booking_window_days: 30,
        min_lead_minutes: 120,
        step_minutes: 30,
    };
    let techs: Vec<Technician> = (1..=5)
        .map(|i| Technician {
            id: uuid::Uuid::from_u128(i),
            hours: None,
        })
        .collect();
    (rules, techs)
}

/// 500 appointments: 290 already done (the last two months), 210 ahead — three 1-hour jobs a day
/// (9:00, 11:30, 14:30 local) for each of the five technicians over the 14 days searched.
fn appointments(now: DateTime<Utc>, tz: chrono_tz::Tz, techs: &[Technician]) -> Vec<Busy> {
    let mut busy: Vec<Busy> = (0..290)
        .map(|i: i64| {
            let start = now - D::days(60) + D::minutes(i * 290);
            Busy {
                technician: Some(techs[(i % 5) as usize].id),
                start,
                end: start + D::hours(1),
            }
        })
        .collect();
    let first = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    'fill: for day in 0..14 {
        for (k, tech) in techs.iter().enumerate() {
            for (h, m) in [(9, 0), (11, 30), (14, 30)] {
                if busy.len() == 500 {
                    break 'fill;
                }
                let local = (first + D::days(day)).and_hms_opt(h, m, 0).unwrap()
                    + D::minutes(k as i64 * 10);
                let start = tz
                    .from_local_datetime(&local)
                    .earliest()
                    .unwrap()
                    .with_timezone(&Utc);
                busy.push(Busy {
                    technician: Some(tech.id),
                    start,
                    end: start + D::hours(1),
                });
            }
        }
    }
    busy
}

/// 14 days of slots for a 90-minute job, timed per call over 2000 calls.
pub fn run() {
    let (rules, techs) = schedule();
    let tz: chrono_tz::Tz = "America/Chicago".parse().unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let busy = appointments(now, tz, &techs);
    let from = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let req = Request {
        tz,
        rules: &rules,
        technicians: &techs,
        busy: &busy,
        now,
        from,
        to: from + D::days(13),
        duration_minutes: 90,
    };
    let slots = available_slots(&req).len();
    let mut micros = Vec::new();
    for _ in 0..2000 {
        let started = Instant::now();
        std::hint::black_box(available_slots(std::hint::black_box(&req)));
        micros.push(started.elapsed().as_secs_f64() * 1e6);
    }
    micros.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| micros[((micros.len() - 1) as f64 * q) as usize];
    println!(
        "availability: 14 days, 5 technicians, {} appointments, 90-minute job → {slots} slots",
        busy.len()
    );
    println!(
        "  per call over 2000 calls: p50 {:.0} µs   p95 {:.0} µs   p99 {:.0} µs",
        p(0.5),
        p(0.95),
        p(0.99)
    );
}
