//! The business's FAQ: questions the owner answers once, that the assistant answers for them.
//!
//! Matching is word overlap after normalising (stop words out, a light stem, a small synonym
//! table for the words callers use about insurance, payment, warranties, fees, hours and area),
//! with fuzzy word equality (Jaro-Winkler ≥ 0.92, from `strsim`) for misspellings. The score is
//! an F2 measure, so covering the FAQ's question counts more than the caller's extra words
//! ("Hi, my heater leaks. Are you insured?" still matches "Are you licensed and insured?").
//! Below [`THRESHOLD`] the question goes to the owner instead of a guess. Embeddings would
//! catch more paraphrases but need a model at runtime; this is deterministic and explainable.

mod starter;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use starter::starter;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faq {
    pub question: String,
    pub answer: String,
}

/// The lowest score answered from the FAQ; below it the owner is asked.
pub const THRESHOLD: f64 = 0.5;
/// Limits on what an owner saves (an answer is sent as is, within two SMS).
pub const MAX_QUESTION: usize = 200;
pub const MAX_ANSWER: usize = 300;
pub const MAX_FAQS: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match<'a> {
    pub faq: &'a Faq,
    pub index: usize,
    pub score: f64,
}

const STOP: &[&str] = &[
    "a",
    "about",
    "an",
    "and",
    "any",
    "are",
    "at",
    "be",
    "can",
    "could",
    "did",
    "do",
    "does",
    "for",
    "from",
    "get",
    "guys",
    "have",
    "hello",
    "hey",
    "hi",
    "how",
    "i",
    "if",
    "in",
    "is",
    "it",
    "just",
    "me",
    "my",
    "of",
    "on",
    "or",
    "our",
    "please",
    "so",
    "the",
    "there",
    "this",
    "to",
    "u",
    "us",
    "want",
    "was",
    "we",
    "what",
    "when",
    "where",
    "which",
    "who",
    "will",
    "with",
    "would",
    "y",
    "ya",
    "you",
    "your",
    "yall",
    "all",
    "know",
    "wondering",
    "question",
    "quick",
    "also",
    "still",
    "ok",
    "okay",
    "thanks",
    "thank",
    "s",
    "take",
    "offer",
    "offers",
    "provide",
    "give",
    "method",
    "methods",
    "form",
    "forms",
    "kind",
    "kinds",
    "type",
    "types",
    "company",
    "business",
];

/// Words that mean the same thing to a caller, folded to one.
const SYNONYMS: &[(&str, &[&str])] = &[
    (
        "insur",
        &[
            "insured",
            "insurance",
            "bonded",
            "liability",
            "coverage",
            "covered",
        ],
    ),
    (
        "licens",
        &[
            "licensed",
            "license",
            "licence",
            "licenced",
            "certified",
            "certification",
            "registered",
        ],
    ),
    (
        "pay",
        &[
            "payment",
            "payments",
            "paying",
            "card",
            "cards",
            "credit",
            "debit",
            "cash",
            "cheque",
            "venmo",
            "zelle",
            "paypal",
            "financing",
            "finance",
            "accept",
        ],
    ),
    (
        "warranti",
        &[
            "warranty",
            "warranties",
            "guarantee",
            "guaranteed",
            "guarantees",
        ],
    ),
    (
        "fee",
        &[
            "fees",
            "charge",
            "charges",
            "extra",
            "surcharge",
            "cost",
            "costs",
            "trip",
            "callout",
        ],
    ),
    (
        "hour",
        &[
            "hours", "open", "close", "closed", "closing", "weekend", "weekends", "saturday",
            "sunday", "nights", "evenings",
        ],
    ),
    (
        "area",
        &[
            "areas", "serve", "travel", "zip", "town", "city", "near", "nearby", "far",
        ],
    ),
    (
        "emergenc",
        &[
            "emergency",
            "emergencies",
            "urgent",
            "24/7",
            "after-hours",
            "overnight",
            "midnight",
        ],
    ),
    (
        "estimat",
        &["estimate", "estimates", "quote", "quotes", "free"],
    ),
];

fn fold(word: &str) -> String {
    for (canon, words) in SYNONYMS {
        if words.contains(&word) {
            return (*canon).to_owned();
        }
    }
    stem(word)
}

/// A light English stem: enough that "leaking", "leaks" and "leak" meet.
fn stem(word: &str) -> String {
    for suffix in ["ing", "ies", "ed", "es", "s"] {
        if let Some(base) = word.strip_suffix(suffix)
            && base.chars().count() >= 3
        {
            return base.to_owned();
        }
    }
    word.to_owned()
}

