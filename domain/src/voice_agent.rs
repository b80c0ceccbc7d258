//! The AI voice agent (seed 004, VTCR 3.1–3.5): what it collects, what it says, how a call it
//! took ended, and what a caller who left the call early is texted. The vendor (Vapi) is behind
//! an adapter; these are the rules, the same whatever voice platform answers.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::BusinessProfile;
use crate::lead::LeadFields;

/// Vapi's own voices today (docs.vapi.ai/providers/voice/vapi-voices; Elliot is its default).
/// The retired ones (Spencer, Neha, Harry, Cole, Paige, Hana, Lily, Kylie) are left out:
/// new assistants cannot use them.
pub const VOICES: [&str; 21] = [
    "Elliot", "Savannah", "Rohan", "Emma", "Clara", "Nico", "Kai", "Sagar", "Godfrey", "Neil",
    "Layla", "Sid", "Naina", "Leo", "Zoe", "Mia", "Jess", "Zac", "Dan", "Leah", "Tara",
];

pub const DEFAULT_VOICE: &str = "Elliot";

/// The longest spoken greeting (a caller hears it before saying anything).
pub const GREETING_MAX: usize = 300;

/// What the agent collects, in the order the owner put them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Collect {
    Name,
    Address,
    Need,
    Urgency,
    PreferredTime,
}

impl Collect {
    pub const ALL: [Collect; 5] = [
        Collect::Name,
        Collect::Address,
        Collect::Need,
        Collect::Urgency,
        Collect::PreferredTime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Collect::Name => "name",
            Collect::Address => "address",
            Collect::Need => "need",
            Collect::Urgency => "urgency",
            Collect::PreferredTime => "preferred_time",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Collect::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Collect::Name => "Name",
            Collect::Address => "Service address",
            Collect::Need => "What they need",
            Collect::Urgency => "How urgent",
            Collect::PreferredTime => "Preferred time",
        }
    }

    /// How the agent's instructions put it.
    fn ask(self) -> &'static str {
        match self {
            Collect::Name => "the caller's name",
            Collect::Address => "the service address (street, city, ZIP)",
            Collect::Need => "what they need done, in their own words",
            Collect::Urgency => {
                "how urgent it is: emergency (active leak, no heat, sparks, gas smell), soon, or flexible"
            }
            Collect::PreferredTime => "when they would like someone to come",
        }
    }
}

/// The greeting the agent speaks first when the owner has not written one.
pub fn default_agent_greeting(business: &str) -> String {
    format!(
        "Thanks for calling {business}. This is the virtual assistant; the team can't come to the phone right now. How can I help?"
    )
}

/// The agent's instructions: who it speaks for, what to collect, and the guardrails the text
/// assistant keeps (no prices it was not given, no diagnosis, emergencies first).
pub fn agent_instructions(profile: &BusinessProfile, collect: &[Collect]) -> String {
    let owner = profile
        .owner_name
        .split_whitespace()
        .next()
        .unwrap_or("the owner");
    let list: Vec<String> = collect
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}. {}", i + 1, c.ask()))
        .collect();
    format!(
        "You answer the phone for {name}, a local trades business, when {owner} cannot. Be brief, warm and plain-spoken; one question at a time.\n\
         Collect, in this order:\n{list}\n\
         Once you know what they need, call check_availability and offer the open times it returns. If the caller picks one, call book_appointment with its number, the caller's name, the address and the need, and read back what it says.\n\
         If it is an emergency (active leak or flooding, no heat in freezing weather, sparks or burning smell, gas smell), tell them {owner} is being alerted right now and, for gas, to leave the building and call the gas company or 911.\n\
         Never quote a price the tools did not give you, never diagnose the problem, and never promise a time the tools did not confirm. If you cannot help, say {owner} will call them back.\n\
         Say you are a virtual assistant if asked. End the call once you have what you need.",
        name = profile.name,
        list = list.join("\n"),
    )
}

