//! The rules assistant: reads each message with [`crate::extract`], keeps what is new, and asks
//! for the next missing item, one short question at a time.

use crate::extract::{self, Field, LeadFields};
use crate::guardrails::{self, Policy};
use crate::{Assistant, Intent, TurnInput, TurnOutcome};

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

impl RulesAssistant {
    /// The whole turn, synchronously: rules need no IO.
    #[expect(
        clippy::too_many_lines,
        reason = "one decision in order; to split into named steps (issue 13 note)"
    )]
    pub fn answer(&self, input: &TurnInput) -> TurnOutcome {
        let reading = extract::read(&input.message, input.asked);
        let es = reading.spanish
            || input
                .history
                .iter()
                .filter(|l| l.from == "caller")
                .any(|l| extract::read(&l.text, None).spanish);
        let mut known = input.known.clone();
        known.merge_missing(&reading.fields);
        let owner = if input.owner_name.is_empty() {
            "the owner".to_string()
        } else {
            input
                .owner_name
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string()
        };

        let mut intent = Intent::Question;
        let mut needs_human = false;
        let mut parts: Vec<String> = Vec::new();
        let mut asked = None;
        let was_qualified = input.known.is_qualified();
        if reading.wrong_number
            && input.known.service_needed.is_none()
            && reading.fields.service_needed.is_none()
        {
            intent = Intent::Other;
            parts.push(if es {
                "¡Perdón por la molestia! Si algún día necesita ayuda, escríbanos aquí.".into()
            } else {
                "Sorry to bother you! If you ever need a hand, just text this number.".into()
            });
        } else if reading.declined && !reading.emergency {
            intent = Intent::Declined;
            parts.push(if es {
                "¡Entendido, gracias por avisarnos! Si algún día necesita ayuda, escríbanos aquí.".into()
            } else {
                "No problem, thanks for letting us know! If you ever need a hand, just text this number.".into()
            });
        } else if reading.emergency {
            intent = Intent::Emergency;
            parts.push(if es {
                format!("Eso suena urgente: estoy avisando a {owner} ahora mismo.")
            } else {
                format!("That sounds urgent. I'm alerting {owner} right now.")
            });
            let n = input.message.to_lowercase();
            if [
                "gas",
                "smoke",
                "fire",
                "burning",
                "carbon monoxide",
                "co alarm",
                "co detector",
                "humo",
            ]
            .iter()
            .any(|w| n.contains(w))
            {
                parts.push(if es {
                    "Si huele a gas o hay humo, salga de la casa y llame al 911.".into()
                } else {
                    "If you smell gas or see smoke, get everyone outside and call 911.".into()
                });
            }
            // Only what the owner needs to get there: where, then who.
            if let Some(field) = [Field::Address, Field::Name].into_iter().find(|f| {
                next_missing(&known) == Some(*f)
                    || (*f == Field::Address && known.address.is_none())
            }) {
                asked = Some(field);
                parts.push(question(field, es).into());
            }
        } else if reading.angry || reading.wants_human {
            intent = Intent::NeedsHuman;
            needs_human = true;
            parts.push(if es {
                format!("Lo siento. Le pido a {owner} que le contacte personalmente.")
            } else if reading.angry {
                format!("I'm sorry about that. I'm asking {owner} to reach out to you personally.")
            } else {
                format!("Of course. I'm asking {owner} to get back to you personally.")
            });
        } else {
            if reading.price_question {
                parts.push(if es {
                    "El precio depende del trabajo; el dueño se lo confirmará.".into()
                } else {
                    "Pricing depends on the job; the owner will confirm it with you.".into()
                });
            } else if let Some(name) = reading
                .fields
                .name
                .as_ref()
                .filter(|_| input.known.name.is_none())
            {
                let first = name.split_whitespace().next().unwrap_or(name);
                parts.push(if es {
                    format!("Gracias, {first}.")
                } else {
                    format!("Thanks, {first}.")
                });
            } else if reading.fields != LeadFields::default() {
                parts.push(if es {
                    "Entendido.".into()
                } else {
                    "Got it.".into()
                });
            }
            match next_missing(&known) {
                Some(field) => {
                    asked = Some(field);
                    parts.push(question(field, es).into());
                }
                None if !was_qualified => {
                    intent = Intent::Booking;
                    parts.push(if es {
                        format!("¡Listo! {owner} le confirmará la visita en breve.")
                    } else {
                        format!("That's everything I need. {owner} will follow up shortly to set a time.")
                    });
                }
                None => {
                    intent = Intent::Other;
                    parts.push(if es {
                        format!("Gracias, se lo paso a {owner}.")
                    } else {
                        format!("Thanks, I'll pass that along to {owner}.")
                    });
                }
            }
        }
        let policy = Policy {
            business_name: &input.business_name,
            disclose: input.disclose,
            first_reply: input.first_reply,
            spanish: es,
        };
        TurnOutcome {
            reply: guardrails::enforce(&parts.join(" "), &policy),
            learned: reading.fields,
            intent,
            emergency: reading.emergency,
            needs_human,
            qualified: known.is_qualified(),
            asked,
            wrong_number: intent == Intent::Other && reading.wrong_number,
            declined: intent == Intent::Declined,
            opt_out: false,
            engine: "rules".into(),
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
