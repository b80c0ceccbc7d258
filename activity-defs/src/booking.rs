//! The booking activities: offering slots, booking and moving appointments, the caller's
//! replies about them, and pushing each change to the business's calendars.

use chrono::{DateTime, Utc};
use nmc_domain::availability::{Fit, Slot};
use serde::{Deserialize, Serialize};
use temporalio_common::ActivityError;
use temporalio_macros::activity_definitions;
use uuid::Uuid;

/// How many numbered slots a text offers (seed 004 VTCR 4.4).
pub const OFFERS: usize = 4;

/// The job being booked: a catalog item, or the caller's own words when nothing matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotedJob {
    pub catalog_item_id: Option<Uuid>,
    pub name: String,
    pub duration_minutes: i32,
    /// Only ever from the catalog; `None` means the owner quotes.
    pub price_text: Option<String>,
    pub price_cents: Option<i32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OfferRequest {
    pub business_id: Uuid,
    /// The caller's words for the job (matched to the catalog), or the job being rescheduled.
    pub service_text: String,
    pub job: Option<QuotedJob>,
    pub emergency: bool,
    /// Only slots starting after this (a "none of those" asks for later ones).
    pub after: Option<DateTime<Utc>>,
    /// The caller's preferred time in their words ("tomorrow morning"): it narrows the slots.
    #[serde(default)]
    pub preferred_time: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Offer {
    pub job: QuotedJob,
    /// The caller's words matched a catalog item.
    pub matched: bool,
    pub timezone: String,
    pub slots: Vec<Slot>,
    pub window_days: i32,
    /// The business has technicians: booking by text is set up.
    #[serde(default)]
    pub bookable: bool,
    /// How the slots fit the caller's preferred time.
    #[serde(default = "any_time")]
    pub fit: Fit,
}

fn any_time() -> Fit {
    Fit::Any
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BookRequest {
    pub business_id: Uuid,
    pub conversation_id: Uuid,
    pub slot: Slot,
    pub job: QuotedJob,
    /// Moving this appointment instead of booking a new one.
    pub reschedule: Option<Uuid>,
    pub idempotency_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum BookOutcome {
    Booked {
        appointment_id: Uuid,
        confirmation: String,
        owner_summary: String,
    },
    /// Someone took the slot first: nothing was written; here are fresh ones.
    Taken { offer: Offer },
}

/// The caller's upcoming appointment, for their C / R / X replies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallerAppointment {
    pub appointment_id: Uuid,
    pub when: String,
    pub job: QuotedJob,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallerLookup {
    pub business_id: Uuid,
    pub caller: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusChange {
    pub business_id: Uuid,
    pub appointment_id: Uuid,
    /// confirmed | cancelled
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppointmentRef {
    pub business_id: Uuid,
    pub appointment_id: Uuid,
}

/// What the appointment workflow needs to decide its next step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppointmentState {
    pub status: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub version: i32,
    pub caller: Option<String>,
    pub conversation_id: Option<Uuid>,
    pub reminder_minutes: Vec<i32>,
    pub providers: Vec<String>,
    pub business_name: String,
    pub service: String,
    pub when: String,
    /// The owner changed it and the caller has not been told yet (a signal that failed).
    #[serde(default)]
    pub notice_pending: bool,
    /// Reminders and notices wait for the end of these (absent in older histories).
    #[serde(default)]
    pub quiet: Option<nmc_domain::hours::QuietHours>,
}

/// The appointment workflow has acted on everything up to `version`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppointmentTold {
    pub business_id: Uuid,
    pub appointment_id: Uuid,
    pub version: i32,
    pub notice_sent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncRequest {
    pub business_id: Uuid,
    pub appointment_id: Uuid,
    pub provider: String,
}

/// Implemented by `nmc_activities::booking::BookingActivities` (same names, inputs and outputs).
pub struct BookingActivities;

#[activity_definitions]
impl BookingActivities {
    /// Up to four slots that fit the whole job, after refreshing the calendars' busy time.
    #[activity]
    pub fn offer_slots(request: OfferRequest) -> Result<Offer, ActivityError> {
        unimplemented!()
    }

    /// Books (or moves) under an idempotency key; a slot taken meanwhile comes back as `Taken`.
    #[activity]
    pub fn book_slot(request: BookRequest) -> Result<BookOutcome, ActivityError> {
        unimplemented!()
    }

    /// The caller's upcoming appointment, for their C / R / X replies.
    #[activity]
    pub fn caller_appointment(
        lookup: CallerLookup,
    ) -> Result<Option<CallerAppointment>, ActivityError> {
        unimplemented!()
    }

    #[activity]
    pub fn set_appointment_status(change: StatusChange) -> Result<bool, ActivityError> {
        unimplemented!()
    }

    #[activity]
    pub fn appointment_state(
        appointment: AppointmentRef,
    ) -> Result<AppointmentState, ActivityError> {
        unimplemented!()
    }

    #[activity]
    pub fn appointment_told(told: AppointmentTold) -> Result<(), ActivityError> {
        unimplemented!()
    }

    /// Pushes the appointment to one connected calendar; true when it is in sync.
    #[activity]
    pub fn sync_calendar(request: SyncRequest) -> Result<bool, ActivityError> {
        unimplemented!()
    }
}
