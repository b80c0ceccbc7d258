//! The LLM engine: one chat-completion call per turn against any OpenAI-compatible endpoint,
//! returning structured output (JSON schema). On timeout, rate limit, 5xx or unparseable output
//! it retries within a bound, then the rules engine answers: the caller is never left hanging.
//!
//! async-openai 0.43 itself retries 429 and 5xx three times with backoff (100 ms doubling), inside
//! each of our attempts; an API error that survives those goes straight to rules. Our own attempts
//! cover timeouts and unparseable output. Every attempt, its inner retries included, is bounded by
//! `timeout`, so a turn never waits longer than about `attempts × timeout`.
//!
//! Two things never wait for a model: an emergency gets the rules' fixed acknowledgement at once,
//! and a reply that does not make sense (`plausible.rs`) is replaced by the rules' answer.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    CreateChatCompletionRequest, ResponseFormat, ResponseFormatJsonSchema,
};
use serde::Deserialize;
use serde_json::json;

use crate::context;
use crate::extract::{self, Field, LeadFields};
use crate::guardrails::{self, Policy};
use crate::plausible;
use crate::{Assistant, Intent, RulesAssistant, TurnInput, TurnOutcome};

pub struct LlmAssistant {
    client: Client<OpenAIConfig>,
    model: String,
    /// Attempts before falling back to rules (a bound on the caller's wait).
    pub attempts: u32,
    pub timeout: Duration,
    /// The longest reply the model may write (`max_completion_tokens`): a bound on a small CPU
    /// model's time, and two SMS need far fewer.
    pub max_tokens: u32,
    /// The system prompt's budget: the business's facts are cut to fit it.
    pub context_tokens: usize,
    rules: RulesAssistant,
}

/// What the model must return (strict JSON schema).
#[derive(Debug, Deserialize)]
struct ModelTurn {
    reply: String,
    learned: LeadFields,
    intent: Intent,
    emergency: bool,
    needs_human: bool,
    asked: Option<Field>,
}

enum Failure {
    /// Worth another attempt: timed out, or unreadable output.
    Transient(String),
    /// Straight to rules: the client's own retries of 429/5xx are spent, or the request is
    /// refused for good (bad key, no quota, bad request).
    Permanent(String),
}

impl LlmAssistant {
    /// `base_url` like `https://api.openai.com/v1` or a local server's `/v1`.
    pub fn new(base_url: &str, api_key: &str, model: &str) -> Self {
        // async-openai's reqwest uses rustls without a bundled provider: use ring (see nmc-twilio).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = OpenAIConfig::new()
            .with_api_base(base_url.trim_end_matches('/'))
            .with_api_key(api_key);
        Self {
            client: Client::with_config(config),
            model: model.to_owned(),
            attempts: 2,
            timeout: Duration::from_secs(8),
            max_tokens: 256,
            context_tokens: 1200,
            rules: RulesAssistant,
        }
    }