/// How a call the agent took ended, from Vapi's `endedReason` (an open set that grows: read by
/// its families, docs.vapi.ai/calls/call-ended-reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentOutcome {
    /// The agent finished the call (it ended it, or the caller said goodbye once it had asked
    /// what it needed).
    Completed,
    /// The caller left before the agent was done.
    HungUp,
    /// The platform failed: the call never started or broke down.
    Failed,
}

impl AgentOutcome {
    /// How the call went, from its `endedReason` and what the agent collected: most good calls
    /// end with the caller hanging up after goodbye (`customer-ended-call`), so a caller who
    /// hung up counts as cut off only when the agent never learned what they need.
    pub fn from_report(reason: &str, collected: &LeadFields) -> Self {
        match Self::from_ended_reason(reason) {
            AgentOutcome::HungUp if collected.service_needed.is_some() => AgentOutcome::Completed,
            other => other,
        }
    }

    /// The family of `endedReason` alone.
    pub fn from_ended_reason(reason: &str) -> Self {
        const FAILED: [&str; 11] = [
            "pipeline-error",
            "call.in-progress.error",
            "call.start.error",
            "call-start-error",
            "call.ringing.",
            "assistant-request",
            "assistant-not-",
            "assistant-join-timed-out",
            "phone-call-provider",
            "twilio-failed",
            "worker-shutdown",
        ];
        if FAILED.iter().any(|p| reason.starts_with(p)) || reason.contains("error") {
            return AgentOutcome::Failed;
        }
        if reason.starts_with("customer-") || reason == "silence-timed-out" {
            return AgentOutcome::HungUp;
        }
        AgentOutcome::Completed
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AgentOutcome::Completed => "completed",
            AgentOutcome::HungUp => "hung_up",
            AgentOutcome::Failed => "failed",
        }
    }
}

/// A call the agent took has ended: its report is on record (`agent_calls.id`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentCallEnded {
    /// Our Twilio call that was handed to the agent.
    pub call_sid: String,
    pub agent_call_id: Uuid,
    /// The transcript on the conversation's thread (`messages.id`).
    pub message_id: Option<Uuid>,
    pub outcome: AgentOutcome,
    /// What the caller said, their lines only.
    pub caller_words: Option<String>,
    /// The platform's summary of the call.
    pub summary: Option<String>,
    /// What the agent collected (the report's structured data), for the lead.
    #[serde(default)]
    pub collected: LeadFields,
    pub duration_secs: u32,
    pub profile: BusinessProfile,
}

/// The report's structured data (`analysis.structuredData`, the fields our assistant asks Vapi
/// to fill) as lead fields; anything else in it is ignored.
pub fn collected_fields(data: Option<&serde_json::Value>) -> LeadFields {
    let text = |k: &str| {
        data.and_then(|d| d[k].as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(200).collect::<String>())
    };
    let urgency = text("urgency")
        .map(|u| u.to_lowercase())
        .filter(|u| ["emergency", "soon", "flexible"].contains(&u.as_str()));
    LeadFields {
        name: text("name"),
        service_needed: text("need"),
        urgency,
        address: text("address"),
        preferred_time: text("preferred_time"),
        ..LeadFields::default()
    }
}

/// A tool the agent calls during a call; answered by the caller's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tool", rename_all = "snake_case")]
pub enum AgentTool {
    /// Open times for the job the caller described.
    CheckAvailability { need: String },
    /// Books the `slot`-th time check_availability offered (1-based).
    BookAppointment {
        slot: u32,
        name: Option<String>,
        address: Option<String>,
        need: Option<String>,
    },
}

