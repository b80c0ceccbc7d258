//! One workflow per completed job (`review-{appointment}`), started by its appointment's
//! workflow: a delay after the job was marked done (per business, 2 h by default, out of quiet
//! hours), the review request; one reminder later if the link was not opened; never more. An
//! opted-out customer gets nothing (the send is suppressed). A rerun sends nothing twice: the
//! texts have fixed idempotency keys and the plan says what already went.

use std::time::Duration;

use chrono::{DateTime, Utc};
use nmc_activity_defs::conversation::ConversationActivities;
use nmc_activity_defs::review::{ReviewActivities, ReviewDone, ReviewRef};
use nmc_domain::review::{Plan, reminder_text, request_text};
use nmc_domain::{E164, OutboundSms, SendOutcome, SmsKind};
use serde::{Deserialize, Serialize};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowContextView, WorkflowResult};
use uuid::Uuid;

use crate::conversation::Step;

pub fn review_workflow_id(appointment_id: Uuid) -> String {
    format!("review-{appointment_id}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewStart {
    pub business_id: Uuid,
    pub appointment_id: Uuid,
}

#[workflow]
pub struct ReviewWorkflow {
    start: ReviewStart,
}

#[workflow_methods]
impl ReviewWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, start: ReviewStart) -> Self {
        Self { start }
    }

    #[run]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<String> {
        let r = ctx.state(|s| ReviewRef {
            business_id: s.start.business_id,
            appointment_id: s.start.appointment_id,
        });
        let plan = ctx
            .execute_activity(
                ReviewActivities::review_plan,
                r.clone(),
                Step::Record.options(),
            )
            .await?;
        let Some(plan) = plan else {
            return Ok("not completed".into());
        };
        let Some(link) = plan.link.clone() else {
            done(ctx, &r, "no_link").await;
            return Ok("no_link".into());
        };
        if !plan.sent {
            let due = plan.completed_at + chrono::Duration::seconds(plan.delay_secs);
            wait_until(ctx, plan.quiet.defer(due)).await;
            let body = request_text(
                plan.message.as_deref(),
                plan.name.as_deref(),
                &plan.business_name,
                &link,
            );
            let key = format!("review:{}", r.appointment_id);
            if !text(ctx, &r, &plan, key, body).await {
                done(ctx, &r, "opted_out").await;
                return Ok("opted_out".into());
            }
            done(ctx, &r, "sent").await;
        }
        if plan.reminded {
            return Ok("done".into());
        }
        let due = crate::now(ctx) + chrono::Duration::seconds(plan.reminder_secs);
        wait_until(ctx, plan.quiet.defer(due)).await;
        let opened = ctx
            .execute_activity(
                ReviewActivities::review_opened,
                r.clone(),
                Step::Record.options(),
            )
            .await?;
        if opened {
            return Ok("opened".into());
        }
        let key = format!("review-reminder:{}", r.appointment_id);
        if text(
            ctx,
            &r,
            &plan,
            key,
            reminder_text(&plan.business_name, &link),
        )
        .await
        {
            done(ctx, &r, "reminded").await;
        }
        Ok("reminded".into())
    }
}

async fn wait_until(ctx: &mut WorkflowContext<ReviewWorkflow>, at: DateTime<Utc>) {
    let left = (at - crate::now(ctx)).to_std().unwrap_or(Duration::ZERO);
    if !left.is_zero() {
        ctx.timer(left).await;
    }
}

async fn done(ctx: &mut WorkflowContext<ReviewWorkflow>, r: &ReviewRef, what: &str) {
    let d = ReviewDone {
        business_id: r.business_id,
        appointment_id: r.appointment_id,
        what: what.into(),
    };
    let _ = ctx
        .execute_activity(ReviewActivities::review_done, d, Step::Record.options())
        .await;
}

/// Sends to the customer; false when nothing went (opted out, or no usable number).
async fn text(
    ctx: &mut WorkflowContext<ReviewWorkflow>,
    r: &ReviewRef,
    plan: &Plan,
    key: String,
    body: String,
) -> bool {
    let Ok(to) = E164::parse(&plan.phone) else {
        return false;
    };
    // The customer's conversation, or one of their own for a job booked by hand.
    let conversation_id = plan
        .conversation_id
        .unwrap_or_else(|| Uuid::new_v5(&r.appointment_id, b"review"));
    let sms = OutboundSms {
        idempotency_key: key,
        business_id: r.business_id,
        conversation_id,
        workflow_id: nmc_domain::conversation_workflow_id(r.business_id, &to),
        to,
        body,
        kind: SmsKind::ReviewRequest,
        call_sid: None,
        note: None,
    };
    matches!(
        ctx.execute_activity(ConversationActivities::send_sms, sms, Step::Send.options())
            .await,
        Ok(SendOutcome::Sent { .. })
    )
}
