//! The owner's voice settings: call screening, the voicemail greeting (spoken, or an uploaded
//! recording) with a preview, the block list, the routing grid, and playing a voicemail.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use nmc_domain::E164;
use nmc_domain::audio::{VOICES, check_greeting, voice_language};
use nmc_domain::routing::{Grid, Holiday, Method};
use nmc_store::voice::{self, VoiceSettings};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Tenant;
use crate::error::invalid;
use crate::owner::commit;
use crate::{ApiJson, AppState, error::ApiError};

fn settings_view(v: &VoiceSettings) -> Value {
    json!({
        "call_screening": v.call_screening,
        "call_mode": v.call_mode,
        "voicemail": {
            "greeting": v.voicemail_greeting,
            "default_greeting": Value::Null,
            "voice": v.voicemail_voice,
            "language": v.voicemail_language,
            "max_secs": v.voicemail_max_secs,
            "audio": v.voicemail_audio,
        },
        "voices": VOICES.iter().map(|(v, l, n)| json!({"voice": v, "language": l, "label": n})).collect::<Vec<_>>(),
    })
}

/// `GET /api/voice`
pub async fn get_voice(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let v = voice::settings(&mut tx, t.business_id).await?;
    Ok(Json(settings_view(&v)))
}

#[derive(Deserialize)]
pub struct VoiceChange {
    call_screening: Option<bool>,
    voicemail: Option<VoicemailChange>,
}

#[derive(Deserialize)]
pub struct VoicemailChange {
    /// Empty: back to the default greeting.
    greeting: Option<String>,
    voice: Option<String>,
    language: Option<String>,
    max_secs: Option<i32>,
}

/// `PUT /api/voice`: changes what is given, after checking all of it.
pub async fn put_voice(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(c): ApiJson<VoiceChange>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let mut v = voice::settings(&mut tx, t.business_id).await?;
    if let Some(on) = c.call_screening {
        v.call_screening = on;
    }
    if let Some(m) = c.voicemail {
        if let Some(g) = m.greeting {
            let g = g.trim().to_owned();
            if g.chars().count() > 500 {
                return Err(invalid("voicemail.greeting", "at most 500 characters"));
            }
            v.voicemail_greeting = (!g.is_empty()).then_some(g);
        }
        if let Some(voice) = m.voice {
            let lang = voice_language(&voice)
                .ok_or_else(|| invalid("voicemail.voice", "not one of the voices offered"))?;
            v.voicemail_voice = voice;
            v.voicemail_language = lang.to_owned();
        }
        if let Some(lang) = m.language
            && lang != v.voicemail_language
        {
            return Err(invalid(
                "voicemail.language",
                "the chosen voice speaks another language: pick a voice for it",
            ));
        }
        if let Some(secs) = m.max_secs {
            if !(10..=300).contains(&secs) {
                return Err(invalid("voicemail.max_secs", "between 10 and 300 seconds"));
            }
            v.voicemail_max_secs = secs;
        }
    }
    voice::save_settings(&mut tx, t.business_id, &v).await?;
    nmc_store::audit_member(
        &mut tx,
        t.business_id,
        ("business", t.business_id),
        "voice_settings_changed",
        json!({"by": t.user_id, "call_screening": v.call_screening}),
    )
    .await?;
    commit(tx).await?;
    Ok(Json(settings_view(&v)))
}

/// `PUT /api/voice/greeting-audio`: the body is the recording (WAV or MP3, up to 2 MB and 60 s).
pub async fn put_greeting_audio(
    t: Tenant,
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (kind, secs) = check_greeting(&body).map_err(|e| invalid("audio", &e.to_string()))?;
    let key = format!(
        "greetings/{}/{}.{}",
        t.business_id,
        Uuid::new_v4(),
        match kind {
            nmc_domain::audio::AudioKind::Wav => "wav",
            nmc_domain::audio::AudioKind::Mp3 => "mp3",
        }
    );
    s.storage
        .put(&key, body.to_vec())
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let mut tx = t.begin(&s.db).await?;
    let old = voice::set_greeting_audio(&mut tx, t.business_id, Some((&key, kind.content_type())))
        .await?;
    commit(tx).await?;
    if let Some(old) = old {
        s.storage.forget(&old, "a replaced greeting").await;
    }
    Ok(Json(
        json!({"audio": true, "seconds": (secs * 10.0).round() / 10.0, "content_type": kind.content_type()}),
    ))
}

