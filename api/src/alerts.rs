//! Each member's alert channels (`/api/me/alerts`) and the business's Slack channel
//! (`/api/settings/slack`). Emergencies go out on every channel a member has whatever they
//! choose; quiet hours hold back texts (and push), never email.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use nmc_domain::E164;
use nmc_domain::team::{ALERT_KINDS, QuietHours, is_alert_kind};
use nmc_store::alerts::{self, Preferences};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Tenant;
use crate::owner::commit;
use crate::{ApiJson, AppState, error::ApiError};

fn all_kinds() -> Vec<&'static str> {
    ALERT_KINDS.iter().map(|(k, _)| *k).collect()
}

fn view(p: &Preferences) -> Value {
    let quiet = match (p.quiet_start, p.quiet_end) {
        (Some(s), Some(e)) => json!({
            "start": QuietHours::clock(u16::try_from(s).unwrap_or(0)),
            "end": QuietHours::clock(u16::try_from(e).unwrap_or(0)),
        }),
        _ => Value::Null,
    };
    json!({
        "phone": p.phone,
        "phone_verified": p.phone_verified,
        "channels": {"sms": p.sms_kinds, "email": p.email_kinds, "push": p.push_kinds},
        "quiet_hours": quiet,
        "texts_stopped": p.sms_stopped,
        "kinds": ALERT_KINDS.iter().map(|(k, l)| json!({"kind": k, "label": l})).collect::<Vec<_>>(),
    })
}

/// `GET /api/me/alerts`: this member's channels, with the defaults filled in.
pub async fn get_alerts(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let p = alerts::preferences(&mut tx, t.business_id, t.user_id, &all_kinds()).await?;
    let digest = weekly_digest(&t, &mut tx).await?;
    Ok(Json(with_digest(view(&p), digest)))
}

/// Owners get the weekly email (revenue is theirs to see); `None` for a technician.
async fn weekly_digest(t: &Tenant, db: &mut sqlx::PgConnection) -> Result<Option<bool>, ApiError> {
    if !t.owner_role {
        return Ok(None);
    }
    Ok(Some(
        nmc_store::digest::wanted(db, t.business_id, t.user_id).await?,
    ))
}

fn with_digest(mut v: Value, digest: Option<bool>) -> Value {
    v["weekly_digest"] = json!(digest);
    v
}

/// Alert kinds as a list (`["missed_call"]`) or as ticked boxes (`{"missed_call": true}`), which
/// is what the settings page's form sends.
#[derive(Deserialize, Default)]
#[serde(untagged)]
pub enum KindSet {
    #[default]
    None,
    List(Vec<String>),
    Ticked(BTreeMap<String, bool>),
}

