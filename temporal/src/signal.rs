//! Signal-With-Start of a caller's conversation, shared by the webhooks (nmc-api) and the outbox
//! that re-signals what they could not (nmc-worker). Never check-then-start: a running
//! conversation takes the signal, a closed one is followed by a new run.

use nmc_domain::{
    CallerEvent, ConversationStart, ConversationStatus, E164, conversation_workflow_id,
};
use temporalio_client::{
    Client, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
};
use temporalio_common::search_attributes::SearchAttributes;
use uuid::Uuid;

use nmc_workflows::{BUSINESS_ID, CONVERSATION_STATUS, ConversationWorkflow};

/// Where conversations run and how long an idle one stays open.
#[derive(Debug, Clone)]
pub struct ConversationQueue {
    pub task_queue: String,
    pub idle_timeout_secs: u64,
}

impl ConversationQueue {
    fn options(&self, business_id: Uuid, caller: &E164) -> WorkflowStartOptions {
        WorkflowStartOptions::new(
            self.task_queue.clone(),
            conversation_workflow_id(business_id, caller),
        )
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
        .search_attributes(SearchAttributes::new([
            BUSINESS_ID.value_set(business_id.to_string()),
            CONVERSATION_STATUS.value_set(ConversationStatus::Active.as_str().to_owned()),
        ]))
        .build()
    }

    fn start(&self, business_id: Uuid, caller: &E164) -> ConversationStart {
        ConversationStart {
            business_id,
            caller: caller.clone(),
            idle_timeout_secs: self.idle_timeout_secs,
            carried: None,
        }
    }

    /// Hands a recorded call or text to the caller's conversation, starting it if needed. The
    /// workflow drops a repeat by its sid, so signalling twice is harmless.
    pub async fn signal(
        &self,
        client: &Client,
        business_id: Uuid,
        caller: &E164,
        event: CallerEvent,
    ) -> Result<(), String> {
        let (start, options) = (
            self.start(business_id, caller),
            self.options(business_id, caller),
        );
        let sent = match event {
            CallerEvent::Missed(call) => {
                client
                    .signal_with_start_workflow(
                        ConversationWorkflow::run,
                        start,
                        ConversationWorkflow::missed_call,
                        call,
                        options,
                    )
                    .await
            }
            CallerEvent::Texted(sms) => {
                client
                    .signal_with_start_workflow(
                        ConversationWorkflow::run,
                        start,
                        ConversationWorkflow::inbound_sms,
                        sms,
                        options,
                    )
                    .await
            }
            CallerEvent::Voicemail(vm) => {
                client
                    .signal_with_start_workflow(
                        ConversationWorkflow::run,
                        start,
                        ConversationWorkflow::voicemail,
                        vm,
                        options,
                    )
                    .await
            }
            CallerEvent::AgentCall(ended) => {
                client
                    .signal_with_start_workflow(
                        ConversationWorkflow::run,
                        start,
                        ConversationWorkflow::agent_call,
                        ended,
                        options,
                    )
                    .await
            }
        };
        sent.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Starts the workflow for a team member's recorded text (`team_texts.id`), once: a second
/// start of the same text, running or finished, is a no-op.
pub async fn start_team_text(
    client: &Client,
    task_queue: &str,
    business_id: Uuid,
    team_text_id: Uuid,
    message_sid: &str,
) -> Result<(), String> {
    use nmc_activity_defs::team::TeamTextRef;
    use nmc_workflows::{TeamTextWorkflow, team_text_workflow_id};
    let options = WorkflowStartOptions::new(
        task_queue.to_owned(),
        team_text_workflow_id(business_id, message_sid),
    )
    .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
    .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
    .search_attributes(SearchAttributes::new([
        BUSINESS_ID.value_set(business_id.to_string())
    ]))
    .build();
    let text = TeamTextRef {
        business_id,
        team_text_id,
    };
    match client
        .start_workflow(TeamTextWorkflow::run, text, options)
        .await
    {
        Ok(_) | Err(temporalio_client::errors::WorkflowStartError::AlreadyStarted { .. }) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// Starts a recorded CRM push's workflow; one already started (or finished) counts as started.
pub async fn start_crm_push(
    client: &Client,
    task_queue: &str,
    business_id: Uuid,
    push_id: Uuid,
) -> Result<(), String> {
    use nmc_workflows::{CrmPushStart, CrmPushWorkflow, crm_push_workflow_id};
    let options = WorkflowStartOptions::new(task_queue.to_owned(), crm_push_workflow_id(push_id))
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .search_attributes(SearchAttributes::new([
            BUSINESS_ID.value_set(business_id.to_string())
        ]))
        .build();
    let start = CrmPushStart {
        business_id,
        push_id,
    };
    match client
        .start_workflow(CrmPushWorkflow::run, start, options)
        .await
    {
        Ok(_) | Err(temporalio_client::errors::WorkflowStartError::AlreadyStarted { .. }) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}
