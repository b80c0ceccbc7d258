//! The workflows: one conversation per (business, caller), started only by Signal-With-Start
//! (`conversation/`), and one per appointment (`appointment.rs`). They own their state and know
//! no IO: every side effect is an activity called through its contract in `nmc-activity-defs`.
//! Changing what a workflow does once histories exist goes behind a patch (docs/WORKFLOWS.md).

pub mod appointment;
pub mod conversation;
pub mod crm;
pub mod digest;
pub mod retention;
pub mod review;
pub mod team_text;

use std::time::UNIX_EPOCH;

use chrono::{DateTime, Utc};
use nmc_domain::{SA_BUSINESS_ID, SA_CONVERSATION_STATUS};
use temporalio_common::search_attributes::SearchAttributeKey;
use temporalio_sdk::WorkflowContext;

pub use appointment::{
    AppointmentChanged, AppointmentStart, AppointmentWorkflow, appointment_workflow_id,
};
pub use conversation::{ConversationView, ConversationWorkflow, OwnerMessage, TURN_LIMIT};
pub use crm::{CrmPushStart, CrmPushWorkflow, crm_push_workflow_id};
pub use digest::{DigestStart, DigestWorkflow, digest_schedule_id};
pub use nmc_domain::{Mode, Waiting};
pub use retention::{RETENTION_BATCH, RetentionWorkflow, retention_schedule_id};
pub use review::{ReviewStart, ReviewWorkflow, review_workflow_id};
pub use team_text::{TeamTextWorkflow, team_text_workflow_id};

pub const BUSINESS_ID: SearchAttributeKey<String> = SearchAttributeKey::keyword(SA_BUSINESS_ID);
pub const CONVERSATION_STATUS: SearchAttributeKey<String> =
    SearchAttributeKey::keyword(SA_CONVERSATION_STATUS);

/// The workflow's clock (deterministic on replay).
pub(crate) fn now<W>(ctx: &WorkflowContext<W>) -> DateTime<Utc> {
    DateTime::<Utc>::from(ctx.workflow_time().unwrap_or(UNIX_EPOCH))
}
