use super::*;

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}
fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}
fn weekdays(shifts: Vec<(NaiveTime, NaiveTime)>) -> WeekSchedule {
    let mut w: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
    for d in w.iter_mut().take(5) {
        *d = shifts.clone();
    }
    WeekSchedule(w)
}
fn rules() -> ScheduleRules {
    ScheduleRules {
        hours: weekdays(vec![(t(8, 0), t(12, 0)), (t(13, 0), t(17, 0))]),
        closures: vec![],
        buffer_minutes: 30,
        max_jobs_per_day: 10,
        booking_window_days: 14,
        min_lead_minutes: 60,
        step_minutes: 30,
    }
}
fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn whole_job_plus_buffer_fits_inside_shifts_and_around_bookings() {
    let tech = Technician {
        id: Uuid::from_u128(1),
        hours: None,
    };
    let tz: Tz = "America/Chicago".parse().unwrap();
    // Tue 2026-12-01; a booking 10:00–11:00 local (16:00–17:00Z).
    let busy = [Busy {
        technician: Some(tech.id),
        start: utc("2026-12-01T16:00:00Z"),
        end: utc("2026-12-01T17:00:00Z"),
    }];
    let rules = rules();
    let req = Request {
        tz,
        rules: &rules,
        technicians: std::slice::from_ref(&tech),
        busy: &busy,
        now: utc("2026-11-30T12:00:00Z"),
        from: day("2026-12-01"),
        to: day("2026-12-01"),
        duration_minutes: 90,
    };
    let slots = available_slots(&req);
    let local: Vec<String> = slots
        .iter()
        .map(|s| {
            tz.from_utc_datetime(&s.start.naive_utc())
                .format("%H:%M")
                .to_string()
        })
        .collect();
    // 08:00 fits (ends 09:30, buffer to 10:00); the morning shift has no other 90-minute gap clear
    // of 10:00–11:00 ± 30 min; afternoon: 13:00, then 15:00 (13:00 + 90 + 30 = 15:00).
    assert_eq!(local, vec!["08:00", "13:00", "15:00"]);
    for s in &slots {
        assert_eq!(s.end - s.start, Duration::minutes(90));
    }
}

#[test]
fn lead_time_window_closures_and_daily_cap() {
    let tech = Technician {
        id: Uuid::from_u128(1),
        hours: None,
    };
    let tz: Tz = "America/Chicago".parse().unwrap();
    let mut rules = rules();
    rules.closures = vec![day("2026-12-02")];
    rules.max_jobs_per_day = 2;
    rules.booking_window_days = 3;
    let req = Request {
        tz,
        rules: &rules,
        technicians: std::slice::from_ref(&tech),
        busy: &[],
        // 2026-12-01 10:30 local: lead time pushes the first slot to 11:30 or later.
        now: utc("2026-12-01T16:30:00Z"),
        from: day("2026-12-01"),
        to: day("2026-12-31"),
        duration_minutes: 60,
    };
    let slots = available_slots(&req);
    let days: Vec<NaiveDate> = slots
        .iter()
        .map(|s| tz.from_utc_datetime(&s.start.naive_utc()).date_naive())
        .collect();
    assert!(slots[0].start >= utc("2026-12-01T17:30:00Z"), "lead time");
    assert!(!days.contains(&day("2026-12-02")), "closed day");
    assert!(
        days.iter().all(|d| *d <= day("2026-12-04")),
        "booking window"
    );
    for d in [day("2026-12-01"), day("2026-12-03"), day("2026-12-04")] {
        assert!(
            days.iter().filter(|x| **x == d).count() <= 2,
            "daily cap on {d}"
        );
    }
}

