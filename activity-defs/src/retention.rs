//! The daily retention pass's one activity (`RetentionWorkflow`, started by the worker's
//! Temporal Schedule).

use serde::{Deserialize, Serialize};
use temporalio_common::ActivityError;
use temporalio_macros::activity_definitions;

/// What a pass removed: text bodies cleared, silent callers erased, webhook dedupe rows, and
/// dispatched event/outbox rows.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RetentionReport {
    pub message_bodies: u64,
    pub callers: u64,
    pub webhook_rows: u64,
    pub dispatched_rows: u64,
}

/// Implemented by `nmc_activities::retention::RetentionActivities`.
pub struct RetentionActivities;

#[activity_definitions]
impl RetentionActivities {
    /// Applies every retention limit in batches until nothing is due; safe to repeat.
    #[activity]
    pub fn apply_retention(batch: u32) -> Result<RetentionReport, ActivityError> {
        unimplemented!()
    }
}