    fn request(&self, input: &TurnInput) -> CreateChatCompletionRequest {
        let known = serde_json::to_string(&input.known).unwrap_or_default();
        let system = context::system_prompt(input, &known, self.context_tokens);
        let mut messages: Vec<ChatCompletionRequestMessage> =
            vec![ChatCompletionRequestSystemMessage::from(system).into()];
        let (summary, recent) = context::recent(&input.history);
        if let Some(summary) = summary {
            messages.push(ChatCompletionRequestSystemMessage::from(summary).into());
        }
        for line in recent {
            messages.push(match line.from.as_str() {
                "caller" => ChatCompletionRequestUserMessage::from(line.text.as_str()).into(),
                _ => ChatCompletionRequestAssistantMessage::from(line.text.as_str()).into(),
            });
        }
        messages.push(ChatCompletionRequestUserMessage::from(input.message.as_str()).into());
        let text = json!({"type": ["string", "null"]});
        let schema = json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["reply", "learned", "intent", "emergency", "needs_human", "asked"],
            "properties": {
                "reply": {"type": "string"},
                "learned": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "service_needed", "trade", "urgency", "address", "preferred_time"],
                    "properties": {"name": text, "service_needed": text, "trade": text, "urgency": text, "address": text, "preferred_time": text}
                },
                "intent": {"type": "string", "enum": ["question", "booking", "emergency", "needs_human", "declined", "opt_out", "other"]},
                "emergency": {"type": "boolean"},
                "needs_human": {"type": "boolean"},
                "asked": {"type": ["string", "null"], "enum": ["service", "name", "address", "time", null]}
            }
        });
        CreateChatCompletionRequest {
            model: self.model.clone(),
            messages,
            response_format: Some(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    name: "caller_turn".into(),
                    description: Some("The reply to the caller and what was learned".into()),
                    schema,
                    strict: Some(true),
                },
            }),
            max_completion_tokens: Some(self.max_tokens),
            ..Default::default()
        }
    }

    async fn call(&self, input: &TurnInput) -> Result<ModelTurn, Failure> {
        let request = self.request(input);
        let response =
            match tokio::time::timeout(self.timeout, self.client.chat().create(request)).await {
                Err(_) => return Err(Failure::Transient("timed out".into())),
                Ok(Err(OpenAIError::ApiError(e))) => return Err(Failure::Permanent(e.to_string())),
                Ok(Err(e)) => return Err(Failure::Transient(e.to_string())),
                Ok(Ok(r)) => r,
            };
        let content = response
            .choices
            .first()
            .and_then(|c| c.message.content.clone())
            .unwrap_or_default();
        serde_json::from_str::<ModelTurn>(&content)
            .map_err(|e| Failure::Transient(format!("unparseable output: {e}")))
    }
}

impl Assistant for LlmAssistant {
    async fn turn(&self, input: &TurnInput) -> TurnOutcome {
        let reading = extract::read(&input.message, input.asked);
        // The conversation's language: any of the caller's texts, as the rules read it.
        let spanish = reading.spanish
            || input
                .history
                .iter()
                .any(|l| l.from == "caller" && extract::read(&l.text, None).spanish);
        if reading.emergency {
            // The fixed acknowledgement, at once: no model is asked while the basement floods.
            let mut out = self.rules.answer(input);
            out.engine = "rules (emergency)".into();
            return out;
        }
        for attempt in 0..self.attempts.max(1) {
            match self.call(input).await {
                Ok(turn) => {
                    match plausible::check(&turn.reply, input, spanish, decided(input, &turn)) {
                        Ok(()) => return finish(input, turn),
                        Err(why) => {
                            tracing::warn!(
                                reason = %why.as_str(),
                                "the model's reply made no sense; the rules assistant answers"
                            );
                            nmc_telemetry::MODEL_REPLIES_REJECTED
                                .with_label_values(&[why.as_str()])
                                .inc();
                            // The rules answer; what the model understood still stands (a
                            // revocation above all: "any reasonable means").
                            let mut out = self.rules.answer(input);
                            out.engine = "llm→rules".into();
                            out.opt_out |= turn.intent == Intent::OptOut;
                            out.declined |= turn.intent == Intent::Declined;
                            out.needs_human |= turn.needs_human;
                            return out;
                        }
                    }
                }
                Err(Failure::Permanent(e)) => {
                    tracing::warn!(error = %e, "LLM refused the request; the rules assistant answers");
                    break;
                }
                Err(Failure::Transient(e)) => {
                    tracing::warn!(error = %e, attempt, "LLM attempt failed");
                    tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
                }
            }
        }
        let mut out = self.rules.answer(input);
        out.engine = "llm→rules".into();
        out
    }
}

