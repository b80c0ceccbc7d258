//! The AI voice agent's side of a conversation (seed 004, VTCR 3.1–3.5). During the call its
//! tools are answered here, through the same offer and booking steps as texts, so a slot is
//! never booked twice whichever channel asked. After the call its report is read like a text:
//! it fills the lead, alerts the owner, and the caller's first text picks up from what they said
//! (a caller who hung up early, or a call that broke down, continues by text).

use chrono::{DateTime, Utc};
use nmc_activity_defs::booking::{
    BookOutcome, BookRequest, BookingActivities, Offer, OfferRequest,
};
use nmc_activity_defs::voice::{CallerDetails, VoiceActivities};
use nmc_domain::availability::slot_text;
use nmc_domain::lead::LeadFields;
use nmc_domain::voice_agent::{AgentCallEnded, AgentOutcome, AgentTool, call_pickup};
use nmc_domain::{ConversationStatus, MissedCall, NoticeKind};
use temporalio_sdk::WorkflowContext;

use super::ConversationWorkflow;
use super::booking::{PendingOffer, say, start_appointment, tz};
use super::state::{PendingText, VoicemailWait};
use super::steps::{Step, attach_text, notify, step};
use super::voice::{answer_like_text, first_text, greet_instead, read_words};
use crate::now;

type Ctx = WorkflowContext<ConversationWorkflow>;

/// Patch id: a missed call the AI voice agent takes waits for its report (added 2026-12-05).
pub(crate) const AI_VOICE: &str = "ai-voice";

/// How long after the call the first text waits for the agent's report: our assistant's
/// longest call (10 minutes) and the report's delivery.
const REPORT_GRACE: chrono::Duration = chrono::Duration::minutes(15);

/// The agent is taking the call: the caller's first text waits for its report (or the
/// deadline, then the usual greeting).
pub(crate) fn await_agent(ctx: &mut Ctx, call: &MissedCall, at: DateTime<Utc>) {
    ctx.state_mut(|s| {
        s.memory.voicemail_wait = Some(VoicemailWait {
            call_sid: call.call_sid.clone(),
            until: at + REPORT_GRACE,
        });
    });
}

/// A tool the agent called; the one line it reads back.
pub(crate) async fn use_tool(ctx: &mut Ctx, tool: AgentTool) -> String {
    match tool {
        AgentTool::CheckAvailability { need } => check_availability(ctx, need).await,
        AgentTool::BookAppointment {
            slot,
            name,
            address,
            need,
        } => {
            let said = LeadFields {
                name,
                address,
                service_needed: need,
                ..LeadFields::default()
            };
            book(ctx, slot, said).await
        }
    }
}

fn owner_first_name(ctx: &Ctx) -> String {
    let owner = ctx.state(|s| s.memory.profile().owner_name);
    owner
        .split_whitespace()
        .next()
        .unwrap_or("The owner")
        .to_owned()
}

async fn check_availability(ctx: &mut Ctx, need: String) -> String {
    let owner = owner_first_name(ctx);
    let (business_id, known, emergency) = ctx.state(|s| {
        let f = &s.memory.fields;
        (
            s.start.business_id,
            f.service_needed.clone(),
            s.memory.emergency || f.urgency.as_deref() == Some("emergency"),
        )
    });
    let need = if need.trim().is_empty() {
        known.unwrap_or_default()
    } else {
        need
    };
    let req = OfferRequest {
        business_id,
        service_text: need,
        job: None,
        emergency,
        after: None,
        preferred_time: None,
    };
    let Ok(offer) = step(ctx, BookingActivities::offer_slots, req, Step::Record).await else {
        return format!(
            "The calendar cannot be reached. Tell the caller {owner} will call back to set a time."
        );
    };
    if !offer.bookable {
        return format!(
            "Booking by phone is not set up. Tell the caller {owner} will call back to schedule."
        );
    }
    present(ctx, offer, "Open times")
}

