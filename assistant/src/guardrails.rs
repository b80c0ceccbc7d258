//! Rules every assistant reply obeys, enforced here in code whatever the model said:
//! it fits in two SMS segments, states no price, names the business, never claims an
//! appointment that is not booked, and (per business, on by default) says it is a virtual assistant.

/// GSM-7 basic character set (plus the extension table, which costs two septets).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXT: &str = "^{}\\[~]|€\u{c}";

/// Can the text go as GSM-7? One emoji or curly quote makes the whole text UCS-2 (70 per segment).
pub fn is_gsm7(text: &str) -> bool {
    text.chars()
        .all(|c| GSM7_BASIC.contains(c) || GSM7_EXT.contains(c))
}

/// How many SMS segments a text takes (GSM-7: 160 / 153 per part; otherwise UCS-2: 70 / 67).
pub fn sms_segments(text: &str) -> usize {
    if is_gsm7(text) {
        let septets: usize = text
            .chars()
            .map(|c| if GSM7_EXT.contains(c) { 2 } else { 1 })
            .sum();
        if septets <= 160 {
            1
        } else {
            septets.div_ceil(153)
        }
    } else {
        let units: usize = text.chars().map(char::len_utf16).sum();
        if units <= 70 { 1 } else { units.div_ceil(67) }
    }
}

/// Does the text state a price ("$120", "120 dollars", "99 bucks")?
pub fn states_price(text: &str) -> bool {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    lower.contains('$')
        || lower.contains('€')
        || words.windows(2).any(|w| {
            w[0].trim_matches(|c: char| !c.is_ascii_digit() && c != '.')
                .parse::<f64>()
                .is_ok()
                && ["dollars", "dollar", "bucks", "usd", "dólares", "dolares"]
                    .contains(&w[1].trim_matches(|c: char| !c.is_alphabetic()))
        })
}

