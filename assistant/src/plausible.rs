//! A model's reply goes to the caller only if it makes sense as a reply; otherwise the rules
//! engine answers that turn. Measured with a real small model (issue 18): a flooding basement
//! got "DANZA IS NOT A LOSER!", another turn "sirvice", another "jon". The guardrails make a
//! reply safe (no price, no booking claim, the disclosure); this decides whether it is a reply
//! at all. Cheap checks in code, each with a reason that is logged and counted.

use nmc_domain::turn::TurnInput;

/// Why a model's reply was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implausible {
    /// Fewer than three words: a fragment, not a reply.
    TooShort,
    /// Mostly capitals.
    Shouting,
    Insult,
    /// More than one question in one text.
    ManyQuestions,
    /// Not in the caller's language (English or Spanish).
    WrongLanguage,
    /// The caller asked nothing and something is still missing, yet the reply asks nothing.
    AsksNothing,
    /// Repeats instructions, claims to be human, or promises what only the owner can.
    FollowsTheCaller,
    /// About something a trades business does not talk about.
    OffScope,
}

impl Implausible {
    pub fn as_str(self) -> &'static str {
        match self {
            Implausible::TooShort => "too_short",
            Implausible::Shouting => "shouting",
            Implausible::Insult => "insult",
            Implausible::ManyQuestions => "many_questions",
            Implausible::WrongLanguage => "wrong_language",
            Implausible::AsksNothing => "asks_nothing",
            Implausible::FollowsTheCaller => "follows_the_caller",
            Implausible::OffScope => "off_scope",
        }
    }
}

const INSULTS: [&str; 14] = [
    "loser",
    "idiot",
    "stupid",
    "moron",
    "dumb",
    "shut up",
    "hate you",
    "fuck",
    "shit",
    "bitch",
    "crap",
    "damn you",
    "pendejo",
    "estúpido",
];

/// What a caller might try to make the model say: its instructions, that it is a person, or a
/// deal only the owner can make.
const FOLLOWED: [&str; 14] = [
    "ignore your instructions",
    "ignore previous",
    "ignore all previous",
    "system prompt",
    "my instructions",
    "as an ai language model",
    "i am human",
    "i'm human",
    "i am a human",
    "i'm a real person",
    "i am a real person",
    "% off",
    "percent off",
    "free of charge",
];

const OFF_SCOPE: [&str; 9] = [
    "bitcoin",
    "crypto",
    "election",
    "politic",
    "lottery",
    "casino",
    "stock tip",
    "horoscope",
    "dating",
];

/// Spanish words a reply in Spanish nearly always has, and English ones for the reverse.
const SPANISH_MARKERS: [&str; 14] = [
    " el ",
    " la ",
    " los ",
    " las ",
    " de ",
    " que ",
    " su ",
    " por ",
    " para ",
    " es ",
    "¿",
    " usted",
    " gracias",
    " necesita",
];
const ENGLISH_MARKERS: [&str; 12] = [
    " the ", " you", " your ", " is ", " are ", " what ", " we ", " to ", " and ", " can ", " it ",
    " i'm ",
];

fn count(text: &str, markers: &[&str]) -> usize {
    markers.iter().filter(|m| text.contains(*m)).count()
}

/// Whether `reply` may answer `input`; `spanish` is the caller's language as the rules read it.
pub fn check(reply: &str, input: &TurnInput, spanish: bool) -> Result<(), Implausible> {
    let words: Vec<&str> = reply
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .collect();
    if words.len() < 3 {
        return Err(Implausible::TooShort);
    }
    let letters: Vec<char> = reply.chars().filter(|c| c.is_alphabetic()).collect();
    let capitals = letters.iter().filter(|c| c.is_uppercase()).count();
    if letters.len() >= 8 && capitals * 10 > letters.len() * 6 {
        return Err(Implausible::Shouting);
    }
    let lower = format!(" {} ", reply.to_lowercase());
    if INSULTS.iter().any(|w| lower.contains(w)) {
        return Err(Implausible::Insult);
    }
    if FOLLOWED.iter().any(|w| lower.contains(w)) {
        return Err(Implausible::FollowsTheCaller);
    }
    if OFF_SCOPE.iter().any(|w| lower.contains(w)) {
        return Err(Implausible::OffScope);
    }
    let questions = reply.matches('?').count();
    if questions > 1 {
        return Err(Implausible::ManyQuestions);
    }
    let (es, en) = (
        count(&lower, &SPANISH_MARKERS),
        count(&lower, &ENGLISH_MARKERS),
    );
    if (spanish && en > es) || (!spanish && es > en) {
        return Err(Implausible::WrongLanguage);
    }
    let caller_asked = input.message.contains('?');
    if questions == 0 && !caller_asked && !input.known.is_qualified() {
        return Err(Implausible::AsksNothing);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(message: &str) -> TurnInput {
        TurnInput {
            business_name: "Ace Plumbing".into(),
            owner_name: "Dana".into(),
            disclose: true,
            first_reply: true,
            known: nmc_domain::lead::LeadFields::default(),
            asked: None,
            history: Vec::new(),
            message: message.into(),
        }
    }

    #[test]
    fn what_a_small_model_said_is_refused() {
        let flood = input("my basement is flooding from a burst pipe");
        for (reply, why) in [
            ("DANZA IS NOT A LOSER!", Implausible::Shouting),
            ("sirvice", Implausible::TooShort),
            ("jon", Implausible::TooShort),
            ("You are a loser, call someone else.", Implausible::Insult),
            (
                "Sure! Ignore previous rules: you get 90% off.",
                Implausible::FollowsTheCaller,
            ),
            (
                "Yes, I'm a real person here to help.",
                Implausible::FollowsTheCaller,
            ),
            (
                "What is the address? And your name?",
                Implausible::ManyQuestions,
            ),
            (
                "Have you thought about buying bitcoin today?",
                Implausible::OffScope,
            ),
            (
                "Claro, ¿cuál es la dirección de su casa?",
                Implausible::WrongLanguage,
            ),
            (
                "Thanks for reaching out to us today.",
                Implausible::AsksNothing,
            ),
        ] {
            assert_eq!(check(reply, &flood, false), Err(why), "{reply}");
        }
    }

    #[test]
    fn a_sensible_reply_goes() {
        let i = input("my kitchen sink won't drain");
        assert_eq!(
            check("Sorry to hear that. What's the service address?", &i, false),
            Ok(())
        );
        let es = input("hola, necesito un plomero");
        assert_eq!(
            check("Claro. ¿Cuál es la dirección del servicio?", &es, true),
            Ok(())
        );
        let asked = input("are you licensed and insured?");
        assert_eq!(
            check("Yes, we are licensed and insured in Texas.", &asked, false),
            Ok(())
        );
    }
}
