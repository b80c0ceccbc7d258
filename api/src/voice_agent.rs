//! The owner connects the business's Vapi account and shapes its AI voice agent (seed 004,
//! VTCR 3.1–3.3): the key is checked against Vapi, then an assistant (greeting, voice, what to
//! collect, our tools and server URL) and a free Vapi SIP number are created there and kept in
//! line with every change. Vapi is called outside any database transaction.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use nmc_domain::voice_agent::{
    Collect, DEFAULT_VOICE, GREETING_MAX, VOICES, agent_instructions, default_agent_greeting,
};
use nmc_store::voice_agent::{self as store, Connection};
use nmc_vapi::{AssistantSpec, VapiError};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Tenant;
use crate::error::invalid;
use crate::owner::commit;
use crate::{ApiJson, AppState, error::ApiError};

fn view(c: Option<&Connection>) -> Value {
    let voices: Vec<Value> = VOICES.iter().map(|v| json!({"name": v})).collect();
    let collect_all: Vec<Value> = Collect::ALL
        .iter()
        .map(|c| json!({"field": c.as_str(), "label": c.label()}))
        .collect();
    match c {
        None => json!({"connected": false, "voices": voices, "fields": collect_all}),
        Some(c) => json!({
            "connected": true,
            "in_sync": c.sip_uri.is_some() && c.health == "ok",
            "voice": c.voice,
            "greeting": c.greeting,
            "collect": c.checklist,
            "health": c.health,
            "last_error": c.last_error,
            "synced_at": c.synced_at,
            "voices": voices,
            "fields": collect_all,
        }),
    }
}

/// `GET /api/voice-agent`
pub async fn get_agent(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let c = store::connection(&mut *tx, t.business_id).await?;
    commit(tx).await?;
    Ok(Json(view(c.as_ref())))
}

#[derive(Deserialize)]
pub struct AgentChange {
    /// A Vapi private API key: connects the account (or moves to another one).
    api_key: Option<String>,
    voice: Option<String>,
    /// Empty: back to the default greeting.
    greeting: Option<String>,
    /// What the agent collects, in order (`name`, `address`, `need`, `urgency`, `preferred_time`).
    collect: Option<Vec<String>>,
}

/// The change, checked: the settings as they will be.
struct Settings {
    voice: String,
    greeting: Option<String>,
    collect: Vec<Collect>,
}

fn checked(c: &AgentChange, was: Option<&Connection>) -> Result<Settings, ApiError> {
    let voice = match &c.voice {
        Some(v) if VOICES.contains(&v.as_str()) => v.clone(),
        Some(_) => return Err(invalid("voice", "not one of Vapi's voices")),
        None => was.map_or_else(|| DEFAULT_VOICE.to_owned(), |w| w.voice.clone()),
    };
    let greeting = match &c.greeting {
        Some(g) if g.chars().count() > GREETING_MAX => {
            return Err(invalid("greeting", "at most 300 characters"));
        }
        Some(g) => Some(g.trim().to_owned()).filter(|g| !g.is_empty()),
        None => was.and_then(|w| w.greeting.clone()),
    };
    let names = match &c.collect {
        Some(list) => list.clone(),
        None => was.map_or_else(
            || Collect::ALL.iter().map(|c| c.as_str().to_owned()).collect(),
            |w| w.checklist.clone(),
        ),
    };
    let mut collect = Vec::new();
    for n in &names {
        let item = Collect::parse(n)
            .ok_or_else(|| invalid("collect", "name, address, need, urgency or preferred_time"))?;
        if !collect.contains(&item) {
            collect.push(item);
        }
    }
    if !collect.contains(&Collect::Need) {
        return Err(invalid(
            "collect",
            "the agent must at least ask what they need",
        ));
    }
    Ok(Settings {
        voice,
        greeting,
        collect,
    })
}

fn vapi_refused(e: VapiError) -> ApiError {
    match e {
        VapiError::BadKey => invalid(
            "api_key",
            "Vapi refused this key: use the private API key from Vapi's dashboard",
        ),
        VapiError::Refused { message, .. } => {
            ApiError::BadRequest(format!("Vapi refused the change: {message}"))
        }
        VapiError::Unavailable(why) => {
            tracing::warn!(error = %why, "Vapi unavailable");
            ApiError::Unavailable("Vapi")
        }
    }
}

