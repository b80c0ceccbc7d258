//! One workflow per text from a team member's phone (`team-text-{business}-{sid}`): it is a
//! command, never a caller's text and never a lead. A reply to an alert goes to that caller
//! from the business number (the owner takes over); `AI` hands back; `CALL`, `?`, HELP and
//! anything unknown get a short answer. A confirmation goes back only when something failed.

use nmc_activity_defs::team::{
    TeamAct, TeamAction, TeamActivities, TeamPlan, TeamReply, TeamTextRef,
};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowContextView, WorkflowResult};
use uuid::Uuid;

use crate::conversation::Step;

pub fn team_text_workflow_id(business_id: Uuid, message_sid: &str) -> String {
    format!("team-text-{business_id}-{message_sid}")
}

#[workflow]
pub struct TeamTextWorkflow {
    text: TeamTextRef,
}

#[workflow_methods]
impl TeamTextWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, text: TeamTextRef) -> Self {
        Self { text }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<String> {
        let text = ctx.state(|s| s.text.clone());
        let plan: TeamPlan = ctx
            .execute_activity(
                TeamActivities::read_team_text,
                text.clone(),
                Step::Record.options(),
            )
            .await?;
        let mut reply = plan.reply;
        if plan.act != TeamAct::Nothing {
            let action = TeamAction {
                text: text.clone(),
                act: plan.act.clone(),
            };
            let done = ctx
                .execute_activity(
                    TeamActivities::act_on_conversation,
                    action,
                    Step::Send.options(),
                )
                .await;
            reply = match (done, &plan.act) {
                (Ok(r), _) if r.refused.is_none() => reply,
                (Ok(r), _) => r.refused.map(|why| format!("Not sent: {why}")),
                (Err(_), TeamAct::HandBack { .. }) => {
                    Some("Could not hand back; open the app to try again.".to_owned())
                }
                (Err(_), _) => Some("Not sent; open the app to try again.".to_owned()),
            };
        }
        let outcome = match &plan.act {
            TeamAct::TextCaller { .. } => "texted the caller",
            TeamAct::HandBack { .. } => "handed back",
            TeamAct::Nothing => "answered",
        };
        if let Some(body) = reply {
            let reply = TeamReply { text, body };
            ctx.execute_activity(TeamActivities::reply_to_member, reply, Step::Send.options())
                .await?;
        }
        Ok(outcome.to_owned())
    }
}
