//! The readers: each pulls one fact (trade, service, address, time, urgency, name) out of a
//! caller's message, matching phrases from `words` on word boundaries.

use super::Field;
use super::words::{
    HUMAN, LOOSE_NAME_MARKERS, NAME_MARKERS, NOT_NAMES, STREET_TYPES, TIME_WORDS, TRADES,
    WEAK_TIME_WORDS, WRONG,
};

pub(super) fn norm(text: &str) -> String {
    let lower = text.to_lowercase().replace(['’', '`'], "'");
    lower
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "'/#-".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
}

pub(super) fn has_any(hay: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| contains_phrase(hay, n))
}

/// Phrase match on word boundaries ("ac" must not match "back").
fn contains_phrase(hay: &str, phrase: &str) -> bool {
    let hay = format!(" {} ", hay.split_whitespace().collect::<Vec<_>>().join(" "));
    hay.contains(&format!(" {phrase} "))
}

/// The trade whose matching phrase is longest: "water heater" is plumbing, not "heater" (HVAC).
pub(super) fn detect_trade(t: &str) -> Option<&'static str> {
    TRADES
        .iter()
        .flat_map(|(trade, words)| {
            words
                .iter()
                .filter(|w| contains_phrase(t, w))
                .map(move |w| (w.len(), *trade))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, trade)| trade)
}

/// The clause of the message that names the job, in the caller's words.
pub(super) fn service_phrase(text: &str, trade: &str) -> String {
    let words: &[&str] = TRADES
        .iter()
        .find(|(t, _)| *t == trade)
        .map_or(&[], |(_, w)| *w);
    let clauses = text
        .split(['.', '!', '?', ';', '\n', ','])
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let best = clauses
        .clone()
        .find(|c| has_any(&norm(c), words))
        .or_else(|| clauses.clone().next())
        .unwrap_or(text);
    let mut s = best
        .trim()
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .to_string();
    for lead in [
        "hi ", "hey ", "hello ", "hola ", "yes ", "yeah ", "so ", "um ", "uh ",
    ] {
        if s.to_lowercase().starts_with(lead) {
            s = s[lead.len()..].trim_start_matches([',', ' ']).to_string();
        }
    }
    let s: String = s.chars().take(120).collect();
    s.trim().to_string()
}

pub(super) fn find_address(text: &str, asked: bool) -> Option<String> {
    // A house number followed by words, ending at a street type (plus unit/city tail).
    let tokens: Vec<&str> = text.split_whitespace().collect();
    for (i, tok) in tokens.iter().enumerate() {
        let digits = tok.trim_matches(|c: char| !c.is_alphanumeric());
        if digits.is_empty() || !digits.chars().next().unwrap().is_ascii_digit() || digits.len() > 6
        {
            continue;
        }
        if digits.chars().filter(char::is_ascii_digit).count() < 1
            || digits.ends_with("pm")
            || digits.ends_with("am")
        {
            continue;
        }
        for (j, w) in tokens.iter().enumerate().skip(i + 1).take(6) {
            let wl = w.to_lowercase();
            let wl = wl.trim_matches(|c: char| !c.is_alphanumeric());
            if STREET_TYPES.contains(&wl) {
                // Include a short tail (unit, city) up to the end of the clause.
                let mut end = j + 1;
                while end < tokens.len() && end < j + 5 {
                    let t = tokens[end - 1];
                    if t.ends_with('.') || t.ends_with('!') || t.ends_with('?') {
                        break;
                    }
                    let next = tokens[end].to_lowercase();
                    if [
                        "and", "y", "tomorrow", "today", "my", "i", "we", "anytime", "asap",
                        "please", "thanks",
                    ]
                    .contains(&next.trim_matches(|c: char| !c.is_alphanumeric()))
                    {
                        break;
                    }
                    end += 1;
                }
                let addr = tokens[i..end].join(" ");
                return Some(addr.trim_end_matches(['.', ',', '!', '?']).to_string());
            }
        }
    }
    if asked {
        // A bare answer to "what's the address?": digits and words.
        let t = text.trim().trim_end_matches(['.', '!']);
        let has_digit = t.chars().any(|c| c.is_ascii_digit());
        let words = t.split_whitespace().count();
        if has_digit && (2..=12).contains(&words) {
            return Some(t.to_string());
        }
    }
    None
}

pub(super) fn find_time(text: &str, n: &str) -> Option<String> {
    // Greetings are not times ("good morning!").
    let n = &n
        .replace("good morning", " ")
        .replace("good afternoon", " ")
        .replace("good evening", " ");
    let clock = n.split_whitespace().any(|w| {
        let w = w.trim_end_matches(['.', ',']);
        (w.ends_with("am") || w.ends_with("pm"))
            && w.trim_end_matches("am")
                .trim_end_matches("pm")
                .chars()
                .all(|c| c.is_ascii_digit() || c == ':')
            && w.len() > 2
    }) || contains_phrase(n, "after")
        && n.split_whitespace()
            .any(|w| w.chars().all(|c| c.is_ascii_digit()));
    if !(clock || has_any(n, TIME_WORDS)) {
        return None;
    }
    // Weak words count only with a strong one or a clock time (see `WEAK_TIME_WORDS`).
    let strong = TIME_WORDS
        .iter()
        .any(|w| !WEAK_TIME_WORDS.contains(w) && contains_phrase(n, w));
    if !clock && !strong && !has_any(n, &["this weekend", "next weekend", "on the weekend"]) {
        return None;
    }
    // Keep the clause that carries the time.
    let clause = text
        .split(['.', '!', '?', ';', '\n', ','])
        .map(str::trim)
        .find(|c| {
            let cn = norm(c).replace("good morning", " ");
            has_any(&cn, TIME_WORDS)
                || cn
                    .split_whitespace()
                    .any(|w| w.ends_with("am") || w.ends_with("pm"))
        })
        .unwrap_or(text.trim());
    Some(
        clause
            .chars()
            .take(80)
            .collect::<String>()
            .trim()
            .to_string(),
    )
}