/// The words that carry meaning, normalised, without repeats.
pub fn terms(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out: Vec<String> = Vec::new();
    for word in lower
        .split(|c: char| !(c.is_alphanumeric() || c == '/' || c == '-'))
        .map(|w| w.trim_matches(|c| c == '/' || c == '-'))
        .filter(|w| !w.is_empty() && !STOP.contains(w))
    {
        let t = fold(word);
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

fn same(a: &str, b: &str) -> bool {
    a == b || (a.len() >= 5 && b.len() >= 5 && strsim::jaro_winkler(a, b) >= 0.92)
}

/// How well `message` asks `question`: 0 (nothing shared) to 1. Each sentence of the message
/// is scored on its own too, so the question is not drowned by the story around it.
pub fn score(message: &str, question: &str) -> f64 {
    let q = terms(question);
    std::iter::once(message)
        .chain(message.split(['.', '!', '?', ';', '\n']))
        .map(|part| f2(&terms(part), &q))
        .fold(0.0, f64::max)
}

/// F2 of the question's words found in the message: recall counts four times precision.
fn f2(m: &[String], q: &[String]) -> f64 {
    if m.is_empty() || q.is_empty() {
        return 0.0;
    }
    let found = q.iter().filter(|t| m.iter().any(|w| same(t, w))).count() as f64;
    let relevant = m.iter().filter(|w| q.iter().any(|t| same(t, w))).count() as f64;
    if found == 0.0 {
        return 0.0;
    }
    let recall = found / q.len() as f64;
    let precision = relevant / m.len() as f64;
    5.0 * precision * recall / (4.0 * precision + recall)
}

/// The FAQ the message asks, if it asks one and one scores at least [`THRESHOLD`].
pub fn best_match<'a>(message: &str, faqs: &'a [Faq]) -> Option<Match<'a>> {
    if !is_question(message) {
        return None;
    }
    faqs.iter()
        .enumerate()
        .map(|(index, faq)| Match {
            faq,
            index,
            score: score(message, &faq.question),
        })
        .filter(|m| m.score >= THRESHOLD)
        .max_by(|a, b| a.score.total_cmp(&b.score))
}

const ASKING: &[&str] = &[
    "do", "does", "are", "is", "can", "could", "will", "would", "what", "whats", "how", "when",
    "where", "which", "who", "why", "hacen", "tienen", "aceptan", "cuanto", "cuánto", "qué", "que",
    "cómo", "como", "dónde",
];

/// Words that make a question about getting the job booked, which qualifying answers already.
const SCHEDULING: &[&str] = &[
    "come",
    "today",
    "tomorrow",
    "soon",
    "available",
    "availability",
    "appointment",
    "schedule",
    "someone",
    "anybody",
    "anyone",
    "send",
    "call",
    "price",
    "much",
    "cost",
];

fn words(lower: &str) -> Vec<&str> {
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Does the caller ask something (a question mark, or a sentence opening like one)?
pub fn is_question(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.contains('?')
        || lower.contains('¿')
        || lower
            .split(['.', '!', ','])
            .any(|s| words(s).first().is_some_and(|w| ASKING.contains(w)))
}

/// Is this a question about the business (one the FAQ or the owner answers), rather than a
/// question about when someone can come or what it costs, which qualifying answers already?
pub fn is_business_question(message: &str) -> bool {
    let lower = message.to_lowercase();
    is_question(message) && !words(&lower).iter().any(|w| SCHEDULING.contains(w))
}

/// Why an owner's FAQ cannot be saved, if it cannot.
pub fn check(faq: &Faq) -> Result<(), (&'static str, String)> {
    let (q, a) = (faq.question.trim(), faq.answer.trim());
    if q.is_empty() || q.chars().count() > MAX_QUESTION {
        return Err((
            "question",
            format!("must be 1 to {MAX_QUESTION} characters"),
        ));
    }
    if terms(q).is_empty() {
        return Err(("question", "needs a word the assistant can match on".into()));
    }
    if a.is_empty() || a.chars().count() > MAX_ANSWER {
        return Err(("answer", format!("must be 1 to {MAX_ANSWER} characters")));
    }
    if a.contains('$') || a.contains('€') {
        return Err((
            "answer",
            "prices go in your price list: the assistant quotes only from it".into(),
        ));
    }
    Ok(())
}
