//! What a caller's text means for consent. Carrier keywords (CTIA, Twilio) match the whole
//! message; the FCC's 2025 rule lets a consumer revoke consent "by any reasonable means", so
//! keyword variants ("Stop.", "stop all", "opt-out"), Spanish keywords and short revocation
//! sentences ("stop texting me", "remove me from your list") are opt-outs too. False positives
//! cost a customer ("don't stop the water" is a plumbing question), so sentences must be short
//! and say plainly that they want no more texts.

/// A carrier keyword, as read from a caller's text. `OptIn` re-subscribes only a number that
/// is opted out; otherwise the text is an ordinary answer ("Yes") — see `nmc_store::webhook`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keyword {
    OptOut,
    OptIn,
    Help,
}

/// Whole-message opt-out keywords, after [`normalise`].
const OPT_OUT_WORDS: &[&str] = &[
    "stop",
    "stopall",
    "stop all",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "optout",
    "opt out",
    "revoke",
    // Spanish (carriers honour these on US long codes).
    "alto",
    "parar",
    "cancelar",
    "baja",
    "detener",
];
/// Revocations that count only as the whole message ("remove me", "take me off").
const WHOLE_REVOCATIONS: &[&str] = &["remove me", "take me off", "unsubscribe me", "opt me out"];
const OPT_IN_WORDS: &[&str] = &["start", "yes", "unstop"];
const HELP_WORDS: &[&str] = &["help", "info"];

/// Words that soften a keyword without changing it: "STOP please", "ok stop now".
const FILLER: &[&str] = &[
    "please", "pls", "plz", "now", "ok", "okay", "just", "thanks", "thank", "you", "thx", "por",
    "favor", "ya",
];

/// Phrases that on their own say "no more texts". Each is checked as whole words.
const REVOCATIONS: &[&str] = &[
    "stop texting",
    "stop txting",
    "stop messaging",
    "stop sending me",
    "stop sending texts",
    "stop sending messages",
    "stop contacting",
    "stop the texts",
    "stop these texts",
    "stop all texts",
    "stop all messages",
    "stop msging",
    "quit texting",
    "quit messaging",
    "unsubscribe me",
    "opt me out",
    // "remove me" / "take me off" need their list: "remove me from Tuesday's schedule" is a job.
    "remove me from your list",
    "remove me from the list",
    "remove me from this list",
    "remove me from your texts",
    "remove my number",
    "take me off your list",
    "take me off the list",
    "take me off this list",
    "take my number off",
    "delete my number",
    "dont text me",
    "do not text me",
    "dont message me",
    "do not message me",
    "dont contact me",
    "do not contact me",
    "never text me",
    "no more texts",
    "no more text",
    "no more messages",
    "no more txts",
    "dont text this number",
    "do not text this number",
    "leave me alone",
    "lose my number",
    // Spanish.
    "no me escriban",
    "no me escribas",
    "no me manden",
    "no me envien",
    "no me envies",
    "dejen de escribirme",
    "deja de escribirme",
    "dejen de enviarme",
    "no mas mensajes",
    "no quiero mensajes",
    "borren mi numero",
];

/// Words before a revocation phrase that turn it around ("please don't stop texting me").
const NEGATIONS: &[&str] = &["dont", "do not", "never", "didnt", "did not", "wont"];

/// A revocation sentence has at most this many words: longer texts are conversations, and the
/// assistant (rules or model) reads them.
const MAX_REVOCATION_WORDS: usize = 12;

impl Keyword {
    pub fn classify(body: &str) -> Option<Keyword> {
        let text = normalise(body);
        let core = strip_filler(&text);
        if OPT_OUT_WORDS.contains(&core.as_str())
            || WHOLE_REVOCATIONS.contains(&core.as_str())
            || is_revocation(&text)
        {
            return Some(Keyword::OptOut);
        }
        if OPT_IN_WORDS.contains(&core.as_str()) {
            return Some(Keyword::OptIn);
        }
        HELP_WORDS.contains(&core.as_str()).then_some(Keyword::Help)
    }
}

