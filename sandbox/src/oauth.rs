//! The Google and Jobber OAuth doubles (docs/research/calendar-oauth.md §5): authorize
//! endpoints that decide at once (grant, or deny when the control API armed it) and send the
//! browser back with a code and the `state` verbatim; token endpoints that take a code once,
//! only with the same `redirect_uri` and a `code_verifier` matching its S256 challenge;
//! Google's revoke and calendar list (paged); Jobber's JWT-shaped access tokens with no
//! `expires_in`, whose refresh tokens rotate.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::calendars::CalendarDoubles;

const GOOGLE_SCOPES: &str = "https://www.googleapis.com/auth/calendar.events https://www.googleapis.com/auth/calendar.events.freebusy https://www.googleapis.com/auth/calendar.calendarlist.readonly";

fn provider_of(uri: &Uri) -> &'static str {
    let path = uri.path();
    ["jobber", "hubspot", "gohighlevel"]
        .into_iter()
        .find(|p| path.contains(&format!("/{p}/")))
        .unwrap_or("google")
}

fn new_token(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<!doctype html><title>Error</title><p>{message}</p>"
        )),
    )
        .into_response()
}

/// `GET /google/authorize`, `GET /jobber/oauth/authorize`.
pub(crate) async fn authorize(
    State(d): State<CalendarDoubles>,
    uri: Uri,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let provider = provider_of(&uri);
    let (Some(client), Some(redirect)) = (q.get("client_id"), q.get("redirect_uri")) else {
        // A bad client or redirect gets an error page, never a redirect (RFC 6749 §4.1.2.1).
        return error_page("client_id and redirect_uri are required");
    };
    let back = |params: &[(&str, &str)]| {
        let mut url = format!(
            "{redirect}{}",
            if redirect.contains('?') { '&' } else { '?' }
        );
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            form.append_pair(k, v);
        }
        if let Some(s) = q.get("state") {
            form.append_pair("state", s);
        }
        url.push_str(&form.finish());
        Redirect::to(&url).into_response()
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return back(&[("error", "unsupported_response_type")]);
    }
    let challenge = q.get("code_challenge").cloned();
    if challenge.is_some() && q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return back(&[("error", "invalid_request")]);
    }
    let consent = d.inner.lock().unwrap().next_consent.take();
    if consent.as_ref().is_some_and(|c| c["decision"] == "deny") {
        return back(&[("error", "access_denied")]);
    }
    let scope = consent
        .and_then(|c| c["scope"].as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            q.get("scope")
                .cloned()
                .unwrap_or_else(|| GOOGLE_SCOPES.into())
        });
    let code = new_token("code");
    d.inner.lock().unwrap().codes.insert(
        code.clone(),
        json!({"provider": provider, "client_id": client, "redirect_uri": redirect,
               "challenge": challenge, "scope": scope, "used": false}),
    );
    if provider == "google" {
        back(&[("code", &code), ("scope", &scope)])
    } else {
        back(&[("code", &code)])
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (
        status,
        [("cache-control", "no-store")],
        Json(json!({ "error": error })),
    )
        .into_response()
}

/// A Jobber access token: a JWT whose payload carries `exp` (an hour).
fn jobber_access_token() -> String {
    let exp = chrono::Utc::now().timestamp() + 3600;
    let payload = URL_SAFE_NO_PAD.encode(json!({"sub": "jobber-account", "exp": exp}).to_string());
    format!(
        "eyJhbGciOiJIUzI1NiJ9.{payload}.{}",
        uuid::Uuid::new_v4().simple()
    )
}

fn tokens(provider: &str, scope: &str, refresh: Option<String>) -> Response {
    let body = if provider == "jobber" {
        json!({"access_token": jobber_access_token(), "refresh_token": refresh})
    } else if provider == "hubspot" {
        // HubSpot's OAuth access tokens live 30 minutes and name the portal.
        json!({"access_token": new_token("hso"), "refresh_token": refresh, "expires_in": 1800, "token_type": "bearer", "hub_id": 424_242})
    } else if provider == "gohighlevel" {
        json!({"access_token": new_token("ghl-oauth"), "refresh_token": refresh, "expires_in": 86_399, "token_type": "Bearer",
               "scope": scope, "userType": "Location", "locationId": "ve9EPM428h8vShlRW1KT", "companyId": "sandbox-company"})
    } else {
        let mut b = json!({"access_token": new_token("ya29"), "expires_in": 3599, "scope": scope, "token_type": "Bearer"});
        if let Some(r) = refresh {
            b["refresh_token"] = json!(r);
        }
        b
    };
    (StatusCode::OK, [("cache-control", "no-store")], Json(body)).into_response()
}

