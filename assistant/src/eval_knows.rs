//! The knowledge evaluation (`eval/knowledge.json`, held out: `eval/knowledge_held_out.json`):
//! FAQ questions answered from the FAQ (or passed to the owner when it has no answer),
//! out-of-area callers told from those inside, returning callers greeted by name, and
//! preferred times read as the right window. Scored on what reaches the caller: the reply's
//! words, the address and time the engine learned, the greeting.

use chrono::{TimeZone, Utc};
use nmc_domain::availability;
use nmc_domain::faq::{self, Faq};
use nmc_domain::greeting::{KnownCaller, returning_greeting};
use nmc_domain::service_area::{self, ServiceArea, Verdict};
use nmc_domain::turn::Facts;
use nmc_domain::{BusinessHours, BusinessProfile};
use serde::Deserialize;

use crate::extract::LeadFields;
use crate::{Assistant, Line, TurnInput};

pub const KNOWLEDGE: &str = include_str!("../eval/knowledge.json");
pub const KNOWLEDGE_HELD_OUT: &str = include_str!("../eval/knowledge_held_out.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Case {
    /// The last turn asks something; the reply must hold one of `any` (case-insensitive).
    Faq {
        id: String,
        turns: Vec<String>,
        any: Vec<String>,
    },
    /// The address given is inside, outside or unknown to the area below.
    Area {
        id: String,
        turns: Vec<String>,
        expect: String,
    },
    /// The preferred time read: days from today and the hours, or none.
    Time {
        id: String,
        turns: Vec<String>,
        expect: Option<(i64, u32, u32)>,
    },
    /// The greeting names them and their last job.
    Returning {
        id: String,
        name: Option<String>,
        last_service: Option<String>,
        any: Vec<String>,
    },
}

pub fn development() -> Vec<Case> {
    serde_json::from_str(KNOWLEDGE).expect("eval/knowledge.json parses")
}

pub fn held_out() -> Vec<Case> {
    serde_json::from_str(KNOWLEDGE_HELD_OUT).expect("eval/knowledge_held_out.json parses")
}

/// Right / asked, per kind.
#[derive(Debug, Default)]
pub struct KnowsReport {
    pub faq: (usize, usize),
    pub area: (usize, usize),
    pub time: (usize, usize),
    pub returning: (usize, usize),
    pub misses: Vec<String>,
}

/// The business every case speaks for: a plumber in Austin with the starter FAQ and one of
/// its own, serving two ZIP codes and the city.
pub fn facts() -> Facts {
    let mut faqs = faq::starter("plumbing");
    faqs.push(Faq {
        question: "Do you service boilers?".into(),
        answer: "Yes, gas and oil boilers, all brands.".into(),
    });
    Facts {
        trade: Some("plumbing".into()),
        faqs,
        hours: "Mon–Fri 8am–5pm".into(),
        service_area: area().describe(),
        ..Facts::default()
    }
}

fn area() -> ServiceArea {
    ServiceArea {
        zips: vec!["78701".into(), "78702".into()],
        cities: vec!["Austin".into()],
        ..ServiceArea::default()
    }
}

/// Plays the turns; the last reply and everything learned.
async fn play<A: Assistant>(assistant: &A, turns: &[String]) -> (String, LeadFields) {
    let (mut known, mut asked, mut history, mut reply) = (
        LeadFields::default(),
        None,
        Vec::<Line>::new(),
        String::new(),
    );
    for (i, msg) in turns.iter().enumerate() {
        let input = TurnInput {
            business: facts(),
            ..crate::eval::turn_input("Acme Plumbing", i == 0, &known, asked, &history, msg)
        };
        let out = assistant.turn(&input).await;
        known.merge_missing(&out.learned);
        asked = out.asked;
        history.push(Line {
            from: "caller".into(),
            text: msg.clone(),
        });
        history.push(Line {
            from: "assistant".into(),
            text: out.reply.clone(),
        });
        reply = out.reply;
    }
    (reply, known)
}

