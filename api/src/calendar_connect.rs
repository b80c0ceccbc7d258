//! Connecting Google Calendar and Jobber from the app (OAuth 2.0 code flow with `state` and
//! PKCE; notes in docs/research/calendar-oauth.md):
//! - `POST /app/calendar/{provider}/connect` (owner's page form): records the flow's state
//!   (hashed) with the sealed PKCE verifier, sets a ten-minute `SameSite=Lax` binder cookie, and
//!   sends the browser to the provider's consent page.
//! - `GET /oauth/{provider}/callback`: takes the state once, checks the provider (a callback per
//!   provider, against mix-ups) and the binder (only the browser that started may finish; the
//!   session cookies are `SameSite=Strict` and do not come along on the provider's redirect),
//!   exchanges the code with the verifier, seals the tokens and hands back to the app page.
//! - `GET/PUT /api/calendar/google/calendars`: the picker (where jobs go, where busy time comes
//!   from); `DELETE /api/calendar/{provider}` revokes at the provider and drops the tokens.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use nmc_calendar::oauth::{digest, random_token};
use nmc_domain::crm::Vendor;
use nmc_store::calendar as cal;
use nmc_store::oauth::{self, Pending};
use serde::Deserialize;

use crate::auth::Tenant;
use crate::error::ApiError;
use crate::web::security::https;
use crate::{AppState, config::Config};

pub const PAGE: &str = "/app/settings/calendars";

fn binder_cookie(c: &Config) -> &'static str {
    if https(c) {
        "__Host-nmc_oauth"
    } else {
        "nmc_oauth"
    }
}

/// Lax, unlike the session cookies: it must come back on the provider's top-level redirect.
fn set_binder(c: &Config, value: &str, max_age: i64) -> header::HeaderValue {
    let secure = if https(c) { "; Secure" } else { "" };
    header::HeaderValue::from_str(&format!(
        "{}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}",
        binder_cookie(c)
    ))
    .unwrap_or(header::HeaderValue::from_static(""))
}

fn provider_ok(p: &str) -> Result<(), ApiError> {
    if ["google", "jobber", "hubspot", "gohighlevel"].contains(&p) {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// The CRM a provider is, if it is one (its grant goes to the CRM sync, not the calendars).
fn crm_of(provider: &str) -> Option<Vendor> {
    Vendor::parse(provider).filter(|v| matches!(v, Vendor::HubSpot | Vendor::GoHighLevel))
}

fn client<'a>(s: &'a AppState, provider: &str) -> &'a nmc_calendar::OAuthClient {
    crm_of(provider)
        .and_then(|v| s.crms.oauth(v))
        .unwrap_or_else(|| s.calendars.oauth(provider))
}

/// The page a provider's connection is made from, and its error parameter.
fn page_of(provider: &str) -> (&'static str, &'static str) {
    if crm_of(provider).is_some() {
        (crate::web::integrations::PAGE, "crm_error")
    } else {
        (PAGE, "calendar_error")
    }
}

/// Starts the flow: the browser goes to the provider's consent page.
pub async fn start(t: Tenant, s: &AppState, provider: &str) -> Result<Response, ApiError> {
    provider_ok(provider)?;
    let client = client(s, provider);
    if !client.configured() {
        let (page, error) = page_of(provider);
        return Ok(Redirect::to(&format!("{page}?{error}=not_configured")).into_response());
    }
    let (state, verifier, binder) = (random_token(), random_token(), random_token());
    let redirect_uri = format!("{}/oauth/{provider}/callback", s.config.public_base_url);
    let pending = Pending {
        provider: provider.to_owned(),
        business_id: t.business_id,
        user_id: t.user_id,
        code_verifier_enc: s.secrets.encrypt(&verifier),
        redirect_uri: redirect_uri.clone(),
        binder_hash: digest(&binder),
    };
    let mut tx = t.begin(&s.db).await?;
    oauth::begin(&mut tx, &digest(&state), &pending).await?;
    crate::owner::commit(tx).await?;
    let to = client.authorize_link(&redirect_uri, &state, &verifier);
    let mut r = Redirect::to(&to).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, set_binder(&s.config, &binder, 600));
    Ok(r)
}

#[derive(Deserialize)]
pub struct Callback {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// `GET /oauth/{provider}/callback`.
pub async fn callback(
    State(s): State<AppState>,
    Path(provider): Path<String>,
    Query(q): Query<Callback>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    provider_ok(&provider)?;
    let outcome = finish(&s, &provider, &q, &headers).await;
    let (page, error) = page_of(&provider);
    let next = match &outcome {
        Ok(()) => format!("{page}?connected={provider}"),
        Err(why) => {
            tracing::warn!(%provider, why, "oauth connection not made");
            format!("{page}?{error}={why}")
        }
    };
    // A page of ours, not a redirect: the app page needs the session cookies, which a browser
    // sends only on a navigation our own site starts.
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={next}\"><title>Connected</title></head><body><p><a href=\"{next}\">Back to your settings</a></p></body></html>"
    );
    let mut r = Html(body).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, set_binder(&s.config, "", 0));
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(r)
}

