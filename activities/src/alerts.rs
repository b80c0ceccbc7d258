//! An owner alert on every channel its members chose: stored once with its number (#n) and a
//! signed link, texted now (each member's phone, once per key), mailed through the mail outbox,
//! and queued for Slack. Quiet hours hold back texts, never an emergency and never email.

use chrono::{Timelike, Utc};
use nmc_domain::team::{ALERT_ENDING, ALERT_KINDS, QuietHours};
use nmc_domain::{E164, OutboundSms, SendOutcome, SmsKind};
use nmc_store::alerts::{self, Delivery, Recipient, Recorded};
use nmc_store::mail::{MailKind, NewEmail};
use temporalio_sdk::activities::ActivityError;

use crate::{ConversationActivities, OwnerNotice, retryable};

/// What the alert says on every channel, before each channel's own ending.
struct Alert {
    notice: OwnerNotice,
    recorded: Recorded,
    body: String,
    link: String,
}

impl ConversationActivities {
    pub(crate) async fn alert(&self, n: OwnerNotice) -> Result<SendOutcome, ActivityError> {
        if let Some(caller) = &n.caller {
            nmc_store::activity::open_conversation(
                &self.pool,
                n.business_id,
                n.conversation_id,
                &n.workflow_id,
                caller.as_str(),
            )
            .await
            .map_err(retryable)?;
        }
        let mut body = self.name_the_caller(&n).await?;
        let (approved, served) = alerts::texting_state(&self.pool, n.business_id)
            .await
            .map_err(retryable)?;
        let unregistered = self.enforce_registration && !approved;
        let held = unregistered || !served;
        if held && n.kind == nmc_domain::NoticeKind::MissedCall {
            body.push_str(if unregistered {
                " Not texted: your business texting registration is not approved yet."
            } else {
                " Not texted: your NeverMissCall plan is not active."
            });
        }
        let recorded = alerts::record(
            &self.pool,
            n.business_id,
            n.conversation_id,
            n.kind.as_str(),
            n.priority,
            &body,
            &n.idempotency_key,
        )
        .await
        .map_err(retryable)?;
        let token = self.links.token(recorded.id, Utc::now());
        let alert = Alert {
            link: format!("{}/n/{token}", self.public_base_url),
            notice: n,
            recorded,
            body,
        };
        let kinds: Vec<&str> = ALERT_KINDS.iter().map(|(k, _)| *k).collect();
        let members = alerts::recipients(&self.pool, alert.notice.business_id, &kinds)
            .await
            .map_err(retryable)?;
        // The channels that do not depend on the carrier first, so a carrier outage delays none of them.
        for member in &members {
            self.mail_member(&alert, member, held).await?;
            self.push_member(&alert, member).await?;
        }
        self.queue_slack(&alert).await?;
        // Texts from a business not yet approved for texting would be held (and carriers filter
        // them): its members get the alert by email instead (above).
        let mut outcome = SendOutcome::Suppressed;
        if held {
            return Ok(outcome);
        }
        if members.is_empty() {
            outcome = self.text_owner_without_account(&alert).await?;
        }
        for member in &members {
            if let Some(o) = self.text_member(&alert, member).await? {
                outcome = o;
            }
        }
        Ok(outcome)
    }

    /// A missed call's alert names the caller; by name too when an earlier conversation told us.
    async fn name_the_caller(&self, n: &OwnerNotice) -> Result<String, ActivityError> {
        if !n.body.contains("{caller}") {
            return Ok(n.body.clone());
        }
        let caller = alerts::caller(&self.pool, n.business_id, n.conversation_id)
            .await
            .map_err(retryable)?;
        let who = nmc_domain::phone::named(caller.name.as_deref(), &caller.phone);
        Ok(n.body.replace("{caller}", &who))
    }

    /// Whether `channel` is held back right now for this member (quiet hours; never an emergency).
    fn quiet_now(alert: &Alert, member: &Recipient) -> bool {
        let (Some(start), Some(end)) = (member.prefs.quiet_start, member.prefs.quiet_end) else {
            return false;
        };
        if alert.notice.priority {
            return false;
        }
        let tz =
            nmc_domain::hours::parse_timezone(&alert.recorded.timezone).unwrap_or(chrono_tz::UTC);
        let local = Utc::now().with_timezone(&tz);
        let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
        QuietHours {
            start: u16::try_from(start).unwrap_or(0),
            end: u16::try_from(end).unwrap_or(0),
        }
        .contains(minute)
    }

