//! The appointments page: the next two weeks by day, with complete / no-show / cancel. A change
//! goes through the same path as the API (the caller is told of a cancellation, calendars follow).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, TimeZone, Utc};
use maud::html;
use nmc_store::booking;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Tenant;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new().route("/app/appointments", get(list)).route("/app/appointments/{appointment_id}/status", post(set_status))
}

async fn list(t: Option<Tenant>, State(s): State<AppState>) -> Result<Response, ApiError> {
    let Some(t) = t else { return Ok(Redirect::to("/login").into_response()) };
    let mut tx = t.begin(&s.db).await?;
    let (_, _, timezone) = booking::business_basics(&mut tx, t.business_id).await?;
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let from = tz.from_local_datetime(&today.and_hms_opt(0, 0, 0).unwrap_or_default()).earliest().map(|d| d.with_timezone(&Utc)).unwrap_or_else(Utc::now);
    let items = booking::list(&mut tx, t.business_id, from, from + Duration::days(14)).await?;
    // Grouped by the business's own calendar day.
    let mut days: Vec<(chrono::NaiveDate, Vec<&booking::Appointment>)> = Vec::new();
    for a in &items {
        let day = a.start_at.with_timezone(&tz).date_naive();
        match days.last_mut() {
            Some((d, list)) if *d == day => list.push(a),
            _ => days.push((day, vec![a])),
        }
    }
    Ok(super::page(
        "Appointments",
        html! {
            (super::nav("appointments"))
            h1 { "Appointments" }
            @if items.is_empty() {
                p class="empty" { "No appointments in the next two weeks. Callers book from the numbered times the assistant offers; you can also book by hand from the API." }
            }
            @for (day, list) in &days {
                h2 { (day.format("%A %B %-d")) }
                @for a in list {
                @let local = a.start_at.with_timezone(&tz);
                article class="card appt" {
                    p { strong { (local.format("%-I:%M %p")) "–" (a.end_at.with_timezone(&tz).format("%-I:%M %p")) } " · " (a.service_name.clone().unwrap_or_else(|| "Job".into())) }
                    p class="muted" { (a.customer_name.clone().unwrap_or_default()) " " (a.address.clone().unwrap_or_default()) " · " (a.technician_name) }
                    p { span class=(if a.status == "cancelled" { "badge bad" } else { "badge" }) { (a.status.replace('_', " ")) } }
                    @if a.status == "scheduled" || a.status == "confirmed" {
                        div class="actions" {
                            @for (status, label) in [("completed", "Done"), ("no_show", "No-show"), ("cancelled", "Cancel")] {
                                form method="post" action={ "/app/appointments/" (a.id) "/status" } {
                                    input type="hidden" name="status" value=(status);
                                    button type="submit" class=(if status == "cancelled" { "secondary" } else { "" }) { (label) }
                                }
                            }
                        }
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

async fn set_status(t: Tenant, State(s): State<AppState>, Path(id): Path<Uuid>, Form(f): Form<StatusForm>) -> Result<Response, ApiError> {
    if !["completed", "no_show", "cancelled"].contains(&f.status.as_str()) {
        return Err(ApiError::BadRequest("status must be completed, no_show or cancelled".into()));
    }
    let mut tx = t.begin(&s.db).await?;
    let changed = booking::set_status(&mut tx, t.business_id, id, &f.status, Some("owner")).await?;
    crate::owner::commit(tx).await?;
    crate::owner::tell_workflow(&s, t.business_id, id, changed && f.status == "cancelled").await?;
    Ok(Redirect::to("/app/appointments").into_response())
}