pub(super) fn urgency_of(n: &str, emergency: bool) -> Option<&'static str> {
    if emergency {
        Some("emergency")
    } else if has_any(
        n,
        &[
            "asap",
            "urgent",
            "right away",
            "as soon as",
            "today",
            "tonight",
            "now",
            "immediately",
            "this morning",
            "this afternoon",
            "this evening",
            "tomorrow",
            "hoy",
            "urgente",
            "lo antes posible",
        ],
    ) {
        Some("soon")
    } else if has_any(
        n,
        &[
            "whenever",
            "no rush",
            "not urgent",
            "next week",
            "anytime",
            "any time",
            "sometime",
            "flexible",
            "this week",
            "next month",
            "cuando sea",
        ],
    ) {
        Some("flexible")
    } else {
        None
    }
}

fn capitalize_name(raw: &str) -> String {
    raw.split_whitespace()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The caller's name: after a marker ("my name is Mike"), as a signature ("- Tom"), or as a bare
/// answer ("Dana") to a question.
pub(super) fn find_name(text: &str, n: &str, asked: Option<Field>) -> Option<String> {
    name_after_marker(text)
        .or_else(|| signature_name(text))
        .or_else(|| bare_name(text, n, asked))
}

/// The first name that follows a marker ("my name is ", "this is ", "me llamo ") starting a word.
fn name_after_marker(text: &str) -> Option<String> {
    let lower = text.to_lowercase().replace('’', "'");
    for &m in NAME_MARKERS {
        let mut from = 0;
        while let Some(pos) = lower[from..].find(m) {
            let at = from + pos;
            from = at + m.len();
            // Must start a word.
            if at > 0 && lower.as_bytes()[at - 1].is_ascii_alphanumeric() {
                continue;
            }
            if let Some(name) = name_at(&text[at + m.len()..], m) {
                return Some(name);
            }
        }
    }
    None
}

/// The name at the start of `rest`, the text right after the marker `m`, if it looks like one.
fn name_at(rest: &str, m: &str) -> Option<String> {
    let candidate: Vec<&str> = rest
        .split([',', '.', '!', '?', '\n', ';'])
        .next()
        .unwrap_or("")
        .split_whitespace()
        .take_while(|w| {
            w.chars().any(char::is_alphabetic)
                && w.chars()
                    .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
        })
        .take(3)
        .collect();
    let first = candidate.first()?;
    let fl = first.to_lowercase();
    if NOT_NAMES.contains(&fl.as_str()) || TRADES.iter().any(|(_, w)| w.contains(&fl.as_str())) {
        return None;
    }
    // "this is" / "it's" / "i'm" need a capitalised word to count as a name.
    let loose = LOOSE_NAME_MARKERS.contains(&m);
    if loose && !first.chars().next().is_some_and(char::is_uppercase) {
        return None;
    }
    // Stop the name before a lowercase connector ("Mike and my sink…").
    let name: Vec<&str> = candidate
        .iter()
        .take_while(|w| {
            let wl = w.to_lowercase();
            ![
                "and", "from", "at", "in", "on", "with", "y", "de", "here", "calling", "again",
                "the",
            ]
            .contains(&wl.as_str())
        })
        .copied()
        .collect();
    (!name.is_empty()).then(|| capitalize_name(&name.join(" ")))
}

/// A signature at the end: "... thanks, Maria" / "- Tom".
fn signature_name(text: &str) -> Option<String> {
    let sig = text.trim().rsplit_once(['-', '—']).map(|(_, s)| s.trim())?;
    let words: Vec<&str> = sig.split_whitespace().collect();
    ((1..=2).contains(&words.len())
        && words.iter().all(|w| {
            w.chars().all(char::is_alphabetic) && w.chars().next().is_some_and(char::is_uppercase)
        }))
    .then(|| capitalize_name(sig))
}

/// A bare answer: one to three words, no digits, not a sentence. Counts when we asked for the
/// name, or (capitalised) when a caller answers another question with their name.
fn bare_name(text: &str, n: &str, asked: Option<Field>) -> Option<String> {
    let t = text.trim().trim_end_matches(['.', '!']);
    let words: Vec<&str> = t.split_whitespace().collect();
    let plain = words.iter().all(|w| {
        w.chars()
            .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
    });
    let first = words.first().map(|w| w.to_lowercase()).unwrap_or_default();
    let looks_like_name = (1..=3).contains(&words.len())
        && plain
        && !NOT_NAMES.contains(&first.as_str())
        && !has_any(n, TIME_WORDS)
        && detect_trade(n).is_none()
        && !has_any(n, HUMAN)
        && !has_any(n, WRONG);
    let capitalised = words
        .iter()
        .all(|w| w.chars().next().is_some_and(char::is_uppercase));
    (looks_like_name
        && (asked == Some(Field::Name) || (asked.is_some() && capitalised && words.len() <= 2)))
        .then(|| capitalize_name(t))
}
