//! Times owners and callers hand us: business hours (JSON with "HH:MM"), time zone names, and
//! quiet-hours deferral for any instant.
#![no_main]
use chrono::{DateTime, NaiveTime, Utc};
use libfuzzer_sys::fuzz_target;
use nmc_domain::BusinessHours;
use nmc_domain::hours::{defer_out_of_quiet, parse_timezone};

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let secs = i64::from_le_bytes(data[..8].try_into().unwrap()) % 4_000_000_000;
    let start = NaiveTime::from_num_seconds_from_midnight_opt(
        u32::from(u16::from_le_bytes([data[8], data[9]])) * 2 % 86_400,
        0,
    )
    .unwrap();
    let end = NaiveTime::from_num_seconds_from_midnight_opt(
        u32::from(u16::from_le_bytes([data[10], data[11]])) * 2 % 86_400,
        0,
    )
    .unwrap();
    let Some(at) = DateTime::<Utc>::from_timestamp(secs, 0) else {
        return;
    };
    let rest = std::str::from_utf8(&data[12..]).unwrap_or("");
    let tz = parse_timezone(rest).unwrap_or(chrono_tz::America::New_York);
    let deferred = defer_out_of_quiet(tz, at, start, end);
    assert!(
        deferred >= at,
        "quiet hours only ever delay: {at} → {deferred}"
    );
    assert!(
        deferred - at <= chrono::Duration::hours(26),
        "deferred more than a day: {at} → {deferred}"
    );
    if let Ok(hours) = serde_json::from_str::<BusinessHours>(rest) {
        let _ = hours.invalid_days();
        let _ = hours.is_open(tz, at);
    }
});
