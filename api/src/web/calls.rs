//! The calls log: every call with its outcome, filtered by dates, outcome and after hours, and
//! the same list as CSV for the owner's books.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, NaiveDate};
use maud::html;
use nmc_store::inbox::{self, CallFilter, Cursor};
use serde::Deserialize;

use super::{Signed, local_midnight, nav, page, tz};
use crate::error::Params;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app/calls", get(log))
        .route("/app/calls.csv", get(csv))
}

#[derive(Deserialize, Default)]
struct Query {
    from: Option<String>,
    to: Option<String>,
    outcome: Option<String>,
    after_hours: Option<String>,
}

impl Query {
    fn day(v: Option<&String>) -> Option<NaiveDate> {
        v.map(String::as_str)
            .filter(|s| !s.is_empty())
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    }

    fn filter(&self, zone: chrono_tz::Tz) -> CallFilter {
        CallFilter {
            from: Self::day(self.from.as_ref()).map(|d| local_midnight(zone, d)),
            to: Self::day(self.to.as_ref()).map(|d| local_midnight(zone, d + Duration::days(1))),
            outcome: self
                .outcome
                .clone()
                .filter(|o| ["missed", "answered", "blocked"].contains(&o.as_str())),
            after_hours: match self.after_hours.as_deref() {
                Some("yes") => Some(true),
                Some("no") => Some(false),
                _ => None,
            },
        }
    }

    fn query_string(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("outcome", &self.outcome),
            ("after_hours", &self.after_hours),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                q.append_pair(k, v);
            }
        }
        q.finish()
    }
}

struct Row {
    call: inbox::Call,
    name: Option<String>,
}

/// Up to `max` calls matching the filter, newest first, with the lead's name.
async fn load(
    t: &crate::auth::Tenant,
    s: &AppState,
    q: &Query,
    max: usize,
) -> Result<(chrono_tz::Tz, Vec<Row>), ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let (_, _, timezone) = nmc_store::booking::business_basics(&mut tx, t.business_id).await?;
    let zone = tz(&timezone);
    let filter = q.filter(zone);
    let mut calls = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = inbox::calls(&mut tx, t.business_id, &filter, cursor, 500).await?;
        calls.extend(page.items);
        cursor = page.next_cursor.as_deref().and_then(Cursor::decode);
        if cursor.is_none() || calls.len() >= max {
            break;
        }
    }
    calls.truncate(max);
    let names = inbox::lead_names(&mut tx, t.business_id).await?;
    Ok((
        zone,
        calls
            .into_iter()
            .map(|c| Row {
                name: c.lead_id.and_then(|l| names.get(&l).cloned().flatten()),
                call: c,
            })
            .collect(),
    ))
}

