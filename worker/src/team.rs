//! The team's texts to the business number (`TeamTextWorkflow`'s activities). They live in the
//! worker, not in `nmc-activities`, because acting on a conversation is a Temporal update (the
//! same `owner_message` the app uses), which needs the client the worker holds.

use std::sync::Arc;

use anyhow::anyhow;
use nmc_activity_defs::team::{
    TeamAct, TeamAction, TeamActionResult, TeamPlan, TeamReply, TeamTextRef,
};
use nmc_domain::team::{COMMANDS_LINE, HELP_TEXT, TeamCommand};
use nmc_store::team::{self as store, AlertedConversation};
use nmc_store::{PgPool, SecretBox};
use nmc_twilio::TwilioClient;
use nmc_workflows::{ConversationWorkflow, OwnerMessage};
use temporalio_client::{Client, WorkflowExecuteUpdateOptions};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

pub struct TeamActivities {
    pub pool: PgPool,
    pub client: Client,
    pub twilio: TwilioClient,
    pub secrets: SecretBox,
    pub status_callback_url: String,
}

fn retryable(e: impl std::fmt::Display) -> ActivityError {
    anyhow!("{e}").into()
}

/// How an answer names the caller: "Jane Doe (512) 555-0123".
fn who(c: &AlertedConversation) -> String {
    nmc_domain::phone::named(c.name.as_deref(), &c.caller)
}

fn waiting_list(list: &[AlertedConversation]) -> String {
    if list.is_empty() {
        return "Nobody is waiting on you.".to_owned();
    }
    let lines: Vec<String> = list
        .iter()
        .map(|c| {
            let flag = if c.emergency { " EMERGENCY" } else { "" };
            format!("#{} {}{flag}", c.number, who(c))
        })
        .collect();
    format!(
        "{} waiting: {}. Reply #n TEXT to answer.",
        list.len(),
        lines.join("; ")
    )
}

#[activities]
impl TeamActivities {
    #[activity]
    pub async fn read_team_text(
        self: Arc<Self>,
        _ctx: ActivityContext,
        t: TeamTextRef,
    ) -> Result<TeamPlan, ActivityError> {
        let text = store::get(&self.pool, t.business_id, t.team_text_id)
            .await
            .map_err(retryable)?;
        let mut command = TeamCommand::parse(&text.body);
        // "Yes" is a carrier's opt-in word and an owner's most common answer: it restarts alert
        // texts only for a member who stopped them; otherwise it goes to the caller.
        if command == TeamCommand::Start
            && !store::texts_stopped(&self.pool, t.business_id, text.user_id)
                .await
                .map_err(retryable)?
        {
            command = TeamCommand::Reply {
                text: text.body.trim().to_owned(),
            };
        }
        let (plan, outcome, conversation) = self.plan(&t, &text, command).await?;
        store::set_outcome(
            &self.pool,
            t.business_id,
            t.team_text_id,
            outcome,
            conversation,
        )
        .await
        .map_err(retryable)?;
        Ok(plan)
    }

    #[activity]
    pub async fn act_on_conversation(
        self: Arc<Self>,
        _ctx: ActivityContext,
        a: TeamAction,
    ) -> Result<TeamActionResult, ActivityError> {
        match a.act {
            TeamAct::TextCaller { workflow_id, body } => {
                self.text_caller(&a.text, &workflow_id, body).await
            }
            TeamAct::HandBack { workflow_id } => {
                let handle = self
                    .client
                    .get_workflow_handle::<ConversationWorkflow>(workflow_id);
                let by = format!("team-text:{}", a.text.team_text_id);
                match handle
                    .execute_update(
                        ConversationWorkflow::owner_release,
                        by,
                        WorkflowExecuteUpdateOptions::default(),
                    )
                    .await
                {
                    Ok(_) => Ok(TeamActionResult { refused: None }),
                    Err(e) if closed(&e.to_string()) => Ok(TeamActionResult {
                        refused: Some("that conversation is closed".into()),
                    }),
                    Err(e) => Err(retryable(e)),
                }
            }
            TeamAct::Nothing => Ok(TeamActionResult { refused: None }),
        }
    }

