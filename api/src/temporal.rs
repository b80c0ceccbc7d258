//! The API's side of Temporal: connect (in the background, so the API serves /healthz while
//! Temporal is down) and Signal-With-Start the caller's conversation.

use std::sync::Arc;
use std::time::Duration;

use nmc_domain::{CallerEvent, E164};
use nmc_temporal::signal::ConversationQueue;
use nmc_workflows::{
    AppointmentChanged, AppointmentStart, AppointmentWorkflow, BUSINESS_ID, ConversationWorkflow,
    Mode, Waiting, appointment_workflow_id,
};
use temporalio_client::{
    Client, ClientOptions, Connection, WorkflowCountOptions, WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy, WorkflowStartOptions,
};
use temporalio_common::search_attributes::SearchAttributes;
use temporalio_common::{HasWorkflowDefinition, UpdateDefinition};
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
    pub fn connect_in_background(
        address: String,
        namespace: String,
        task_queue: String,
        idle_timeout_secs: u64,
    ) -> Self {
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
        Self {
            client: cell,
            task_queue,
            idle_timeout_secs,
        }
    }

    pub fn client(&self) -> Option<&Client> {
        self.client.get()
    }

    /// Deletes workflows' histories for an erasure, every run of each (a conversation continues
    /// as new, and earlier runs hold texts too); the server terminates a running one first, and
    /// one already gone counts as deleted. Temporal deletes asynchronously.
    pub async fn delete_histories(&self, workflow_ids: &[String]) -> Result<(), String> {
        use futures::StreamExt;
        let client = self.client().ok_or("Temporal is not connected")?;
        for id in workflow_ids {
            // The latest run by its explicit id (describe finds a closed one too; deleting with
            // an empty run id only reaches a "current" run, and a closed workflow's may be gone,
            // which answers NotFound and deletes nothing), then every run the list knows
            // (visibility may lag).
            let mut runs: Vec<String> = latest_run(client, id).await?.into_iter().collect();
            let query = format!("WorkflowId = '{}'", id.replace(['\'', '\\'], ""));
            let mut listed =
                client.list_workflows(query, temporalio_client::WorkflowListOptions::default());
            while let Some(run) = listed.next().await {
                let run = run.map_err(|e| e.to_string())?.run_id().to_owned();
                if !runs.contains(&run) {
                    runs.push(run);
                }
            }
            for run in runs {
                delete_run(client, id, run).await?;
            }
        }
        Ok(())
    }

    /// Reachable means a real round trip to the frontend answered.
    pub async fn ping(&self) -> Result<(), String> {
        let client = self.client().ok_or("not connected")?;
        let call = client.count_workflows(
            "WorkflowType = 'ConversationWorkflow'",
            WorkflowCountOptions::default(),
        );
        match tokio::time::timeout(Duration::from_secs(2), call).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".into()),
        }
    }

    /// Hands a recorded call or text to the caller's conversation (Signal-With-Start).
    pub async fn signal_caller_event(
        &self,
        business_id: Uuid,
        caller: &E164,
        event: CallerEvent,
    ) -> Result<(), String> {
        let client = self.client().ok_or("temporal not connected")?;
        let queue = ConversationQueue {
            task_queue: self.task_queue.clone(),
            idle_timeout_secs: self.idle_timeout_secs,
        };
        queue.signal(client, business_id, caller, event).await
    }

    /// Ends the caller's open conversation, if there is one (they were blocked): no follow-up
    /// or reply goes to them after this. Best effort: a blocked caller's texts are ignored anyway.
    pub async fn close_caller(&self, business_id: Uuid, caller: &E164) {
        let id = nmc_domain::conversation_workflow_id(business_id, caller);
        let Ok(handle) = self.conversation(&id) else {
            return;
        };
        let closed = handle
            .signal(
                ConversationWorkflow::close,
                "blocked".to_owned(),
                temporalio_client::WorkflowSignalOptions::default(),
            )
            .await;
        if let Err(e) = closed {
            tracing::debug!(error = %e, "no open conversation to close for the blocked caller");
        }
    }

    /// Tells the appointment's workflow to look again (calendar sync, reminders, and a text to
    /// the caller when `notify_caller`), starting it if needed. The change is already committed;
    /// if this fails the worker's catch-up signals it (`nmc_store::booking::untold`).
    pub async fn appointment_changed(
        &self,
        business_id: Uuid,
        appointment_id: Uuid,
        notify_caller: bool,
    ) -> bool {
        let Some(client) = self.client() else {
            tracing::warn!(%business_id, %appointment_id, "temporal not connected; the worker will catch up");
            return false;
        };
        let options = WorkflowStartOptions::new(
            self.task_queue.clone(),
            appointment_workflow_id(appointment_id),
        )
        .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
        .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
        .search_attributes(SearchAttributes::new([
            BUSINESS_ID.value_set(business_id.to_string())
        ]))
        .build();
        let result = client
            .signal_with_start_workflow(
                AppointmentWorkflow::run,
                AppointmentStart {
                    business_id,
                    appointment_id,
                },
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

    fn conversation(
        &self,
        workflow_id: &str,
    ) -> Result<temporalio_client::WorkflowHandle<Client, ConversationWorkflow>, String> {
        let client = self.client().ok_or("temporal not connected")?;
        Ok(client.get_workflow_handle::<ConversationWorkflow>(workflow_id.to_owned()))
    }

    /// The owner takes the conversation over. Returns once the workflow has recorded it (an
    /// update, not a signal), so the page shows the new mode without polling.
    pub async fn owner_takeover(&self, workflow_id: &str, by: &str) -> Result<ModeChange, String> {
        self.change_mode(workflow_id, ConversationWorkflow::owner_takeover, by)
            .await
    }

    /// The owner hands the conversation back to the assistant (an update, as above).
    pub async fn owner_release(&self, workflow_id: &str, by: &str) -> Result<ModeChange, String> {
        self.change_mode(workflow_id, ConversationWorkflow::owner_release, by)
            .await
    }

    async fn change_mode<U>(
        &self,
        workflow_id: &str,
        update: U,
        by: &str,
    ) -> Result<ModeChange, String>
    where
        U: UpdateDefinition<
                Workflow = <ConversationWorkflow as HasWorkflowDefinition>::Run,
                Input = String,
                Output = Mode,
            >,
    {
        let handle = self.conversation(workflow_id)?;
        let update = handle.execute_update(
            update,
            by.to_owned(),
            temporalio_client::WorkflowExecuteUpdateOptions::default(),
        );
        match tokio::time::timeout(OWNER_SEND_WAIT, update).await {
            Ok(result) => result.map(ModeChange::Done).map_err(|e| e.to_string()),
            // The update stays with the workflow, which applies it once it gets to it.
            Err(_) => Ok(ModeChange::Pending),
        }
    }

    /// When the assistant will answer if the owner does not (the owner's head start), from the
    /// workflow's state query. `None` when it is not waiting on the owner, or Temporal is away.
    pub async fn owner_window_until(
        &self,
        workflow_id: &str,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let handle = self.conversation(workflow_id).ok()?;
        let query = handle.query(
            ConversationWorkflow::state,
            (),
            temporalio_client::WorkflowQueryOptions::default(),
        );
        let view = tokio::time::timeout(Duration::from_secs(2), query)
            .await
            .ok()?
            .ok()?;
        (view.waiting_for == Waiting::OwnerWindow)
            .then_some(view.until)
            .flatten()
    }

    /// The owner's text, through the workflow's update (returns the stored message's id). The
    /// update id comes from the client's key, so a resubmit joins the first send instead of
    /// starting a second; a send slower than the wait below answers "still sending".
    pub async fn owner_message(
        &self,
        workflow_id: &str,
        body: &str,
        key: &str,
    ) -> Result<Uuid, SendError> {
        let handle = self
            .conversation(workflow_id)
            .map_err(|_| SendError::Unavailable)?;
        let options = temporalio_client::WorkflowExecuteUpdateOptions::builder()
            .update_id(format!("owner-message-{key}"))
            .build();
        let message = nmc_workflows::OwnerMessage {
            body: body.to_owned(),
            key: Some(key.to_owned()),
        };
        let update = handle.execute_update(ConversationWorkflow::owner_message, message, options);
        match tokio::time::timeout(OWNER_SEND_WAIT, update).await {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(e)) if unreachable(&e.to_string()) => Err(SendError::Unavailable),
            // The workflow refused it (validator or the carrier): the reason is for the owner.
            Ok(Err(e)) => Err(SendError::Refused(short_reason(&e.to_string()))),
            Err(_) => Err(SendError::StillSending),
        }
    }
}

