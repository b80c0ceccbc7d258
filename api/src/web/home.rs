//! Home: today and this month (missed, recovered, recovery rate, booked, revenue recovered), the
//! last 14 days as a chart, banners for emergencies and failed deliveries, and the activity feed,
//! which updates live.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{Datelike, Duration, Utc};
use maud::{Markup, html};
use nmc_store::inbox::{self, ConversationFilter};
use nmc_store::{insights, settings};

use super::ui;
use super::{Signed, bar_chart, dollars, local_midnight, nav, page, today, tz};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app", get(home))
        .route("/app/activity", get(activity_fragment))
        .route("/app/waiting", get(waiting_fragment))
}

fn stats(label: &str, t: &insights::Totals, revenue: bool) -> Markup {
    let rate = if t.missed > 0 {
        t.recovered * 100 / t.missed
    } else {
        0
    };
    html! {
        section class="stats" aria-label=(label) {
            div class="stat" { span class="n" { (t.missed) } span { "missed" } }
            div class="stat" { span class="n" { (t.recovered) } span { "recovered" } }
            div class="stat" { span class="n" { (rate) "%" } span { "recovery rate" } }
            div class="stat" { span class="n" { (t.booked) } span { "booked" } }
            @if revenue { div class="stat" { span class="n" { (dollars(t.revenue_cents)) } span { "revenue recovered" } } }
            div class="stat" { span class="n" { (first_text(t.median_first_text_secs)) } span { "median time to first text" } }
        }
    }
}

/// "0.8 s", "2 min": how fast a missed caller heard from the business (— before the first one).
fn first_text(secs: Option<f64>) -> String {
    match secs {
        None => "—".into(),
        Some(s) if s < 10.0 => format!("{s:.1} s"),
        Some(s) if s < 90.0 => format!("{s:.0} s"),
        Some(s) => format!("{:.0} min", s / 60.0),
    }
}

async fn home(Signed(t): Signed, State(s): State<AppState>) -> Result<Response, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let settings = settings::get(&mut tx, t.business_id).await?;
    if t.owner_role
        && settings::onboarding_step(&mut tx, t.business_id)
            .await?
            .as_deref()
            == Some("profile")
    {
        // A brand-new account starts with set-up.
        return Ok(Redirect::to("/app/onboarding").into_response());
    }
    let step = settings::onboarding_step(&mut tx, t.business_id).await?;
    let zone = tz(&settings.timezone);
    let day = today(zone);
    let tomorrow = local_midnight(zone, day + Duration::days(1));
    let today_totals =
        insights::totals(&mut tx, t.business_id, local_midnight(zone, day), tomorrow).await?;
    let month_totals = insights::totals(
        &mut tx,
        t.business_id,
        local_midnight(zone, day.with_day(1).unwrap_or(day)),
        tomorrow,
    )
    .await?;
    let days = insights::daily(
        &mut tx,
        t.business_id,
        &settings.timezone,
        day - Duration::days(13),
        day,
    )
    .await?;
    let needs = needs_you(&mut tx, t.business_id, zone).await?;
    let plan = nmc_store::billing::get(&mut tx, t.business_id).await?;
    let plan = crate::billing::view(s.config.billing.is_some(), &plan);
    let recent = insights::recent(&mut tx, t.business_id, 20).await?;
    let bars: Vec<(String, i64)> = days
        .iter()
        .map(|d| (d.day.format("%a %b %-d").to_string(), d.missed))
        .collect();
    let booked: Vec<(String, i64)> = days
        .iter()
        .map(|d| (d.day.format("%a %b %-d").to_string(), d.booked))
        .collect();
    Ok(page(
        "Home",
        html! {
            (nav("home", &t))
            h1 { (settings.name) }
            @if let Some(step) = &step {
                @if t.owner_role {
                    p class="banner" role="status" { "Set-up is not finished. " a href={ "/app/onboarding/" (step) } { "Continue set-up" } }
                }
            }
            // A plan that stops (or will stop) callers being texted, before anything else.
            @if t.owner_role && plan["enabled"] == true && plan["banner"].is_string() {
                (super::billing::card(&plan))
            }
            // What waits on the owner comes first, and stays current while the page is open.
            div data-live="/app/waiting" data-on="conversation.created conversation.updated emergency message.updated lead.updated" { (needs) }
            h2 { "Today" }
            (stats("Today", &today_totals, t.owner_role))
            h2 { "This month" }
            (stats("This month", &month_totals, t.owner_role))
            div class="charts" {
                (bar_chart("Missed calls, last 14 days", &bars))
                (bar_chart("Jobs booked, last 14 days", &booked))
            }
            h2 { "Recent activity" }
            div data-live="/app/activity" data-on="call.created message.created lead.updated appointment.created appointment.updated emergency conversation.updated" {
                (activity(&recent, zone))
            }
        },
    )
    .into_response())
}

fn open(needs_owner: Option<bool>, emergency: Option<bool>) -> ConversationFilter {
    ConversationFilter {
        status: Some("active".into()),
        needs_owner,
        emergency,
        mode: None,
        booked: None,
    }
}

