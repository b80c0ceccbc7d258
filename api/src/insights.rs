//! Settings, the dashboard and the reports: what the owner configures and the numbers that show
//! the money recovered. Revenue is the owner's: technicians get the dashboard without it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use nmc_assistant::guardrails::sms_segments;
use nmc_domain::{E164, Timezone};
use nmc_store::{insights, settings};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Tenant;
use crate::owner::commit;
use crate::{
    ApiJson, AppState,
    error::{ApiError, Params},
};

fn settings_json(s: &settings::Settings) -> Value {
    let mut v = json!(s);
    v["greeting_segments"] = json!(s.greeting.as_deref().map(sms_segments));
    v["after_hours_greeting_segments"] = json!(s.after_hours_greeting.as_deref().map(sms_segments));
    v
}

pub async fn get_settings(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(settings_json(
        &settings::get(&mut tx, t.business_id).await?,
    )))
}

pub async fn put_settings(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(new): ApiJson<settings::Settings>,
) -> Result<Json<Value>, ApiError> {
    let mut bad = BTreeMap::new();
    if new.name.trim().is_empty() || new.name.chars().count() > 100 {
        bad.insert("name", "1 to 100 characters".to_owned());
    }
    if new.owner_name.trim().is_empty() {
        bad.insert("owner_name", "must not be empty".to_owned());
    }
    match E164::parse(&new.owner_phone) {
        Err(e) => {
            bad.insert("owner_phone", e.to_string());
        }
        Ok(p) => {
            if let Some(why) = s.config.unserved(&p) {
                bad.insert("owner_phone", why);
            }
        }
    }
    if Timezone::parse(&new.timezone).is_err() {
        bad.insert("timezone", "not an IANA timezone".to_owned());
    }
    if !["dial_through", "forwarded"].contains(&new.call_mode.as_str()) {
        bad.insert("call_mode", "dial_through or forwarded".to_owned());
    }
    for (field, g) in [
        ("greeting", &new.greeting),
        ("after_hours_greeting", &new.after_hours_greeting),
    ] {
        if let Some(g) = g
            && (g.trim().is_empty() || sms_segments(g) > 3)
        {
            bad.insert(
                field,
                format!("1 to 3 SMS segments (this is {})", sms_segments(g)),
            );
        }
    }
    if !new.business_hours.invalid_days().is_empty() {
        bad.insert(
            "business_hours",
            format!(
                "close must be after open on {}",
                new.business_hours.invalid_days().join(", ")
            ),
        );
    }
    if !(0..=600).contains(&new.owner_window_secs) {
        bad.insert("owner_window_secs", "0 to 600".to_owned());
    }
    if new.follow_up_secs.len() > 5
        || new.follow_up_secs.iter().any(|f| *f <= 0)
        || new.follow_up_secs.windows(2).any(|w| w[1] <= w[0])
    {
        bad.insert(
            "follow_up_secs",
            "up to 5 increasing delays in seconds".to_owned(),
        );
    }
    if new.quiet_start == new.quiet_end {
        // An empty window would silently allow automated texts around the clock.
        bad.insert(
            "quiet_end",
            "must differ from quiet_start (quiet hours cannot be switched off)".to_owned(),
        );
    }
    if new
        .trade
        .as_deref()
        .is_some_and(|tr| nmc_assistant::catalog::starter(tr).is_empty())
    {
        bad.insert(
            "trade",
            "one of plumbing, hvac, electrical, handyman, cleaning, auto".to_owned(),
        );
    }
    if !bad.is_empty() {
        return Err(ApiError::Invalid(bad));
    }
    let mut tx = t.begin(&s.db).await?;
    let was = settings::get(&mut tx, t.business_id).await?;
    settings::put(&mut tx, t.business_id, &new).await?;
    let saved = settings::get(&mut tx, t.business_id).await?;
    commit(tx).await?;
    // The voice agent speaks the business's and owner's names: its assistant follows them.
    if (&was.name, &was.owner_name) != (&saved.name, &saved.owner_name) {
        crate::voice_agent::resync(&s, t.business_id).await;
    }
    Ok(Json(settings_json(&saved)))
}

