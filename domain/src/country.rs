//! Which country a phone number belongs to, for the countries the platform serves
//! (`NMC_PHONE_COUNTRIES`, US and CA by default): owners' and businesses' phones elsewhere are
//! refused, since we can neither text them reliably nor register them with US carriers.
//! +1 numbers are told apart by area code (NANPA's Canadian and Caribbean assignments).

use crate::E164;

/// Canadian area codes (NANPA, including overlays in service or assigned).
const CANADA: &[u16] = &[
    204, 226, 236, 249, 250, 257, 263, 289, 306, 343, 354, 365, 367, 368, 382, 387, 403, 416, 418,
    428, 431, 437, 438, 450, 460, 468, 474, 506, 514, 519, 548, 579, 581, 584, 587, 600, 604, 613,
    622, 639, 647, 672, 683, 705, 709, 742, 753, 778, 780, 782, 807, 819, 825, 867, 873, 879, 902,
    905, 942,
];

/// +1 area codes of other NANP countries (the Caribbean and Bermuda). US territories (Puerto
/// Rico, USVI, Guam, Northern Marianas, American Samoa) count as US.
const OTHER_NANP: &[u16] = &[
    242, 246, 264, 268, 284, 345, 441, 473, 649, 658, 664, 721, 758, 767, 784, 809, 829, 849, 868,
    869, 876,
];

/// Country calling codes of the countries we might be configured to serve, beyond +1.
const CALLING: &[(&str, &str)] = &[
    ("GB", "44"),
    ("IE", "353"),
    ("AU", "61"),
    ("NZ", "64"),
    ("MX", "52"),
];

/// The ISO country of `phone`, when it is one we can tell; `None` otherwise.
pub fn country_of(phone: &E164) -> Option<&'static str> {
    let digits = phone.as_str().strip_prefix('+')?;
    if let Some(rest) = digits.strip_prefix('1') {
        let area: u16 = rest.get(..3)?.parse().ok()?;
        return Some(if CANADA.contains(&area) {
            "CA"
        } else if OTHER_NANP.contains(&area) {
            "NANP"
        } else {
            "US"
        });
    }
    CALLING
        .iter()
        .find(|(_, code)| digits.starts_with(code))
        .map(|(country, _)| *country)
}

/// Whether `phone` is in one of `served` (ISO codes, like `["US", "CA"]`).
pub fn served(phone: &E164, served: &[String]) -> bool {
    country_of(phone).is_some_and(|c| served.iter().any(|s| s.eq_ignore_ascii_case(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> E164 {
        E164::parse(s).unwrap()
    }

    #[test]
    fn numbers_are_placed_in_their_country() {
        let us_ca = vec!["US".to_owned(), "CA".to_owned()];
        assert_eq!(country_of(&p("+15125550100")), Some("US"));
        assert_eq!(country_of(&p("+14165550100")), Some("CA"));
        assert_eq!(country_of(&p("+18765550100")), Some("NANP"), "Jamaica");
        assert_eq!(country_of(&p("+17875550100")), Some("US"), "Puerto Rico");
        assert_eq!(country_of(&p("+447700900123")), Some("GB"));
        assert!(served(&p("+14165550100"), &us_ca));
        assert!(!served(&p("+18765550100"), &us_ca));
        assert!(!served(&p("+447700900123"), &us_ca));
        assert!(!served(&p("+14165550100"), &["US".to_owned()]));
    }
}
