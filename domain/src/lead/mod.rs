//! What a caller's text says, read by rules: the trade and problem, urgency and emergencies,
//! name, address, preferred time, and whether they want a person. Deterministic and offline.
//!
//! The word tables are in `words`, the readers that pull one fact each out of a message in `find`;
//! [`read`] puts them together.

use serde::{Deserialize, Serialize};

mod find;
#[cfg(test)]
mod tests;
mod words;

use find::{
    detect_trade, find_address, find_name, find_time, has_any, norm, service_phrase, urgency_of,
};
use words::{
    ANGRY, DECLINED, EMERGENCY, EXTREME_HEAT, FREEZING, HUMAN, NO_COOLING, NO_HEAT, PRICE, SPANISH,
    WRONG,
};

/// The facts a conversation collects about the caller's job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadFields {
    pub name: Option<String>,
    /// The caller's own words for the job ("kitchen sink won't drain").
    pub service_needed: Option<String>,
    /// plumbing | hvac | electrical | handyman | cleaning | auto
    pub trade: Option<String>,
    /// emergency | soon | flexible
    pub urgency: Option<String>,
    pub address: Option<String>,
    pub preferred_time: Option<String>,
}

impl LeadFields {
    /// Fills only what is still unknown (never overwrites what we or the owner already have).
    pub fn merge_missing(&mut self, learned: &LeadFields) {
        fn fill(slot: &mut Option<String>, v: Option<&String>) {
            if slot.is_none() {
                *slot = v.cloned();
            }
        }
        fill(&mut self.name, learned.name.as_ref());
        fill(&mut self.service_needed, learned.service_needed.as_ref());
        fill(&mut self.trade, learned.trade.as_ref());
        fill(&mut self.address, learned.address.as_ref());
        fill(&mut self.preferred_time, learned.preferred_time.as_ref());
        // Urgency may escalate (an emergency mentioned later wins), never de-escalate.
        if learned.urgency.is_some()
            && (learned.urgency.as_deref() == Some("emergency") || self.urgency.is_none())
        {
            self.urgency.clone_from(&learned.urgency);
        }
    }

    pub fn is_qualified(&self) -> bool {
        self.service_needed.is_some()
            && self.name.is_some()
            && self.address.is_some()
            && (self.preferred_time.is_some() || self.urgency.is_some())
    }
}

/// The item the assistant asked for last, so a bare answer ("Mike", "12 Elm") lands in the right field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Service,
    Name,
    Address,
    Time,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    pub fields: LeadFields,
    pub emergency: bool,
    pub wants_human: bool,
    pub angry: bool,
    pub price_question: bool,
    pub wrong_number: bool,
    /// "No thanks", "already found someone": the caller is done, and follow-ups end.
    pub declined: bool,
    pub spanish: bool,
}

/// Reads one caller message. `asked` is what the assistant asked for last, if anything.
pub fn read(text: &str, asked: Option<Field>) -> Reading {
    let n = norm(text);
    let no_heat_cold = has_any(&n, NO_HEAT) && has_any(&n, FREEZING);
    let no_ac_hot = has_any(&n, NO_COOLING) && has_any(&n, EXTREME_HEAT);
    let emergency = has_any(&n, EMERGENCY) || no_heat_cold || no_ac_hot;
    let trade = detect_trade(&n);
    let mut fields = LeadFields::default();
    let wrong_number = has_any(&n, WRONG);
    if let Some(trade) = trade {
        fields.trade = Some(trade.to_string());
        fields.service_needed = Some(service_phrase(text, trade));
    } else if emergency {
        // The emergency is the job, whatever the trade.
        fields.service_needed = Some(text.trim().chars().take(120).collect());
    } else if asked == Some(Field::Service)
        && !wrong_number
        && n.split_whitespace().count() >= 2
        && !has_any(&n, PRICE)
        && !has_any(&n, HUMAN)
    {
        fields.service_needed = Some(text.trim().chars().take(120).collect());
    }
    fields.urgency = urgency_of(&n, emergency).map(str::to_string);
    fields.name = find_name(text, &n, asked);
    fields.address = find_address(text, asked == Some(Field::Address));
    fields.preferred_time = find_time(text, &n).or_else(|| {
        (asked == Some(Field::Time)
            && fields.address.is_none()
            && fields.name.is_none()
            && n.split_whitespace().count() <= 6
            && !n.trim().is_empty())
        .then(|| text.trim().to_string())
    });
    let shouting = text.chars().filter(|c| c.is_alphabetic()).count() > 12
        && text
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(char::is_uppercase);
    Reading {
        fields,
        emergency,
        wants_human: has_any(&n, HUMAN),
        angry: has_any(&n, ANGRY) || shouting || text.contains("!!!"),
        price_question: has_any(&n, PRICE),
        wrong_number,
        declined: !emergency && has_any(&n, DECLINED),
        spanish: has_any(&n, SPANISH),
    }
}