/// `PUT /api/voice-agent`: connects the account (with `api_key`) or changes the agent; Vapi
/// holds the new assistant before anything is saved here.
pub async fn put_agent(
    t: Tenant,
    State(s): State<AppState>,
    ApiJson(c): ApiJson<AgentChange>,
) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let was = store::connection(&mut *tx, t.business_id).await?;
    commit(tx).await?;
    let settings = checked(&c, was.as_ref())?;
    let old_key = match &was {
        Some(w) => Some(s.secrets.decrypt(&w.api_key_sealed)?),
        None => None,
    };
    let key = match (&c.api_key, &old_key) {
        (Some(k), _) if k.trim().is_empty() || k.len() > 200 => {
            return Err(invalid("api_key", "Vapi's private API key"));
        }
        (Some(k), _) => k.trim().to_owned(),
        (None, Some(k)) => k.clone(),
        (None, None) => {
            return Err(invalid(
                "api_key",
                "connect a Vapi account first: its private API key",
            ));
        }
    };
    if c.api_key.is_some() {
        s.vapi.check_key(&key).await.map_err(vapi_refused)?;
    }
    // Another key: start afresh there; what we made with the old one goes once this is saved.
    let same_account = old_key.as_deref() == Some(key.as_str());
    let (mut conn, replaced) = match (was, same_account) {
        (Some(w), true) => (w, None),
        (was, _) => (new_connection(&s, t.business_id, &key), was),
    };
    let spec = assistant_spec(&s, t.business_id, &conn, &settings).await?;
    sync(&s, &key, &mut conn, &spec)
        .await
        .map_err(vapi_refused)?;
    conn.voice = settings.voice;
    conn.greeting = settings.greeting;
    conn.checklist = settings
        .collect
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    let mut tx = t.begin(&s.db).await?;
    store::save(&mut tx, &conn).await?;
    nmc_store::audit_member(
        &mut tx,
        t.business_id,
        ("business", t.business_id),
        "voice_agent_changed",
        json!({"by": t.user_id, "voice": conn.voice, "connected": c.api_key.is_some()}),
    )
    .await?;
    commit(tx).await?;
    if let (Some(old), Some(old_key)) = (&replaced, &old_key) {
        take_down(&s, old_key, old).await;
    }
    Ok(Json(view(Some(&conn))))
}

fn new_connection(s: &AppState, business_id: Uuid, key: &str) -> Connection {
    let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    Connection {
        business_id,
        api_key_sealed: s.secrets.encrypt(key),
        secret_sealed: s.secrets.encrypt(&secret),
        assistant_id: None,
        phone_number_id: None,
        sip_uri: None,
        sip_username: None,
        sip_password_sealed: None,
        voice: DEFAULT_VOICE.to_owned(),
        greeting: None,
        checklist: Vec::new(),
        health: "ok".into(),
        last_error: None,
        synced_at: None,
    }
}