/// Keeps the offer for the pick and says it as one line (Vapi reads single-line results).
fn present(ctx: &mut Ctx, offer: Offer, lead: &str) -> String {
    let owner = owner_first_name(ctx);
    if offer.slots.is_empty() {
        ctx.state_mut(|s| s.memory.offer = None);
        return format!(
            "No open times in the next {} days. Tell the caller {owner} will call back to set one up.",
            offer.window_days
        );
    }
    let zone = tz(&offer.timezone);
    let times: Vec<String> = offer
        .slots
        .iter()
        .enumerate()
        .map(|(i, slot)| format!("{}) {}", i + 1, slot_text(zone, slot)))
        .collect();
    let price = match &offer.job.price_text {
        Some(p) if offer.matched => format!(" It is {p}."),
        _ => format!(" {owner} will confirm the price."),
    };
    let line = format!(
        "Job: {}.{price} {lead}: {}. Ask which one suits the caller, then call book_appointment with its number.",
        offer.job.name,
        times.join("; ")
    );
    ctx.state_mut(|s| {
        s.memory.offer = Some(PendingOffer {
            job: offer.job,
            timezone: offer.timezone,
            slots: offer.slots,
            reschedule: None,
        });
    });
    line
}

async fn book(ctx: &mut Ctx, slot: u32, said: LeadFields) -> String {
    let owner = owner_first_name(ctx);
    let Some(offer) = ctx.state(|s| s.memory.offer.clone()) else {
        return "Call check_availability first, and offer one of its times.".to_owned();
    };
    let Some(picked) = (slot as usize)
        .checked_sub(1)
        .and_then(|i| offer.slots.get(i))
        .copied()
    else {
        return format!(
            "There is no time number {slot}; offer 1 to {}.",
            offer.slots.len()
        );
    };
    let (business_id, conversation_id) = ctx.state(|s| (s.start.business_id, s.conversation_id));
    // The appointment takes the caller's name and address from the lead: on it first.
    let details = CallerDetails {
        business_id,
        conversation_id,
        said: said.clone(),
    };
    let _ = step(ctx, VoiceActivities::note_caller, details, Step::Record).await;
    ctx.state_mut(|s| s.memory.fields.merge_missing(&said));
    let req = BookRequest {
        business_id,
        conversation_id,
        slot: picked,
        job: offer.job.clone(),
        reschedule: None,
        idempotency_key: format!("book:{conversation_id}:agent:{}", picked.start.timestamp()),
    };
    let Ok(outcome) = step(ctx, BookingActivities::book_slot, req, Step::Record).await else {
        return format!(
            "Booking failed. Tell the caller {owner} will call back to confirm a time."
        );
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
                s.memory.booked_by_agent = true;
            });
            let texted = ctx.state(|s| s.memory.textable());
            if texted {
                say(ctx, format!("booked:agent:{appointment_id}"), confirmation).await;
            }
            notify(
                ctx,
                NoticeKind::Booked,
                format!("{owner_summary} (booked by the AI voice agent)"),
                format!("booked:{appointment_id}:agent"),
            )
            .await;
            start_appointment(ctx, business_id, appointment_id).await;
            let when = slot_text(tz(&offer.timezone), &picked);
            let confirm = if texted {
                " Tell the caller a text confirmation is on its way."
            } else {
                ""
            };
            format!("Booked: {} on {when}.{confirm}", offer.job.name)
        }
        BookOutcome::Taken { offer: fresh } => {
            present(ctx, fresh, "That time was just taken. Open times now")
        }
    }
}

