//! The API's side of Temporal: connect (in the background, so the API serves /healthz while
//! Temporal is down) and Signal-With-Start the caller's conversation.

use std::sync::Arc;
use std::time::Duration;

use nmc_domain::{ConversationStart, ConversationStatus, E164, InboundSms, MissedCall, conversation_workflow_id};
use nmc_workflows::{AppointmentChanged, AppointmentStart, AppointmentWorkflow, BUSINESS_ID, CONVERSATION_STATUS, ConversationWorkflow, appointment_workflow_id};
use temporalio_client::{
    Client, ClientOptions, Connection, WorkflowCountOptions, WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy, WorkflowStartOptions,
};
use temporalio_common::SignalDefinition;
use temporalio_common::search_attributes::SearchAttributes;
use tokio::sync::OnceCell;
use uuid::Uuid;

#[derive(Clone)]
pub struct Temporal {
    client: Arc<OnceCell<Client>>,
    pub task_queue: String,
    pub idle_timeout_secs: u64,
}

impl Temporal {
    /// Starts connecting in the background, retrying every second until it succeeds.
    pub fn connect_in_background(address: String, namespace: String, task_queue: String, idle_timeout_secs: u64) -> Self {
        let cell: Arc<OnceCell<Client>> = Arc::default();
        let target = cell.clone();
        tokio::spawn(async move {
            loop {
                match connect(&address, &namespace).await {
                    Ok(c) => {
                        let _ = target.set(c);
                        tracing::info!("connected to Temporal");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "Temporal not reachable yet; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Self { client: cell, task_queue, idle_timeout_secs }
    }

    pub fn client(&self) -> Option<&Client> {
        self.client.get()
    }

    /// Reachable means a real round trip to the frontend answered.
    pub async fn ping(&self) -> Result<(), String> {
        let client = self.client().ok_or("not connected")?;
        let call = client.count_workflows("WorkflowType = 'ConversationWorkflow'", WorkflowCountOptions::default());
        match tokio::time::timeout(Duration::from_secs(2), call).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".into()),
        }
    }

    fn start_options(&self, business_id: Uuid, caller: &E164) -> WorkflowStartOptions {
        WorkflowStartOptions::new(self.task_queue.clone(), conversation_workflow_id(business_id, caller))
            // A running conversation takes the signal; a closed one is followed by a new run.
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
            .search_attributes(SearchAttributes::new([
                BUSINESS_ID.value_set(business_id.to_string()),
                CONVERSATION_STATUS.value_set(ConversationStatus::Active.as_str().to_owned()),
            ]))
            .build()
    }

    fn start_input(&self, business_id: Uuid, caller: &E164) -> ConversationStart {
        ConversationStart { business_id, caller: caller.clone(), idle_timeout_secs: self.idle_timeout_secs, carried: None }
    }

    pub async fn signal_missed_call(&self, business_id: Uuid, caller: &E164, call: MissedCall) -> Result<(), String> {
        self.signal_with_start(business_id, caller, ConversationWorkflow::missed_call, call).await
    }

    pub async fn signal_inbound_sms(&self, business_id: Uuid, caller: &E164, sms: InboundSms) -> Result<(), String> {
        self.signal_with_start(business_id, caller, ConversationWorkflow::inbound_sms, sms).await
    }

    /// Tells the appointment's workflow to look again (calendar sync, reminders, and a text to
    /// the caller when `notify_caller`), starting it if needed. The change is already committed;
    /// if this fails the worker's catch-up signals it (`nmc_store::booking::untold`).
    pub async fn appointment_changed(&self, business_id: Uuid, appointment_id: Uuid, notify_caller: bool) -> bool {
        let Some(client) = self.client() else {
            tracing::warn!(%business_id, %appointment_id, "temporal not connected; the worker will catch up");
            return false;
        };
        let options = WorkflowStartOptions::new(self.task_queue.clone(), appointment_workflow_id(appointment_id))
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
            .search_attributes(SearchAttributes::new([BUSINESS_ID.value_set(business_id.to_string())]))
            .build();
        let result = client
            .signal_with_start_workflow(
                AppointmentWorkflow::run,
                AppointmentStart { business_id, appointment_id },
                AppointmentWorkflow::changed,
                AppointmentChanged { notify_caller },
                options,
            )
            .await;
        if let Err(e) = &result {
            tracing::warn!(%business_id, %appointment_id, error = %e, "appointment workflow not signalled; the worker will catch up");
        }
        result.is_ok()
    }

    fn conversation(&self, workflow_id: &str) -> Result<temporalio_client::WorkflowHandle<Client, ConversationWorkflow>, String> {
        let client = self.client().ok_or("temporal not connected")?;
        Ok(client.get_workflow_handle::<ConversationWorkflow>(workflow_id.to_owned()))
    }

    pub async fn owner_takeover(&self, workflow_id: &str, by: &str) -> Result<(), String> {
        self.conversation(workflow_id)?
            .signal(ConversationWorkflow::owner_takeover, by.to_owned(), temporalio_client::WorkflowSignalOptions::default())
            .await
            .map_err(|e| e.to_string())
    }

    pub async fn owner_release(&self, workflow_id: &str, by: &str) -> Result<(), String> {
        self.conversation(workflow_id)?
            .signal(ConversationWorkflow::owner_release, by.to_owned(), temporalio_client::WorkflowSignalOptions::default())
            .await
            .map_err(|e| e.to_string())
    }

    /// When the assistant will answer if the owner does not (the owner's head start), from the
    /// workflow's state query. `None` when it is not waiting on the owner, or Temporal is away.
    pub async fn owner_window_until(&self, workflow_id: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let handle = self.conversation(workflow_id).ok()?;
        let query = handle.query(ConversationWorkflow::state, (), temporalio_client::WorkflowQueryOptions::default());
        let view = tokio::time::timeout(Duration::from_secs(2), query).await.ok()?.ok()?;
        (view.waiting_for == "owner_window").then_some(view.until).flatten()
    }

    /// The owner's text, through the workflow's update (returns the stored message's id).
    pub async fn owner_message(&self, workflow_id: &str, body: &str) -> Result<Uuid, SendError> {
        let handle = self.conversation(workflow_id).map_err(|_| SendError::Unavailable)?;
        let update = handle.execute_update(
            ConversationWorkflow::owner_message,
            nmc_workflows::OwnerMessage { body: body.to_owned() },
            temporalio_client::WorkflowExecuteUpdateOptions::default(),
        );
        match tokio::time::timeout(Duration::from_secs(30), update).await {
            Ok(Ok(id)) => Ok(id),
            // The workflow refused it (validator or the carrier): the reason is for the owner.
            Ok(Err(e)) if !e.to_string().contains("unavailable") && !e.to_string().contains("connect") => Err(SendError::Refused(short_reason(&e.to_string()))),
            _ => Err(SendError::Unavailable),
        }
    }

    /// Signals the caller's conversation, starting it if none is running (never check-then-start).
    async fn signal_with_start<S>(&self, business_id: Uuid, caller: &E164, signal: S, input: S::Input) -> Result<(), String>
    where
        S: SignalDefinition<Workflow = nmc_workflows::ConversationRun>,
        S::Input: Send,
    {
        let client = self.client().ok_or("temporal not connected")?;
        client
            .signal_with_start_workflow(
                ConversationWorkflow::run,
                self.start_input(business_id, caller),
                signal,
                input,
                self.start_options(business_id, caller),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

pub async fn connect(address: &str, namespace: &str) -> anyhow::Result<Client> {
    let conn = Connection::connect(nmc_workflows::connect::connection_options(address, format!("nmc-api@{}", std::process::id()))?).await?;
    Ok(Client::new(conn, ClientOptions::new(namespace.to_owned()).build())?)
}

/// Why an owner's text did not go out.
#[derive(Debug)]
pub enum SendError {
    Refused(String),
    Unavailable,
}

/// The workflow's own words, without the SDK's wrapping.
fn short_reason(e: &str) -> String {
    ["message is empty", "longer than 1600", "conversation is closed", "opted out", "carrier refused", "could not be sent"]
        .iter()
        .find(|k| e.contains(*k))
        .map(|k| match *k {
            "opted out" => "the caller has opted out of texts".to_owned(),
            "conversation is closed" => "the conversation is closed".to_owned(),
            other => other.to_owned(),
        })
        .unwrap_or_else(|| "the text could not be sent".to_owned())
}
