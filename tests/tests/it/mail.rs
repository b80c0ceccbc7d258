//! Account mail over real SMTP: the worker delivers the outbox to an aiosmtpd server
//! (`SmtpServer`), as multipart/alternative with a text and an HTML part, and the links in it
//! work; a relay that wants TLS (STARTTLS or from the first byte) and a password gets both; with
//! no relay the log mailer says so at start; with the relay down a mail waits, keeps its error,
//! and goes once the relay is back.

use std::time::Duration;

use nmc_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

const FROM: &str = "NeverMissCall <alerts@nmc.test>";
const OWNER_EMAIL: &str = "dana@acme.example";
const TECH_EMAIL: &str = "tom@acme.example";
const NEW_PASSWORD: &str = "new pipes and drains 7";
/// Generous for a loaded CI box; the worker polls the outbox every second.
const MAIL_TIMEOUT: Duration = Duration::from_secs(30);

/// The common stack, its worker delivering to `smtp`.
async fn app_mailing_to(smtp: &SmtpServer) -> TestApp {
    TestApp::builder()
        .worker_env("SMTP_URL", smtp.url())
        .worker_env("NMC_MAIL_FROM", FROM)
        .spawn()
        .await
}

/// Seven or more digits in a row, ignoring the separators phone numbers are written with.
fn has_phone_like_digits(s: &str) -> bool {
    let mut run = 0;
    for c in s.chars() {
        if c.is_ascii_digit() {
            run += 1;
            if run >= 7 {
                return true;
            }
        } else if !" -().+".contains(c) {
            run = 0;
        }
    }
    false
}

/// The one URL in `text` containing `marker`.
fn link(text: &str, marker: &str) -> String {
    text.split_whitespace()
        .find(|w| w.contains(marker))
        .unwrap_or_else(|| panic!("no {marker} link in:\n{text}"))
        .to_owned()
}

/// What every account mail has: the envelope and headers, both parts, a stable Message-ID (the
/// outbox row's), no unsubscribe headers, and the same link in both parts. Returns the link.
async fn assert_account_mail(app: &TestApp, mail: &Mail, to: &str, marker: &str) -> String {
    assert_eq!(mail.mail_from, "alerts@nmc.test");
    assert_eq!(mail.rcpt_tos, vec![to.to_owned()]);
    assert!(mail.from().contains("<alerts@nmc.test>"), "{}", mail.from());
    assert_eq!(mail.to(), to);
    assert_eq!(mail.content_type(), "multipart/alternative", "{}", mail.raw);
    assert!(
        !has_phone_like_digits(mail.subject()),
        "no phone number in a subject: {}",
        mail.subject()
    );
    let text = mail
        .text()
        .unwrap_or_else(|| panic!("a text part:\n{}", mail.raw));
    let html = mail
        .html()
        .unwrap_or_else(|| panic!("an HTML part:\n{}", mail.raw));
    let url = link(text, marker);
    assert!(url.starts_with(&app.api_url), "{url}");
    assert!(
        html.contains(&format!("href=\"{url}\"")),
        "the same link in the HTML part:\n{html}"
    );
    assert!(html.contains("<html"), "{html}");
    assert_eq!(
        mail.header("List-Unsubscribe"),
        None,
        "account mail is not a list"
    );
    let id: uuid::Uuid = sqlx::query_scalar(
        "select id from outbound_emails where to_email = $1 and sent_at is not null order by created_at desc limit 1",
    )
    .bind(to)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<{id}@nmc.test>").as_str())
    );
    url
}

/// Waits until the outbox row to `to` is marked sent (the worker marks it after the server's 250).
async fn wait_marked_sent(app: &TestApp, to: &str) {
    wait_until(MAIL_TIMEOUT, "the mail marked sent", || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from outbound_emails where to_email = $1 and sent_at is not null",
        )
        .bind(to)
        .fetch_one(&app.db)
        .await
        .unwrap()
            == 1
    })
    .await;
}

