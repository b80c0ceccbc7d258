//! The caller's pick among offered times ("2", "tue 10", "the morning one", "none of those").
#![no_main]
use chrono::{Duration, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use nmc_domain::availability::{Choice, Slot, parse_choice};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let tz = chrono_tz::America::Chicago;
    let base = Utc.with_ymd_and_hms(2026, 3, 6, 15, 0, 0).unwrap();
    let tech = uuid::Uuid::nil();
    // Across the DST change, morning and afternoon, several days.
    let offers: Vec<Slot> = [0, 3, 26, 52, 75]
        .iter()
        .map(|h| Slot {
            technician: tech,
            start: base + Duration::hours(*h),
            end: base + Duration::hours(*h + 1),
        })
        .collect();
    for n in [0, 1, offers.len()] {
        if let Choice::Picked(i) = parse_choice(text, tz, &offers[..n]) {
            assert!(i < n, "picked {i} of {n} offers for {text:?}");
        }
    }
});
