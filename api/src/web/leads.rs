//! The leads pipeline: every caller by stage (new → qualified → booked → done, and the ones that
//! got away), with what they need, and a one-tap move to another stage.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::html;
use nmc_store::inbox;

use super::ui::{self, Form, Submitted};
use super::{Signed, nav, page};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new().route("/app/leads", get(pipeline))
}

/// Pipeline columns and the lead statuses each holds.
const STAGES: [(&str, &[&str]); 5] = [
    ("New", &["new", "contacted", "qualifying"]),
    ("Qualified", &["qualified"]),
    ("Booked", &["booked"]),
    ("Done", &["completed"]),
    (
        "Not going ahead",
        &["unresponsive", "opted_out", "undeliverable", "lost"],
    ),
];

const MOVES: [(&str, &str); 5] = [
    ("qualified", "Qualified"),
    ("booked", "Booked"),
    ("completed", "Done"),
    ("lost", "Lost"),
    ("new", "New"),
];

async fn pipeline(
    Signed(t): Signed,
    State(s): State<AppState>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let (_, _, timezone) = nmc_store::booking::business_basics(&mut tx, t.business_id).await?;
    let zone = super::tz(&timezone);
    let leads = inbox::leads(&mut tx, t.business_id, None, None, 300)
        .await?
        .items;
    // Each lead's latest conversation, to open the thread from the card.
    let latest = inbox::latest_conversations(&mut tx, t.business_id).await?;
    Ok(page(
        "Leads",
        html! {
            (nav("leads", &t))
            h1 { "Leads" }
            @if leads.is_empty() {
                p class="empty" { "No leads yet. Every caller who misses you becomes a lead here, with what they need and how urgent it is." }
            }
            div class="pipeline" {
                @for (title, statuses) in STAGES {
                    @let column: Vec<&inbox::Lead> = leads.iter().filter(|l| statuses.contains(&l.status.as_str())).collect();
                    section class="stage" aria-label=(title) {
                        h2 { (title) " " span class="muted" { "(" (column.len()) ")" } }
                        @for l in column {
                            article class="card lead-card" {
                                p {
                                    @let who = l.name.clone().unwrap_or_else(|| nmc_domain::phone::display(&l.phone));
                                    @if let Some(c) = latest.get(&l.id) { a href={ "/app/inbox/" (c) } { strong { (who) } } }
                                    @else { strong { (who) } }
                                    @if l.urgency.as_deref() == Some("emergency") { " " (ui::badge("Emergency", ui::Tone::Bad)) }
                                }
                                p class="muted" { (l.service_needed.clone().unwrap_or_else(|| "need not known yet".into())) " · " (ui::when(l.created_at, zone)) }
                                @let f = Form::new(&sent, format!("stage-{}", l.id), "PATCH", format!("/api/leads/{}", l.id), "/app/leads");
                                (f.render("move", &html! {
                                    label for={ "move-" (l.id) } class="visually-hidden" { "Move " (who) " to" }
                                    select id={ "move-" (l.id) } name="status" {
                                        @for (v, label) in MOVES { option value=(v) selected[l.status == v] { (label) } }
                                    }
                                    button type="submit" class="secondary" { "Move" }
                                }))
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response())
}