impl Temporal {
    /// A tool the AI voice agent calls, answered by the caller's conversation (an update whose
    /// id is Vapi's tool-call id, so a redelivered call joins the first instead of booking
    /// twice). Returns the line the agent says.
    pub async fn agent_tool(
        &self,
        business_id: Uuid,
        caller: &E164,
        tool_call_id: &str,
        tool: nmc_domain::voice_agent::AgentTool,
    ) -> Result<String, String> {
        let id = nmc_domain::conversation_workflow_id(business_id, caller);
        let handle = self.conversation(&id)?;
        let options = temporalio_client::WorkflowExecuteUpdateOptions::builder()
            .update_id(format!("agent-tool-{tool_call_id}"))
            .build();
        handle
            .execute_update(ConversationWorkflow::agent_tool, tool, options)
            .await
            .map_err(|e| e.to_string())
    }
}

/// What came of the owner's takeover or hand-back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeChange {
    /// The workflow recorded it: the conversation is in this mode now.
    Done(Mode),
    /// Accepted but not yet answered in time: it applies when the workflow gets to it.
    Pending,
}

/// Connects, and registers our search attributes where the server lets us. When it does not,
/// the client is still returned (owner pages work) and /healthz reports the attributes missing.
pub async fn connect(address: &str, namespace: &str) -> anyhow::Result<Client> {
    let conn = Connection::connect(nmc_temporal::connect::connection_options(
        address,
        format!("nmc-api@{}", std::process::id()),
    )?)
    .await?;
    let client = Client::new(conn, ClientOptions::new(namespace.to_owned()).build())?;
    let ensure = nmc_temporal::connect::ensure_search_attributes(&client, namespace);
    match tokio::time::timeout(Duration::from_secs(10), ensure).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("{e}"),
        Err(_) => tracing::warn!(
            "Temporal search attributes not checked (timed out); /healthz keeps checking"
        ),
    }
    Ok(client)
}