/// Emergencies, the conversations the assistant handed to the owner, and texts that failed.
async fn needs_you(
    tx: &mut sqlx::PgConnection,
    business: uuid::Uuid,
    zone: chrono_tz::Tz,
) -> Result<Markup, ApiError> {
    let waiting = inbox::conversations(tx, business, &open(Some(true), None), None, 10).await?;
    let emergencies = inbox::conversations(tx, business, &open(None, Some(true)), None, 5).await?;
    // Texts that did not reach the caller in the last day.
    let failed = inbox::failed_deliveries(tx, business, Utc::now() - Duration::hours(24)).await?;
    Ok(html! {
        @for c in &emergencies.items {
            p class="banner bad" role="alert" {
                strong { "Emergency: " } (c.caller_name.clone().unwrap_or_else(|| nmc_domain::phone::display(&c.caller_phone)))
                " — " (c.service_needed.clone().unwrap_or_else(|| "needs you now".into())) ". "
                a href={ "/app/inbox/" (c.id) } { "Open" } " · " a href={ "tel:" (c.caller_phone) } { "Call back" }
            }
        }
        section class="waiting" aria-labelledby="waiting-title" {
            h2 id="waiting-title" { "Waiting on you" @if !waiting.items.is_empty() { " (" (waiting.items.len()) ")" } }
            @if waiting.items.is_empty() {
                (ui::empty(&html! { "Nobody is waiting on you. The assistant hands a conversation to you when a caller needs a person." }, None))
            } @else {
                ul class="list" { @for c in &waiting.items { (super::inbox::row(c, zone)) } }
                p { a href="/app/inbox?show=needs_owner" { "All conversations that need you" } }
            }
        }
        @if failed.0 > 0 {
            p class="banner bad" role="alert" {
                strong { (failed.0) " text" @if failed.0 != 1 { "s" } " not delivered" } " in the last 24 hours. "
                @if let Some(c) = failed.1 { a href={ "/app/inbox/" (c) } { "See the latest" } }
            }
        }
    })
}

async fn waiting_fragment(
    Signed(t): Signed,
    State(s): State<AppState>,
) -> Result<Markup, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let (_, _, timezone) = nmc_store::booking::business_basics(&mut tx, t.business_id).await?;
    needs_you(&mut tx, t.business_id, tz(&timezone)).await
}

async fn activity_fragment(
    Signed(t): Signed,
    State(s): State<AppState>,
) -> Result<Markup, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let (_, _, timezone) = nmc_store::booking::business_basics(&mut tx, t.business_id).await?;
    Ok(activity(
        &insights::recent(&mut tx, t.business_id, 20).await?,
        tz(&timezone),
    ))
}

/// One line per event, in the trade's words.
fn describe(e: &insights::Recent) -> Option<(String, Option<String>)> {
    let d = &e.data;
    let s = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let conversation = s("conversation_id").map(|c| format!("/app/inbox/{c}"));
    let text = match e.kind.as_str() {
        "call.created" if s("status").as_deref() == Some("missed") => {
            if d.get("is_after_hours").and_then(|v| v.as_bool()) == Some(true) {
                "Missed call (after hours)".to_owned()
            } else {
                "Missed call".to_owned()
            }
        }
        "call.updated" if s("status").as_deref() == Some("missed") => "Missed call".to_owned(),
        "message.created" if s("kind").as_deref() == Some("owner_alert") => return None,
        "message.created" => {
            let body: String = s("body").unwrap_or_default().chars().take(70).collect();
            match (s("direction").as_deref(), s("sender").as_deref()) {
                (Some("inbound"), _) => format!("Caller texted: “{body}”"),
                (_, Some("owner")) => format!("You texted: “{body}”"),
                (_, Some("assistant")) => format!("Assistant texted: “{body}”"),
                _ => format!("Texted: “{body}”"),
            }
        }
        "message.updated" if matches!(s("status").as_deref(), Some("failed" | "undelivered")) => {
            "A text was not delivered".to_owned()
        }
        "lead.created" => "New lead".to_owned(),
        "lead.updated" => format!(
            "{} is {}",
            s("name").unwrap_or_else(|| "A lead".into()),
            s("status").unwrap_or_default().replace('_', " ")
        ),
        "appointment.created" => format!(
            "Booked: {} for {}",
            s("service_name").unwrap_or_else(|| "a job".into()),
            s("customer_name").unwrap_or_else(|| "a caller".into())
        ),
        "appointment.updated" => format!(
            "Appointment {}",
            s("status").unwrap_or_default().replace('_', " ")
        ),
        "emergency" => "Emergency reported".to_owned(),
        "conversation.updated" if d.get("mode").and_then(|v| v.as_str()) == Some("owner") => {
            "You took over a conversation".to_owned()
        }
        _ => return None,
    };
    Some((text, conversation))
}

fn activity(recent: &[insights::Recent], zone: chrono_tz::Tz) -> Markup {
    let lines: Vec<_> = recent
        .iter()
        .filter_map(|e| describe(e).map(|d| (e, d)))
        .collect();
    html! {
        @if lines.is_empty() {
            (ui::empty(&html! { "Nothing yet. When a call is missed, the text it got and everything after shows up here as it happens. Try it from the " a href="/dev/phone" { "dev phone" } "." }, None))
        }
        ul class="feed" {
            @for (e, (text, link)) in &lines {
                li class=(if e.kind == "emergency" { "bad" } else { "" }) {
                    @if let Some(href) = link { a href=(href) { (text) } } @else { (text) }
                    " " small class="muted" { (ui::when(e.created_at, zone)) }
                }
            }
        }
    }
}