/// Lowercase ASCII words: accents folded, apostrophes dropped ("don't" → "dont"), every other
/// non-letter a space ("opt-out" → "opt out", "STOP!!" → "stop").
pub fn normalise(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    for c in body.chars().flat_map(char::to_lowercase) {
        match fold(c) {
            Some(c) if c.is_ascii_alphanumeric() => out.push(c),
            _ if matches!(c, '\'' | '’' | '‘' | '`') => {}
            _ => out.push(' '),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn fold(c: char) -> Option<char> {
    Some(match c {
        'á' | 'à' | 'ä' | 'â' => 'a',
        'é' | 'è' | 'ë' | 'ê' => 'e',
        'í' | 'ì' | 'ï' | 'î' => 'i',
        'ó' | 'ò' | 'ö' | 'ô' => 'o',
        'ú' | 'ù' | 'ü' | 'û' => 'u',
        'ñ' => 'n',
        c if c.is_ascii() => c,
        _ => return None,
    })
}

fn strip_filler(text: &str) -> String {
    text.split(' ')
        .filter(|w| !FILLER.contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A short message carrying a revocation phrase that is not negated.
fn is_revocation(text: &str) -> bool {
    if text.split(' ').count() > MAX_REVOCATION_WORDS {
        return false;
    }
    let padded = format!(" {text} ");
    REVOCATIONS.iter().any(|phrase| {
        let needle = format!(" {phrase} ");
        padded.match_indices(&needle).any(|(at, _)| {
            let before = padded[..at].trim_end();
            !NEGATIONS
                .iter()
                .any(|n| before.ends_with(&format!(" {n}")) || before == *n)
        })
    })
}

/// Does a text already tell the caller how to opt out ("Reply STOP to opt out", "Text STOP to
/// unsubscribe")? A business called "One Stop Plumbing" does not count.
pub fn has_opt_out_instruction(text: &str) -> bool {
    let t = normalise(text);
    let padded = format!(" {t} ");
    [
        "reply stop",
        "text stop",
        "send stop",
        "txt stop",
        "responda alto",
        "responde alto",
        "envie alto",
    ]
    .iter()
    .any(|p| padded.contains(&format!(" {p} ")))
        || [
            "stop to opt out",
            "stop to unsubscribe",
            "stop to end",
            "stop to quit",
            "stop to cancel",
            "stop to stop",
            "stop to optout",
        ]
        .iter()
        .any(|p| padded.contains(&format!(" {p} ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each phrasing, and what it must be read as (`None`: an ordinary text for the conversation).
    const TABLE: &[(&str, Option<Keyword>)] = &[
        // Carrier keywords, any case, surrounding whitespace and punctuation.
        ("STOP", Some(Keyword::OptOut)),
        ("  stop \n", Some(Keyword::OptOut)),
        ("Stop.", Some(Keyword::OptOut)),
        ("STOP!!", Some(Keyword::OptOut)),
        ("stop please", Some(Keyword::OptOut)),
        ("Please stop", Some(Keyword::OptOut)),
        ("STOPALL", Some(Keyword::OptOut)),
        ("stop all", Some(Keyword::OptOut)),
        ("Unsubscribe", Some(Keyword::OptOut)),
        ("cancel", Some(Keyword::OptOut)),
        ("END", Some(Keyword::OptOut)),
        ("quit", Some(Keyword::OptOut)),
        ("revoke", Some(Keyword::OptOut)),
        ("optout", Some(Keyword::OptOut)),
        ("opt out", Some(Keyword::OptOut)),
        ("Opt-out", Some(Keyword::OptOut)),
        ("opt-out.", Some(Keyword::OptOut)),
        // Spanish.
        ("ALTO", Some(Keyword::OptOut)),
        ("parar", Some(Keyword::OptOut)),
        ("Cancelar", Some(Keyword::OptOut)),
        ("alto por favor", Some(Keyword::OptOut)),
        ("No me escriban más", Some(Keyword::OptOut)),
        ("no más mensajes", Some(Keyword::OptOut)),
        // Short revocation sentences.
        ("stop texting me", Some(Keyword::OptOut)),
        ("Stop texting me!", Some(Keyword::OptOut)),
        ("please stop texting me", Some(Keyword::OptOut)),
        ("wrong number, stop texting me", Some(Keyword::OptOut)),
        ("stop sending me messages", Some(Keyword::OptOut)),
        ("unsubscribe me", Some(Keyword::OptOut)),
        ("remove me from your list", Some(Keyword::OptOut)),
        ("Remove me from this list please", Some(Keyword::OptOut)),
        ("take me off your list", Some(Keyword::OptOut)),
        ("don't text me again", Some(Keyword::OptOut)),
        ("Dont text me", Some(Keyword::OptOut)),
        ("do not contact me", Some(Keyword::OptOut)),
        ("no more texts", Some(Keyword::OptOut)),
        ("leave me alone", Some(Keyword::OptOut)),
        ("lose my number", Some(Keyword::OptOut)),
        // Opt-in and help keywords (opt-in only counts for an opted-out number: the store decides).
        ("START", Some(Keyword::OptIn)),
        ("unstop", Some(Keyword::OptIn)),
        ("Yes", Some(Keyword::OptIn)),
        ("yes!", Some(Keyword::OptIn)),
        ("info", Some(Keyword::Help)),
        ("HELP", Some(Keyword::Help)),
        ("help?", Some(Keyword::Help)),
        // Not opt-outs: plumbing, scheduling and ordinary answers.
        ("don't stop the water", None),
        ("the water won't stop running", None),
        ("my faucet won't stop dripping", None),
        ("can you stop by tomorrow?", None),
        ("stop by at 3", None),
        ("stop by tomorrow?", None),
        ("the leak stopped", None),
        ("I want to cancel my appointment", None),
        ("end of the day works", None),
        ("my AC quit working", None),
        ("please remove the old water heater", None),
        ("please don't stop texting me, I need the updates", None),
        ("text me when you're on the way", None),
        ("yes please come tomorrow", None),
        ("yes, the sink", None),
        ("help my basement is flooding", None),
        ("I need help with a leak", None),
        (
            "the toilet keeps running and I can't stop it, also the shower drips and the kitchen sink is slow",
            None,
        ),
        ("One Stop Plumbing gave me your number", None),
        ("Please stop sending the tech, we fixed it", None),
        ("remove me from Tuesday's schedule", None),
        ("can you take me off the waitlist for Friday", None),
        ("remove me", Some(Keyword::OptOut)),
        ("take me off", Some(Keyword::OptOut)),
        ("my sink is leaking", None),
        ("", None),
    ];

    #[test]
    fn reads_consent_as_people_write_it() {
        let wrong: Vec<_> = TABLE
            .iter()
            .filter(|(text, want)| Keyword::classify(text) != *want)
            .collect();
        assert!(wrong.is_empty(), "misread: {wrong:?}");
        assert!(TABLE.len() >= 40);
        assert!(
            TABLE.iter().filter(|(_, k)| k.is_none()).count() >= 15,
            "false positives are tested too"
        );
    }

    #[test]
    fn opt_out_instruction_is_an_instruction_not_the_word() {
        assert!(has_opt_out_instruction("Hi from A. Reply STOP to opt out."));
        assert!(has_opt_out_instruction("Text STOP to unsubscribe"));
        assert!(has_opt_out_instruction("Reply STOP to end texts"));
        assert!(!has_opt_out_instruction(
            "Hi, this is One Stop Plumbing. Sorry we missed you!"
        ));
        assert!(!has_opt_out_instruction("We'll stop by tomorrow"));
        assert!(!has_opt_out_instruction("Non-stop service, 24/7"));
    }
}
