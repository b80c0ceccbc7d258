//! Mail delivery: the outbox (`outbound_emails`) drained every second. With SMTP_URL each mail
//! goes out over SMTP (lettre 0.11, docs/research/owner-alerts.md §1); without it the log mailer
//! logs each mail and marks it sent, so development and tests need no mail server.

use std::time::Duration;

use anyhow::{anyhow, bail};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use nmc_store::PgPool;
use nmc_store::mail::DueEmail;

const DEFAULT_FROM: &str = "NeverMissCall <alerts@localhost>";
/// lettre's own limit on each SMTP step (its default is 60 s).
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// The bound on one whole send. Mails claimed per pass × this stays inside the claim's lease
/// (`nmc_store::mail::LEASE_SECS`), so no other worker takes a mail still being sent.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
const BATCH: i64 = 3;
const POLL: Duration = Duration::from_secs(1);
/// After this many attempts a mail that still cannot go is marked failed.
const MAX_ATTEMPTS: i32 = 8;
const MAX_BACKOFF_SECS: i64 = 3600;

/// How mail leaves: SMTP_URL's relay, or the log mailer; and whom it is from (NMC_MAIL_FROM).
#[derive(Clone)]
pub struct MailConfig {
    /// None: the log mailer.
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    /// The relay as logs may show it: scheme, host and port, never the credentials.
    relay: String,
    from: Mailbox,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("relay", &self.relay)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl MailConfig {
    /// Refuses, at start, a relay that would expose mail or a password (see `check_smtp_url`).
    pub fn from_env() -> anyhow::Result<Self> {
        let raw_from = std::env::var("NMC_MAIL_FROM")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_FROM.to_owned());
        let from: Mailbox = raw_from
            .parse()
            .map_err(|e| anyhow!("NMC_MAIL_FROM is not a mail address ({e}): {raw_from}"))?;
        let Some(url) = std::env::var("SMTP_URL").ok().filter(|v| !v.is_empty()) else {
            return Ok(Self {
                smtp: None,
                relay: String::new(),
                from,
            });
        };
        let relay = check_smtp_url(&url)?;
        // lettre's rustls brings no crypto provider of its own choosing: ring, as everywhere here.
        nmc_twilio::install_tls_provider();
        let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| anyhow!("SMTP_URL ({relay}): {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build::<Tokio1Executor>();
        Ok(Self {
            smtp: Some(smtp),
            relay,
            from,
        })
    }
}

/// Accepts `smtps://`, `smtp://…?tls=required`, and plain `smtp://` only when it carries no
/// credentials or the relay is on loopback. `tls=opportunistic` falls back to plaintext whenever
/// STARTTLS is missing, which anyone in between can arrange, so it is refused. Returns the relay
/// without its credentials; errors never repeat the URL (it may hold the password).
fn check_smtp_url(raw: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(raw).map_err(|e| anyhow!("SMTP_URL is not a URL: {e}"))?;
    let host = url
        .host()
        .ok_or_else(|| anyhow!("SMTP_URL names no host"))?;
    let relay = match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    };
    let tls = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let credentials = !url.username().is_empty() || url.password().is_some();
    match (url.scheme(), tls.as_deref()) {
        (_, Some("opportunistic")) => bail!(
            "SMTP_URL ({relay}): tls=opportunistic sends in plaintext whenever STARTTLS is not offered, and anyone in between can hide it; use smtp://host:587?tls=required or smtps://host:465"
        ),
        ("smtps", None | Some("required")) | ("smtp", Some("required")) => {}
        ("smtp", None) if !credentials || is_loopback(&host) => {}
        ("smtp", None) => bail!(
            "SMTP_URL ({relay}): plain smtp:// would send the password in clear to a host that is not loopback; use smtp://host:587?tls=required or smtps://host:465"
        ),
        (scheme, tls) => bail!(
            "SMTP_URL ({relay}): scheme {scheme} with tls={} is not supported; use smtps://host:465, smtp://host:587?tls=required, or smtp://host:port on loopback",
            tls.unwrap_or("(none)")
        ),
    }
    Ok(relay)
}

/// For `smtp://` the url crate keeps the host opaque (an IP address stays a string).
fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Delivers the outbox until the process stops: claims due mails, sends each, and records what
/// happened (sent; retried with backoff; failed on a permanent refusal or after MAX_ATTEMPTS).
pub async fn deliver_mail(pool: PgPool, config: MailConfig) {
    match &config.smtp {
        None => {
            tracing::info!("mail: no SMTP_URL, using the log mailer (mail is recorded, not sent)");
        }
        Some(_) => {
            tracing::info!(relay = %config.relay, from = %config.from, "mail: delivering over SMTP");
        }
    }
    loop {
        let due = match nmc_store::mail::due(&pool, BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "mail: could not read the outbox");
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        let more = due.len() as i64 == BATCH;
        for mail in &due {
            let outcome = deliver(&config, mail).await;
            settle(&pool, mail, outcome).await;
        }
        // A full batch may mean more are waiting: go again at once.
        if !more {
            tokio::time::sleep(POLL).await;
        }
    }
}

enum Outcome {
    Sent,
    Retry(String),
    Failed(String),
}