/// `DELETE /api/voice/greeting-audio`: back to the spoken greeting.
pub async fn delete_greeting_audio(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<StatusCode, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let old = voice::set_greeting_audio(&mut tx, t.business_id, None).await?;
    commit(tx).await?;
    if let Some(old) = old {
        s.storage.forget(&old, "a replaced greeting").await;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/voice/greeting-audio`: the uploaded greeting, for the settings page's player.
pub async fn get_greeting_audio(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<Response, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let found = voice::greeting_audio(&mut *tx, t.business_id).await?;
    drop(tx);
    let (key, content_type) = found.ok_or(ApiError::NotFound)?;
    audio(&s, &key, &content_type).await
}

/// `GET /api/recordings/{recording_id}/audio`: a voicemail, for a member of its business.
pub async fn recording_audio(
    t: Tenant,
    State(s): State<AppState>,
    Path(recording_id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let found = nmc_store::voicemail::media_for_owner(&mut tx, t.business_id, recording_id).await?;
    drop(tx);
    let (key, content_type) = found.ok_or(ApiError::NotFound)?;
    audio(&s, &key, &content_type).await
}

async fn audio(s: &AppState, key: &str, content_type: &str) -> Result<Response, ApiError> {
    let bytes = s.storage.get(key).await.map_err(|e| match e {
        nmc_storage::StorageError::NotFound => ApiError::NotFound,
        other => ApiError::Internal(other.into()),
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CACHE_CONTROL, "private, max-age=300".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /api/voice/preview-call`: the platform rings the member's own proved phone and plays
/// the greeting exactly as callers will hear it (Twilio's voice, or the uploaded recording).
pub async fn preview_call(
    t: Tenant,
    State(s): State<AppState>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some((from, (sid, token))) = s.config.platform_caller() else {
        return Err(ApiError::Unavailable(
            "preview calls (NMC_PLATFORM_NUMBER is not set)",
        ));
    };
    let mut tx = t.begin(&s.db).await?;
    let kinds: Vec<&str> = vec![];
    let prefs = nmc_store::alerts::preferences(&mut tx, t.business_id, t.user_id, &kinds).await?;
    let v = voice::settings(&mut tx, t.business_id).await?;
    let name = nmc_store::booking::business_basics(&mut tx, t.business_id)
        .await?
        .0;
    drop(tx);
    let phone = prefs
        .phone
        .filter(|_| prefs.phone_verified)
        .ok_or_else(|| {
            invalid(
                "phone",
                "prove your phone under Alerts first: the preview rings it",
            )
        })?;
    let greeting = crate::webhook::voicemail::Greeting {
        business_id: t.business_id,
        business: &name,
        uploaded: v.voicemail_audio,
        text: v.voicemail_greeting.as_deref(),
        voice: &v.voicemail_voice,
        language: &v.voicemail_language,
    }
    .twiml(&s);
    let call = nmc_twilio::client::NewCall {
        account_sid: &sid,
        auth_token: &token,
        from: &from,
        to: &phone,
        twiml: &greeting.hangup().render(),
        ring_secs: 30,
        status_callback: "",
    };
    nmc_twilio::TwilioClient::new(s.config.twilio_api_base.clone())
        .create_call(&call)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "the preview call could not be placed");
            ApiError::Unavailable("preview calls (the carrier refused the call)")
        })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({"calling": E164::parse(&phone).map(|p| p.masked().clone()).unwrap_or_default()}),
        ),
    ))
}

/// `GET /api/blocked-callers`
pub async fn list_blocked(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let list = voice::blocked(&mut tx, t.business_id).await?;
    Ok(Json(json!({"items": list})))
}