/// What the model decided, for the plausibility check: qualified with what it just learned, or a
/// turn where a reply without a question is right.
fn decided(input: &TurnInput, turn: &ModelTurn) -> plausible::Decided {
    let mut known = input.known.clone();
    known.merge_missing(&turn.learned);
    plausible::Decided {
        qualified: known.is_qualified(),
        ends_the_asking: turn.emergency
            || turn.needs_human
            || matches!(
                turn.intent,
                Intent::OptOut | Intent::Declined | Intent::NeedsHuman | Intent::Emergency
            ),
    }
}

/// Did the caller say it? At least half of the value's words (two characters or more) are in
/// their message.
fn stated(value: &str, message: &str) -> bool {
    let said = message.to_lowercase();
    let words: Vec<String> = value
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_owned)
        .collect();
    let found = words.iter().filter(|w| said.contains(w.as_str())).count();
    !words.is_empty() && found * 2 >= words.len()
}

/// Code has the last word over the model: guardrails on the reply, emergencies also caught by
/// rules, and "qualified" computed from the facts rather than taken from the model.
fn finish(input: &TurnInput, turn: ModelTurn) -> TurnOutcome {
    let reading = extract::read(&input.message, input.asked);
    let mut learned = turn.learned;
    for v in [
        &mut learned.name,
        &mut learned.service_needed,
        &mut learned.trade,
        &mut learned.urgency,
        &mut learned.address,
        &mut learned.preferred_time,
    ] {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            *v = None;
        }
    }
    // What the model says the caller stated must be in the caller's words; a small model
    // invents ("1234567890", the owner's own name). What it drops, the rules may have read.
    for v in [
        &mut learned.name,
        &mut learned.service_needed,
        &mut learned.address,
        &mut learned.preferred_time,
    ] {
        if v.as_deref().is_some_and(|s| !stated(s, &input.message)) {
            *v = None;
        }
    }
    if !matches!(
        learned.trade.as_deref(),
        None | Some("plumbing" | "hvac" | "electrical" | "handyman" | "cleaning" | "auto")
    ) {
        learned.trade = None;
    }
    learned.merge_missing(&reading.fields);
    if !matches!(
        learned.urgency.as_deref(),
        None | Some("emergency" | "soon" | "flexible")
    ) {
        learned.urgency = None;
    }
    let emergency = turn.emergency || reading.emergency;
    if emergency {
        learned.urgency = Some("emergency".into());
    }
    let mut known = input.known.clone();
    known.merge_missing(&learned);
    // The FAQ question this answered, or the question passed to the owner: as the rules read it,
    // so the thread and the owner hear the same whichever engine answered.
    let by_rules = RulesAssistant.answer(input);
    let policy = Policy {
        business_name: &input.business_name,
        assistant_name: input.business.assistant_name.as_deref(),
        disclose: input.disclose,
        first_reply: input.first_reply,
        spanish: reading.spanish,
    };
    TurnOutcome {
        reply: guardrails::enforce(&turn.reply, &policy),
        learned,
        intent: if emergency {
            Intent::Emergency
        } else {
            turn.intent
        },
        emergency,
        needs_human: turn.needs_human || (!emergency && (reading.wants_human || reading.angry)),
        qualified: known.is_qualified(),
        asked: turn.asked,
        wrong_number: turn.intent == Intent::Other && reading.wrong_number,
        declined: turn.intent == Intent::Declined || (!emergency && reading.declined),
        // A revocation is honoured whatever else the model said (the FCC's "any reasonable means").
        opt_out: turn.intent == Intent::OptOut,
        engine: "llm".into(),
        note: by_rules.note,
        for_owner: by_rules.for_owner,
    }
}

#[cfg(test)]
mod tests {
    use super::stated;

    #[test]
    fn what_the_caller_did_not_say_is_not_learned() {
        assert!(stated("Sam Lee", "this is sam lee"));
        assert!(stated("tomorrow morning", "Tomorrow morning works"));
        assert!(!stated("1234567890", "55 Birch Ln"));
        assert!(!stated("Dana Rivera", "my sink is clogged"));
        assert!(!stated("", "anything"));
    }
}
