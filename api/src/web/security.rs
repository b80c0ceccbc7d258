//! What keeps the pages' cookies to this site: cookie names and attributes (`__Host-` and
//! `Secure` when served over https, with HSTS), the `Origin` check on state-changing requests,
//! and the same-origin rule for where log-in may send the browser next.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::{AppState, Config};

/// Served over https (PUBLIC_BASE_URL says so): cookies are `Secure` and HSTS is sent.
pub fn https(c: &Config) -> bool {
    c.public_base_url
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

/// The access token's cookie. `__Host-` (over https) makes the browser refuse it unless it is
/// Secure, for Path=/ and without a Domain, so no sibling subdomain can plant one.
pub fn access_cookie(c: &Config) -> &'static str {
    if https(c) {
        "__Host-nmc_access"
    } else {
        "nmc_access"
    }
}

/// The refresh token's cookie, so an owner stays signed in between jobs.
pub fn refresh_cookie(c: &Config) -> &'static str {
    if https(c) {
        "__Host-nmc_refresh"
    } else {
        "nmc_refresh"
    }
}

/// A `Set-Cookie` value: HttpOnly (no script reads it), SameSite=Strict (no other site sends it).
pub(crate) fn set_cookie(c: &Config, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if https(c) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

/// Refuses state-changing requests another site's page sent (a cross-site `Origin`, or lacking
/// one, `Referer`) and adds HSTS over https. Bearer-token calls and Twilio (no `Origin`) pass.
pub async fn guard(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if cross_site(&s.config.public_base_url, &req) {
        let body = json!({"error": {"code": "cross_site", "message": "requests from other sites are refused", "fields": {}}});
        return with_hsts(
            &s.config,
            (StatusCode::FORBIDDEN, Json(body)).into_response(),
        );
    }
    with_hsts(&s.config, next.run(req).await)
}

fn with_hsts(c: &Config, mut r: Response) -> Response {
    if https(c) {
        r.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    r
}

fn cross_site(base: &str, req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let h = req.headers();
    if h.get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "))
    {
        return false;
    }
    match h.get(header::ORIGIN).or_else(|| h.get(header::REFERER)) {
        None => false,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(origin_of)
            .is_none_or(|o| Some(o) != origin_of(base)),
    }
}

/// `scheme://host[:port]` of a URL, lower-cased, default port dropped; `None` if it is not one
/// (`Origin: null` included).
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let host = authority.strip_suffix(default_port).unwrap_or(&authority);
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// Where log-in may send the browser next: a path on this site only. Browsers drop tabs,
/// newlines and spaces in a URL and read `\` as `/`, so `/%09/evil.example` would leave the
/// site; the value is checked as given and once more percent-decoded.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.is_ascii()
                && !n.contains(|c: char| c.is_ascii_control() || c == ' ')
                && local_path(n)
                && local_path(&percent_decode(n)) =>
        {
            n.to_owned()
        }
        _ => "/app".to_owned(),
    }
}

fn local_path(p: &str) -> bool {
    let p: String = p
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    p.starts_with('/') && !p.starts_with("//")
}

fn percent_decode(s: &str) -> String {
    let (b, mut out, mut i) = (s.as_bytes(), Vec::with_capacity(s.len()), 0);
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_places_to_go_next() {
        for ok in [
            "/app",
            "/app/calls?outcome=missed",
            "/app/inbox/1?next=%2Fapp",
            "/",
        ] {
            assert_eq!(safe_next(Some(ok)), ok, "{ok}");
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/%09/evil.example",
            "/%5C/evil.example",
            "/%2F/evil.example",
            "/ /evil.example",
            "/\n/evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "",
            "app",
            "/é",
        ] {
            assert_eq!(safe_next(Some(bad)), "/app", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/app");
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(
            origin_of("https://App.Example.com/login?x=1").as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            origin_of("https://app.example.com:443"),
            origin_of("https://app.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/x").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_ne!(
            origin_of("http://app.example.com"),
            origin_of("https://app.example.com")
        );
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("ftp://x"), None);
    }
}