async fn assistant_spec(
    s: &AppState,
    business_id: Uuid,
    conn: &Connection,
    settings: &Settings,
) -> Result<AssistantSpec, ApiError> {
    let b = nmc_store::business::for_webhook(&s.db, business_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let profile = b.profile();
    Ok(AssistantSpec {
        name: format!("{} (NeverMissCall)", profile.name),
        greeting: settings
            .greeting
            .clone()
            .unwrap_or_else(|| default_agent_greeting(&profile.name)),
        instructions: agent_instructions(&profile, &settings.collect),
        voice: settings.voice.clone(),
        server_url: format!("{}/webhook/vapi?b={business_id}", s.config.public_base_url),
        secret: s.secrets.decrypt(&conn.secret_sealed)?,
        collect: settings
            .collect
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
    })
}

/// Vapi holds `spec`: the assistant created or updated, and its SIP number made once.
async fn sync(
    s: &AppState,
    key: &str,
    conn: &mut Connection,
    spec: &AssistantSpec,
) -> Result<(), VapiError> {
    let (assistant, made) = match &conn.assistant_id {
        Some(id) => {
            s.vapi.update_assistant(key, id, spec).await?;
            (id.clone(), false)
        }
        None => (s.vapi.create_assistant(key, spec).await?, true),
    };
    conn.assistant_id = Some(assistant.clone());
    if conn.phone_number_id.is_none() {
        let user = format!("nmc-{}", &Uuid::new_v4().simple().to_string()[..16]);
        let uri = format!("sip:{user}@{}", s.vapi.sip_host());
        // Digest credentials, so only our <Dial> reaches the agent (the URI alone would let
        // anyone who learns it book jobs as any caller).
        let sip_user = format!("nmc{}", &Uuid::new_v4().simple().to_string()[..24]);
        let sip_password = Uuid::new_v4().simple().to_string();
        let created = s
            .vapi
            .create_sip_number(
                key,
                &uri,
                &assistant,
                &spec.name,
                (&sip_user, &sip_password),
            )
            .await;
        let id = match created {
            Ok(id) => id,
            Err(e) => {
                // Not kept here, so not left at Vapi either: a retry makes both again.
                if made && let Err(gone) = s.vapi.delete(key, "assistant", &assistant).await {
                    tracing::warn!(error = %gone, "assistant left at Vapi after a failed number");
                }
                conn.assistant_id = None;
                return Err(e);
            }
        };
        conn.phone_number_id = Some(id);
        conn.sip_uri = Some(uri);
        conn.sip_username = Some(sip_user);
        conn.sip_password_sealed = Some(s.secrets.encrypt(&sip_password));
    }
    conn.health = "ok".into();
    conn.last_error = None;
    conn.synced_at = Some(chrono::Utc::now());
    Ok(())
}

/// The business's name or owner changed: the assistant's greeting and instructions follow.
/// Best effort: a failure shows in settings ("not in sync", with Vapi's words) until the next
/// save.
pub async fn resync(s: &AppState, business_id: Uuid) {
    let Ok(Some(mut conn)) = store::connection(&s.db, business_id).await else {
        return;
    };
    let settings = Settings {
        voice: conn.voice.clone(),
        greeting: conn.greeting.clone(),
        collect: conn
            .checklist
            .iter()
            .filter_map(|c| Collect::parse(c))
            .collect(),
    };
    let synced: Result<(), ApiError> = async {
        let key = s.secrets.decrypt(&conn.api_key_sealed)?;
        let spec = assistant_spec(s, business_id, &conn, &settings).await?;
        sync(s, &key, &mut conn, &spec).await.map_err(vapi_refused)
    }
    .await;
    if let Err(e) = synced {
        tracing::warn!(error = %e, "voice agent not re-synced with Vapi");
        conn.health = "error".into();
        conn.last_error = Some(e.to_string());
    }
    // Only over the same connection: an owner who disconnected or changed the key meanwhile
    // keeps what they did.
    if let Err(e) = store::save_sync(&s.db, &conn).await {
        tracing::warn!(error = %e, "voice agent's sync state not saved");
    }
}

/// `DELETE /api/voice-agent`: the number and the assistant are deleted at Vapi (best effort:
/// the owner may have revoked the key) and the connection here; AI-voice cells fall back to
/// voicemail from the next call.
pub async fn delete_agent(t: Tenant, State(s): State<AppState>) -> Result<StatusCode, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let Some(c) = store::connection(&mut *tx, t.business_id).await? else {
        return Err(ApiError::NotFound);
    };
    commit(tx).await?;
    let key = s.secrets.decrypt(&c.api_key_sealed)?;
    take_down(&s, &key, &c).await;
    let mut tx = t.begin(&s.db).await?;
    store::delete(&mut tx, t.business_id).await?;
    nmc_store::audit_member(
        &mut tx,
        t.business_id,
        ("business", t.business_id),
        "voice_agent_disconnected",
        json!({"by": t.user_id}),
    )
    .await?;
    commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the number and the assistant we made at Vapi (best effort: the owner may have
/// revoked the key; one already gone counts as deleted).
pub async fn take_down(s: &AppState, key: &str, c: &Connection) {
    for (kind, id) in [
        ("phone-number", &c.phone_number_id),
        ("assistant", &c.assistant_id),
    ] {
        if let Some(id) = id
            && let Err(e) = s.vapi.delete(key, kind, id).await
        {
            tracing::warn!(error = %e, kind, "could not delete at Vapi");
        }
    }
}

/// `GET /api/voice-agent/voices`: each voice with its sample from Vapi's voice library when the
/// account answers (not in Vapi's published spec, so the documented list without samples when
/// it does not).
pub async fn get_voices(t: Tenant, State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let c = store::connection(&mut *tx, t.business_id).await?;
    commit(tx).await?;
    let mut samples = Vec::new();
    if let Some(c) = c {
        let key = s.secrets.decrypt(&c.api_key_sealed)?;
        match s.vapi.voice_samples(&key).await {
            Ok(list) => samples = list,
            Err(e) => tracing::info!(error = %e, "Vapi's voice library did not answer; no samples"),
        }
    }
    let voices: Vec<Value> = VOICES
        .iter()
        .map(|v| {
            let preview = samples
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(v))
                .and_then(|s| s.preview_url.clone())
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
            json!({"name": v, "preview_url": preview})
        })
        .collect();
    Ok(Json(json!({"voices": voices})))
}
