//! Reports (owner only): a week or a month — missed, recovered, booked, revenue recovered — with
//! a chart per measure and links to the period before and after.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, Duration, NaiveDate};
use maud::{Markup, html};
use nmc_store::{insights, settings};
use serde::Deserialize;

use super::{Signed, bar_chart, dollars, local_midnight, nav, owner_only, page, today, tz};
use crate::error::Params;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new().route("/app/reports", get(report))
}

#[derive(Deserialize)]
struct Query {
    period: Option<String>,
    start: Option<NaiveDate>,
}

fn month_bounds(anchor: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = anchor.with_day(1).unwrap_or(anchor);
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    (first, next.unwrap_or(first) - Duration::days(1))
}

/// Review requests made in the period: sent, opened, and the share answered by a text.
fn review_stats(r: &nmc_store::reviews::Counts) -> Markup {
    let replied = if r.sent > 0 {
        r.replied * 100 / r.sent
    } else {
        0
    };
    html! {
        section class="stats" aria-label="Review requests" {
            div class="stat" { span class="n" { (r.sent) } span { "review requests sent" } }
            div class="stat" { span class="n" { (r.opened) } span { "opened" } }
            div class="stat" { span class="n" { (replied) "%" } span { "replied" } }
        }
    }
}

async fn report(
    Signed(t): Signed,
    State(s): State<AppState>,
    Params(q): Params<Query>,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let monthly = q.period.as_deref() == Some("month");
    let mut tx = t.begin(&s.db).await?;
    let timezone = settings::get(&mut tx, t.business_id).await?.timezone;
    let zone = tz(&timezone);
    let anchor = q.start.unwrap_or_else(|| today(zone));
    let (first, last) = if monthly {
        month_bounds(anchor)
    } else {
        let first = anchor - Duration::days(anchor.weekday().num_days_from_monday() as i64);
        (first, first + Duration::days(6))
    };
    let (prev, next) = if monthly {
        (first - Duration::days(1), last + Duration::days(1))
    } else {
        (first - Duration::days(7), first + Duration::days(7))
    };
    let span = (
        local_midnight(zone, first),
        local_midnight(zone, last + Duration::days(1)),
    );
    let totals = insights::totals(&mut tx, t.business_id, span.0, span.1).await?;
    let reviews = nmc_store::reviews::counts(&mut tx, t.business_id, span).await?;
    let days = insights::daily(&mut tx, t.business_id, &timezone, first, last).await?;
    let label = |d: &insights::Day| {
        d.day
            .format(if monthly { "%b %-d" } else { "%a %-d" })
            .to_string()
    };
    let series =
        |f: fn(&insights::Day) -> i64| days.iter().map(|d| (label(d), f(d))).collect::<Vec<_>>();
    let rate = if totals.missed > 0 {
        totals.recovered * 100 / totals.missed
    } else {
        0
    };
    let period = if monthly { "month" } else { "week" };
    drop(tx);
    let preview = if monthly {
        None
    } else {
        let data = nmc_store::digest::gather(
            &s.db,
            t.business_id,
            chrono::Utc::now(),
            Some((first, last)),
        )
        .await?;
        let base = &s.config.public_base_url;
        let token = s.links.unsubscribe_token(t.user_id, chrono::Utc::now());
        Some(data.mail(base, &format!("{base}/unsubscribe/{token}")))
    };
    Ok(page(
        "Reports",
        html! {
            (nav("reports", &t))
            h1 { "Reports" }
            nav class="filters" aria-label="Period" {
                a href="/app/reports" aria-current=[(!monthly).then_some("page")] { "Week" }
                a href="/app/reports?period=month" aria-current=[monthly.then_some("page")] { "Month" }
            }
            p class="bar" {
                a href={ "/app/reports?period=" (period) "&start=" (prev) } { "← Earlier" }
                strong { @if monthly { (first.format("%B %Y")) } @else { (first.format("%b %-d")) " – " (last.format("%b %-d, %Y")) } }
                a href={ "/app/reports?period=" (period) "&start=" (next) } { "Later →" }
            }
            section class="stats" aria-label="Totals" {
                div class="stat" { span class="n" { (totals.missed) } span { "missed calls" } }
                div class="stat" { span class="n" { (totals.recovered) } span { "recovered" } }
                div class="stat" { span class="n" { (rate) "%" } span { "recovery rate" } }
                div class="stat" { span class="n" { (totals.booked) } span { "jobs booked" } }
                div class="stat" { span class="n" { (dollars(totals.revenue_cents)) } span { "revenue recovered" } }
            }
            (review_stats(&reviews))
            @if totals.missed == 0 && totals.booked == 0 {
                p class="empty" { "Nothing in this period yet. Reports fill in as missed calls turn into conversations and jobs." }
            }
            div class="charts" {
                (bar_chart("Missed calls per day", &series(|d| d.missed)))
                (bar_chart("Recovered per day", &series(|d| d.recovered)))
                (bar_chart("Jobs booked per day", &series(|d| d.booked)))
                (bar_chart("Revenue recovered per day ($)", &series(|d| d.revenue_cents / 100)))
            }
            @if let Some(mail) = &preview {
                section class="settings-section" aria-labelledby="digest-preview" {
                    h2 id="digest-preview" { "The weekly email" }
                    p class="muted" { "Every Monday at 7:00 the owner gets last week by email, like this one for the week above. "
                        a href="/app/settings/alerts" { "Choose whether you get it" } "." }
                    p { strong { "Subject: " } (mail.subject) }
                    pre class="email-preview" { (mail.text) }
                }
            }
        },
    )
    .into_response())
}