async fn deliver(config: &MailConfig, mail: &DueEmail) -> Outcome {
    let Some(smtp) = &config.smtp else {
        tracing::info!(
            business_id = %mail.business_id, mail_id = %mail.id, kind = %mail.kind,
            subject = %mail.subject, to = %mask(&mail.to_email),
            "mail (log mailer): recorded, not sent"
        );
        return Outcome::Sent;
    };
    let message = match message(mail, &config.from) {
        Ok(m) => m,
        Err(why) => return Outcome::Failed(why),
    };
    match tokio::time::timeout(SEND_TIMEOUT, smtp.send(message)).await {
        Ok(Ok(_)) => {
            tracing::info!(business_id = %mail.business_id, mail_id = %mail.id, kind = %mail.kind, attempts = mail.attempts, "mail sent");
            Outcome::Sent
        }
        // 5xx: a bad recipient or a refused login; sending again gets the same answer.
        Ok(Err(e)) if e.is_permanent() => Outcome::Failed(e.to_string()),
        Ok(Err(e)) => Outcome::Retry(e.to_string()),
        Err(_) => Outcome::Retry(format!("no answer within {} s", SEND_TIMEOUT.as_secs())),
    }
}

/// The mail as sent: text and HTML as multipart/alternative (text first), a Message-ID that is
/// the outbox row's (the same on every attempt, so a repeat can be recognised), and the RFC 8058
/// one-click unsubscribe headers when the mail has an unsubscribe link.
fn message(mail: &DueEmail, from: &Mailbox) -> Result<Message, String> {
    let to: Mailbox = mail
        .to_email
        .parse()
        .map_err(|e| format!("the recipient is not a mail address: {e}"))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@{}>", mail.id, from.email.domain())));
    if let Some(url) = &mail.unsubscribe_url {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    let built = match &mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(SinglePart::plain(mail.text.clone())),
    };
    built.map_err(|e| format!("the message could not be built: {e}"))
}

async fn settle(pool: &PgPool, mail: &DueEmail, outcome: Outcome) {
    let id = mail.id;
    let (business_id, attempts) = (mail.business_id, mail.attempts);
    let recorded = match outcome {
        Outcome::Sent => nmc_store::mail::mark_sent(pool, id).await,
        Outcome::Retry(why) if attempts >= MAX_ATTEMPTS => {
            tracing::warn!(%business_id, mail_id = %id, attempts, error = %why, "mail failed: giving up");
            let why = format!("gave up after {attempts} attempts: {why}");
            nmc_store::mail::mark_failed(pool, id, &why).await
        }
        Outcome::Retry(why) => {
            let backoff = backoff_secs(attempts);
            tracing::warn!(%business_id, mail_id = %id, attempts, retry_in_secs = backoff, error = %why, "mail not sent; will retry");
            nmc_store::mail::mark_retry(pool, id, &why, backoff).await
        }
        Outcome::Failed(why) => {
            tracing::warn!(%business_id, mail_id = %id, attempts, error = %why, "mail refused for good");
            nmc_store::mail::mark_failed(pool, id, &why).await
        }
    };
    if let Err(e) = recorded {
        // The claim's lease runs out and the mail is tried again: it may arrive twice (same Message-ID).
        tracing::warn!(mail_id = %id, error = %e, "mail: could not record the outcome");
    }
}

/// 2^attempts × 5 s, at most an hour: 10 s, 20 s, 40 s … after attempts 1, 2, 3 …
fn backoff_secs(attempts: i32) -> i64 {
    (5_i64 << attempts.clamp(0, 20)).min(MAX_BACKOFF_SECS)
}

/// `tom@acme.example` → `t***@acme.example`: enough to tell mails apart in logs.
fn mask(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((user, domain)) => format!("{}***@{domain}", user.chars().next().unwrap_or('*')),
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_that_expose_mail_or_passwords_are_refused() {
        for ok in [
            "smtps://user:secret@mail.example.com",
            "smtps://user:secret@mail.example.com:465/alerts.example.com",
            "smtp://user:secret@mail.example.com:587?tls=required",
            "smtp://mail.example.com:25",
            "smtp://user:secret@127.0.0.1:2525",
            "smtp://user:secret@localhost:2525",
            "smtp://user:secret@[::1]:2525",
        ] {
            assert!(check_smtp_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "smtp://user:secret@mail.example.com:587?tls=opportunistic",
            "smtp://mail.example.com:587?tls=opportunistic",
            "smtp://user:secret@mail.example.com:25",
            "smtp://user@mail.example.com:25",
            "smtp://mail.example.com?tls=sometimes",
            "http://mail.example.com",
            "not a url",
        ] {
            let err = check_smtp_url(bad).expect_err(bad).to_string();
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn the_relay_shown_in_logs_has_no_credentials() {
        let relay = check_smtp_url("smtps://user:secret@mail.example.com:465").unwrap();
        assert_eq!(relay, "smtps://mail.example.com:465");
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_secs(1), 10);
        assert_eq!(backoff_secs(2), 20);
        assert_eq!(backoff_secs(7), 640);
        assert_eq!(backoff_secs(10), 3600);
        assert_eq!(backoff_secs(1000), 3600);
    }

    #[test]
    fn recipients_are_masked() {
        assert_eq!(mask("tom@acme.example"), "t***@acme.example");
        assert_eq!(mask("nobody"), "***");
    }

    #[test]
    fn the_message_is_multipart_alternative_with_a_stable_id_and_one_click_unsubscribe() {
        let mail = DueEmail {
            id: "00000000-0000-0000-0000-000000000001".parse().unwrap(),
            business_id: "00000000-0000-0000-0000-000000000002".parse().unwrap(),
            to_email: "tom@acme.example".into(),
            subject: "Missed call".into(),
            text: "A caller rang.".into(),
            html: Some("<p>A caller rang.</p>".into()),
            kind: "alert".into(),
            unsubscribe_url: Some("https://app.example.com/unsubscribe/abc".into()),
            attempts: 1,
        };
        let from: Mailbox = DEFAULT_FROM.parse().unwrap();
        let raw = String::from_utf8(message(&mail, &from).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("Message-ID: <00000000-0000-0000-0000-000000000001@localhost>"),
            "{raw}"
        );
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("List-Unsubscribe: <https://app.example.com/unsubscribe/abc>"),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{raw}"
        );
    }
}
