//! The review request's activities (`ReviewWorkflow`, one per completed job).

use nmc_domain::review::Plan;
use serde::{Deserialize, Serialize};
use temporalio_common::ActivityError;
use temporalio_macros::activity_definitions;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewRef {
    pub business_id: Uuid,
    pub appointment_id: Uuid,
}

/// What happened to the request: sent, reminded, or skipped (opted_out, no_link).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewDone {
    pub business_id: Uuid,
    pub appointment_id: Uuid,
    pub what: String,
}

/// Implemented by `nmc_activities::review::ReviewActivities`.
pub struct ReviewActivities;

#[activity_definitions]
impl ReviewActivities {
    /// The job's request as recorded (made the first time); none unless it is completed.
    #[activity]
    pub fn review_plan(r: ReviewRef) -> Result<Option<Plan>, ActivityError> {
        unimplemented!()
    }

    /// Has the customer opened the link?
    #[activity]
    pub fn review_opened(r: ReviewRef) -> Result<bool, ActivityError> {
        unimplemented!()
    }

    #[activity]
    pub fn review_done(d: ReviewDone) -> Result<(), ActivityError> {
        unimplemented!()
    }
}
