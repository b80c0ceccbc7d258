//! Booking activities: offering slots, booking and moving appointments, the caller's replies
//! about them, and pushing each change to the business's calendars.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use nmc_calendar::{CalendarError, CalendarEvent};
use nmc_domain::appointment::confirmation_text;
use nmc_domain::availability::{self, Slot};
use nmc_domain::catalog::{self, CatalogItem};
use nmc_store::booking::{self as store, Booked, NewAppointment};
use nmc_store::{PgPool, SecretBox, calendar as cal, scheduling};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use tracing::{info, warn};
use uuid::Uuid;

pub struct BookingActivities {
    pub pool: PgPool,
    pub secrets: SecretBox,
    pub calendars: Calendars,
}

pub use nmc_calendar::Calendars;
// The inputs and outputs are the contracts the workflows call (nmc-activity-defs).
pub use nmc_activity_defs::booking::{
    AppointmentRef, AppointmentState, AppointmentTold, BookOutcome, BookRequest, CallerAppointment,
    CallerLookup, OFFERS, Offer, OfferRequest, QuotedJob, StatusChange, SyncRequest,
};

fn retryable(e: impl std::fmt::Display) -> ActivityError {
    anyhow::anyhow!("{e}").into()
}

fn tz_of(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// Fresh slots for the same job, after the picked one was taken.
fn again(r: &BookRequest) -> OfferRequest {
    OfferRequest {
        business_id: r.business_id,
        service_text: r.job.name.clone(),
        job: Some(r.job.clone()),
        emergency: false,
        after: None,
        preferred_time: None,
    }
}

#[activities]
impl BookingActivities {
    /// Up to four slots that fit the whole job, after refreshing the Google busy time, so a slot
    /// that became busy there a moment ago is not offered.
    #[activity]
    pub async fn offer_slots(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: OfferRequest,
    ) -> Result<Offer, ActivityError> {
        if let Err(e) = self.refresh_busy(r.business_id).await {
            warn!(business_id = %r.business_id, error = %e, "busy time not refreshed; offering from the last projection");
        }
        self.offer(&r).await.map_err(retryable)
    }

    /// Books (or moves) the appointment. A slot taken in the meantime books nothing and comes
    /// back with fresh slots; the same idempotency key books once.
    #[activity]
    pub async fn book_slot(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: BookRequest,
    ) -> Result<BookOutcome, ActivityError> {
        let mut db = nmc_store::conn(&self.pool).await.map_err(retryable)?;
        let lead = store::conversation_lead(&mut db, r.business_id, r.conversation_id)
            .await
            .map_err(retryable)?;
        let booked = match r.reschedule {
            Some(id) => {
                store::reschedule(
                    &mut db,
                    r.business_id,
                    id,
                    r.slot.technician,
                    r.slot.start,
                    r.slot.end,
                )
                .await
            }
            None => {
                store::book(
                    &mut db,
                    r.business_id,
                    &NewAppointment {
                        technician_id: r.slot.technician,
                        start: r.slot.start,
                        end: r.slot.end,
                        lead_id: Some(lead.lead_id),
                        conversation_id: Some(r.conversation_id),
                        catalog_item_id: r.job.catalog_item_id,
                        service_name: Some(&r.job.name),
                        customer_name: lead.name.as_deref(),
                        customer_phone: Some(&lead.phone),
                        address: lead.address.as_deref(),
                        price_cents: r.job.price_cents,
                        notes: lead.service_needed.as_deref(),
                        idempotency_key: Some(&r.idempotency_key),
                    },
                )
                .await
            }
        }
        .map_err(retryable)?;
        match booked {
            Booked::Booked(appointment_id) => {
                store::mark_lead_booked(&mut db, r.business_id, lead.lead_id)
                    .await
                    .map_err(retryable)?;
                let when = availability::slot_text(tz_of(&lead.timezone), &r.slot);
                let confirmation = if r.reschedule.is_some() {
                    format!(
                        "Done: your {} is moved to {when}. {}",
                        r.job.name,
                        nmc_domain::appointment::REPLY_OPTIONS
                    )
                } else {
                    confirmation_text(
                        &lead.business_name,
                        &r.job.name,
                        &when,
                        r.job.price_text.as_deref(),
                        lead.address.as_deref(),
                    )
                };
                let verb = if r.reschedule.is_some() {
                    "Moved"
                } else {
                    "Booked"
                };
                let owner_summary = format!(
                    "{verb}: {} for {} on {when} at {}. {}",
                    r.job.name,
                    lead.name.as_deref().unwrap_or("the caller"),
                    lead.address.as_deref().unwrap_or("(no address)"),
                    r.job.price_text.as_deref().map_or_else(
                        || "No catalog price: please quote.".into(),
                        |p| format!("Price {p}.")
                    )
                );
                info!(business_id = %r.business_id, %appointment_id, "appointment booked");
                Ok(BookOutcome::Booked {
                    appointment_id,
                    confirmation,
                    owner_summary,
                })
            }
            Booked::SlotTaken => {
                info!(business_id = %r.business_id, "slot taken in the meantime; offering fresh ones");
                let offer = self.offer(&again(&r)).await.map_err(retryable)?;
                Ok(BookOutcome::Taken { offer })
            }
        }
    }

    #[activity]
    pub async fn caller_appointment(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: CallerLookup,
    ) -> Result<Option<CallerAppointment>, ActivityError> {
        let mut db = nmc_store::conn(&self.pool).await.map_err(retryable)?;
        let Some(a) = store::upcoming_for_caller(&mut db, r.business_id, &r.caller, Utc::now())
            .await
            .map_err(retryable)?
        else {
            return Ok(None);
        };
        let (_, _, timezone) = store::business_basics(&mut db, r.business_id)
            .await
            .map_err(retryable)?;
        let slot = Slot {
            technician: a.technician_id,
            start: a.start_at,
            end: a.end_at,
        };
        Ok(Some(CallerAppointment {
            appointment_id: a.id,
            when: availability::slot_text(tz_of(&timezone), &slot),
            job: QuotedJob {
                catalog_item_id: a.catalog_item_id,
                name: a.service_name.unwrap_or_else(|| "appointment".into()),
                duration_minutes: ((a.end_at - a.start_at).num_minutes()) as i32,
                price_text: None,
                price_cents: a.price_cents,
            },
        }))
    }

    /// Returns whether the status changed (a repeated C changes nothing).
    #[activity]
    pub async fn set_appointment_status(
        self: Arc<Self>,
        _ctx: ActivityContext,
        c: StatusChange,
    ) -> Result<bool, ActivityError> {
        let mut db = nmc_store::conn(&self.pool).await.map_err(retryable)?;
        store::set_status(
            &mut db,
            c.business_id,
            c.appointment_id,
            &c.status,
            Some("caller"),
        )
        .await
        .map_err(retryable)
    }

    #[activity]
    pub async fn appointment_state(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: AppointmentRef,
    ) -> Result<AppointmentState, ActivityError> {
        let mut db = nmc_store::conn(&self.pool).await.map_err(retryable)?;
        let a = store::get(&mut db, r.business_id, r.appointment_id)
            .await
            .map_err(retryable)?;
        let (business_name, _, timezone) = store::business_basics(&mut db, r.business_id)
            .await
            .map_err(retryable)?;
        let conversation_id = match (a.conversation_id, &a.customer_phone) {
            (Some(c), _) => Some(c),
            (None, Some(phone)) => {
                let workflow_id = nmc_domain::E164::parse(phone)
                    .map(|p| nmc_domain::conversation_workflow_id(r.business_id, &p))
                    .unwrap_or_default();
                store::ensure_appointment_conversation(&mut db, r.business_id, a.id, &workflow_id)
                    .await
                    .map_err(retryable)?
            }
            _ => None,
        };
        let notice_pending = store::caller_notice_pending(&mut db, r.business_id, a.id)
            .await
            .map_err(retryable)?;
        let quiet = Some(
            store::quiet_hours(&mut db, r.business_id)
                .await
                .map_err(retryable)?,
        );
        let rules = scheduling::rules(&mut db, r.business_id)
            .await
            .map_err(retryable)?;
        let providers = cal::connections(&mut db, r.business_id)
            .await
            .map_err(retryable)?
            .into_iter()
            .map(|c| c.provider)
            .collect();
        let slot = Slot {
            technician: a.technician_id,
            start: a.start_at,
            end: a.end_at,
        };
        Ok(AppointmentState {
            status: a.status,
            start: a.start_at,
            end: a.end_at,
            version: a.version,
            caller: a.customer_phone,
            conversation_id,
            reminder_minutes: rules.reminder_minutes,
            providers,
            business_name,
            service: a.service_name.unwrap_or_else(|| "appointment".into()),
            when: availability::slot_text(tz_of(&timezone), &slot),
            notice_pending,
            quiet,
        })
    }

    #[activity]
    pub async fn appointment_told(
        self: Arc<Self>,
        _ctx: ActivityContext,
        t: AppointmentTold,
    ) -> Result<(), ActivityError> {
        let mut db = nmc_store::conn(&self.pool).await.map_err(retryable)?;
        store::mark_workflow_told(
            &mut db,
            t.business_id,
            t.appointment_id,
            t.version,
            t.notice_sent,
        )
        .await
        .map_err(retryable)
    }

    /// Pushes the appointment as it is now to one calendar. The booking stands whatever the
    /// calendar does: failures are recorded for the owner; outages are retried with backoff, a
    /// refusal (bad token, bad request) is recorded and not retried.
    #[activity]
    pub async fn sync_calendar(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: SyncRequest,
    ) -> Result<bool, ActivityError> {
        let mut db = nmc_store::conn(&self.pool).await.map_err(retryable)?;
        let a = store::get(&mut db, r.business_id, r.appointment_id)
            .await
            .map_err(retryable)?;
        let Some(conn) = cal::connections(&mut db, r.business_id)
            .await
            .map_err(retryable)?
            .into_iter()
            .find(|c| c.provider == r.provider)
        else {
            return Ok(false);
        };
        let (_, _, timezone) = store::business_basics(&mut db, r.business_id)
            .await
            .map_err(retryable)?;
        let event = CalendarEvent {
            appointment_id: a.id,
            title: format!(
                "{} – {}",
                a.service_name.as_deref().unwrap_or("Job"),
                a.customer_name.as_deref().unwrap_or("caller")
            ),
            description: event_description(&a),
            location: a.address.clone(),
            start: a.start_at,
            end: a.end_at,
            timezone,
            customer_name: a.customer_name.clone(),
            customer_phone: a.customer_phone.clone(),
            cancelled: a.status == "cancelled",
            version: a.version,
        };
        let known = cal::external_id(&mut db, a.id, &r.provider)
            .await
            .map_err(retryable)?;
        let pushed = async {
            let token = self.access_token(r.business_id, &conn).await?;
            match r.provider.as_str() {
                "google" => {
                    self.calendars
                        .google
                        .push(&token, &conn.calendar_id, &event, known.as_deref())
                        .await
                }
                _ => {
                    self.calendars
                        .jobber
                        .push(&token, &event, known.as_deref())
                        .await
                }
            }
        }
        .await;
        match pushed {
            Ok(external_id) => {
                cal::record_sync(
                    &mut db,
                    r.business_id,
                    a.id,
                    &r.provider,
                    Ok((&external_id, a.version)),
                )
                .await
                .map_err(retryable)?;
                Ok(true)
            }
            Err(e) => {
                let message = e.to_string();
                warn!(business_id = %r.business_id, appointment_id = %a.id, provider = %r.provider, error = %message, "calendar sync failed");
                cal::record_sync(&mut db, r.business_id, a.id, &r.provider, Err(&message))
                    .await
                    .map_err(retryable)?;
                if e.is_retryable() {
                    Err(retryable(message))
                } else {
                    Ok(false)
                }
            }
        }
    }
}

fn event_description(a: &store::Appointment) -> String {
    let mut lines = vec![];
    if let Some(p) = &a.customer_phone {
        lines.push(format!("Phone: {p}"));
    }
    if let Some(n) = &a.notes {
        lines.push(format!("Caller said: {n}"));
    }
    if let Some(c) = a.price_cents {
        lines.push(format!("Quoted: ${}.{:02}", c / 100, c % 100));
    }
    lines.push(format!("Technician: {}", a.technician_name));
    lines.join("\n")
}

impl BookingActivities {
    async fn offer(&self, r: &OfferRequest) -> nmc_store::Result<Offer> {
        let mut db = nmc_store::conn(&self.pool).await?;
        let now = Utc::now();
        let rules = scheduling::rules(&mut db, r.business_id).await?;
        let job = if let Some(j) = &r.job {
            j.clone()
        } else {
            let items = scheduling::catalog(&mut db, r.business_id, true).await?;
            let catalog: Vec<CatalogItem> =
                items.iter().map(scheduling::CatalogRow::item).collect();
            match catalog::match_item(&r.service_text, &catalog)
                .and_then(|m| items.iter().find(|i| i.name == m.name))
            {
                Some(row) => {
                    let item = row.item();
                    let mut price_text = catalog::price_text(&item);
                    if let (true, Some(s), Some(p)) = (
                        r.emergency,
                        item.emergency_surcharge_cents,
                        price_text.as_mut(),
                    ) {
                        p.push_str(&format!(" + ${} emergency fee", s / 100));
                    }
                    QuotedJob {
                        catalog_item_id: Some(row.id),
                        name: row.name.clone(),
                        duration_minutes: row.duration_minutes,
                        price_text,
                        price_cents: row.price_cents.or(row.price_min_cents),
                    }
                }
                None => QuotedJob {
                    catalog_item_id: None,
                    name: short_job_name(&r.service_text),
                    duration_minutes: rules.default_job_minutes,
                    price_text: None,
                    price_cents: None,
                },
            }
        };
        let bookable = scheduling::technicians(&mut db, r.business_id)
            .await?
            .iter()
            .any(|t| t.active);
        let (timezone, slots) =
            scheduling::open_slots(&mut db, r.business_id, job.duration_minutes, r.after, now)
                .await?;
        let tz = tz_of(&timezone);
        let (slots, fit) = availability::narrow(tz, now, &slots, r.preferred_time.as_deref());
        Ok(Offer {
            matched: job.catalog_item_id.is_some() || r.job.is_some(),
            job,
            timezone,
            slots: availability::pick_offers(tz, &slots, OFFERS),
            window_days: rules.booking_window_days,
            bookable,
            fit,
        })
    }

    /// A live access token: refreshed (and stored sealed) when it expires within five minutes.
    pub(crate) async fn access_token(
        &self,
        business_id: Uuid,
        conn: &cal::Connection,
    ) -> Result<String, CalendarError> {
        let unavailable = |e: nmc_store::StoreError| CalendarError::Unavailable {
            provider: "store",
            message: e.to_string(),
        };
        let sealed = |e: String| CalendarError::Refused {
            provider: "store",
            status: 0,
            message: e,
        };
        let token = self
            .secrets
            .decrypt(&conn.access_token_enc)
            .map_err(|e| sealed(e.to_string()))?;
        let expiring = conn
            .expires_at
            .is_some_and(|t| t < Utc::now() + Duration::minutes(5));
        if !expiring || conn.refresh_token_enc.is_none() {
            return Ok(token);
        }
        // One refresh at a time per grant (Jobber rotates its refresh token): whoever waited
        // reads the grant again and finds it fresh.
        let mut tx = self.pool.begin().await.map_err(|e| unavailable(e.into()))?;
        let key = format!("calendar-token:{business_id}:{}", conn.provider);
        nmc_store::take_turn(&mut tx, &key)
            .await
            .map_err(unavailable)?;
        let now_conn = cal::connections(&mut tx, business_id)
            .await
            .map_err(unavailable)?
            .into_iter()
            .find(|c| c.provider == conn.provider)
            .ok_or_else(|| sealed("the calendar was disconnected".into()))?;
        if now_conn
            .expires_at
            .is_some_and(|t| t >= Utc::now() + Duration::minutes(5))
        {
            return self
                .secrets
                .decrypt(&now_conn.access_token_enc)
                .map_err(|e| sealed(e.to_string()));
        }
        let refresh_enc = now_conn
            .refresh_token_enc
            .as_ref()
            .ok_or_else(|| sealed("no refresh token".into()))?;
        let refresh = self
            .secrets
            .decrypt(refresh_enc)
            .map_err(|e| sealed(e.to_string()))?;
        let oauth = if conn.provider == "google" {
            &self.calendars.google_oauth
        } else {
            &self.calendars.jobber_oauth
        };
        let fresh = oauth.refresh(&self.calendars.google.http, &refresh).await?;
        let access_enc = self.secrets.encrypt(&fresh.access_token);
        let refresh_enc = fresh
            .refresh_token
            .as_deref()
            .map(|r| self.secrets.encrypt(r));
        // Jobber sends no expires_in: its JWT's exp says when (oauth::Tokens::lifetime_secs).
        let now = Utc::now();
        let expires_at = Some(now + Duration::seconds(fresh.lifetime_secs(now.timestamp())));
        cal::store_refreshed_token(
            &mut tx,
            business_id,
            &conn.provider,
            &access_enc,
            refresh_enc.as_deref(),
            expires_at,
        )
        .await
        .map_err(|e| sealed(e.to_string()))?;
        tx.commit().await.map_err(|e| unavailable(e.into()))?;
        info!(%business_id, provider = %conn.provider, "calendar token refreshed");
        Ok(fresh.access_token)
    }

    /// Pulls the connected Google Calendar's busy time for the booking window into the projection.
    pub async fn refresh_busy(&self, business_id: Uuid) -> anyhow::Result<()> {
        let mut db = nmc_store::conn(&self.pool).await?;
        let Some(conn) = cal::connections(&mut db, business_id)
            .await?
            .into_iter()
            .find(|c| c.provider == "google")
        else {
            return Ok(());
        };
        let rules = scheduling::rules(&mut db, business_id).await?;
        let from = Utc::now() - Duration::hours(1);
        let to = Utc::now() + Duration::days(i64::from(rules.booking_window_days) + 2);
        let token = self.access_token(business_id, &conn).await?;
        let blocks = self
            .calendars
            .google
            .free_busy(&token, &conn.busy_ids(), from, to)
            .await?;
        // Our own events show up as busy too; they are already appointments, so keep them once.
        let own: Vec<(DateTime<Utc>, DateTime<Utc>)> = store::list(&mut db, business_id, from, to)
            .await?
            .into_iter()
            .filter(|a| a.status != "cancelled")
            .map(|a| (a.start_at, a.end_at))
            .collect();
        let external: Vec<_> = blocks.into_iter().filter(|b| !own.contains(b)).collect();
        cal::replace_busy(&mut db, business_id, "google", from, to, &external).await?;
        Ok(())
    }
}

/// A short name for a job with no catalog match: the caller's first few words.
fn short_job_name(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().take(6).collect();
    if words.is_empty() {
        "Service visit".into()
    } else {
        format!("Visit: {}", words.join(" "))
    }
}
