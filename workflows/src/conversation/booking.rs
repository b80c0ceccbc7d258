//! Booking inside the conversation: numbered slot offers once the lead is qualified, the
//! caller's pick, the booking (or fresh slots when someone was faster), and the caller's
//! C / R / X replies about an appointment they already have.

use chrono_tz::Tz;
use nmc_activity_defs::booking::{
    BookOutcome, BookRequest, BookingActivities, CallerAppointment, CallerLookup, Offer,
    OfferRequest, QuotedJob, StatusChange,
};
use nmc_activity_defs::conversation::TurnResult;
use nmc_domain::appointment::AppointmentReply;
use nmc_domain::availability::{Choice, Fit, Slot, offer_lines, parse_choice};
use nmc_domain::{ConversationStatus, InboundSms, Mode, NoticeKind, SendOutcome, SmsKind};
use serde::{Deserialize, Serialize};
use temporalio_sdk::{
    ChildWorkflowOptions, ParentClosePolicy, SignalWorkflowOptions, WorkflowContext,
};
use uuid::Uuid;

use super::ConversationWorkflow;
use super::caller::ASSISTANT_KNOWS;
use super::steps::{Step, notify, send, step};
use crate::appointment::{
    AppointmentChanged, AppointmentStart, AppointmentWorkflow, appointment_workflow_id,
};

/// Slots we offered and are waiting for the caller to pick from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingOffer {
    pub job: QuotedJob,
    pub timezone: String,
    pub slots: Vec<Slot>,
    /// Moving this appointment rather than booking a new one.
    pub reschedule: Option<Uuid>,
}

