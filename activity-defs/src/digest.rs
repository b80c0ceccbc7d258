//! The weekly email's one activity (`DigestWorkflow`, started by each business's schedule).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use temporalio_common::ActivityError;
use temporalio_macros::activity_definitions;
use uuid::Uuid;

/// Mail last week's digest to the business's owners; `at` is when the schedule fired.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DigestRequest {
    pub business_id: Uuid,
    pub at: DateTime<Utc>,
}

/// Implemented by `nmc_activities::digest::DigestActivities`.
pub struct DigestActivities;

#[activity_definitions]
impl DigestActivities {
    /// Records one email per owner who wants it, once per week (the mail outbox sends them);
    /// returns how many were recorded now.
    #[activity]
    pub fn send_weekly_digest(request: DigestRequest) -> Result<u32, ActivityError> {
        unimplemented!()
    }
}