fn tally(slot: &mut (usize, usize), right: bool, misses: &mut Vec<String>, why: String) {
    slot.1 += 1;
    if right {
        slot.0 += 1;
    } else {
        misses.push(why);
    }
}

/// The greeting is code, the same whichever engine answers texts.
fn greeting(name: Option<&String>, last_service: Option<&String>) -> String {
    let profile = BusinessProfile {
        name: "Acme Plumbing".into(),
        owner_name: "Dana Rivera".into(),
        business_phone: "+15125550100".into(),
        timezone: "America/Chicago".into(),
        business_hours: BusinessHours::default(),
        greeting: None,
        after_hours_greeting: None,
        settings: Default::default(),
    };
    let known = KnownCaller {
        name: name.cloned(),
        last_service: last_service.cloned(),
        called_today: false,
    };
    returning_greeting(&profile, Utc::now(), &known).unwrap_or_default()
}

/// Scores every case through `assistant`.
pub async fn score<A: Assistant>(assistant: &A, cases: &[Case]) -> KnowsReport {
    let mut r = KnowsReport::default();
    let tz = chrono_tz::America::Chicago;
    for case in cases {
        match case {
            Case::Faq { id, turns, any } => {
                let (reply, _) = play(assistant, turns).await;
                let lower = reply.to_lowercase();
                let right = any.iter().any(|w| lower.contains(&w.to_lowercase()));
                tally(&mut r.faq, right, &mut r.misses, format!("{id}: {reply}"));
            }
            Case::Area { id, turns, expect } => {
                let (_, known) = play(assistant, turns).await;
                let at = known.address.as_deref().unwrap_or("");
                let a = area();
                let got = match a.judge(&service_area::read_address(at, &a.cities)) {
                    Verdict::Inside => "inside",
                    Verdict::Outside(_) => "outside",
                    Verdict::Unknown => "unknown",
                };
                tally(
                    &mut r.area,
                    got == expect,
                    &mut r.misses,
                    format!("{id}: {at:?} read {got}"),
                );
            }
            Case::Time { id, turns, expect } => {
                let (_, known) = play(assistant, turns).await;
                // Tuesday 2026-12-01, 9am in the business's time: "tomorrow" is Wednesday.
                let now = tz
                    .with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
                    .unwrap()
                    .with_timezone(&Utc);
                let said = known.preferred_time.clone().unwrap_or_default();
                let got = availability::window(&said, tz, now).map(|w| {
                    let today = now.with_timezone(&tz).date_naive();
                    ((w.first_day - today).num_days(), w.hours.0, w.hours.1)
                });
                tally(
                    &mut r.time,
                    got == *expect,
                    &mut r.misses,
                    format!("{id}: {said:?} read {got:?}"),
                );
            }
            Case::Returning {
                id,
                name,
                last_service,
                any,
            } => {
                let text = greeting(name.as_ref(), last_service.as_ref());
                let right = any.iter().all(|w| text.contains(w.as_str()));
                tally(
                    &mut r.returning,
                    right,
                    &mut r.misses,
                    format!("{id}: {text}"),
                );
            }
        }
    }
    r
}

fn pct((right, of): (usize, usize)) -> String {
    format!(
        "{:.0}% ({right}/{of})",
        100.0 * right as f64 / of.max(1) as f64
    )
}

pub fn print(name: &str, r: &KnowsReport) {
    println!("{name}");
    println!("  FAQ answered (or passed on)  {}", pct(r.faq));
    println!("  service area judged          {}", pct(r.area));
    println!("  preferred time read          {}", pct(r.time));
    println!("  returning caller greeted     {}", pct(r.returning));
    for m in &r.misses {
        println!("  miss: {m}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RulesAssistant;
    use crate::eval::block_on_ready;

    #[test]
    fn the_rules_keep_their_knowledge_scores() {
        let r = block_on_ready(score(&RulesAssistant, &development()));
        assert!(r.misses.is_empty(), "{:#?}", r.misses);
    }
}
