//! The assistant that texts callers. One trait ([`Assistant`]), two engines: [`RulesAssistant`]
//! (default: offline, deterministic) and an LLM engine (in `nmc-activities`, through async-openai,
//! falling back to rules). Whatever an engine says, [`guardrails::enforce`] has the last word.

pub mod context;
pub mod eval;
pub mod eval_knows;
pub mod guardrails;
pub mod llm;
pub mod plausible;
pub mod rules;
pub mod transcribe;

use std::future::Future;

// The vocabulary of a turn is domain (the workflow and the store use it without the engines).
pub use llm::LlmAssistant;
pub use nmc_domain::lead::{Field, LeadFields};
pub use nmc_domain::turn::{Facts, Intent, Line, TurnInput, TurnOutcome};
pub use nmc_domain::{catalog, lead as extract};
pub use rules::RulesAssistant;

pub trait Assistant: Send + Sync {
    fn turn(&self, input: &TurnInput) -> impl Future<Output = TurnOutcome> + Send;
}