/// The first text to a caller after a call the agent took, picking up from what they said.
pub fn call_pickup(
    business: &str,
    fields: &LeadFields,
    outcome: AgentOutcome,
    next: &str,
) -> String {
    let hello = match fields.name.as_deref() {
        Some(n) => format!(
            "Hi {}, this is {business}.",
            n.split_whitespace().next().unwrap_or(n)
        ),
        None => format!("Hi, this is {business}."),
    };
    let about = fields
        .service_needed
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.chars().count() <= 60)
        .map(|s| format!(" about \"{}\"", s.trim_end_matches(['.', '!'])));
    let got = match outcome {
        AgentOutcome::HungUp | AgentOutcome::Failed => format!(
            "Sorry we got cut off{}. We can pick up here by text.",
            about.unwrap_or_default()
        ),
        AgentOutcome::Completed => {
            format!("Thanks for calling{}.", about.unwrap_or_default())
        }
    };
    crate::with_opt_out_line(&format!("{hello} {got} {}", next.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ended_reasons_are_read_by_family() {
        for (reason, outcome) in [
            ("customer-ended-call", AgentOutcome::HungUp),
            ("customer-ended-call-during-transfer", AgentOutcome::HungUp),
            ("silence-timed-out", AgentOutcome::HungUp),
            ("assistant-ended-call", AgentOutcome::Completed),
            ("assistant-said-end-call-phrase", AgentOutcome::Completed),
            ("exceeded-max-duration", AgentOutcome::Completed),
            ("pipeline-error-openai-llm-failed", AgentOutcome::Failed),
            (
                "call.in-progress.error-vapifault-openai-llm-failed",
                AgentOutcome::Failed,
            ),
            (
                "call.start.error-subscription-concurrency-limit-reached",
                AgentOutcome::Failed,
            ),
            ("assistant-request-failed", AgentOutcome::Failed),
            ("twilio-failed-to-connect-call", AgentOutcome::Failed),
            ("some-new-reason", AgentOutcome::Completed),
            ("some-new-error", AgentOutcome::Failed),
        ] {
            assert_eq!(AgentOutcome::from_ended_reason(reason), outcome, "{reason}");
        }
    }

    #[test]
    fn a_caller_who_said_goodbye_after_giving_the_need_completed_the_call() {
        let told = LeadFields {
            service_needed: Some("leaking tap".into()),
            ..LeadFields::default()
        };
        assert_eq!(
            AgentOutcome::from_report("customer-ended-call", &told),
            AgentOutcome::Completed
        );
        assert_eq!(
            AgentOutcome::from_report("customer-ended-call", &LeadFields::default()),
            AgentOutcome::HungUp
        );
        assert_eq!(
            AgentOutcome::from_report("pipeline-error-openai-llm-failed", &told),
            AgentOutcome::Failed
        );
    }

    #[test]
    fn a_caller_cut_off_is_texted_from_what_they_said() {
        let fields = LeadFields {
            name: Some("Sam Ortiz".into()),
            service_needed: Some("water heater leaking".into()),
            ..LeadFields::default()
        };
        let text = call_pickup(
            "Acme Plumbing",
            &fields,
            AgentOutcome::HungUp,
            "What's the address?",
        );
        assert!(
            text.starts_with("Hi Sam, this is Acme Plumbing. Sorry we got cut off about \"water heater leaking\". We can pick up here by text. What's the address?"),
            "{text}"
        );
        assert!(text.contains("STOP"), "{text}");
    }

    #[test]
    fn instructions_list_what_to_collect_in_order() {
        let profile = BusinessProfile {
            name: "Acme Plumbing".into(),
            owner_name: "Dana Rivera".into(),
            business_phone: "+15125550100".into(),
            timezone: "America/Chicago".into(),
            business_hours: crate::BusinessHours::default(),
            greeting: None,
            after_hours_greeting: None,
            settings: crate::ConversationSettings::default(),
        };
        let text = agent_instructions(&profile, &[Collect::Need, Collect::Name]);
        assert!(text.contains("1. what they need done"), "{text}");
        assert!(text.contains("2. the caller's name"), "{text}");
        assert!(text.contains("Dana cannot"), "{text}");
    }
}