async fn forgot_password(app: &TestApp, email: &str) {
    let r = app
        .http
        .post(format!("{}/api/auth/password/forgot", app.api_url))
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

#[tokio::test]
async fn an_invitation_arrives_by_smtp_in_text_and_html_and_its_link_lets_the_technician_join() {
    let smtp = SmtpServer::start().await;
    let app = app_mailing_to(&smtp).await;
    let b = app.business_id().await;
    let r = app
        .owner(Method::POST, "/api/team/invites", b)
        .json(&json!({"email": TECH_EMAIL}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let mail = smtp.wait_for(TECH_EMAIL, MAIL_TIMEOUT).await;
    wait_marked_sent(&app, TECH_EMAIL).await;
    assert!(mail.subject().contains("invited"), "{}", mail.subject());
    assert!(
        mail.html().unwrap().contains("Acme Plumbing"),
        "the business by name"
    );
    let url = assert_account_mail(&app, &mail, TECH_EMAIL, "/invite/").await;

    let token = url.rsplit('/').next().unwrap();
    let joined = app
        .http
        .post(format!("{}/api/auth/accept-invite", app.api_url))
        .json(&json!({"token": token, "name": "Tom", "password": "wrenches all day 7"}))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 201);
    let joined: Value = joined.json().await.unwrap();
    assert_eq!(joined["user"]["role"], "tech");
    log_in(&app.http, &app.api_url, TECH_EMAIL, "wrenches all day 7").await;
}

#[tokio::test]
async fn a_password_reset_arrives_by_smtp_and_its_link_sets_the_new_password() {
    let smtp = SmtpServer::start().await;
    let app = app_mailing_to(&smtp).await;
    forgot_password(&app, OWNER_EMAIL).await;

    let mail = smtp.wait_for(OWNER_EMAIL, MAIL_TIMEOUT).await;
    wait_marked_sent(&app, OWNER_EMAIL).await;
    assert!(mail.subject().starts_with("Reset"), "{}", mail.subject());
    assert!(
        mail.text().unwrap().contains("Dana Rivera"),
        "the owner by name"
    );
    let url = assert_account_mail(&app, &mail, OWNER_EMAIL, "/password/reset/").await;

    let token = url.rsplit('/').next().unwrap();
    let r = app
        .http
        .post(format!("{}/api/auth/password/reset", app.api_url))
        .json(&json!({"token": token, "password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    log_in(&app.http, &app.api_url, OWNER_EMAIL, NEW_PASSWORD).await;
}

#[tokio::test]
async fn a_relay_that_wants_tls_and_a_password_gets_both() {
    for tls in [Tls::Implicit, Tls::StartTls] {
        let smtp = SmtpServer::start_secure(tls).await;
        // The relay's private CA, trusted the way the platform verifier reads extra roots.
        let app = TestApp::builder()
            .worker_env("SMTP_URL", smtp.url())
            .worker_env("SSL_CERT_FILE", smtp.ca_file().display().to_string())
            .worker_env("NMC_MAIL_FROM", FROM)
            .spawn()
            .await;
        forgot_password(&app, OWNER_EMAIL).await;
        let mail = smtp.wait_for(OWNER_EMAIL, MAIL_TIMEOUT).await;
        assert!(mail.authenticated, "{tls:?}: logged in before sending");
        wait_marked_sent(&app, OWNER_EMAIL).await;
        let log = std::fs::read_to_string(app.worker_log()).unwrap_or_default();
        assert!(log.contains("mail: delivering over SMTP"), "{tls:?}");
        assert!(!log.contains("p@ss"), "the password is never logged");
    }

    // A wrong password: the relay refuses (535), the mail waits with the error, nothing goes.
    let smtp = SmtpServer::start_secure(Tls::StartTls).await;
    let wrong = smtp.url().replace("relay%20p%40ss%2Fword", "not%20it");
    assert_ne!(wrong, smtp.url());
    let app = TestApp::builder()
        .worker_env("SMTP_URL", wrong)
        .worker_env("SSL_CERT_FILE", smtp.ca_file().display().to_string())
        .spawn()
        .await;
    forgot_password(&app, OWNER_EMAIL).await;
    wait_until(MAIL_TIMEOUT, "the refusal recorded", || async {
        app.count("select count(*) from outbound_emails where last_error like '%535%' and sent_at is null")
            .await
            == 1
    })
    .await;
    assert!(smtp.received().is_empty());
}

#[tokio::test]
async fn without_a_relay_the_log_mailer_says_so_at_start() {
    let app = TestApp::spawn().await;
    forgot_password(&app, OWNER_EMAIL).await;
    wait_marked_sent(&app, OWNER_EMAIL).await;
    let log = std::fs::read_to_string(app.worker_log()).unwrap_or_default();
    assert!(
        log.contains("mail: no SMTP_URL, using the log mailer"),
        "{log}"
    );
}

#[tokio::test]
async fn with_the_relay_down_a_mail_waits_with_its_error_and_goes_once_the_relay_is_back() {
    let mut smtp = SmtpServer::start().await;
    let app = app_mailing_to(&smtp).await;
    smtp.stop().await;
    forgot_password(&app, OWNER_EMAIL).await;

    // Refused: kept, unsent, not failed, with why.
    wait_until(MAIL_TIMEOUT, "a failed attempt recorded", || async {
        app.count("select count(*) from outbound_emails where last_error is not null")
            .await
            == 1
    })
    .await;
    let (sent, failed, attempts, error): (bool, bool, i32, String) = sqlx::query_as(
        "select sent_at is not null, failed_at is not null, attempts, last_error from outbound_emails where to_email = $1",
    )
    .bind(OWNER_EMAIL)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        !sent && !failed,
        "a refused connection is retried, not given up"
    );
    assert!(attempts >= 1, "{attempts}");
    assert!(!error.is_empty());

    // The relay is back on the same port. The backoff is time passing, not something to wait
    // out here: the row is made due again until it goes (one worker sends one mail at a time).
    smtp.restart().await;
    wait_until(
        MAIL_TIMEOUT,
        "the mail sent once the relay is back",
        || async {
            sqlx::query("update outbound_emails set next_attempt_at = now() where sent_at is null")
                .execute(&app.db)
                .await
                .unwrap();
            app.count("select count(*) from outbound_emails where sent_at is not null")
                .await
                == 1
        },
    )
    .await;
    let mail = smtp.wait_for(OWNER_EMAIL, Duration::from_secs(5)).await;
    assert!(mail.subject().starts_with("Reset"), "{}", mail.subject());
    link(mail.text().unwrap(), "/password/reset/");
    // Nothing lost, nothing twice.
    tokio::time::sleep(DUPLICATE_WINDOW).await;
    let to_owner = smtp
        .received()
        .iter()
        .filter(|m| m.rcpt_tos.iter().any(|r| r == OWNER_EMAIL))
        .count();
    assert_eq!(to_owner, 1, "{}", app.worker_log_tail(20));
}
