//! Replays recorded histories against the current workflow code (CI and `nmc-worker replay`).

use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

/// Replays one history saved as JSON: either exported by `temporal workflow show --output json`
/// (proto3 JSON) or written by the SDK (`WorkflowHistory::to_json`, as `tests/tests/replay.rs`
/// records them). The error says what no longer matches.
pub async fn replay_json(json: &[u8]) -> Result<(), String> {
    let history = match WorkflowHistory::from_json(json) {
        Ok(h) => h,
        Err(sdk_err) => from_proto_json(json)
            .map_err(|e| format!("not a workflow history: {e} (nor the SDK's form: {sdk_err})"))?,
    };
    replay(history).await
}

/// Parses proto3 JSON (what the `temporal` CLI writes) with the Temporal API's own descriptors:
/// the SDK's `from_json` reads only its serde form (temporalio-protos has a TODO for proto JSON).
fn from_proto_json(json: &[u8]) -> Result<WorkflowHistory, String> {
    use prost::Message;
    static DESCRIPTORS: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/temporal_descriptors.bin"));
    let pool = prost_reflect::DescriptorPool::decode(DESCRIPTORS).map_err(|e| e.to_string())?;
    let desc = pool
        .get_message_by_name("temporal.api.history.v1.History")
        .ok_or("History descriptor missing")?;
    let mut de = serde_json::Deserializer::from_slice(json);
    let dynamic =
        prost_reflect::DynamicMessage::deserialize(desc, &mut de).map_err(|e| e.to_string())?;
    let history = temporalio_protos::temporal::api::history::v1::History::decode(
        dynamic.encode_to_vec().as_slice(),
    )
    .map_err(|e| e.to_string())?;
    Ok(history.into())
}

/// Replays a history, for example one fetched from the server by workflow id.
pub async fn replay(history: WorkflowHistory) -> Result<(), String> {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<nmc_workflows::ConversationWorkflow>()
        .map_err(|e| e.to_string())?
        .register_workflow::<nmc_workflows::AppointmentWorkflow>()
        .map_err(|e| e.to_string())?
        .register_workflow::<nmc_workflows::ReviewWorkflow>()
        .map_err(|e| e.to_string())?
        .register_workflow::<nmc_workflows::CrmPushWorkflow>()
        .map_err(|e| e.to_string())?
        .build();
    let replayer = WorkflowReplayer::new(options).map_err(|e| e.to_string())?;
    replayer
        .replay_workflow(history)
        .await
        .map_err(|e| e.to_string())
}