/// How long an owner's send may take before the app hears "still sending" (the carrier may be
/// slow or throttling; the workflow keeps trying).
const OWNER_SEND_WAIT: Duration = Duration::from_secs(10);

fn unreachable(e: &str) -> bool {
    e.contains("unavailable") || e.contains("connect") || e.contains("transport")
}

/// Why an owner's text did not go out (yet).
#[derive(Debug)]
pub enum SendError {
    Refused(String),
    /// Temporal could not be reached: nothing was started, a retry is safe.
    Unavailable,
    /// The workflow has it and the carrier has not answered yet.
    StillSending,
}

/// The workflow's own words, without the SDK's wrapping.
fn short_reason(e: &str) -> String {
    [
        "message is empty",
        "longer than 1600",
        "conversation is closed",
        "opted out",
        "carrier refused",
        "could not be sent",
    ]
    .iter()
    .find(|k| e.contains(*k))
    .map(|k| match *k {
        "opted out" => "the caller has opted out of texts".to_owned(),
        "conversation is closed" => "the conversation is closed".to_owned(),
        other => other.to_owned(),
    })
    .unwrap_or_else(|| "the text could not be sent".to_owned())
}

/// `DeleteWorkflowExecution` for one run (empty: the latest); not found counts as done.
/// The workflow's latest run id, running or closed; `None` when there is none.
async fn latest_run(client: &Client, id: &str) -> Result<Option<String>, String> {
    use temporalio_client::NamespacedClient;
    use temporalio_client::grpc::WorkflowService;
    use temporalio_client::tonic::{Code, Request};
    use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
    use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeWorkflowExecutionRequest;
    let request = DescribeWorkflowExecutionRequest {
        namespace: client.namespace(),
        execution: Some(WorkflowExecution {
            workflow_id: id.to_owned(),
            run_id: String::new(),
        }),
    };
    let mut c = client.clone();
    match WorkflowService::describe_workflow_execution(&mut c, Request::new(request)).await {
        Ok(r) => Ok(r
            .into_inner()
            .workflow_execution_info
            .and_then(|i| i.execution)
            .map(|e| e.run_id)
            .filter(|r| !r.is_empty())),
        Err(s) if s.code() == Code::NotFound => Ok(None),
        Err(s) => Err(s.message().to_owned()),
    }
}

async fn delete_run(client: &Client, id: &str, run_id: String) -> Result<(), String> {
    use temporalio_client::NamespacedClient;
    use temporalio_client::grpc::WorkflowService;
    use temporalio_client::tonic::{Code, Request};
    use temporalio_common::protos::temporal::api::common::v1::WorkflowExecution;
    use temporalio_common::protos::temporal::api::workflowservice::v1::DeleteWorkflowExecutionRequest;
    let request = DeleteWorkflowExecutionRequest {
        namespace: client.namespace(),
        workflow_execution: Some(WorkflowExecution {
            workflow_id: id.to_owned(),
            run_id,
        }),
    };
    let mut c = client.clone();
    match WorkflowService::delete_workflow_execution(&mut c, Request::new(request)).await {
        Ok(_) => Ok(()),
        Err(s) if s.code() == Code::NotFound => Ok(()),
        Err(s) => Err(s.message().to_owned()),
    }
}