/// `POST /google/token`, `POST /jobber/oauth/token`.
pub(crate) async fn token(State(d): State<CalendarDoubles>, uri: Uri, body: String) -> Response {
    let provider = provider_of(&uri);
    let form: BTreeMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    d.inner.lock().unwrap().token_requests.push(json!(form));
    let has = |k: &str| form.get(k).is_some_and(|v| !v.is_empty());
    if !has("client_id") || !has("client_secret") {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    // GoHighLevel gives a sub-account's token only when asked for one.
    if provider == "gohighlevel" && form.get("user_type").map(String::as_str) != Some("Location") {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => exchange(&d, provider, &form),
        Some("refresh_token") => refresh(
            &d,
            provider,
            form.get("refresh_token").map_or("", String::as_str),
        ),
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

fn exchange(d: &CalendarDoubles, provider: &str, form: &BTreeMap<String, String>) -> Response {
    let code = form.get("code").cloned().unwrap_or_default();
    let mut inner = d.inner.lock().unwrap();
    let Some(issued) = inner.codes.get_mut(&code) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    // Used once, whatever the outcome.
    let first = issued["used"] == false;
    issued["used"] = json!(true);
    let issued = issued.clone();
    drop(inner);
    if !first || issued["provider"] != provider {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    if form.get("redirect_uri").map(String::as_str) != issued["redirect_uri"].as_str() {
        let e = if provider == "google" {
            "redirect_uri_mismatch"
        } else {
            "invalid_grant"
        };
        return oauth_error(StatusCode::BAD_REQUEST, e);
    }
    if let Some(challenge) = issued["challenge"].as_str() {
        let verifier = form.get("code_verifier").map_or("", String::as_str);
        let shaped = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        if !shaped || URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
        }
    }
    tokens(
        provider,
        issued["scope"].as_str().unwrap_or(GOOGLE_SCOPES),
        Some(new_token("refresh")),
    )
}

/// Google and HubSpot keep their refresh tokens.
fn refresh(d: &CalendarDoubles, provider: &str, presented: &str) -> Response {
    let mut inner = d.inner.lock().unwrap();
    if presented.is_empty() || inner.revoked.iter().any(|r| r == presented) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    // Jobber and GoHighLevel rotate the refresh token and refuse the old one at once.
    if provider == "jobber" || provider == "gohighlevel" {
        inner.revoked.push(presented.to_owned());
        drop(inner);
        return tokens(
            provider,
            "contacts.readonly contacts.write",
            Some(new_token("refresh")),
        );
    }
    drop(inner);
    tokens(provider, GOOGLE_SCOPES, None)
}

/// `POST /google/revoke` (`token` in the form): the grant ends.
pub(crate) async fn revoke(State(d): State<CalendarDoubles>, body: String) -> Response {
    let token = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if token.is_empty() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_token");
    }
    d.inner.lock().unwrap().revoked.push(token);
    StatusCode::OK.into_response()
}

/// `GET /google/calendar/v3/users/me/calendarList`: the owner's primary calendar, a crew
/// calendar they may write to, and a shared one they may only read, over two pages.
pub(crate) async fn calendar_list(
    State(d): State<CalendarDoubles>,
    headers: axum::http::HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = bearer.filter(|t| !t.is_empty()) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if d.inner.lock().unwrap().revoked.iter().any(|r| r == token) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let page_one = json!([
        {"kind": "calendar#calendarListEntry", "id": "owner@example.com", "summary": "owner@example.com", "primary": true, "accessRole": "owner", "timeZone": "America/Chicago"},
        {"kind": "calendar#calendarListEntry", "id": "crew-b@group.calendar.google.com", "summary": "Crew B", "summaryOverride": "Crew B jobs", "accessRole": "writer", "timeZone": "America/Chicago"},
    ]);
    let page_two = json!([
        {"kind": "calendar#calendarListEntry", "id": "holidays@group.v.calendar.google.com", "summary": "Holidays", "accessRole": "reader"},
    ]);
    if q.get("pageToken").map(String::as_str) == Some("page-2") {
        Json(json!({"kind": "calendar#calendarList", "items": page_two, "nextSyncToken": "sync-1"}))
            .into_response()
    } else {
        Json(json!({"kind": "calendar#calendarList", "items": page_one, "nextPageToken": "page-2"}))
            .into_response()
    }
}

/// Control: `POST /api/calendars/consent {decision: "deny"}` or `{decision: "grant", scope}`
/// decides the next authorization.
pub(crate) async fn arm_consent(
    State(d): State<CalendarDoubles>,
    Json(c): Json<Value>,
) -> StatusCode {
    d.inner.lock().unwrap().next_consent = Some(c);
    StatusCode::NO_CONTENT
}