fn tz_of(name: &str) -> Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

fn local_midnight(tz: Tz, day: NaiveDate) -> chrono::DateTime<Utc> {
    tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

fn totals_json(t: &insights::Totals, with_revenue: bool) -> Value {
    let mut v = json!(t);
    v["recovery_rate"] = json!(if t.missed > 0 {
        t.recovered as f64 / t.missed as f64
    } else {
        0.0
    });
    if !with_revenue {
        v.as_object_mut().map(|o| o.remove("revenue_cents"));
    }
    v
}

/// Today and this month, and the last 14 days for the chart.
pub async fn dashboard_stats(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let timezone = settings::get(&mut tx, t.business_id).await?.timezone;
    let tz = tz_of(&timezone);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let month_start = today.with_day(1).unwrap_or(today);
    let tomorrow = local_midnight(tz, today + Duration::days(1));
    let today_totals =
        insights::totals(&mut tx, t.business_id, local_midnight(tz, today), tomorrow).await?;
    let month_totals = insights::totals(
        &mut tx,
        t.business_id,
        local_midnight(tz, month_start),
        tomorrow,
    )
    .await?;
    let mut days = insights::daily(
        &mut tx,
        t.business_id,
        &timezone,
        today - Duration::days(13),
        today,
    )
    .await?;
    let with_revenue = t.owner_role;
    let days: Vec<Value> = days
        .drain(..)
        .map(|d| {
            let mut v = json!(d);
            if !with_revenue {
                v.as_object_mut().map(|o| o.remove("revenue_cents"));
            }
            v
        })
        .collect();
    Ok(Json(
        json!({"timezone": timezone, "today": totals_json(&today_totals, with_revenue), "month": totals_json(&month_totals, with_revenue), "last_14_days": days}),
    ))
}

pub async fn dashboard_recent(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    Ok(Json(
        json!({"items": insights::recent(&mut tx, t.business_id, 30).await?}),
    ))
}

#[derive(Deserialize)]
pub struct ReportQuery {
    /// weekly: the Monday the week starts on; monthly: any day of the month (default: current).
    start: Option<NaiveDate>,
}

async fn report(
    t: Tenant,
    s: AppState,
    q: ReportQuery,
    monthly: bool,
) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let timezone = settings::get(&mut tx, t.business_id).await?.timezone;
    let tz = tz_of(&timezone);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let anchor = q.start.unwrap_or(today);
    let (first, last) = if monthly {
        let first = anchor.with_day(1).unwrap_or(anchor);
        let next = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        };
        (first, next.unwrap_or(first) - Duration::days(1))
    } else {
        let first = anchor - Duration::days(anchor.weekday().num_days_from_monday() as i64);
        (first, first + Duration::days(6))
    };
    let span = (
        local_midnight(tz, first),
        local_midnight(tz, last + Duration::days(1)),
    );
    let totals = insights::totals(&mut tx, t.business_id, span.0, span.1).await?;
    let days = insights::daily(&mut tx, t.business_id, &timezone, first, last).await?;
    let reviews = nmc_store::reviews::counts(&mut tx, t.business_id, span).await?;
    Ok(Json(
        json!({"period": if monthly { "monthly" } else { "weekly" }, "from": first, "to": last, "timezone": timezone, "totals": totals_json(&totals, true), "days": days, "reviews": reviews}),
    ))
}

pub async fn weekly(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<ReportQuery>,
) -> Result<Json<Value>, ApiError> {
    report(t, s, q, false).await
}

pub async fn monthly(
    t: Tenant,
    State(s): State<AppState>,
    Params(q): Params<ReportQuery>,
) -> Result<Json<Value>, ApiError> {
    report(t, s, q, true).await
}