/// The call is over: what the caller said is read like a text, the owner hears the summary,
/// and the caller's first text picks up from it (a booking made in the call already texted
/// its confirmation, and ends the conversation booked).
pub(crate) async fn on_agent_call(ctx: &mut Ctx, ended: AgentCallEnded) {
    let at = now(ctx);
    let words = ended
        .caller_words
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned);
    // A call that failed before anyone spoke leaves the wait to the voicemail the caller was
    // sent to (the Dial's action does that), for ten minutes at most.
    let silent_failure = words.is_none() && ended.outcome == AgentOutcome::Failed;
    let (waited, booked) = ctx.state_mut(|s| {
        s.memory.profile = Some(ended.profile.clone());
        s.memory.last_activity = Some(at);
        let ours = s
            .memory
            .voicemail_wait
            .as_ref()
            .is_some_and(|w| w.call_sid == ended.call_sid);
        if ours && silent_failure {
            if let Some(w) = s.memory.voicemail_wait.as_mut() {
                w.until = w.until.min(at + chrono::Duration::minutes(10));
            }
        } else if ours {
            s.memory.voicemail_wait = None;
        }
        // A booking made in this call (the flag is cleared by the report that follows it).
        let booked = std::mem::take(&mut s.memory.booked_by_agent);
        (ours && !silent_failure, booked)
    });
    if let Some(id) = ended.message_id {
        attach_text(ctx, id).await;
    }
    note_collected(ctx, &ended).await;
    let sid = ended.call_sid.clone();
    let duration = format!(
        "{}:{:02}",
        ended.duration_secs / 60,
        ended.duration_secs % 60
    );
    let Some(words) = words else {
        let body = match (booked, ended.outcome) {
            (true, _) => format!("AI call from {{caller}} ({duration}): booked."),
            (false, AgentOutcome::Failed) => format!(
                "The AI voice agent could not take the call from {{caller}} ({duration}). They get your voicemail or a text."
            ),
            (false, _) => format!(
                "{{caller}} hung up on the AI voice agent ({duration}) without saying anything."
            ),
        };
        notify(ctx, NoticeKind::AgentCall, body, format!("agent:{sid}")).await;
        if booked {
            close_booked(ctx);
        } else if waited {
            greet_instead(ctx, &sid).await;
        }
        return;
    };
    let (emergency, turn) = read_words(ctx, &words).await;
    alert_owner(ctx, &ended, &words, emergency, &duration).await;
    ctx.state_mut(|s| {
        s.memory.last_caller_text = Some(PendingText {
            message_sid: format!("agent:{sid}"),
            text: words.clone(),
            answered: booked,
        });
    });
    if booked {
        // Its confirmation was the text; nothing more to say.
        return close_booked(ctx);
    }
    if !ctx.state(|s| s.memory.textable()) {
        return;
    }
    if !waited && ctx.state(|s| s.greeted) {
        // The caller was texted already (AI voice and text): answered like a text.
        return answer_like_text(ctx, &format!("agent:{sid}"), turn).await;
    }
    // The first text of this conversation (also when the report came after it closed and
    // started a new one): it picks up from what they said.
    let next = turn.map(|t| t.outcome.reply).unwrap_or_default();
    let (business, fields) = ctx.state(|s| (s.memory.profile().name, s.memory.fields.clone()));
    let body = call_pickup(&business, &fields, ended.outcome, &next);
    ctx.state_mut(|s| s.greeted = true);
    first_text(ctx, &sid, body).await;
}

/// What the agent collected goes on the lead first (only what is still unknown).
async fn note_collected(ctx: &mut Ctx, ended: &AgentCallEnded) {
    if ended.collected == LeadFields::default() {
        return;
    }
    let details = ctx.state(|s| CallerDetails {
        business_id: s.start.business_id,
        conversation_id: s.conversation_id,
        said: ended.collected.clone(),
    });
    let _ = step(ctx, VoiceActivities::note_caller, details, Step::Record).await;
    ctx.state_mut(|s| s.memory.fields.merge_missing(&ended.collected));
}

fn close_booked(ctx: &mut Ctx) {
    ctx.state_mut(|s| {
        if s.status == ConversationStatus::Active {
            s.status = ConversationStatus::ClosedBooked;
        }
    });
}

async fn alert_owner(
    ctx: &mut Ctx,
    ended: &AgentCallEnded,
    words: &str,
    emergency: bool,
    duration: &str,
) {
    let what = ended.summary.clone().unwrap_or_else(|| {
        let quoted: String = words.chars().take(300).collect();
        format!("\"{quoted}\"")
    });
    let how = match ended.outcome {
        AgentOutcome::Completed => "",
        AgentOutcome::HungUp => " They hung up early.",
        AgentOutcome::Failed => " The call broke down.",
    };
    let (kind, body) = if emergency {
        let name = ended.profile.name.clone();
        (
            NoticeKind::Emergency,
            format!(
                "EMERGENCY at {name}: AI call from {{caller}} ({duration}): {what}{how} Call them now."
            ),
        )
    } else {
        (
            NoticeKind::AgentCall,
            format!("AI call from {{caller}} ({duration}): {what}{how}"),
        )
    };
    notify(ctx, kind, body, format!("agent:{}", ended.call_sid)).await;
}