    fn wants(alert: &Alert, kinds: &[String]) -> bool {
        alert.notice.priority || kinds.iter().any(|k| k == alert.notice.kind.as_str())
    }

    async fn text_member(
        &self,
        alert: &Alert,
        member: &Recipient,
    ) -> Result<Option<SendOutcome>, ActivityError> {
        let Some(phone) = member
            .prefs
            .phone
            .as_deref()
            .and_then(|p| E164::parse(p).ok())
        else {
            return Ok(None);
        };
        // An unproved phone may be anyone's: no alert is texted to it until its code is entered.
        if !member.prefs.phone_verified
            || member.prefs.sms_stopped
            || !Self::wants(alert, &member.prefs.sms_kinds)
        {
            return Ok(None);
        }
        let quiet = Self::quiet_now(alert, member);
        let delivery = Delivery {
            business_id: alert.notice.business_id,
            notification_id: alert.recorded.id,
            user_id: Some(member.user_id),
            channel: "sms",
            target: phone.as_str(),
            status: if quiet { "quiet" } else { "pending" },
            payload: None,
        };
        alerts::record_delivery(&self.pool, &delivery)
            .await
            .map_err(retryable)?;
        if quiet {
            return Ok(None);
        }
        self.text_alert(alert, phone).await.map(Some)
    }

    async fn text_owner_without_account(
        &self,
        alert: &Alert,
    ) -> Result<SendOutcome, ActivityError> {
        let owner = alerts::owner_phone_without_accounts(&self.pool, alert.notice.business_id)
            .await
            .map_err(retryable)?;
        let Some(phone) = owner
            .filter(|(_, on)| *on || alert.notice.priority)
            .and_then(|(p, _)| E164::parse(&p).ok())
        else {
            return Ok(SendOutcome::Suppressed);
        };
        let delivery = Delivery {
            business_id: alert.notice.business_id,
            notification_id: alert.recorded.id,
            user_id: None,
            channel: "sms",
            target: phone.as_str(),
            status: "pending",
            payload: None,
        };
        alerts::record_delivery(&self.pool, &delivery)
            .await
            .map_err(retryable)?;
        self.text_alert(alert, phone).await
    }

    /// One text per phone and alert: the key is the alert's, plus the phone (two members who
    /// share a phone get one text).
    async fn text_alert(&self, alert: &Alert, to: E164) -> Result<SendOutcome, ActivityError> {
        let n = &alert.notice;
        let body = format!(
            "{}\n#{} {ALERT_ENDING}\n{}",
            alert.body, alert.recorded.number, alert.link
        );
        let outcome = self
            .send(OutboundSms {
                idempotency_key: format!("alert:{}:{}", n.idempotency_key, to.as_str()),
                business_id: n.business_id,
                conversation_id: n.conversation_id,
                workflow_id: n.workflow_id.clone(),
                to: to.clone(),
                body,
                kind: SmsKind::OwnerAlert,
                call_sid: None,
                note: None,
            })
            .await?;
        let status = if matches!(outcome, SendOutcome::Sent { .. }) {
            "sent"
        } else {
            "failed"
        };
        alerts::set_delivery_status(&self.pool, alert.recorded.id, "sms", to.as_str(), status)
            .await
            .map_err(retryable)?;
        Ok(outcome)
    }