/// The callback's work; the error is a short reason for the page (never a token or a code).
async fn finish(
    s: &AppState,
    provider: &str,
    q: &Callback,
    headers: &HeaderMap,
) -> Result<(), &'static str> {
    let state = q.state.as_deref().ok_or("missing_state")?;
    let pending = oauth::take(&s.db, &digest(state))
        .await
        .map_err(|_| "unavailable")?
        .ok_or("expired")?;
    if pending.provider != provider {
        return Err("wrong_provider");
    }
    let binder =
        crate::auth::cookies::cookie(headers, binder_cookie(&s.config)).unwrap_or_default();
    if digest(binder) != pending.binder_hash {
        return Err("another_browser");
    }
    if let Some(e) = &q.error {
        return Err(if e == "access_denied" {
            "access_denied"
        } else {
            "refused"
        });
    }
    let code = q.code.as_deref().ok_or("refused")?;
    let verifier = s
        .secrets
        .decrypt(&pending.code_verifier_enc)
        .map_err(|_| "unavailable")?;
    let tokens = client(s, provider)
        .exchange_code(
            &s.calendars.google.http,
            code,
            &pending.redirect_uri,
            Some(&verifier),
        )
        .await
        .map_err(|e| {
            if e.is_retryable() {
                "unavailable"
            } else {
                "refused"
            }
        })?;
    if let Some(vendor) = crm_of(provider) {
        return save_crm(s, &pending, vendor, &tokens).await;
    }
    save(s, &pending, &tokens).await.map_err(|_| "unavailable")
}

/// A CRM's grant: sealed on its connection (GoHighLevel's with the location it is for).
async fn save_crm(
    s: &AppState,
    p: &Pending,
    vendor: Vendor,
    tokens: &nmc_calendar::Tokens,
) -> Result<(), &'static str> {
    let settings = match vendor {
        Vendor::GoHighLevel => {
            let location = tokens.location_id.as_deref().ok_or("refused")?;
            serde_json::json!({"location_id": location})
        }
        _ => serde_json::json!({}),
    };
    let now = Utc::now();
    let sealed = nmc_store::crm::SealedTokens {
        access_enc: s.secrets.encrypt(&tokens.access_token),
        refresh_enc: tokens
            .refresh_token
            .as_deref()
            .map(|r| s.secrets.encrypt(r)),
        expires_at: Some(now + chrono::Duration::seconds(tokens.lifetime_secs(now.timestamp()))),
    };
    let mut tx = s.db.begin().await.map_err(|_| "unavailable")?;
    nmc_store::crm::connect_oauth(&mut tx, p.business_id, vendor, &sealed, &settings)
        .await
        .map_err(|_| "unavailable")?;
    tx.commit().await.map_err(|_| "unavailable")?;
    tracing::info!(business_id = %p.business_id, vendor = vendor.as_str(), "crm connected by oauth");
    Ok(())
}

async fn save(
    s: &AppState,
    p: &Pending,
    tokens: &nmc_calendar::Tokens,
) -> Result<(), nmc_store::StoreError> {
    let now = Utc::now();
    let expires = now + chrono::Duration::seconds(tokens.lifetime_secs(now.timestamp()));
    let refresh = tokens
        .refresh_token
        .as_deref()
        .map(|r| s.secrets.encrypt(r));
    let mut tx = s.db.begin().await?;
    cal::connect(
        &mut tx,
        p.business_id,
        &p.provider,
        &s.secrets.encrypt(&tokens.access_token),
        refresh.as_deref(),
        Some(expires),
        "primary",
    )
    .await?;
    cal::set_granted_scope(&mut tx, p.business_id, &p.provider, tokens.scope.as_deref()).await?;
    tx.commit().await?;
    tracing::info!(business_id = %p.business_id, provider = %p.provider, "calendar connected from the app");
    Ok(())
}

/// Revokes a disconnected calendar's grant at the provider, best effort (the tokens are gone
/// from our side either way).
pub async fn revoke(s: &AppState, provider: &str, sealed: (Option<String>, Option<String>)) {
    let open = |enc: Option<String>| enc.and_then(|e| s.secrets.decrypt(&e).ok());
    let (access, refresh) = (open(sealed.0), open(sealed.1));
    let http = &s.calendars.google.http;
    let done = match provider {
        "google" => match refresh.or(access) {
            Some(token) => s.calendars.google_oauth.revoke(http, &token).await,
            None => Ok(()),
        },
        _ => match access {
            Some(token) => s.calendars.jobber.disconnect(&token).await,
            None => Ok(()),
        },
    };
    if let Err(e) = done {
        tracing::warn!(%provider, error = %e, "revoking the calendar grant failed; our tokens are dropped");
    }
}