/// Does the text claim an appointment exists?
pub fn claims_booking(text: &str) -> bool {
    let lower = text.to_lowercase();
    [
        "you're booked",
        "you are booked",
        "booked you",
        "i booked",
        "we booked",
        "is booked",
        "you're scheduled",
        "you are scheduled",
        "scheduled you",
        "i scheduled",
        "we scheduled",
        "appointment is confirmed",
        "confirmed your appointment",
        "appointment is set",
        "see you at",
        "see you on",
        "see you tomorrow",
        "tech will be there",
        "technician will be there",
        "we'll be there at",
        "will arrive at",
        "cita confirmada",
        "está agendad",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

/// Does the sentence diagnose the problem ("it's probably your thermostat")? That is the
/// technician's to say on site (seed 003): the assistant collects and defers.
pub fn diagnoses(sentence: &str) -> bool {
    let lower = sentence.to_lowercase();
    [
        "probably",
        "most likely",
        "likely your",
        "likely the",
        "likely a ",
        "sounds like a",
        "sounds like your",
        "sounds like the",
        "might be your",
        "might be the",
        "could be your",
        "could be the",
        "may be your",
        "may be the",
        "the problem is",
        "the issue is",
        "caused by",
        "is due to",
        "need a new",
        "needs to be replaced",
        "have to replace",
        "should replace",
        "probablemente",
        "seguramente",
    ]
    .iter()
    .any(|p| lower.contains(p))
}

pub struct Policy<'a> {
    pub business_name: &'a str,
    /// The name the assistant goes by, in its disclosure.
    pub assistant_name: Option<&'a str>,
    /// Say "virtual assistant" in the first reply of a conversation.
    pub disclose: bool,
    pub first_reply: bool,
    pub spanish: bool,
}

const MAX_SEGMENTS: usize = 2;

/// Makes any reply safe to send. Sentences that state a price or claim a booking are replaced;
/// the business is named; the disclosure is added on the first reply; the result fits two segments.
pub fn enforce(reply: &str, policy: &Policy) -> String {
    let es = policy.spanish;
    let mut kept: Vec<String> = Vec::new();
    let mut dropped_price = false;
    let mut dropped_booking = false;
    let mut dropped_diagnosis = false;
    for sentence in split_sentences(reply) {
        if states_price(&sentence) {
            dropped_price = true;
        } else if claims_booking(&sentence) {
            dropped_booking = true;
        } else if diagnoses(&sentence) {
            dropped_diagnosis = true;
        } else {
            kept.push(sentence);
        }
    }
    if dropped_price {
        kept.push(if es {
            "El dueño le confirmará el precio.".into()
        } else {
            "The owner will confirm pricing with you.".into()
        });
    }
    if dropped_diagnosis {
        kept.insert(
            0,
            if es {
                "El técnico lo revisará en el lugar.".into()
            } else {
                "The technician will take a look on site.".into()
            },
        );
    }
    if dropped_booking {
        kept.push(if es {
            "El dueño le confirmará la hora.".into()
        } else {
            "The owner will confirm a time with you.".into()
        });
    }
    let mut body = kept.join(" ").trim().to_string();
    if body.is_empty() {
        body = if es {
            "Gracias, un momento.".into()
        } else {
            "Thanks, one moment.".into()
        };
    }
    let mut prefix = String::new();
    if policy.disclose && policy.first_reply {
        let name = policy
            .assistant_name
            .map(|n| format!("{n}, "))
            .unwrap_or_default();
        prefix = if es {
            format!("({name}asistente virtual de {}) ", policy.business_name)
        } else {
            format!("({name}{}'s virtual assistant) ", policy.business_name)
        };
    }
    let named = prefix.contains(policy.business_name) || body.contains(policy.business_name);
    let suffix = if named {
        String::new()
    } else {
        format!(" - {}", policy.business_name)
    };
    fit(&prefix, &body, &suffix)
}

/// Shortens the body at a word boundary until prefix + body + suffix fits the segment budget.
fn fit(prefix: &str, body: &str, suffix: &str) -> String {
    let whole = format!("{prefix}{body}{suffix}");
    if sms_segments(&whole) <= MAX_SEGMENTS {
        return whole;
    }
    let mut words: Vec<&str> = body.split_whitespace().collect();
    while !words.is_empty() {
        words.pop();
        let candidate = format!("{prefix}{}…{suffix}", words.join(" "));
        if sms_segments(&candidate) <= MAX_SEGMENTS {
            return candidate;
        }
    }
    format!("{prefix}{suffix}").trim().to_string()
}

fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if matches!(c, '.' | '!' | '?') {
            out.push(cur.trim().to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy<'static> {
        Policy {
            business_name: "Acme Plumbing",
            assistant_name: None,
            disclose: true,
            first_reply: false,
            spanish: false,
        }
    }

    #[test]
    fn segments() {
        assert_eq!(sms_segments(&"a".repeat(160)), 1);
        assert_eq!(sms_segments(&"a".repeat(161)), 2);
        assert_eq!(sms_segments(&"a".repeat(306)), 2);
        assert_eq!(sms_segments(&"a".repeat(307)), 3);
        assert_eq!(sms_segments(&"é".repeat(160)), 1, "é is GSM-7");
        assert_eq!(
            sms_segments(&"ñ€".repeat(50)),
            1,
            "€ counts double: 150 septets"
        );
        assert_eq!(sms_segments(&"😀".repeat(35)), 1, "70 UTF-16 units");
        assert_eq!(sms_segments(&"😀".repeat(36)), 2);
    }

    #[test]
    fn prices_and_booking_claims_are_removed() {
        let out = enforce(
            "A drain clean is $149. You're booked for 3pm tomorrow! What's your address?",
            &policy(),
        );
        assert!(!states_price(&out) && !claims_booking(&out), "{out}");
        assert!(
            out.contains("What's your address?")
                && out.contains("confirm pricing")
                && out.contains("confirm a time")
        );
        assert!(out.contains("Acme Plumbing"));
        assert!(states_price("about 120 dollars"));
        assert!(!states_price("I have 2 toilets"));
    }

    #[test]
    fn the_assistant_never_diagnoses() {
        let out = enforce(
            "It's probably your thermostat. Sounds like a bad capacitor. What's your address?",
            &policy(),
        );
        assert!(!diagnoses(&out), "{out}");
        assert!(
            out.contains("technician will take a look") && out.contains("address"),
            "{out}"
        );
        assert!(!diagnoses(
            "That sounds urgent. I'm alerting Dana right now."
        ));
    }

    #[test]
    fn disclosure_and_length() {
        let first = Policy {
            first_reply: true,
            ..policy()
        };
        let out = enforce(&"This is a very long reply. ".repeat(40), &first);
        assert!(out.starts_with("(Acme Plumbing's virtual assistant)"));
        assert!(sms_segments(&out) <= 2, "{} segments", sms_segments(&out));
        let off = Policy {
            disclose: false,
            first_reply: true,
            ..policy()
        };
        assert!(!enforce("Hi there.", &off).contains("virtual"));
    }
}
