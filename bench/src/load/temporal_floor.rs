//! The Temporal floor: the least a durable greeting can cost on the same Temporal dev server. Per
//! missed call it makes the Temporal operations our greeting path makes — one Signal-With-Start
//! (UseExisting, a fresh workflow id), one workflow task, one local activity that POSTs the text
//! to the carrier — and then completes: no webhook, no database, no conversation state. Our path
//! against it is the price of our own records and workflow; it against the bare floor is
//! Temporal's.
//!
//! It runs in this process on its own task queue, with the same Twilio client our worker sends
//! with, at the run's rate for the run's duration.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nmc_sandbox::Sandbox;
use nmc_twilio::TwilioClient;
use serde::{Deserialize, Serialize};
use temporalio_client::{
    Client, ClientOptions, Connection, WorkflowIdConflictPolicy, WorkflowStartOptions,
};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::runtime::PollerBehavior;
use temporalio_sdk::{
    LocalActivityOptions, Runtime, SyncWorkflowContext, Worker, WorkerOptions, WorkflowContext,
    WorkflowContextView, WorkflowResult,
};
use uuid::Uuid;

use super::Stage;
use crate::greeting::GREETING;
use crate::{ACCOUNT_SID, AUTH_TOKEN, Args, now_us, pct};

/// Apart from nmc-worker's queue, so neither worker takes the other's tasks.
const TASK_QUEUE: &str = "nmc-floor";

/// The start's input, as `ConversationStart`: the business's number and the caller.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FloorStart {
    business_number: String,
    caller: String,
}

/// The signal, as `MissedCall`: the call's sid.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FloorCall {
    call_sid: String,
}

/// The local activity's input: who texts whom.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FloorText {
    from: String,
    to: String,
}

/// Takes the missed call, texts the caller, completes.
#[workflow]
struct FloorWorkflow {
    start: FloorStart,
    call: Option<FloorCall>,
}

#[workflow_methods]
impl FloorWorkflow {
    #[init]
    fn new(_ctx: &WorkflowContextView, start: FloorStart) -> Self {
        Self { start, call: None }
    }

    #[run]
    async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        // The signal comes in the same first task; waiting on it keeps the order of jobs moot.
        ctx.wait_condition(|s: &Self| s.call.is_some()).await?;
        let text = ctx.state(|s| FloorText {
            from: s.start.business_number.clone(),
            to: s.start.caller.clone(),
        });
        // A local activity, as our greeting is: a marker in this task, not a task of its own.
        let options = LocalActivityOptions::builder()
            .start_to_close_timeout(Duration::from_secs(10))
            .schedule_to_close_timeout(Duration::from_mins(1))
            .build();
        ctx.execute_local_activity(FloorCarrier::send_text, text, options)
            .await?;
        Ok(())
    }

    #[signal]
    fn missed_call(&mut self, _ctx: &mut SyncWorkflowContext<Self>, call: FloorCall) {
        self.call = Some(call);
    }
}

/// The floor's one side effect: the carrier's Messages REST call, through nmc-twilio as ours.
struct FloorCarrier {
    twilio: TwilioClient,
}

#[activities]
impl FloorCarrier {
    #[activity]
    async fn send_text(
        self: Arc<Self>,
        _ctx: ActivityContext,
        text: FloorText,
    ) -> Result<(), ActivityError> {
        // An empty status callback (the sandbox's post to it fails at once): the floor keeps no
        // record for one to update.
        self.twilio
            .send_message(ACCOUNT_SID, AUTH_TOKEN, &text.from, &text.to, GREETING, "")
            .await?;
        Ok(())
    }
}

/// What the floor achieved.
pub(super) struct TemporalFloor {
    /// Signal-With-Start sent → the carrier got the text, ms.
    pub first_text: Stage,
    pub calls: usize,
    pub delivered: usize,
    /// Signal-With-Starts that failed.
    pub errors: usize,
    /// Texts delivered per second, from the first start sent to the last text received.
    pub texts_per_s: f64,
}

impl TemporalFloor {
    /// Its own figures, then our sustained texts/s (`ours`) as a share of its.
    pub(super) fn print(&mut self, ours: f64) {
        let v = &mut self.first_text.0;
        println!(
            "\nTemporal floor: {} missed calls → {} texts ({} starts failed); start → text p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            self.calls,
            self.delivered,
            self.errors,
            pct(v, 0.5),
            pct(v, 0.95),
            pct(v, 0.99)
        );
        println!(
            "durability overhead: ours {ours:.1} texts/s = {:.0} % of the Temporal floor's {:.1} texts/s",
            ours / self.texts_per_s * 100.0,
            self.texts_per_s
        );
    }
}

