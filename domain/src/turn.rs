//! One assistant turn: what an engine reads and what it answers. The engines live in
//! `nmc-assistant`; these types are shared with the workflow and the store.

use serde::{Deserialize, Serialize};

use crate::faq::Faq;
use crate::lead::{Field, LeadFields};

/// What the caller's message is about, as the engine reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Question,
    Booking,
    Emergency,
    NeedsHuman,
    /// The caller is done: no thanks, already found someone.
    Declined,
    /// The caller wants no more texts, in words the carrier keywords missed.
    OptOut,
    Other,
}

/// One line of the conversation so far, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// caller | assistant | owner | system
    pub from: String,
    pub text: String,
}

/// Everything an engine may use to answer one caller message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TurnInput {
    pub business_name: String,
    pub owner_name: String,
    /// Say it is a virtual assistant on its first reply (per business; on by default).
    pub disclose: bool,
    /// No assistant reply has been sent in this conversation yet.
    pub first_reply: bool,
    /// What we know so far (including the owner's edits, which are never overwritten).
    pub known: LeadFields,
    /// What the assistant asked for last.
    pub asked: Option<Field>,
    pub history: Vec<Line>,
    pub message: String,
    /// What the business has taught the assistant (empty for a business that has not).
    #[serde(default)]
    pub business: Facts,
}

/// What the assistant knows about the business and this caller, beyond the conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The name the assistant goes by (seed 004); none: "the virtual assistant".
    pub assistant_name: Option<String>,
    pub trade: Option<String>,
    pub faqs: Vec<Faq>,
    /// The jobs on the price list, with what each covers (never their prices).
    pub services: Vec<String>,
    /// "Mon–Fri 8am–5pm; Sat 9am–1pm".
    pub hours: String,
    pub open_now: bool,
    /// "Tue 3:05pm", in the business's timezone.
    pub local_time: String,
    /// "ZIP codes 78701, 78702; within 25 miles of Austin" (empty: anywhere).
    pub service_area: String,
    /// The owner's own instructions, as they wrote them (length-limited).
    pub instructions: Option<String>,
    /// The caller's earlier jobs with the business, newest first ("Jan 5: water heater, 12 Oak St").
    pub caller_history: Vec<String>,
}

/// An engine's answer to one caller message, after guardrails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnOutcome {
    pub reply: String,
    /// Fields read from this message (only those not already known are stored).
    pub learned: LeadFields,
    pub intent: Intent,
    pub emergency: bool,
    /// Angry caller, asked for a person, or beyond what the assistant can do.
    pub needs_human: bool,
    /// Known + learned now make a qualified lead.
    pub qualified: bool,
    /// The item this reply asks for, if any.
    pub asked: Option<Field>,
    /// Wrong number: reply once, then stay quiet.
    #[serde(default)]
    pub wrong_number: bool,
    /// The caller declined ("no thanks", "found someone"): follow-ups end.
    #[serde(default)]
    pub declined: bool,
    /// The caller revoked consent to texts (the model read it): recorded as an opt-out, confirmed
    /// once, and no reply is sent.
    #[serde(default)]
    pub opt_out: bool,
    /// rules | llm | llm→rules (the LLM failed and rules answered)
    pub engine: String,
    /// Shown beside the reply in the thread, so the owner knows what was said for them
    /// ("From your FAQ: Are you insured?").
    #[serde(default)]
    pub note: Option<String>,
    /// Something the owner must hear now (a question the FAQ does not answer, a caller outside
    /// the service area): sent to them as a "needs you" alert.
    #[serde(default)]
    pub for_owner: Option<String>,
}
