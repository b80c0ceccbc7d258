//! One assistant turn: what an engine reads and what it answers. The engines live in
//! `nmc-assistant`; these types are shared with the workflow and the store.

use serde::{Deserialize, Serialize};

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
}
