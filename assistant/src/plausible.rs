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
    /// The caller asked one of the business's FAQ questions and the reply does not say the
    /// owner's answer.
    IgnoresTheFaq,
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
            Implausible::IgnoresTheFaq => "ignores_the_faq",
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

/// Lowercase words separated by single spaces, padded: `" we ll text you closer "`, so a word
/// list matches whole words only ("closer" is not "loser").
fn words_of(text: &str) -> String {
    let mut out = String::from(" ");
    for w in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '%')
        .filter(|w| !w.is_empty())
    {
        out.push_str(w);
        out.push(' ');
    }
    out
}

fn has_word(words: &str, list: &[&str]) -> bool {
    list.iter()
        .any(|w| words.contains(&format!(" {} ", words_of(w).trim())))
}

/// The caller asked something: a question mark, or a question's first word.
fn asks(message: &str) -> bool {
    const OPENERS: [&str; 16] = [
        "do", "does", "did", "are", "is", "can", "could", "will", "would", "what", "when", "how",
        "who", "where", "why", "which",
    ];
    message.contains('?')
        || words_of(message)
            .split_whitespace()
            .next()
            .is_some_and(|w| OPENERS.contains(&w))
}

/// What the model decided beside its words: these stand even when its reply is not sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Decided {
    /// The lead is qualified with what the model just learned.
    pub qualified: bool,
    /// An opt-out, a decline, a hand-off or an emergency: a reply with no question is right.
    pub ends_the_asking: bool,
}

/// Whether `reply` may answer `input`; `spanish` is the conversation's language as the rules
/// read it (any of the caller's texts).
pub fn check(
    reply: &str,
    input: &TurnInput,
    spanish: bool,
    decided: Decided,
) -> Result<(), Implausible> {
    let word_count = reply
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count();
    if word_count < 3 {
        return Err(Implausible::TooShort);
    }
    let letters: Vec<char> = reply.chars().filter(|c| c.is_alphabetic()).collect();
    let capitals = letters.iter().filter(|c| c.is_uppercase()).count();
    if letters.len() >= 8 && capitals * 10 > letters.len() * 6 {
        return Err(Implausible::Shouting);
    }
    let words = words_of(reply);
    if has_word(&words, &INSULTS) {
        return Err(Implausible::Insult);
    }
    let lower = format!(" {} ", reply.to_lowercase());
    if FOLLOWED.iter().any(|w| lower.contains(w)) {
        return Err(Implausible::FollowsTheCaller);
    }
    if has_word(&words, &OFF_SCOPE) {
        return Err(Implausible::OffScope);
    }
    let questions = reply.matches('?').count();
    if questions > 1 {
        return Err(Implausible::ManyQuestions);
    }
    // Only a reply plainly in the other language: two of its markers and none of ours.
    let (es, en) = (
        count(&lower, &SPANISH_MARKERS),
        count(&lower, &ENGLISH_MARKERS),
    );
    if (spanish && es == 0 && en >= 2) || (!spanish && en == 0 && es >= 2) {
        return Err(Implausible::WrongLanguage);
    }
    // An FAQ question is answered from the owner's answer: the reply shares its words.
    if let Some(m) = nmc_domain::faq::best_match(&input.message, &input.business.faqs) {
        let answer = nmc_domain::faq::terms(&m.faq.answer);
        let said = nmc_domain::faq::terms(reply);
        if !answer.iter().any(|t| t.len() >= 4 && said.contains(t)) {
            return Err(Implausible::IgnoresTheFaq);
        }
    }
    let must_ask = !decided.qualified && !decided.ends_the_asking && !asks(&input.message);
    if questions == 0 && must_ask {
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
            business: Default::default(),
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
            assert_eq!(
                check(reply, &flood, false, Decided::default()),
                Err(why),
                "{reply}"
            );
        }
    }

    #[test]
    fn a_sensible_reply_goes() {
        let i = input("my kitchen sink won't drain");
        let open = Decided::default();
        assert_eq!(
            check(
                "Sorry to hear that. What's the service address?",
                &i,
                false,
                open
            ),
            Ok(())
        );
        // Whole words only: "closer" is no insult, "selection" no election.
        assert_eq!(
            check(
                "We'll text you closer to the time. Which selection works?",
                &i,
                false,
                open
            ),
            Ok(())
        );
        // A question without its mark, a goodbye after an opt-out, a Spanish name in English.
        let asked = input("do you do water heaters");
        assert_eq!(
            check(
                "Yes, we repair and replace water heaters.",
                &asked,
                false,
                open
            ),
            Ok(())
        );
        let done = Decided {
            qualified: false,
            ends_the_asking: true,
        };
        assert_eq!(
            check("Understood, we won't text you again.", &i, false, done),
            Ok(())
        );
        assert_eq!(
            check(
                "Thanks! What is the address and when can we come?",
                &i,
                true,
                open
            ),
            Err(Implausible::WrongLanguage)
        );
        let es = input("hola, necesito un plomero");
        assert_eq!(
            check(
                "Claro. ¿Cuál es la dirección del servicio?",
                &es,
                true,
                open
            ),
            Ok(())
        );
        let asked = input("are you licensed and insured?");
        assert_eq!(
            check(
                "Yes, we are licensed and insured in Texas.",
                &asked,
                false,
                open
            ),
            Ok(())
        );
    }

    #[test]
    fn an_faq_question_is_answered_with_the_owners_answer() {
        let mut i = input("are you insured?");
        i.business.faqs = nmc_domain::faq::starter("plumbing");
        let d = Decided::default();
        assert_eq!(
            check("Jai! Welcome! This is your team! Good luck!", &i, false, d),
            Err(Implausible::IgnoresTheFaq)
        );
        assert_eq!(
            check("Yes, we are fully licensed and insured.", &i, false, d),
            Ok(())
        );
    }
}
