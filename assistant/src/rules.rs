//! The rules assistant: reads each message with [`crate::extract`], keeps what is new, and asks
//! for the next missing item, one short question at a time.

use crate::extract::{self, Field, LeadFields, Reading};
use crate::guardrails::{self, Policy};
use crate::{Assistant, Intent, TurnInput, TurnOutcome};
use nmc_domain::faq;

#[derive(Debug, Clone, Copy, Default)]
pub struct RulesAssistant;

fn next_missing(f: &LeadFields) -> Option<Field> {
    if f.service_needed.is_none() {
        Some(Field::Service)
    } else if f.name.is_none() {
        Some(Field::Name)
    } else if f.address.is_none() {
        Some(Field::Address)
    } else if f.preferred_time.is_none() && f.urgency.as_deref() != Some("emergency") {
        Some(Field::Time)
    } else {
        None
    }
}

fn question(field: Field, es: bool) -> &'static str {
    match (field, es) {
        (Field::Service, false) => "What can we help you with?",
        (Field::Name, false) => "Can I get your name?",
        (Field::Address, false) => "What's the address for the job?",
        (Field::Time, false) => "When works best for you: today, tomorrow, or later this week?",
        (Field::Service, true) => "¿En qué le podemos ayudar?",
        (Field::Name, true) => "¿Me da su nombre?",
        (Field::Address, true) => "¿Cuál es la dirección del trabajo?",
        (Field::Time, true) => "¿Cuándo le queda mejor: hoy, mañana o más tarde esta semana?",
    }
}

/// What one turn says and records, before the guardrails shape the words.
struct Reply {
    intent: Intent,
    needs_human: bool,
    parts: Vec<String>,
    asked: Option<Field>,
    note: Option<String>,
    for_owner: Option<String>,
}

impl Reply {
    fn saying(intent: Intent, part: String) -> Self {
        Self {
            intent,
            needs_human: false,
            parts: vec![part],
            asked: None,
            note: None,
            for_owner: None,
        }
    }
}

/// Words that mean the caller should leave the house before anything else.
const LEAVE_THE_HOUSE: [&str; 8] = [
    "gas",
    "smoke",
    "fire",
    "burning",
    "carbon monoxide",
    "co alarm",
    "co detector",
    "humo",
];

/// A caller who wrote Spanish once is answered in Spanish for the rest of the conversation.
fn speaks_spanish(input: &TurnInput, reading: &Reading) -> bool {
    reading.spanish
        || input
            .history
            .iter()
            .filter(|l| l.from == "caller")
            .any(|l| extract::read(&l.text, None).spanish)
}

/// The owner by first name, as a neighbour would say it; "the owner" when we have no name.
fn owner_first_name(owner_name: &str) -> String {
    if owner_name.is_empty() {
        "the owner".to_string()
    } else {
        owner_name
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string()
    }
}

/// Picks the one kind of reply this message calls for; the order of the checks is the priority.
fn reply_to(
    input: &TurnInput,
    reading: &Reading,
    known: &LeadFields,
    owner: &str,
    es: bool,
) -> Reply {
    if reading.wrong_number
        && input.known.service_needed.is_none()
        && reading.fields.service_needed.is_none()
    {
        Reply::saying(Intent::Other, wrong_number_goodbye(es))
    } else if reading.declined && !reading.emergency {
        Reply::saying(Intent::Declined, declined_goodbye(es))
    } else if reading.emergency {
        emergency_reply(&input.message, known, owner, es)
    } else if reading.angry || reading.wants_human {
        Reply {
            needs_human: true,
            ..Reply::saying(Intent::NeedsHuman, handoff_notice(reading.angry, owner, es))
        }
    } else {
        qualifying_reply(input, reading, known, owner, es)
    }
}

/// A wrong number gets a polite goodbye and the door left open.
fn wrong_number_goodbye(es: bool) -> String {
    if es {
        "¡Perdón por la molestia! Si algún día necesita ayuda, escríbanos aquí.".into()
    } else {
        "Sorry to bother you! If you ever need a hand, just text this number.".into()
    }
}