    #[activity]
    pub async fn reply_to_member(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: TeamReply,
    ) -> Result<(), ActivityError> {
        let t = &r.text;
        let text = store::get(&self.pool, t.business_id, t.team_text_id)
            .await
            .map_err(retryable)?;
        // Everything that can fail before the carrier hears of it comes before the claim, so a
        // retry after such a failure still sends.
        let token = self
            .secrets
            .decrypt(&text.auth_token_enc)
            .map_err(retryable)?;
        if !store::claim_reply(&self.pool, t.business_id, t.team_text_id, &r.body)
            .await
            .map_err(retryable)?
        {
            return Ok(());
        }
        let sent = self
            .twilio
            .send_message(
                &text.account_sid,
                &token,
                &text.twilio_number,
                &text.from_phone,
                &r.body,
                &self.status_callback_url,
            )
            .await;
        let sid = match &sent {
            Ok(m) => Some(m.sid.as_str()),
            Err(e) => {
                // The carrier's code only: its message can hold the member's number.
                let code = match e {
                    nmc_twilio::TwilioError::Api { code, .. } => code.to_string(),
                    nmc_twilio::TwilioError::Transport(_) => "network".to_owned(),
                };
                tracing::warn!(code, "could not answer the team member");
                None
            }
        };
        store::finish_reply(&self.pool, t.business_id, t.team_text_id, sid)
            .await
            .map_err(retryable)
    }
}

fn closed(error: &str) -> bool {
    error.contains("not found") || error.contains("already completed") || error.contains("closed")
}