pub(crate) fn tz(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// Sends a booking text and counts it as the answer to the caller's last text.
pub(crate) async fn say(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    key: String,
    body: String,
) -> Option<SendOutcome> {
    let outcome = send(ctx, SmsKind::Booking, key, body, None).await;
    if matches!(outcome, Some(SendOutcome::Sent { .. })) {
        let at = crate::now(ctx);
        ctx.state_mut(|s| s.memory.note_answered(at));
    }
    if matches!(outcome, Some(SendOutcome::Suppressed)) {
        ctx.state_mut(|s| s.status = ConversationStatus::ClosedOptedOut);
    }
    outcome
}

fn pick_prompt(n: usize, moving: bool) -> String {
    let verb = if moving { "move it" } else { "book" };
    match n {
        1 => format!("Reply 1 to {verb}, or NONE for other times."),
        n => format!("Reply 1-{n} to {verb}, or NONE for other times."),
    }
}

/// A caller's text while booking is possible. Returns true when it was handled here.
pub(crate) async fn on_text(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    sms: &InboundSms,
    text: &str,
) -> bool {
    let sid = sms.message_sid.clone();
    if let Some(offer) = ctx.state(|s| s.memory.offer.clone()) {
        return answer_offer(ctx, conversation_id, &sid, offer, text).await;
    }
    let Some(reply) = AppointmentReply::classify(text) else {
        return false;
    };
    let business_id = ctx.state(|s| s.start.business_id);
    let lookup = CallerLookup {
        business_id,
        caller: ctx.state(|s| s.start.caller.as_str().to_owned()),
    };
    let Ok(Some(appt)) = step(
        ctx,
        BookingActivities::caller_appointment,
        lookup,
        Step::Record,
    )
    .await
    else {
        return false;
    };
    let name = ctx.state(|s| s.memory.profile().name);
    match reply {
        AppointmentReply::Confirm | AppointmentReply::Cancel => {
            let cancel = reply == AppointmentReply::Cancel;
            confirm_or_cancel(ctx, &sid, business_id, &appt, cancel).await;
        }
        AppointmentReply::Reschedule => {
            let req = OfferRequest {
                business_id,
                service_text: appt.job.name.clone(),
                job: Some(appt.job.clone()),
                emergency: false,
                after: None,
                preferred_time: None,
            };
            let lead = format!(
                "Sure. Other times for your {} (now {}) with {name}:",
                appt.job.name, appt.when
            );
            offer_slots(ctx, &sid, req, Some(appt.appointment_id), lead).await;
        }
    }
    true
}

/// The caller's answer to the slots we offered: a pick is booked, NONE gets later times, and
/// anything else is asked again. False when the text is more pressing than the time (an
/// emergency, an upset caller, a person wanted): the assistant and the owner take it.
async fn answer_offer(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    sid: &str,
    offer: PendingOffer,
    text: &str,
) -> bool {
    match parse_choice(text, tz(&offer.timezone), &offer.slots) {
        Choice::Picked(i) => {
            book(ctx, conversation_id, sid, offer.clone(), offer.slots[i]).await;
            true
        }
        Choice::NoneOfThese => {
            let after = offer.slots.last().map(|s| s.start);
            let req = OfferRequest {
                business_id: ctx.state(|s| s.start.business_id),
                service_text: offer.job.name.clone(),
                job: Some(offer.job.clone()),
                emergency: false,
                after,
                preferred_time: None,
            };
            offer_slots(
                ctx,
                sid,
                req,
                offer.reschedule,
                "No problem. Later times:".into(),
            )
            .await;
            true
        }
        Choice::Unclear => {
            let reading = nmc_domain::lead::read(text, None);
            if reading.emergency || reading.wants_human || reading.angry {
                ctx.state_mut(|s| s.memory.offer = None);
                return false;
            }
            let tz = tz(&offer.timezone);
            let body = format!(
                "Sorry, which time works?\n{}\n{}",
                offer_lines(tz, &offer.slots),
                pick_prompt(offer.slots.len(), offer.reschedule.is_some())
            );
            say(ctx, format!("booking:{sid}"), body).await;
            true
        }
    }
}

/// The caller confirms or cancels the appointment they have: the row changes, the caller and the
/// owner hear, the appointment's workflow looks again, and an active conversation closes.
async fn confirm_or_cancel(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    sid: &str,
    business_id: Uuid,
    appt: &CallerAppointment,
    cancel: bool,
) {
    let change = StatusChange {
        business_id,
        appointment_id: appt.appointment_id,
        status: if cancel { "cancelled" } else { "confirmed" }.into(),
    };
    let _ = step(
        ctx,
        BookingActivities::set_appointment_status,
        change,
        Step::Record,
    )
    .await;
    let body = if cancel {
        format!(
            "Your {} on {} is cancelled. Text us anytime to book again.",
            appt.job.name, appt.when
        )
    } else {
        format!(
            "Thanks, you're confirmed: {}, {}. See you then!",
            appt.job.name, appt.when
        )
    };
    say(ctx, format!("booking:{sid}"), body).await;
    let owner = if cancel {
        "Cancelled by the caller"
    } else {
        "Confirmed by the caller"
    };
    notify(
        ctx,
        if cancel {
            NoticeKind::Cancelled
        } else {
            NoticeKind::Confirmed
        },
        format!("{owner}: {}, {}.", appt.job.name, appt.when),
        format!("appt:{sid}"),
    )
    .await;
    signal_appointment(ctx, appt.appointment_id).await;
    ctx.state_mut(|s| {
        if s.status == ConversationStatus::Active {
            s.status = if cancel {
                ConversationStatus::ClosedCancelled
            } else {
                ConversationStatus::ClosedBooked
            };
        }
    });
}

/// Offers slots with `lead` as the first line; no slots → the owner is told and calls back.
async fn offer_slots(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    sid: &str,
    req: OfferRequest,
    reschedule: Option<Uuid>,
    lead: String,
) {
    let Ok(offer) = step(ctx, BookingActivities::offer_slots, req, Step::Record).await else {
        ctx.state_mut(|s| s.memory.offer = None);
        return;
    };
    present(ctx, format!("booking:{sid}"), offer, reschedule, lead).await;
}

async fn present(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    key: String,
    offer: Offer,
    reschedule: Option<Uuid>,
    lead: String,
) {
    let owner = ctx.state(|s| s.memory.profile().owner_name);
    let owner = owner
        .split_whitespace()
        .next()
        .unwrap_or("The owner")
        .to_owned();
    if offer.slots.is_empty() {
        ctx.state_mut(|s| s.memory.offer = None);
        let body = format!(
            "{lead} We have no open times in the next {} days that fit; {owner} will call you to set one up.",
            offer.window_days
        );
        say(ctx, key.clone(), body).await;
        notify(
            ctx,
            NoticeKind::NoSlots,
            format!(
                "No open slots for {}: please call the caller to schedule.",
                offer.job.name
            ),
            format!("noslots:{key}"),
        )
        .await;
        return;
    }
    let tz = tz(&offer.timezone);
    let body = format!(
        "{lead}\n{}\n{}",
        offer_lines(tz, &offer.slots),
        pick_prompt(offer.slots.len(), reschedule.is_some())
    );
    ctx.state_mut(|s| {
        s.memory.offer = Some(PendingOffer {
            job: offer.job.clone(),
            timezone: offer.timezone.clone(),
            slots: offer.slots.clone(),
            reschedule,
        });
    });
    say(ctx, key, body).await;
}

/// How the slots are introduced: as they come, or as they fit the caller's preferred time.
fn times(fit: &Fit) -> String {
    match fit {
        Fit::Any => "Next open times:".to_owned(),
        Fit::Inside { said } => format!("Open times {said}:"),
        Fit::Nearest { said } => format!("Nothing is open {said}; the nearest times:"),
    }
}

/// Instead of the assistant's "the owner will follow up", a qualified lead gets a quote from the
/// catalog and numbered slots. Returns true when it answered.
pub(crate) async fn offer_instead_of_reply(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    message_sid: &str,
    turn: &TurnResult,
) -> bool {
    let eligible = ctx.state(|s| {
        let m = &s.memory;
        turn.outcome.qualified
            && !turn.outcome.emergency
            && !turn.outcome.needs_human
            && !m.emergency
            && !m.needs_owner
            && m.mode == Mode::Assistant
            && m.offer.is_none()
            && m.booked.is_none()
    });
    if !eligible {
        return false;
    }
    let (business_id, fields, profile, first) = ctx.state(|s| {
        let p = s.memory.profile();
        (
            s.start.business_id,
            s.memory.fields.clone(),
            p,
            !s.memory.replied_once,
        )
    });
    let service = fields.service_needed.clone().unwrap_or_default();
    let req = OfferRequest {
        business_id,
        service_text: service.clone(),
        job: None,
        emergency: fields.urgency.as_deref() == Some("emergency"),
        after: None,
        // The caller's preferred time narrows the slots (issue 18).
        preferred_time: fields
            .preferred_time
            .clone()
            .filter(|_| ctx.patched(ASSISTANT_KNOWS)),
    };
    let Ok(offer) = step(ctx, BookingActivities::offer_slots, req, Step::Record).await else {
        return false;
    };
    if !offer.bookable {
        // No technicians yet: booking by text is not set up, the owner schedules.
        return false;
    }
    let thanks = match fields
        .name
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
    {
        Some(first_name) => format!("Thanks, {first_name}!"),
        None => "Thanks!".to_owned(),
    };
    let intro = if first && profile.settings.disclose_assistant {
        format!("{}'s virtual assistant here. ", profile.name)
    } else {
        String::new()
    };
    let owner = profile
        .owner_name
        .split_whitespace()
        .next()
        .unwrap_or("The owner")
        .to_owned();
    let quote = match &offer.job.price_text {
        Some(price) if offer.matched => format!("{} is {price}.", offer.job.name),
        _ => format!("{owner} will confirm the price for this job."),
    };
    if !offer.matched || offer.job.price_text.is_none() {
        let body = format!(
            "No catalog price for \"{}\": please quote {}.",
            service.chars().take(120).collect::<String>(),
            fields.name.as_deref().unwrap_or("the caller")
        );
        notify(
            ctx,
            NoticeKind::NeedsQuote,
            body,
            format!("quote:{conversation_id}"),
        )
        .await;
    }
    if turn.newly_qualified
        && !ctx.state(|s| s.memory.qualified_notified)
        && let Some(summary) = turn.summary.clone()
    {
        ctx.state_mut(|s| s.memory.qualified_notified = true);
        notify(
            ctx,
            NoticeKind::Qualified,
            summary,
            format!("qualified:{conversation_id}"),
        )
        .await;
    }
    let lead = format!("{intro}{thanks} {quote} {}", times(&offer.fit));
    present(ctx, format!("reply:{message_sid}"), offer, None, lead).await;
    true
}

/// Books the picked slot; a slot taken meanwhile gets an apology and fresh slots.
async fn book(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    conversation_id: Uuid,
    sid: &str,
    offer: PendingOffer,
    slot: Slot,
) {
    let business_id = ctx.state(|s| s.start.business_id);
    let req = BookRequest {
        business_id,
        conversation_id,
        slot,
        job: offer.job.clone(),
        reschedule: offer.reschedule,
        idempotency_key: format!("book:{conversation_id}:{sid}"),
    };
    let Ok(outcome) = step(ctx, BookingActivities::book_slot, req, Step::Record).await else {
        return;
    };
    match outcome {
        BookOutcome::Booked {
            appointment_id,
            confirmation,
            owner_summary,
        } => {
            ctx.state_mut(|s| {
                s.memory.offer = None;
                s.memory.booked = Some(appointment_id);
            });
            say(ctx, format!("booked:{sid}"), confirmation).await;
            notify(
                ctx,
                NoticeKind::Booked,
                owner_summary,
                format!("booked:{appointment_id}:{sid}"),
            )
            .await;
            if offer.reschedule.is_some() {
                signal_appointment(ctx, appointment_id).await;
            } else {
                start_appointment(ctx, business_id, appointment_id).await;
            }
            ctx.state_mut(|s| {
                if s.status == ConversationStatus::Active {
                    s.status = ConversationStatus::ClosedBooked;
                }
            });
        }
        BookOutcome::Taken { offer: fresh } => {
            let lead = "Sorry, that time was just taken. Here are the next open times:".to_owned();
            present(ctx, format!("booking:{sid}"), fresh, offer.reschedule, lead).await;
        }
    }
}

/// The new appointment's own workflow (reminders, calendar sync), outliving this conversation.
pub(crate) async fn start_appointment(
    ctx: &mut WorkflowContext<ConversationWorkflow>,
    business_id: Uuid,
    appointment_id: Uuid,
) {
    let opts = ChildWorkflowOptions::builder()
        .workflow_id(appointment_workflow_id(appointment_id))
        .parent_close_policy(ParentClosePolicy::Abandon)
        .build();
    let _ = ctx
        .start_child_workflow(
            AppointmentWorkflow::run,
            AppointmentStart {
                business_id,
                appointment_id,
            },
            opts,
        )
        .await;
}

async fn signal_appointment(ctx: &mut WorkflowContext<ConversationWorkflow>, appointment_id: Uuid) {
    let handle = ctx.external_workflow(appointment_workflow_id(appointment_id), None);
    // The workflow may have ended (a past appointment); the database already has the change.
    let _ = handle
        .signal(
            AppointmentWorkflow::changed,
            AppointmentChanged {
                notify_caller: false,
            },
            SignalWorkflowOptions::default(),
        )
        .await;
}
