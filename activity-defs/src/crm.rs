//! The CRM push's activities (`CrmPushWorkflow`, one per recorded push).

use temporalio_common::ActivityError;
use temporalio_macros::activity_definitions;
use uuid::Uuid;

/// Implemented by `nmc_activities::crm::CrmActivities`.
pub struct CrmActivities;

#[activity_definitions]
impl CrmActivities {
    /// One attempt at the push, logged. An outage is an error Temporal retries (after the
    /// vendor's Retry-After when it gave one); a refusal ends it: `synced`, `failed` or `gone`
    /// (the connection was removed).
    #[activity]
    pub fn crm_push(push_id: Uuid) -> Result<String, ActivityError> {
        unimplemented!()
    }

    /// The retries are spent: the push is failed, its last error kept.
    #[activity]
    pub fn crm_gave_up(push_id: Uuid) -> Result<(), ActivityError> {
        unimplemented!()
    }
}
