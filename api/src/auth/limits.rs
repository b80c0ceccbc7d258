//! Limits per client address: log-in attempts, and sign-ups with invitation acceptances (each
//! hashes a password and creates rows). The client address is the socket peer, or, behind a
//! proxy named in `NMC_TRUSTED_PROXY_HEADER`, what that proxy says.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::{AppState, error::ApiError};

/// Log-in attempts per client address per minute, whatever the email.
const LOG_INS_PER_MINUTE: u32 = 20;
/// Sign-ups and invitation acceptances per client address per hour.
const JOINS_PER_HOUR: u32 = 10;
/// Password-reset links asked for per client address per hour (each sends mail), and resets
/// tried with a link (each hashes a password).
const RESET_MAILS_PER_HOUR: u32 = 10;
const RESETS_PER_HOUR: u32 = 10;

/// Attempts per client address in a fixed window (per API instance; the per-email lock-out
/// lives in the database and holds across instances).
#[derive(Clone)]
struct Window {
    limit: u32,
    length: Duration,
    seen: Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
}

impl Window {
    fn new(limit: u32, length: Duration) -> Self {
        Self {
            limit,
            length,
            seen: Default::default(),
        }
    }

    /// Counts the attempt, then says whether it is within the limit (counted first, under the
    /// lock, so a parallel burst cannot all pass).
    fn allow(&self, ip: IpAddr) -> bool {
        let mut m = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if m.len() > 10_000 {
            m.retain(|_, (t, _)| now.duration_since(*t) < self.length);
        }
        let e = m.entry(ip).or_insert((now, 0));
        if now.duration_since(e.0) >= self.length {
            *e = (now, 0);
        }
        e.1 += 1;
        e.1 <= self.limit
    }
}

#[derive(Clone)]
pub struct LoginLimiter {
    log_ins: Window,
    joins: Window,
    reset_mails: Window,
    resets: Window,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            log_ins: Window::new(LOG_INS_PER_MINUTE, Duration::from_secs(60)),
            joins: Window::new(JOINS_PER_HOUR, Duration::from_secs(3600)),
            reset_mails: Window::new(RESET_MAILS_PER_HOUR, Duration::from_secs(3600)),
            resets: Window::new(RESETS_PER_HOUR, Duration::from_secs(3600)),
        }
    }
}

impl LoginLimiter {
    pub fn allow_log_in(&self, ip: IpAddr) -> bool {
        self.log_ins.allow(ip)
    }

    /// Sign-ups and invitation acceptances share one budget.
    pub fn allow_join(&self, ip: IpAddr) -> bool {
        self.joins.allow(ip)
    }

    pub fn allow_reset_mail(&self, ip: IpAddr) -> bool {
        self.reset_mails.allow(ip)
    }

    pub fn allow_reset(&self, ip: IpAddr) -> bool {
        self.resets.allow(ip)
    }
}

/// The client's address. With `header` unset it is the socket peer and no header is believed;
/// set, it is the right-most entry of the header's last line — the one our own proxy wrote (a
/// client can prepend anything to `X-Forwarded-For`, never append after the proxy).
pub fn client_address(header: Option<&str>, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
    let Some(name) = header else { return peer };
    let last = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .next_back();
    last.and_then(|v| v.rsplit(',').next())
        .and_then(|a| parse_address(a.trim()))
        .unwrap_or(peer)
}

fn parse_address(a: &str) -> Option<IpAddr> {
    a.parse::<IpAddr>()
        .ok()
        .or_else(|| a.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The client's address for the rate limits (see [`client_address`]).
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!(
                    "no client address: serve with connect info (nmc_api::run does)"
                ))
            })?;
        Ok(ClientAddr(client_address(
            s.config.trusted_proxy_header.as_deref(),
            &parts.headers,
            peer,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in lines {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_proxy_header_is_believed_only_when_configured_and_only_its_last_entry() {
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        let xff = Some("x-forwarded-for");
        #[allow(clippy::type_complexity, reason = "a table of test cases")]
        let cases: [(Option<&str>, &[(&str, &str)], &str); 8] = [
            (None, &[("x-forwarded-for", "203.0.113.7")], "10.0.0.5"),
            (xff, &[], "10.0.0.5"),
            (xff, &[("x-forwarded-for", "203.0.113.7")], "203.0.113.7"),
            (
                xff,
                &[("X-Forwarded-For", "198.51.100.1, 203.0.113.7")],
                "203.0.113.7",
            ),
            (
                xff,
                &[
                    ("x-forwarded-for", "198.51.100.1"),
                    ("x-forwarded-for", "203.0.113.9"),
                ],
                "203.0.113.9",
            ),
            (xff, &[("x-forwarded-for", "not an address")], "10.0.0.5"),
            (
                xff,
                &[("x-forwarded-for", "[2001:db8::1]:4711")],
                "2001:db8::1",
            ),
            (
                Some("fly-client-ip"),
                &[("Fly-Client-IP", "192.0.2.44")],
                "192.0.2.44",
            ),
        ];
        for (header, lines, want) in cases {
            assert_eq!(
                client_address(header, &headers(lines), peer),
                want.parse::<IpAddr>().unwrap(),
                "{header:?} {lines:?}"
            );
        }
    }

    #[test]
    fn the_window_counts_every_attempt() {
        let w = Window::new(3, Duration::from_secs(60));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let answers: Vec<bool> = (0..5).map(|_| w.allow(ip)).collect();
        assert_eq!(answers, [true, true, true, false, false]);
        assert!(
            w.allow("192.0.2.2".parse().unwrap()),
            "other addresses have their own count"
        );
    }
}
