use super::*;

fn plumbing() -> Vec<Faq> {
    starter("plumbing")
}

fn answered(message: &str) -> Option<String> {
    let faqs = plumbing();
    best_match(message, &faqs).map(|m| m.faq.question.clone())
}

/// Paraphrases callers send, each with the starter question it must land on.
const PARAPHRASES: &[(&str, &str)] = &[
    (
        "are you licensed and insured?",
        "Are you licensed and insured?",
    ),
    ("Are u insured", "Are you licensed and insured?"),
    (
        "do you guys carry insurance?",
        "Are you licensed and insured?",
    ),
    (
        "Hi, my heater leaks. Are you licenced?",
        "Are you licensed and insured?",
    ),
    (
        "is your company bonded and insurd?",
        "Are you licensed and insured?",
    ),
    (
        "do you take credit cards?",
        "What payment methods do you accept?",
    ),
    (
        "Can I pay with Venmo or Zelle?",
        "What payment methods do you accept?",
    ),
    (
        "what forms of payment do you accept",
        "What payment methods do you accept?",
    ),
    ("is the work guaranteed?", "Do you offer a warranty?"),
    (
        "do you have a warranty on repairs?",
        "Do you offer a warranty?",
    ),
    ("what time do you close?", "What are your hours?"),
    ("are you open on weekends?", "What are your hours?"),
    ("what areas do you serve?", "What area do you serve?"),
    ("do you travel to Round Rock?", "What area do you serve?"),
    ("are estimates free?", "Do you give free estimates?"),
    ("do you do emergencies?", "Do you do emergency plumbing?"),
    (
        "do you work on tankless heaters?",
        "Do you work on tankless water heaters?",
    ),
];

#[test]
fn paraphrases_find_their_question() {
    let mut missed = Vec::new();
    for (message, question) in PARAPHRASES {
        if answered(message).as_deref() != Some(*question) {
            missed.push(format!("{message:?} → {:?}", answered(message)));
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
}

#[test]
fn what_is_not_asked_is_not_answered() {
    for message in [
        "my toilet keeps running",
        "Sam Lee",
        "tomorrow afternoon works",
        "can you check my furnace?",
        "how long does it take?",
        "do you fix garage doors?",
        "what's the weather like",
        "ok",
    ] {
        assert_eq!(answered(message), None, "{message}");
    }
}

#[test]
fn a_question_about_the_business_is_told_from_booking_and_prices() {
    assert!(is_business_question("do you fix garage doors?"));
    assert!(is_business_question("Are you family owned"));
    assert!(!is_business_question("when can you come?"));
    assert!(!is_business_question("how much for a faucet?"));
    assert!(!is_business_question("my sink is clogged"));
}

#[test]
fn an_owners_faq_is_checked_before_it_is_saved() {
    let ok = Faq {
        question: "Do you service boilers?".into(),
        answer: "Yes, gas and oil boilers.".into(),
    };
    assert!(check(&ok).is_ok());
    let priced = Faq {
        answer: "Yes, from $99.".into(),
        ..ok.clone()
    };
    assert_eq!(check(&priced).unwrap_err().0, "answer");
    let empty = Faq {
        question: "the?".into(),
        ..ok
    };
    assert_eq!(check(&empty).unwrap_err().0, "question");
    for trade in [
        "plumbing",
        "hvac",
        "electrical",
        "handyman",
        "cleaning",
        "auto",
    ] {
        for f in starter(trade) {
            assert!(check(&f).is_ok(), "{f:?}");
        }
    }
}
