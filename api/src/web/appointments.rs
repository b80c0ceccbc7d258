//! Appointments: the week (a column per day) or the list of the next two weeks, with done /
//! no-show / cancel and reschedule. Changes go through the same path as the API (the caller is
//! told of a move or a cancellation, calendars follow).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Datelike, Duration, NaiveDate, Utc};
use maud::{Markup, html};
use nmc_domain::availability::{Slot, pick_offers, slot_text};
use nmc_store::{booking, scheduling};
use serde::Deserialize;
use uuid::Uuid;

use super::ui::{self, Submitted};
use super::{Signed, dollars, form_status, local_midnight, nav, page, today, tz};
use crate::error::Params;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new().route("/app/appointments", get(list)).route(
        "/app/appointments/{appointment_id}/status",
        post(set_status),
    )
}

#[derive(Deserialize)]
struct Query {
    view: Option<String>,
    start: Option<NaiveDate>,
}

fn card(
    a: &booking::Appointment,
    zone: chrono_tz::Tz,
    slots: &[Slot],
    revenue: bool,
    (sent, back): (&Submitted, &str),
) -> Markup {
    let local = a.start_at.with_timezone(&zone);
    let open = a.status == "scheduled" || a.status == "confirmed";
    html! {
        article class="card appt" {
            p { strong { (local.format("%-I:%M %p")) "–" (a.end_at.with_timezone(&zone).format("%-I:%M %p")) } " · " (a.service_name.clone().unwrap_or_else(|| "Job".into()))
                @if revenue { @if let Some(p) = a.price_cents { " · " (dollars(p as i64)) } } }
            p class="muted" { (a.customer_name.clone().unwrap_or_default()) " " (a.address.clone().unwrap_or_default()) " · " (a.technician_name) }
            p {
                span class=(if a.status == "cancelled" || a.status == "no_show" { "badge bad" } else { "badge" }) { (a.status.replace('_', " ")) }
                @if let Some(c) = a.conversation_id { " " a href={ "/app/inbox/" (c) } { "Conversation" } }
                @if let Some(p) = &a.customer_phone { " " (ui::phone(p)) }
            }
            @if open {
                div class="actions" {
                    @for (status, label) in [("completed", "Done"), ("no_show", "No-show"), ("cancelled", "Cancel")] {
                        form method="post" action={ "/app/appointments/" (a.id) "/status" } {
                            input type="hidden" name="status" value=(status);
                            button type="submit" class=(if status == "cancelled" { "secondary" } else { "" }) { (label) }
                        }
                    }
                }
                @if !slots.is_empty() {
                    details {
                        summary { "Reschedule" }
                        @let f = ui::Form::new(sent, format!("reschedule-{}", a.id), "PATCH", format!("/api/appointments/{}", a.id), back);
                        (f.render("card", &html! {
                            label for={ "move-" (a.id) } { "New time (the caller is texted)" }
                            select id={ "move-" (a.id) } name="start" {
                                @for s in slots { option value=(s.start.to_rfc3339()) { (slot_text(zone, s)) } }
                            }
                            (form_status())
                            button type="submit" { "Move" }
                        }))
                    }
                }
            }
        }
    }
}

async fn list(
    Signed(t): Signed,
    State(s): State<AppState>,
    Params(q): Params<Query>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    let week_view = q.view.as_deref() != Some("list");
    let mut tx = t.begin(&s.db).await?;
    let (_, _, timezone) = booking::business_basics(&mut tx, t.business_id).await?;
    let zone = tz(&timezone);
    let anchor = q.start.unwrap_or_else(|| today(zone));
    let first = if week_view {
        anchor - Duration::days(anchor.weekday().num_days_from_monday() as i64)
    } else {
        anchor
    };
    let span = if week_view { 7 } else { 14 };
    let items = booking::list(
        &mut tx,
        t.business_id,
        local_midnight(zone, first),
        local_midnight(zone, first + Duration::days(span)),
    )
    .await?;
    // Reschedule choices, once per job length.
    let mut choices: HashMap<i64, Vec<Slot>> = HashMap::new();
    for a in items
        .iter()
        .filter(|a| a.status == "scheduled" || a.status == "confirmed")
    {
        let minutes = (a.end_at - a.start_at).num_minutes();
        if let std::collections::hash_map::Entry::Vacant(e) = choices.entry(minutes) {
            let (_, slots) =
                scheduling::open_slots(&mut tx, t.business_id, minutes as i32, None, Utc::now())
                    .await?;
            e.insert(pick_offers(zone, &slots, 16));
        }
    }
    let days: Vec<NaiveDate> = (0..span).map(|i| first + Duration::days(i)).collect();
    let on = |d: &NaiveDate| {
        items
            .iter()
            .filter(|a| a.start_at.with_timezone(&zone).date_naive() == *d)
            .collect::<Vec<_>>()
    };
    let slots_for = |a: &booking::Appointment| {
        choices
            .get(&(a.end_at - a.start_at).num_minutes())
            .cloned()
            .unwrap_or_default()
    };
    let view = if week_view { "week" } else { "list" };
    let step = if week_view { 7 } else { 14 };
    let back = format!("/app/appointments?view={view}&start={first}");
    Ok(page(
        "Appointments",
        html! {
            (nav("appointments", &t))
            h1 { "Appointments" }
            nav class="filters" aria-label="View" {
                a href="/app/appointments" aria-current=[week_view.then_some("page")] { "Week" }
                a href="/app/appointments?view=list" aria-current=[(!week_view).then_some("page")] { "Next two weeks" }
            }
            p class="bar" {
                a href={ "/app/appointments?view=" (view) "&start=" (first - Duration::days(step)) } { "← Earlier" }
                strong { (first.format("%b %-d")) " – " ((first + Duration::days(span - 1)).format("%b %-d")) }
                a href={ "/app/appointments?view=" (view) "&start=" (first + Duration::days(step)) } { "Later →" }
            }
            @if items.is_empty() {
                (ui::empty(&html! { "No appointments in these days. Callers book from the times the assistant offers; you can book by hand from any conversation." }, None))
            }
            div class=(if week_view { "week" } else { "agenda" }) {
                @for d in &days {
                    @let list = on(d);
                    @if week_view || !list.is_empty() {
                        section class="day" aria-label=(d.format("%A %B %-d")) {
                            h2 class=(if *d == today(zone) { "today" } else { "" }) { (d.format("%a %b %-d")) }
                            @if list.is_empty() { p class="muted" { "Free" } }
                            @for a in list { (card(a, zone, &slots_for(a), t.owner_role, (&sent, &back))) }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
}

async fn set_status(
    Signed(t): Signed,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    Form(f): Form<StatusForm>,
) -> Result<Response, ApiError> {
    if !["completed", "no_show", "cancelled"].contains(&f.status.as_str()) {
        return Err(ApiError::BadRequest(
            "status must be completed, no_show or cancelled".into(),
        ));
    }
    let mut tx = t.begin(&s.db).await?;
    let changed = booking::set_status(&mut tx, t.business_id, id, &f.status, Some("owner")).await?;
    crate::owner::commit(tx).await?;
    crate::owner::tell_workflow(&s, t.business_id, id, changed && f.status == "cancelled").await?;
    Ok(Redirect::to("/app/appointments").into_response())
}
