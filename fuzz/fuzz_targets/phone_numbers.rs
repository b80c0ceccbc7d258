//! Phone numbers from webhooks, forms and caller text: parse, round-trip, mask.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nmc_domain::E164;
use nmc_domain::phone::mask;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = E164::parse(raw) {
        let s = p.as_str();
        assert!(
            s.starts_with('+') && s[1..].chars().all(|c| c.is_ascii_digit()),
            "{s}"
        );
        assert_eq!(
            E164::parse(s).as_ref().map(E164::as_str),
            Ok(s),
            "a parsed number parses to itself"
        );
        let m = p.masked();
        assert_eq!(&m[m.len() - 4..], &s[s.len() - 4..]);
        assert!(
            m[..m.len() - 4].chars().all(|c| c == '*'),
            "masked shows more than the last four digits: {m}"
        );
    }
    assert_eq!(mask(raw).chars().count(), raw.chars().count());
});