type Plan = (TeamPlan, &'static str, Option<uuid::Uuid>);

fn say(s: String) -> TeamPlan {
    TeamPlan {
        act: TeamAct::Nothing,
        reply: Some(s),
    }
}

/// What a command that names a conversation (the latest alert's, or alert #n) does with it.
fn on_conversation(command: TeamCommand, c: AlertedConversation) -> Plan {
    let (plan, outcome) = match command {
        TeamCommand::Reply { text } | TeamCommand::Answer { text, .. } => (
            TeamPlan {
                act: TeamAct::TextCaller {
                    workflow_id: c.workflow_id.clone(),
                    body: text,
                },
                reply: None,
            },
            "texted the caller",
        ),
        TeamCommand::HandBack => (
            TeamPlan {
                act: TeamAct::HandBack {
                    workflow_id: c.workflow_id.clone(),
                },
                reply: Some(format!(
                    "The assistant has {} again (#{}).",
                    who(&c),
                    c.number
                )),
            },
            "handed back",
        ),
        _ => (say(format!("Call {}: tel:{}", who(&c), c.caller)), "call"),
    };
    (plan, outcome, Some(c.conversation_id))
}

impl TeamActivities {
    /// The command read against this phone's alerts: what to do, what to say, and the outcome.
    async fn plan(
        &self,
        t: &TeamTextRef,
        text: &store::TeamText,
        command: TeamCommand,
    ) -> Result<Plan, ActivityError> {
        let target = match &command {
            TeamCommand::Reply { .. } | TeamCommand::HandBack | TeamCommand::Call => {
                store::latest_alert(&self.pool, t.business_id, &text.from_phone).await
            }
            TeamCommand::Answer { number, .. } => {
                store::alert_by_number(&self.pool, t.business_id, *number).await
            }
            _ => return self.plan_without_conversation(t, text, command).await,
        };
        Ok(match (target.map_err(retryable)?, &command) {
            (Some(c), _) => on_conversation(command, c),
            (None, TeamCommand::Answer { number, .. }) => (
                say(format!("There is no alert #{number}. {COMMANDS_LINE}")),
                "no alert",
                None,
            ),
            (None, _) => (
                say(format!("No alert to answer yet. {COMMANDS_LINE}")),
                "no alert",
                None,
            ),
        })
    }

    /// `?`, HELP, STOP, START and anything unknown.
    async fn plan_without_conversation(
        &self,
        t: &TeamTextRef,
        text: &store::TeamText,
        command: TeamCommand,
    ) -> Result<Plan, ActivityError> {
        Ok(match command {
            TeamCommand::Waiting => {
                let list = store::waiting(&self.pool, t.business_id)
                    .await
                    .map_err(retryable)?;
                (say(waiting_list(&list)), "list", None)
            }
            TeamCommand::Stop | TeamCommand::Start => {
                let stop = command == TeamCommand::Stop;
                if let Some(user) = text.user_id {
                    store::set_texts_stopped(
                        &self.pool,
                        t.business_id,
                        user,
                        &text.from_phone,
                        stop,
                    )
                    .await
                    .map_err(retryable)?;
                }
                // After STOP the carrier answers for us (and would refuse our text).
                let reply =
                    (!stop).then(|| "Alert texts are back on. HELP for commands.".to_owned());
                let plan = TeamPlan {
                    act: TeamAct::Nothing,
                    reply,
                };
                (plan, if stop { "stop" } else { "start" }, None)
            }
            TeamCommand::Help => (say(HELP_TEXT.to_owned()), "help", None),
            _ => (say(COMMANDS_LINE.to_owned()), "unknown", None),
        })
    }

    /// The member's words to the caller, through the conversation's own `owner_message`
    /// update (keyed by their text's sid, so a retry joins the first send): the owner takes
    /// over first, so the assistant stays silent.
    async fn text_caller(
        &self,
        t: &TeamTextRef,
        workflow_id: &str,
        body: String,
    ) -> Result<TeamActionResult, ActivityError> {
        if let Err(why) = nmc_domain::check_owner_text(&body) {
            return Ok(TeamActionResult {
                refused: Some(why.to_owned()),
            });
        }
        let handle = self
            .client
            .get_workflow_handle::<ConversationWorkflow>(workflow_id.to_owned());
        let by = format!("team-text:{}", t.team_text_id);
        if let Err(e) = handle
            .execute_update(
                ConversationWorkflow::owner_takeover,
                by,
                WorkflowExecuteUpdateOptions::default(),
            )
            .await
        {
            return if closed(&e.to_string()) {
                Ok(TeamActionResult {
                    refused: Some("that conversation is closed; open it in the app".into()),
                })
            } else {
                Err(retryable(e))
            };
        }
        let key = format!("team-{}", t.team_text_id);
        let options = WorkflowExecuteUpdateOptions::builder()
            .update_id(format!("owner-message-{key}"))
            .build();
        let message = OwnerMessage {
            body,
            key: Some(key),
        };
        match handle
            .execute_update(ConversationWorkflow::owner_message, message, options)
            .await
        {
            Ok(_) => Ok(TeamActionResult { refused: None }),
            Err(e)
                if e.to_string().contains("opted out")
                    || e.to_string().contains("refused")
                    || closed(&e.to_string()) =>
            {
                Ok(TeamActionResult {
                    refused: Some(short(&e.to_string())),
                })
            }
            Err(e) => Err(retryable(e)),
        }
    }
}

/// The workflow's reason, without the client's wrapping.
fn short(error: &str) -> String {
    let tail = error.rsplit(": ").next().unwrap_or(error);
    tail.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use nmc_activity_defs::team::TeamActivities as Contract;
    use temporalio_common::ActivityDefinition;

    use super::TeamActivities;

    /// Compiles only when the implementation takes and returns what the contract says.
    fn same<D, A>(definition: &D, implementation: &A) -> (String, String)
    where
        D: ActivityDefinition,
        A: ActivityDefinition<Input = D::Input, Output = D::Output>,
    {
        (
            definition.name().to_owned(),
            implementation.name().to_owned(),
        )
    }

    #[test]
    fn every_team_activity_answers_to_its_contract_name() {
        for (contract, implementation) in [
            same(&Contract::read_team_text, &TeamActivities::read_team_text),
            same(
                &Contract::act_on_conversation,
                &TeamActivities::act_on_conversation,
            ),
            same(&Contract::reply_to_member, &TeamActivities::reply_to_member),
        ] {
            assert_eq!(contract, implementation);
        }
    }
}