    /// Email always goes when chosen (quiet hours do not hold it back: it waits in the inbox).
    /// `instead_of_text`: the business may not text yet, so what would have been a text is mailed.
    async fn mail_member(
        &self,
        alert: &Alert,
        member: &Recipient,
        instead_of_text: bool,
    ) -> Result<(), ActivityError> {
        let by_text = instead_of_text
            && member.prefs.phone.is_some()
            && Self::wants(alert, &member.prefs.sms_kinds);
        if !Self::wants(alert, &member.prefs.email_kinds) && !by_text {
            return Ok(());
        }
        let label = ALERT_KINDS
            .iter()
            .find(|(k, _)| *k == alert.notice.kind.as_str())
            .map_or("Alert", |(_, l)| l);
        let settings = format!("{}/app/settings/alerts", self.public_base_url);
        let html = format!(
            "<p>{}</p><p><a href=\"{}\">Open the conversation</a></p>\
             <p style=\"color:#555;font-size:13px\">Alert #{}. <a href=\"{}\">Choose which alerts you get</a></p>",
            html_escape(&alert.body),
            html_escape(&alert.link),
            alert.recorded.number,
            html_escape(&settings)
        );
        let mail = NewEmail {
            business_id: alert.notice.business_id,
            to: member.email.clone(),
            // No phone number in a subject: subjects show on lock screens and in previews.
            subject: format!("{label} · {}", alert.recorded.business_name),
            text: format!(
                "{}\n\nOpen the conversation: {}\n\nAlert #{}. Choose which alerts you get: {settings}\n",
                alert.body, alert.link, alert.recorded.number
            ),
            html,
            kind: MailKind::Alert,
            unsubscribe_url: None,
            idempotency_key: Some(format!("alert:{}:{}", alert.recorded.id, member.user_id)),
        };
        let mut conn = nmc_store::conn(&self.pool).await.map_err(retryable)?;
        nmc_store::mail::record(&mut conn, &mail)
            .await
            .map_err(retryable)?;
        let delivery = Delivery {
            business_id: alert.notice.business_id,
            notification_id: alert.recorded.id,
            user_id: Some(member.user_id),
            channel: "email",
            target: &member.email,
            status: "sent",
            payload: None,
        };
        alerts::record_delivery(&self.pool, &delivery)
            .await
            .map_err(retryable)?;
        Ok(())
    }

    /// One push per browser the member turned alerts on in; the worker's alert outbox sends it.
    async fn push_member(&self, alert: &Alert, member: &Recipient) -> Result<(), ActivityError> {
        if !Self::wants(alert, &member.prefs.push_kinds) {
            return Ok(());
        }
        let browsers =
            nmc_store::push::subscriptions_of(&self.pool, alert.notice.business_id, member.user_id)
                .await
                .map_err(retryable)?;
        let quiet = Self::quiet_now(alert, member);
        let payload = serde_json::json!({
            "title": alert.recorded.business_name,
            "body": alert.body,
            "url": alert.link,
            "number": alert.recorded.number,
            "id": alert.recorded.id,
            "kind": alert.notice.kind.as_str(),
            "priority": alert.notice.priority,
            // One notification per conversation on the lock screen: a newer alert replaces it.
            "tag": alert.notice.conversation_id,
        });
        for browser in browsers {
            let target = browser.to_string();
            let delivery = Delivery {
                business_id: alert.notice.business_id,
                notification_id: alert.recorded.id,
                user_id: Some(member.user_id),
                channel: "push",
                target: &target,
                status: if quiet { "quiet" } else { "pending" },
                payload: Some(payload.clone()),
            };
            alerts::record_delivery(&self.pool, &delivery)
                .await
                .map_err(retryable)?;
        }
        Ok(())
    }

    /// Slack is the business's channel: the worker's alert outbox posts it.
    async fn queue_slack(&self, alert: &Alert) -> Result<(), ActivityError> {
        let hears = alerts::slack_kinds(&self.pool, alert.notice.business_id)
            .await
            .map_err(retryable)?;
        let Some(kinds) = hears else {
            return Ok(());
        };
        if !Self::wants(alert, &kinds) {
            return Ok(());
        }
        let text = format!(
            "{}{} <{}|Open the conversation> (#{})",
            if alert.notice.priority {
                ":rotating_light: "
            } else {
                ""
            },
            slack_escape(&alert.body),
            alert.link,
            alert.recorded.number
        );
        let delivery = Delivery {
            business_id: alert.notice.business_id,
            notification_id: alert.recorded.id,
            user_id: None,
            channel: "slack",
            target: "slack",
            status: "pending",
            payload: Some(serde_json::json!({ "text": text })),
        };
        alerts::record_delivery(&self.pool, &delivery)
            .await
            .map_err(retryable)?;
        Ok(())
    }
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The HTML part's text: the caller's words are theirs, never markup.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
