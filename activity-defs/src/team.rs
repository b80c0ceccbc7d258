//! A team member's text to the business number (`TeamTextWorkflow`): read it as a command,
//! act on the conversation it names, and answer the member when there is something to say.

use serde::{Deserialize, Serialize};
use temporalio_common::ActivityError;
use temporalio_macros::activity_definitions;
use uuid::Uuid;

/// The recorded text (`team_texts.id`) a workflow acts on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamTextRef {
    pub business_id: Uuid,
    pub team_text_id: Uuid,
}

/// What the text asks the conversation for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "act")]
pub enum TeamAct {
    /// Text the caller from the business number: the owner takes over.
    TextCaller {
        workflow_id: String,
        body: String,
    },
    /// Hand the conversation back to the assistant.
    HandBack {
        workflow_id: String,
    },
    Nothing,
}

/// The command as read against the alerts this phone got.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamPlan {
    pub act: TeamAct,
    /// What to text back to the member now (help, the list, the number); none for a reply.
    pub reply: Option<String>,
}

/// Texting the caller on the member's behalf, keyed by the member's text (once).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamAction {
    pub text: TeamTextRef,
    pub act: TeamAct,
}

/// The answer to the member: `None` when it went through, else why not (for the member).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamActionResult {
    pub refused: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TeamReply {
    pub text: TeamTextRef,
    pub body: String,
}

/// Implemented by `nmc_worker::team::TeamActivities` (same names, inputs and outputs).
pub struct TeamActivities;

#[activity_definitions]
impl TeamActivities {
    /// Reads the member's text as a command against the alerts their phone got.
    #[activity]
    pub fn read_team_text(text: TeamTextRef) -> Result<TeamPlan, ActivityError> {
        unimplemented!()
    }

    /// Texts the caller (through the conversation's `owner_message` update) or hands back.
    #[activity]
    pub fn act_on_conversation(action: TeamAction) -> Result<TeamActionResult, ActivityError> {
        unimplemented!()
    }

    /// Texts the member back from the business number, at most once per text of theirs.
    #[activity]
    pub fn reply_to_member(reply: TeamReply) -> Result<(), ActivityError> {
        unimplemented!()
    }
}
