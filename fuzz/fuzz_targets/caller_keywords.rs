//! STOP / START / HELP and the appointment replies (C / R / X) on any text a caller can send.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nmc_domain::Keyword;
use nmc_domain::appointment::AppointmentReply;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let keyword = Keyword::classify(text);
    // Carriers match keywords case-insensitively and ignore surrounding space; so do we.
    assert_eq!(
        keyword,
        Keyword::classify(&format!("  {}\n", text.to_ascii_lowercase()))
    );
    let _ = AppointmentReply::classify(text);
});