/// A caller who is done gets thanks and no more questions.
fn declined_goodbye(es: bool) -> String {
    if es {
        "¡Entendido, gracias por avisarnos! Si algún día necesita ayuda, escríbanos aquí.".into()
    } else {
        "No problem, thanks for letting us know! If you ever need a hand, just text this number."
            .into()
    }
}

/// Tells the caller the owner is being alerted, how to stay safe, and asks only what the owner
/// needs to get there: where, then who.
fn emergency_reply(message: &str, known: &LeadFields, owner: &str, es: bool) -> Reply {
    let mut reply = Reply::saying(
        Intent::Emergency,
        if es {
            format!("Eso suena urgente: estoy avisando a {owner} ahora mismo.")
        } else {
            format!("That sounds urgent. I'm alerting {owner} right now.")
        },
    );
    let n = message.to_lowercase();
    if LEAVE_THE_HOUSE.iter().any(|w| n.contains(w)) {
        reply.parts.push(if es {
            "Si huele a gas o hay humo, salga de la casa y llame al 911.".into()
        } else {
            "If you smell gas or see smoke, get everyone outside and call 911.".into()
        });
    }
    if let Some(field) = [Field::Address, Field::Name].into_iter().find(|f| {
        next_missing(known) == Some(*f) || (*f == Field::Address && known.address.is_none())
    }) {
        reply.asked = Some(field);
        reply.parts.push(question(field, es).into());
    }
    reply
}

/// An upset caller, or one asking for a person, is handed to the owner.
fn handoff_notice(angry: bool, owner: &str, es: bool) -> String {
    if es {
        format!("Lo siento. Le pido a {owner} que le contacte personalmente.")
    } else if angry {
        format!("I'm sorry about that. I'm asking {owner} to reach out to you personally.")
    } else {
        format!("Of course. I'm asking {owner} to get back to you personally.")
    }
}

/// The ordinary turn: acknowledge what the caller said, then ask for the next missing item, or
/// tell them the owner will follow up once the lead is qualified.
fn qualifying_reply(
    input: &TurnInput,
    reading: &Reading,
    known: &LeadFields,
    owner: &str,
    es: bool,
) -> Reply {
    let mut reply = Reply::saying(Intent::Question, String::new());
    reply.parts.clear();
    if let Some(m) = faq::best_match(&input.message, &input.business.faqs) {
        // The owner's own answer, word for word; the thread says which question it was.
        reply.parts.push(m.faq.answer.clone());
        reply.note = Some(format!("From your FAQ: {}", m.faq.question));
    } else if faq::is_business_question(&input.message)
        && reading.fields == LeadFields::default()
        && !reading.price_question
    {
        // Not in the FAQ: the owner answers rather than the assistant guessing.
        reply.parts.push(if es {
            format!("Buena pregunta: le pido a {owner} que se lo confirme.")
        } else {
            format!("Good question. I'll have {owner} confirm that for you.")
        });
        let asked: String = input.message.chars().take(200).collect();
        reply.note = Some("Passed to you: not in your FAQ".into());
        reply.for_owner = Some(format!(
            "A caller asked \"{asked}\", which your FAQ does not answer. The assistant said you would confirm: please reply to them (and add it to your FAQ)."
        ));
    } else {
        reply.parts.extend(acknowledgement(input, reading, es));
    }
    match next_missing(known) {
        Some(field) => {
            reply.asked = Some(field);
            reply.parts.push(question(field, es).into());
        }
        None if !input.known.is_qualified() => {
            reply.intent = Intent::Booking;
            reply.parts.push(if es {
                format!("¡Listo! {owner} le confirmará la visita en breve.")
            } else {
                format!("That's everything I need. {owner} will follow up shortly to set a time.")
            });
        }
        None => {
            reply.intent = Intent::Other;
            reply.parts.push(if es {
                format!("Gracias, se lo paso a {owner}.")
            } else {
                format!("Thanks, I'll pass that along to {owner}.")
            });
        }
    }
    reply
}