impl KindSet {
    fn into_list(self) -> Vec<String> {
        match self {
            KindSet::None => vec![],
            KindSet::List(l) => l,
            KindSet::Ticked(m) => m
                .into_iter()
                .filter(|(_, on)| *on)
                .map(|(k, _)| k)
                .collect(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channels {
    #[serde(default)]
    sms: KindSet,
    #[serde(default)]
    email: KindSet,
    #[serde(default)]
    push: KindSet,
}

/// `HH:MM` (the form's time inputs send `HH:MM:00`); both empty means no quiet hours.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quiet {
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertChoices {
    /// Where texts go; empty or null for no texts.
    phone: Option<String>,
    channels: Channels,
    quiet_hours: Option<Quiet>,
    /// Owners: the Monday email (absent leaves it as it is).
    #[serde(default)]
    weekly_digest: Option<bool>,
}

fn kinds(
    errors: &mut BTreeMap<&'static str, String>,
    field: &'static str,
    set: KindSet,
) -> Vec<String> {
    let list = set.into_list();
    if let Some(bad) = list.iter().find(|k| !is_alert_kind(k)) {
        errors.insert(field, format!("`{bad}` is not an alert kind"));
    }
    let mut list = list;
    list.sort();
    list.dedup();
    list
}

fn quiet(
    errors: &mut BTreeMap<&'static str, String>,
    q: Option<Quiet>,
) -> (Option<i16>, Option<i16>) {
    let Some(q) = q.filter(|q| !(q.start.trim().is_empty() && q.end.trim().is_empty())) else {
        return (None, None);
    };
    let clock = |s: &str| {
        QuietHours::parse_clock(s.strip_suffix(":00").filter(|c| c.len() == 5).unwrap_or(s))
    };
    match (clock(&q.start), clock(&q.end)) {
        (Some(s), Some(e)) if s != e => (i16::try_from(s).ok(), i16::try_from(e).ok()),
        _ => {
            errors.insert("quiet_hours", "start and end as HH:MM, not equal".into());
            (None, None)
        }
    }
}

/// `PUT /api/me/alerts`: replaces this member's choices (only their own, from the token).
pub async fn put_alerts(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(c): ApiJson<AlertChoices>,
) -> Result<Json<Value>, ApiError> {
    let mut errors = BTreeMap::new();
    let phone = match c.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => match E164::parse(p) {
            Ok(p) if s.config.unserved(&p).is_some() => {
                errors.insert("phone", s.config.unserved(&p).unwrap_or_default());
                None
            }
            Ok(p) => Some(p.as_str().to_owned()),
            Err(e) => {
                errors.insert("phone", e.to_string());
                None
            }
        },
    };
    let sms_kinds = kinds(&mut errors, "channels.sms", c.channels.sms);
    let email_kinds = kinds(&mut errors, "channels.email", c.channels.email);
    let push_kinds = kinds(&mut errors, "channels.push", c.channels.push);
    let (quiet_start, quiet_end) = quiet(&mut errors, c.quiet_hours);
    if c.weekly_digest.is_some() && !t.owner_role {
        errors.insert("weekly_digest", "only owners get the weekly email".into());
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let mut tx = t.begin(&s.db).await?;
    if let Some(on) = c.weekly_digest {
        nmc_store::digest::set_wanted(&mut tx, t.business_id, t.user_id, on).await?;
    }
    let was = alerts::preferences(&mut tx, t.business_id, t.user_id, &all_kinds()).await?;
    let p = Preferences {
        phone,
        sms_kinds,
        email_kinds,
        push_kinds,
        quiet_start,
        quiet_end,
        // STOP is the member's word from their phone; only START from it lifts it.
        sms_stopped: was.sms_stopped,
        phone_verified: false,
    };
    // A customer's number is theirs: taking it as a team phone would turn their texts into
    // commands (the webhook routes a team phone's texts away from the conversation).
    if let Some(phone) = p.phone.as_deref()
        && p.phone != was.phone
        && alerts::is_callers_phone(&mut tx, t.business_id, phone).await?
    {
        return Err(crate::error::invalid(
            "phone",
            "that number is one of your customers'",
        ));
    }
    alerts::save_preferences(&mut tx, t.business_id, t.user_id, &p)
        .await
        .map_err(|e| match e {
            nmc_store::StoreError::Conflict { .. } => {
                crate::error::invalid("phone", "another member of the team has this phone")
            }
            e => e.into(),
        })?;
    // Read back: whether the phone is still proved is the store's to say.
    let p = alerts::preferences(&mut tx, t.business_id, t.user_id, &all_kinds()).await?;
    let digest = weekly_digest(&t, &mut tx).await?;
    commit(tx).await?;
    Ok(Json(with_digest(view(&p), digest)))
}

/// `GET /api/settings/slack`: whether a channel is connected and what it hears (never the URL).
pub async fn get_slack(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let (connected, kinds) = alerts::slack(&mut tx, t.business_id).await?;
    Ok(Json(json!({"connected": connected, "kinds": kinds})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackChoice {
    /// A Slack incoming webhook URL; absent or empty keeps the connected one.
    #[serde(default)]
    webhook_url: Option<String>,
    #[serde(default)]
    kinds: KindSet,
}

/// `PUT /api/settings/slack` (owner): connects an incoming webhook (sealed at rest) or changes
/// what it hears. Only URLs under Slack's own base are taken, so alerts never go elsewhere.
pub async fn put_slack(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(c): ApiJson<SlackChoice>,
) -> Result<Json<Value>, ApiError> {
    let mut errors = BTreeMap::new();
    let kinds = kinds(&mut errors, "kinds", c.kinds);
    let base = &s.config.slack_webhook_base;
    let url = c
        .webhook_url
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty());
    if let Some(u) = &url {
        let rest = u.strip_prefix(base.as_str()).unwrap_or_default();
        let ok = u.len() < 300
            && rest.split('/').filter(|p| !p.is_empty()).count() == 3
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '/');
        if !ok {
            errors.insert(
                "webhook_url",
                format!("a Slack incoming webhook URL ({base}T…/B…/…)"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let mut tx = t.begin(&s.db).await?;
    let (connected, _) = alerts::slack(&mut tx, t.business_id).await?;
    if url.is_none() && !connected {
        return Err(crate::error::invalid(
            "webhook_url",
            "paste the webhook URL Slack gave you",
        ));
    }
    let sealed = url.map(|u| s.secrets.encrypt(&u));
    alerts::save_slack(&mut tx, t.business_id, sealed.as_deref(), false, &kinds).await?;
    let (connected, kinds) = alerts::slack(&mut tx, t.business_id).await?;
    commit(tx).await?;
    Ok(Json(json!({"connected": connected, "kinds": kinds})))
}

/// `DELETE /api/settings/slack` (owner): disconnects; pending Slack alerts are dropped.
pub async fn delete_slack(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<axum::http::StatusCode, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    alerts::save_slack(&mut tx, t.business_id, None, true, &[]).await?;
    commit(tx).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