#[test]
fn technicians_with_their_own_hours_and_dst() {
    let tz: Tz = "America/New_York".parse().unwrap();
    let early = Technician {
        id: Uuid::from_u128(1),
        hours: Some(weekdays(vec![(t(6, 0), t(8, 0))])),
    };
    let rules = ScheduleRules {
        hours: weekdays(vec![(t(9, 0), t(10, 0))]),
        buffer_minutes: 0,
        min_lead_minutes: 0,
        ..rules()
    };
    let regular = Technician {
        id: Uuid::from_u128(2),
        hours: None,
    };
    // Monday 2026-03-09 is the first weekday after spring-forward (UTC-4).
    let req = Request {
        tz,
        rules: &rules,
        technicians: &[early.clone(), regular.clone()],
        busy: &[],
        now: utc("2026-03-01T00:00:00Z"),
        from: day("2026-03-09"),
        to: day("2026-03-09"),
        duration_minutes: 60,
    };
    let slots = available_slots(&req);
    // The early technician: 06:00 and 07:00 EDT; the regular one: 09:00 EDT (13:00Z, not EST's 14:00Z).
    assert_eq!(slots.len(), 3, "{slots:?}");
    assert_eq!(
        slots[0],
        Slot {
            technician: early.id,
            start: utc("2026-03-09T10:00:00Z"),
            end: utc("2026-03-09T11:00:00Z")
        }
    );
    assert_eq!(
        slots[2],
        Slot {
            technician: regular.id,
            start: utc("2026-03-09T13:00:00Z"),
            end: utc("2026-03-09T14:00:00Z")
        }
    );
}

/// Over many generated schedules, no offered slot overlaps a booking (with buffer) or leaves its shift.
#[test]
fn offered_slots_always_fit() {
    let tz: Tz = "America/Chicago".parse().unwrap();
    let rules = rules();
    let techs: Vec<Technician> = (1..=3)
        .map(|i| Technician {
            id: Uuid::from_u128(i),
            hours: None,
        })
        .collect();
    let mut seed: u64 = 42;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let base = utc("2026-12-01T14:00:00Z");
    for _ in 0..200 {
        let busy: Vec<Busy> = (0..next(40))
            .map(|_| {
                let start = base + Duration::minutes((next(14 * 24 * 4) * 15) as i64);
                Busy {
                    technician: Some(techs[next(3) as usize].id),
                    start,
                    end: start + Duration::minutes(15 + (next(12) * 15) as i64),
                }
            })
            .collect();
        let duration = 30 + (next(6) * 30) as i64;
        let req = Request {
            tz,
            rules: &rules,
            technicians: &techs,
            busy: &busy,
            now: base,
            from: day("2026-12-01"),
            to: day("2026-12-14"),
            duration_minutes: duration,
        };
        for slot in available_slots(&req) {
            let buffer = Duration::minutes(rules.buffer_minutes);
            assert!(
                busy.iter()
                    .filter(|b| b.technician == Some(slot.technician))
                    .all(|b| b.end <= slot.start - buffer || b.start >= slot.end + buffer),
                "{slot:?} overlaps"
            );
            let local_start = tz.from_utc_datetime(&slot.start.naive_utc());
            let local_end = tz.from_utc_datetime(&slot.end.naive_utc());
            let inside = rules
                .hours
                .shifts(local_start.weekday())
                .iter()
                .any(|(o, c)| {
                    local_start.time() >= *o
                        && local_end.time() <= *c
                        && local_start.date_naive() == local_end.date_naive()
                });
            assert!(inside, "{slot:?} leaves its shift");
            assert!(slot.start >= base + Duration::minutes(rules.min_lead_minutes));
        }
    }
}

#[test]
fn a_booking_that_ends_off_the_minute_is_stepped_past() {
    // A booking made from "now + 2 days" keeps its seconds: 10:00:56–11:00:56 local. The search
    // once rounded back onto it for ever; the next slot is on the step grid after its buffer.
    let tech = Technician {
        id: Uuid::from_u128(1),
        hours: None,
    };
    let tz: Tz = "America/Chicago".parse().unwrap();
    let busy = [Busy {
        technician: Some(tech.id),
        start: utc("2026-12-01T16:00:56Z"),
        end: utc("2026-12-01T17:00:56Z"),
    }];
    let rules = ScheduleRules {
        buffer_minutes: 0,
        ..rules()
    };
    let req = Request {
        tz,
        rules: &rules,
        technicians: std::slice::from_ref(&tech),
        busy: &busy,
        now: utc("2026-11-30T12:00:00Z"),
        from: day("2026-12-01"),
        to: day("2026-12-01"),
        duration_minutes: 60,
    };
    let local: Vec<String> = available_slots(&req)
        .iter()
        .map(|s| {
            tz.from_utc_datetime(&s.start.naive_utc())
                .format("%H:%M")
                .to_string()
        })
        .collect();
    assert_eq!(
        local,
        // 11:30 would end after the morning shift; the afternoon is clear.
        vec!["08:00", "09:00", "13:00", "14:00", "15:00", "16:00"]
    );
}