#[derive(Deserialize)]
pub struct BlockRequest {
    phone: String,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/blocked-callers`: their calls are dropped and texts ignored from now on.
pub async fn block(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(b): ApiJson<BlockRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let phone = E164::parse(&b.phone).map_err(|e| invalid("phone", &e.to_string()))?;
    let note = b
        .note
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(invalid("note", "at most 200 characters"));
    }
    let mut tx = t.begin(&s.db).await?;
    let new = voice::block(&mut tx, t.business_id, &phone, note.as_deref(), t.user_id).await?;
    nmc_store::audit_member(
        &mut tx,
        t.business_id,
        ("business", t.business_id),
        "caller_blocked",
        json!({"by": t.user_id, "phone": phone.masked().clone()}),
    )
    .await?;
    commit(tx).await?;
    s.temporal.close_caller(t.business_id, &phone).await;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"phone": phone.as_str(), "blocked": true})),
    ))
}

/// `DELETE /api/blocked-callers/{phone}`
pub async fn unblock(
    t: Tenant,
    State(s): State<AppState>,
    Path(phone): Path<String>,
) -> Result<StatusCode, ApiError> {
    let phone = E164::parse(&phone).map_err(|e| invalid("phone", &e.to_string()))?;
    let mut tx = t.begin(&s.db).await?;
    if !voice::unblock(&mut tx, t.business_id, &phone).await? {
        return Err(ApiError::NotFound);
    }
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn routing_view(grid: &Grid, holidays: &[Holiday], timezone: &str) -> Value {
    json!({
        "timezone": timezone,
        "cells_per_day": 48,
        "grid": grid.cells().iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        "holidays": holidays,
        "methods": Method::ALL.iter().map(|m| json!({"method": m.as_str(), "label": m.label()})).collect::<Vec<_>>(),
    })
}

/// `GET /api/routing`: the week (336 half-hour cells from Monday 00:00, local time) and holidays.
pub async fn get_routing(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let (_, _, timezone) = nmc_store::booking::business_basics(&mut tx, t.business_id).await?;
    let today = local_today(&timezone);
    let (grid, holidays) = voice::routing_in(&mut tx, t.business_id, today).await?;
    let grid = grid.unwrap_or_else(|| Grid::uniform(Method::Text));
    Ok(Json(routing_view(&grid, &holidays, &timezone)))
}

fn local_today(timezone: &str) -> chrono::NaiveDate {
    let tz = nmc_domain::hours::parse_timezone(timezone).unwrap_or(chrono_tz::UTC);
    Utc::now().with_timezone(&tz).date_naive()
}

#[derive(Deserialize)]
pub struct RoutingChange {
    /// All 336 cells, or a preset built from the business hours; neither keeps the week as it is.
    grid: Option<Vec<String>>,
    preset: Option<Preset>,
    /// Time ranges set on top (e.g. Friday 22:00–06:00 to voicemail); `range` is one of them
    /// (what the settings page sends).
    #[serde(default)]
    ranges: Vec<Range>,
    range: Option<Range>,
    /// Replaces the holidays from today on; absent keeps them.
    holidays: Option<Vec<Holiday>>,
}

#[derive(Deserialize)]
pub struct Range {
    days: Days,
    #[serde(with = "nmc_domain::hours::hhmm")]
    from: chrono::NaiveTime,
    #[serde(with = "nmc_domain::hours::hhmm")]
    to: chrono::NaiveTime,
    method: Method,
}

/// Weekdays as numbers (0 = Monday … 6 = Sunday), or a name: `weekdays`, `weekends`,
/// `every_day`, `monday` … `sunday`.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Days {
    List(Vec<u8>),
    Named(String),
}

impl Days {
    fn numbers(&self) -> Option<Vec<u8>> {
        let list = match self {
            Days::List(l) => l.clone(),
            Days::Named(n) => match n.as_str() {
                "weekdays" => vec![0, 1, 2, 3, 4],
                "weekends" => vec![5, 6],
                "every_day" => (0..7).collect(),
                day => vec![day.parse::<chrono::Weekday>().ok()?.num_days_from_monday() as u8],
            },
        };
        (!list.is_empty() && list.iter().all(|d| *d < 7)).then_some(list)
    }
}

#[derive(Deserialize)]
pub struct Preset {
    open: Method,
    closed: Method,
}

/// `PUT /api/routing`: saved only when every half hour has a method.
pub async fn put_routing(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(c): ApiJson<RoutingChange>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let settings = nmc_store::settings::get(&mut tx, t.business_id).await?;
    let (hours, timezone) = (settings.business_hours.0, settings.timezone);
    let today = local_today(&timezone);
    let (current, kept) = voice::routing_in(&mut tx, t.business_id, today).await?;
    let mut grid = match (c.grid, c.preset) {
        (Some(cells), _) => {
            Grid::from_names(&cells).map_err(|e| invalid("grid", &e.to_string()))?
        }
        (None, Some(p)) => Grid::preset(&hours, p.open, p.closed),
        (None, None) => current.unwrap_or_else(|| Grid::uniform(Method::Text)),
    };
    for r in c.ranges.iter().chain(&c.range) {
        let days = r.days.numbers().ok_or_else(|| {
            invalid(
                "range.days",
                "0 (Monday) to 6 (Sunday), weekdays, weekends or every_day",
            )
        })?;
        grid.set_range(&days, r.from, r.to, r.method);
    }
    // Days gone by are history: a full list replaces only today and what is ahead.
    let holidays: Vec<Holiday> = c
        .holidays
        .unwrap_or(kept)
        .into_iter()
        .filter(|h| h.day >= today)
        .collect();
    let uses_agent = grid.uses(Method::needs_voice_agent)
        || holidays.iter().any(|h| h.method.needs_voice_agent());
    if uses_agent && !agent_connected(&mut tx, t.business_id).await? {
        return Err(invalid(
            "grid",
            "AI voice needs a voice agent connected first (Settings → Voice agent)",
        ));
    }
    if holidays.len() > 100
        || holidays
            .iter()
            .any(|h| h.label.as_ref().is_some_and(|l| l.chars().count() > 80))
    {
        return Err(invalid(
            "holidays",
            "at most 100 days, labels up to 80 characters",
        ));
    }
    voice::save_routing(&mut tx, t.business_id, &grid, &holidays, today).await?;
    nmc_store::audit_member(
        &mut tx,
        t.business_id,
        ("business", t.business_id),
        "routing_changed",
        json!({"by": t.user_id}),
    )
    .await?;
    commit(tx).await?;
    Ok(Json(routing_view(&grid, &holidays, &timezone)))
}

/// `POST /api/routing/holidays`: one day that follows one method (a holiday, a day off).
pub async fn put_holiday(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(h): ApiJson<Holiday>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if h.label.as_ref().is_some_and(|l| l.chars().count() > 80) {
        return Err(invalid("label", "at most 80 characters"));
    }
    let mut tx = t.begin(&s.db).await?;
    if h.method.needs_voice_agent() && !agent_connected(&mut tx, t.business_id).await? {
        return Err(invalid(
            "method",
            "AI voice needs a voice agent connected first",
        ));
    }
    let (_, _, timezone) = nmc_store::booking::business_basics(&mut tx, t.business_id).await?;
    if h.day < local_today(&timezone) {
        return Err(invalid("day", "that day has passed"));
    }
    voice::put_holiday(&mut tx, t.business_id, &h).await?;
    commit(tx).await?;
    Ok((StatusCode::CREATED, Json(json!(h))))
}

/// `DELETE /api/routing/holidays/{day}`
pub async fn delete_holiday(
    t: Tenant,
    State(s): State<AppState>,
    Path(day): Path<chrono::NaiveDate>,
) -> Result<StatusCode, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    if !voice::remove_holiday(&mut tx, t.business_id, day).await? {
        return Err(ApiError::NotFound);
    }
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// AI-voice cells need the business's voice agent connected (and in sync with Vapi).
async fn agent_connected(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    business_id: Uuid,
) -> Result<bool, ApiError> {
    Ok(nmc_store::voice_agent::connection(&mut **tx, business_id)
        .await?
        .is_some_and(|c| c.sip_uri.is_some()))
}