/// Connects as nmc-worker does, to `TEMPORAL_ADDRESS` (host:port, as scripts/lib.sh exports it).
async fn connect() -> anyhow::Result<Client> {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let options = nmc_temporal::connect::connection_options(
        &var("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        format!("nmc-bench@{}", std::process::id()),
    )?;
    let connection = Connection::connect(options).await?;
    let options = ClientOptions::new(var("TEMPORAL_NAMESPACE", "default")).build();
    Ok(Client::new(connection, options)?)
}

/// Runs the floor's worker in this process while `--rate` × `--duration` missed calls from new
/// callers to `number` go through it, texting the carrier at `sandbox_base`.
pub(super) async fn measure(
    a: &Args,
    sandbox: &Sandbox,
    sandbox_base: &str,
    number: &str,
) -> anyhow::Result<TemporalFloor> {
    let client = connect().await?;
    let runtime = Runtime::from_current_tokio(Default::default())?;
    // nmc-worker's tuning knobs, so a tuned run tunes both alike; unset, the SDK's defaults.
    let knob = |name: &str| -> Option<usize> { std::env::var(name).ok()?.parse().ok() };
    let options = WorkerOptions::new(TASK_QUEUE)
        .maybe_max_cached_workflows(knob("NMC_WORKFLOW_CACHE"))
        .maybe_workflow_task_poller_behavior(
            knob("NMC_WORKFLOW_POLLERS").map(PollerBehavior::SimpleMaximum),
        )
        .register_workflow::<FloorWorkflow>()?
        .register_activities(FloorCarrier {
            twilio: TwilioClient::new(sandbox_base),
        })
        .build();
    let mut worker = Worker::new(&runtime, client.clone(), options)?;
    let shutdown = worker.shutdown_handle();
    let n = (a.rate * a.duration).round() as usize;
    let drive = async {
        // Warm-up (connections, the worker's first polls); not counted.
        let from = sandbox.messages_since(0).len();
        let warm = fire(&client, number, 5128, a.rate, 10).await;
        collect(sandbox, &warm, from).await;
        let from = sandbox.messages_since(0).len();
        let sent = fire(&client, number, 5127, a.rate, n).await;
        let floor = collect(sandbox, &sent, from).await;
        shutdown();
        floor
    };
    // The worker's run future is not Send: it runs here, beside the calls, not in a task.
    let run = worker.run();
    tokio::pin!(run);
    let floor = tokio::select! {
        ran = &mut run => {
            ran?;
            anyhow::bail!("the floor's worker stopped before its calls were done");
        }
        floor = drive => floor,
    };
    // In-flight tasks finish; a long poll the server holds open is not waited out.
    let _ = tokio::time::timeout(Duration::from_secs(10), run).await;
    Ok(floor)
}

/// One Signal-With-Start sent: to whom, when (µs since the epoch), and whether it was taken.
struct Sent {
    caller: String,
    at_us: u128,
    ok: bool,
}

/// One missed call per tick at `rate`, each from a new caller to a workflow id of its own.
async fn fire(client: &Client, number: &str, prefix: u64, rate: f64, n: usize) -> Vec<Sent> {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        ticker.tick().await;
        let caller = format!("+1{prefix}{i:06}");
        let start = FloorStart {
            business_number: number.to_owned(),
            caller: caller.clone(),
        };
        let call = FloorCall {
            call_sid: format!("CA{}", Uuid::new_v4().simple()),
        };
        // UseExisting, as ours: a second call from the caller would signal the running one.
        let options =
            WorkflowStartOptions::new(TASK_QUEUE.to_owned(), format!("floor-{}", Uuid::new_v4()))
                .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
                .build();
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let at_us = now_us();
            let ok = client
                .signal_with_start_workflow(
                    FloorWorkflow::run,
                    start,
                    FloorWorkflow::missed_call,
                    call,
                    options,
                )
                .await
                .is_ok();
            Sent { caller, at_us, ok }
        }));
    }
    let mut sent = Vec::with_capacity(n);
    for t in tasks {
        sent.push(t.await.unwrap());
    }
    sent
}

/// Waits (up to 30 s) for the carrier to get a text for each start taken, reading the carrier's
/// messages from index `from` on; then the floor's latencies and throughput.
async fn collect(sandbox: &Sandbox, sent: &[Sent], mut from: usize) -> TemporalFloor {
    let wanted: HashMap<&str, u128> = sent
        .iter()
        .filter(|s| s.ok)
        .map(|s| (s.caller.as_str(), s.at_us))
        .collect();
    let mut got: HashMap<&str, u128> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < wanted.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let new = sandbox.messages_since(from);
        from += new.len();
        for m in new {
            if let Some((caller, _)) = wanted.get_key_value(m.to.as_str()) {
                got.entry(*caller).or_insert(m.received_unix_us);
            }
        }
    }
    let first_sent = sent.iter().map(|s| s.at_us).min().unwrap_or_default();
    let last_text = got.values().copied().max().unwrap_or(first_sent);
    let span_s = last_text.saturating_sub(first_sent) as f64 / 1e6;
    let first_text = got
        .iter()
        .map(|(caller, at)| at.saturating_sub(wanted[caller]) as f64 / 1000.0);
    TemporalFloor {
        first_text: Stage(first_text.collect()),
        calls: sent.len(),
        delivered: got.len(),
        errors: sent.len() - wanted.len(),
        texts_per_s: got.len() as f64 / span_s.max(1e-6),
    }
}
