//! Account mail (invitations, password resets): recorded in the mail outbox inside the caller's
//! transaction, so a rolled-back invitation mails nothing; the worker delivers it (over SMTP, or
//! logs it when no SMTP_URL is set).

use maud::{DOCTYPE, Markup, html};
use nmc_store::mail::{MailKind, NewEmail};
use uuid::Uuid;

use crate::error::ApiError;

/// One account mail: the same words as plain text and as HTML.
pub(super) struct AccountMail<'a> {
    pub(super) to: &'a str,
    /// Never a phone number: subjects show on lock screens and in mail logs.
    pub(super) subject: &'a str,
    pub(super) text: String,
    pub(super) html: Markup,
}

/// Where invitations and other account mail go: the outbox (`outbound_emails`).
#[derive(Clone, Default)]
pub struct Mailer;

impl Mailer {
    pub(super) async fn send(
        &self,
        db: &mut sqlx::PgConnection,
        business_id: Uuid,
        mail: AccountMail<'_>,
    ) -> Result<(), ApiError> {
        let email = NewEmail {
            business_id,
            to: mail.to.to_owned(),
            subject: mail.subject.to_owned(),
            text: mail.text,
            html: mail.html.into_string(),
            kind: MailKind::Account,
            unsubscribe_url: None,
            idempotency_key: None,
        };
        nmc_store::mail::record(db, &email).await?;
        tracing::info!(%business_id, subject = mail.subject, "email queued for delivery");
        Ok(())
    }
}

/// The one layout account mail uses: a heading, a few paragraphs, one link as a button (and
/// written out, for clients that hide buttons), and a footnote. maud escapes every value.
pub(super) fn layout(
    heading: &str,
    paragraphs: &[String],
    (href, label): (&str, &str),
    footnote: &str,
) -> Markup {
    const MUTED: &str = "font-size:13px;color:#52606d";
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (heading) }
            }
            body style="margin:0;padding:24px;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2933;line-height:1.5" {
                h1 style="font-size:20px;margin:0 0 16px" { (heading) }
                @for line in paragraphs {
                    p { (line) }
                }
                p {
                    a href=(href) style="display:inline-block;padding:12px 20px;background:#00577d;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600" { (label) }
                }
                p style=(MUTED) { "If the button does not work, open this link:" br; a href=(href) { (href) } }
                p style=(MUTED) { (footnote) }
                p style=(MUTED) { "NeverMissCall" }
            }
        }
    }
}