/// A word back for what the caller just said: prices are the owner's to give, a new name is
/// thanked, anything else learned is acknowledged.
fn acknowledgement(input: &TurnInput, reading: &Reading, es: bool) -> Option<String> {
    if reading.price_question {
        Some(if es {
            "El precio depende del trabajo; el dueño se lo confirmará.".into()
        } else {
            "Pricing depends on the job; the owner will confirm it with you.".into()
        })
    } else if let Some(name) = reading
        .fields
        .name
        .as_ref()
        .filter(|_| input.known.name.is_none())
    {
        let first = name.split_whitespace().next().unwrap_or(name);
        Some(if es {
            format!("Gracias, {first}.")
        } else {
            format!("Thanks, {first}.")
        })
    } else if reading.fields != LeadFields::default() {
        Some(if es {
            "Entendido.".into()
        } else {
            "Got it.".into()
        })
    } else {
        None
    }
}

impl RulesAssistant {
    /// The whole turn, synchronously: rules need no IO.
    pub fn answer(&self, input: &TurnInput) -> TurnOutcome {
        // A question is not the answer to ours: "do you fix garage doors?" after "what can we
        // help you with?" keeps only what it says outright.
        let asked = input.asked.filter(|_| !faq::is_question(&input.message));
        let reading = extract::read(&input.message, asked);
        let es = speaks_spanish(input, &reading);
        let mut known = input.known.clone();
        known.merge_missing(&reading.fields);
        let owner = owner_first_name(&input.owner_name);
        let reply = reply_to(input, &reading, &known, &owner, es);
        let policy = Policy {
            business_name: &input.business_name,
            assistant_name: input.business.assistant_name.as_deref(),
            disclose: input.disclose,
            first_reply: input.first_reply,
            spanish: es,
        };
        TurnOutcome {
            reply: guardrails::enforce(&reply.parts.join(" "), &policy),
            learned: reading.fields,
            intent: reply.intent,
            emergency: reading.emergency,
            needs_human: reply.needs_human,
            qualified: known.is_qualified(),
            asked: reply.asked,
            wrong_number: reply.intent == Intent::Other && reading.wrong_number,
            declined: reply.intent == Intent::Declined,
            opt_out: false,
            engine: "rules".into(),
            note: reply.note,
            for_owner: reply.for_owner,
        }
    }
}

impl Assistant for RulesAssistant {
    async fn turn(&self, input: &TurnInput) -> TurnOutcome {
        self.answer(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(known: LeadFields, asked: Option<Field>, message: &str) -> TurnInput {
        TurnInput {
            business_name: "Acme Plumbing".into(),
            owner_name: "Dana Rivera".into(),
            disclose: true,
            first_reply: false,
            known,
            asked,
            history: vec![],
            message: message.into(),
            business: nmc_domain::turn::Facts::default(),
        }
    }

    #[test]
    fn asks_one_thing_at_a_time_until_qualified() {
        let a = RulesAssistant;
        let mut known = LeadFields::default();
        let mut asked = None;
        let script = [
            "my toilet keeps running",
            "Sam Lee",
            "55 Birch Ln",
            "tomorrow afternoon",
        ];
        let mut last = None;
        for msg in script {
            let out = a.answer(&input(known.clone(), asked, msg));
            known.merge_missing(&out.learned);
            asked = out.asked;
            assert!(
                out.reply.matches('?').count() <= 1,
                "one question at a time: {}",
                out.reply
            );
            last = Some(out);
        }
        let last = last.unwrap();
        assert!(last.qualified, "{known:?}");
        assert_eq!(last.intent, Intent::Booking);
        assert_eq!(known.name.as_deref(), Some("Sam Lee"));
        assert_eq!(known.address.as_deref(), Some("55 Birch Ln"));
    }

    #[test]
    fn emergency_and_human() {
        let a = RulesAssistant;
        let out = a.answer(&input(
            LeadFields::default(),
            None,
            "I smell gas near the water heater",
        ));
        assert!(
            out.emergency && out.reply.contains("911") && out.reply.contains("Dana"),
            "{}",
            out.reply
        );
        let out = a.answer(&input(
            LeadFields::default(),
            None,
            "just have someone call me please",
        ));
        assert!(out.needs_human && !out.emergency);
    }
}
