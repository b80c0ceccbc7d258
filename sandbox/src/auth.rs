//! Who may use the sandbox. The control API reads every tenant's texts and arms faults, so it
//! takes the admin token as a bearer; the Twilio-shaped routes take HTTP Basic auth with a known
//! account's SID and auth token, as Twilio does. Webhook URLs can be confined to one base.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use crate::{Sandbox, twilio_error};

/// The user and password of an `Authorization: Basic` header.
pub(crate) fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), pass.to_owned()))
}

/// Equal bytes, compared without stopping at the first difference (tokens leak nothing by timing).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `url` is `base` itself or below it (a path or query after it, not `base.evil.example` or
/// `base@evil.example`); anything when there is no base.
pub fn under_base(base: Option<&str>, url: &str) -> bool {
    let Some(base) = base else { return true };
    url.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

/// Control routes: `Authorization: Bearer <admin token>`; with no token configured, nobody.
pub(crate) async fn require_admin(
    State(token): State<Option<Arc<str>>>,
    req: Request,
    next: Next,
) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match (token.as_deref(), given) {
        (Some(t), Some(g)) if constant_time_eq(t.as_bytes(), g.as_bytes()) => next.run(req).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({"error": "the sandbox control API takes the admin token: Authorization: Bearer <NMC_ADMIN_TOKEN>"})),
        )
            .into_response(),
    }
}

/// Twilio-shaped routes: Basic auth as `{account}:{auth token}` of an account the sandbox knows,
/// the account in the path being the one authenticated. Twilio answers 401 with code 20003.
pub(crate) async fn require_account(
    State(sb): State<Sandbox>,
    Path(params): Path<HashMap<String, String>>,
    req: Request,
    next: Next,
) -> Response {
    let account = params
        .get("account")
        .map(String::as_str)
        .unwrap_or_default();
    match basic_auth(req.headers()) {
        Some((user, token))
            if !account.is_empty() && user == account && sb.knows_account(&user, &token) =>
        {
            next.run(req).await
        }
        _ => (
            [(header::WWW_AUTHENTICATE, "Basic realm=\"Twilio API\"")],
            twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_stay_under_the_base() {
        let base = Some("http://127.0.0.1:8080");
        assert!(under_base(
            base,
            "http://127.0.0.1:8080/webhook/sms/incoming"
        ));
        assert!(under_base(base, "http://127.0.0.1:8080?x=1"));
        assert!(
            !under_base(base, "http://127.0.0.1:80801/webhook"),
            "another port"
        );
        assert!(
            !under_base(
                base,
                "http://127.0.0.1:8080@169.254.169.254/latest/meta-data"
            ),
            "userinfo trick"
        );
        assert!(!under_base(base, "http://169.254.169.254/latest/meta-data"));
        assert!(
            under_base(None, "http://169.254.169.254/"),
            "no base: the test sandbox posts anywhere"
        );
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(
            !constant_time_eq(b"abc", b"abd")
                && !constant_time_eq(b"abc", b"ab")
                && !constant_time_eq(b"", b"a")
        );
    }
}