async fn log(
    Signed(t): Signed,
    State(s): State<AppState>,
    Params(q): Params<Query>,
    sent: super::ui::Submitted,
) -> Result<Response, ApiError> {
    let (zone, rows) = load(&t, &s, &q, 200).await?;
    let leads: Vec<uuid::Uuid> = rows.iter().filter_map(|r| r.call.lead_id).collect();
    let crm = super::integrations::CallsSync::load(&t, &s, &leads).await?;
    let sel = |v: &Option<String>, x: &str| v.as_deref() == Some(x);
    Ok(page(
        "Calls",
        html! {
            (nav("calls", &t))
            h1 { "Calls" }
            form method="get" action="/app/calls" class="filters-form" {
                div { label for="from" { "From" } input id="from" name="from" type="date" value=(q.from.clone().unwrap_or_default()); }
                div { label for="to" { "To" } input id="to" name="to" type="date" value=(q.to.clone().unwrap_or_default()); }
                div { label for="outcome" { "Outcome" }
                    select id="outcome" name="outcome" {
                        option value="" { "All" }
                        option value="missed" selected[sel(&q.outcome, "missed")] { "Missed" }
                        option value="answered" selected[sel(&q.outcome, "answered")] { "Answered" }
                        option value="blocked" selected[sel(&q.outcome, "blocked")] { "Blocked" }
                    }
                }
                div { label for="after_hours" { "When" }
                    select id="after_hours" name="after_hours" {
                        option value="" { "Any time" }
                        option value="yes" selected[sel(&q.after_hours, "yes")] { "After hours" }
                        option value="no" selected[sel(&q.after_hours, "no")] { "Open hours" }
                    }
                }
                button type="submit" { "Show" }
            }
            p { a href={ "/app/calls.csv?" (q.query_string()) } download { "Download these calls (CSV)" } }
            @if rows.is_empty() {
                p class="empty" { "No calls match. Missed calls appear here the moment they happen, answered ones too when calls ring through us." }
            } @else {
                div class="scroll" {
                    table class="table" {
                        thead { tr { th scope="col" { "When" } th scope="col" { "Caller" } th scope="col" { "Outcome" } th scope="col" { "Message" } @if crm.connected { th scope="col" { "CRM" } } } }
                        tbody {
                            @for r in &rows {
                                tr {
                                    td { (super::ui::when(r.call.created_at, zone)) }
                                    td { (r.name.clone().unwrap_or_default()) " "
                                        @match &r.call.caller_phone { Some(p) => (super::ui::phone(p)), None => "unknown" } }
                                    td {
                                        span class=(if r.call.status == "missed" { "badge bad" } else { "badge" }) { (r.call.status) }
                                        @if r.call.is_after_hours { " " span class="badge" { "after hours" } }
                                        @if r.call.is_repeat { " " span class="badge" { "called again" } }
                                        @if let Some(secs) = r.call.answered_secs { " " span class="muted" { (minutes(secs)) } }
                                        @match r.call.route.as_deref() {
                                            Some("voicemail") => { " " span class="badge" { "to voicemail" } }
                                            Some("ai_voice" | "both") => { " " span class="badge" { "to the AI agent" } }
                                            _ => {}
                                        }
                                    }
                                    td { (voicemail(&r.call)) (agent_call(&r.call)) }
                                    @if crm.connected { td { @if let Some(lead) = r.call.lead_id { (crm.cell(&sent, lead, &q.query_string())) } } }
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

/// `3:07`
fn minutes(secs: i32) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// The caller's message: a player, and what they said (or why it has no words).
fn voicemail(c: &inbox::Call) -> maud::Markup {
    let Some(id) = c.recording_id else {
        return html! {};
    };
    html! {
        div class="voicemail" {
            audio controls preload="none" src={ "/api/recordings/" (id) "/audio" } aria-label="Play the voicemail" { "Your browser cannot play it." }
            " " span class="muted" { (minutes(c.recording_secs.unwrap_or(0))) }
            @match (c.transcript.as_deref(), c.recording_status.as_deref()) {
                (Some(t), _) => p class="transcript" { "“" (t) "”" },
                (None, Some("failed")) => p class="muted" { "No transcript: listen to it." },
                _ => p class="muted" { "Transcribing…" },
            }
        }
    }
}

/// The AI voice agent's call: how it ended, its summary, and its recording at Vapi.
fn agent_call(c: &inbox::Call) -> maud::Markup {
    let Some(outcome) = c.agent_outcome.as_deref() else {
        return html! {};
    };
    let how = match outcome {
        "completed" => "AI call",
        "hung_up" => "AI call: they hung up early",
        _ => "AI call broke down",
    };
    html! {
        div class="agent-call" {
            span class="badge" { (how) } " " span class="muted" { (minutes(c.agent_secs.unwrap_or(0))) }
            @if let Some(s) = &c.agent_summary { p class="transcript" { (s) } }
            @if let Some(url) = c.agent_recording_url.as_deref().filter(|u| u.starts_with("https://")) {
                audio controls preload="none" src=(url) aria-label="Play the AI call" { "Your browser cannot play it." }
            }
        }
    }
}

/// A CSV cell: quoted when needed, and a leading = + - @ neutralised so a caller's "name"
/// cannot become a spreadsheet formula.
fn cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r'])
        && !v
            .trim_start_matches('+')
            .chars()
            .all(|c| c.is_ascii_digit())
    {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

async fn csv(
    Signed(t): Signed,
    State(s): State<AppState>,
    Params(q): Params<Query>,
) -> Result<Response, ApiError> {
    let (zone, rows) = load(&t, &s, &q, 50_000).await?;
    let mut out = String::from(
        "time,caller_phone,caller_name,outcome,after_hours,repeat,answered_secs,voicemail_transcript\r\n",
    );
    for r in &rows {
        let line = [
            r.call.created_at.with_timezone(&zone).to_rfc3339(),
            r.call.caller_phone.clone().unwrap_or_default(),
            r.name.clone().unwrap_or_default(),
            r.call.status.clone(),
            r.call.is_after_hours.to_string(),
            r.call.is_repeat.to_string(),
            r.call
                .answered_secs
                .map(|s| s.to_string())
                .unwrap_or_default(),
            r.call.transcript.clone().unwrap_or_default(),
        ]
        .iter()
        .map(|v| cell(v))
        .collect::<Vec<_>>()
        .join(",");
        out.push_str(&line);
        out.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"calls.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(cell("+15125550199"), "+15125550199");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("Smith, Jo"), "\"Smith, Jo\"");
        assert_eq!(cell("-1+2"), "'-1+2");
    }
}
