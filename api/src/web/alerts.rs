//! `/app/settings/alerts`: each member chooses which alerts reach them by text, email and push,
//! their phone and quiet hours; the owner also connects Slack. Plain forms through `/app/save`.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nmc_domain::team::{ALERT_KINDS, QuietHours};
use nmc_store::alerts;

use super::ui::{self, Kind, Submitted};
use super::{Signed, form_status, nav, page};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app/settings/alerts", get(alerts_page))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe),
        )
}

/// The weekly email's unsubscribe link. A GET only asks (mail scanners open links); the POST,
/// from this page or a mail app's one-click (RFC 8058: `List-Unsubscribe=One-Click`, no cookies),
/// stops it, answers in place (never a redirect) and is safe to repeat.
async fn unsubscribe_page(
    State(s): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Response {
    if s.links
        .open_unsubscribe(&token, chrono::Utc::now())
        .is_err()
    {
        return not_ours();
    }
    let body = html! {
        h1 { "Stop the weekly email?" }
        p { "You will no longer get Monday's summary of the week. Alerts about calls and texts are not affected." }
        form method="post" action={ "/unsubscribe/" (token) } class="card" {
            input type="hidden" name="List-Unsubscribe" value="One-Click";
            button type="submit" { "Stop the weekly email" }
        }
    };
    page("Weekly email", body).into_response()
}

async fn unsubscribe(
    State(s): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let Ok(user) = s.links.open_unsubscribe(&token, chrono::Utc::now()) else {
        return Ok(not_ours());
    };
    nmc_store::digest::unsubscribe(&s.db, user).await?;
    let body = html! {
        h1 { "Done" }
        p { "You will not get the weekly email any more. Turn it back on any time in " a href="/app/settings/alerts" { "your alert settings" } "." }
    };
    Ok(page("Weekly email", body).into_response())
}

fn not_ours() -> Response {
    let body = html! {
        h1 { "Link not valid" }
        p { "This unsubscribe link is not one of ours, or it was cut short. You can stop the weekly email in " a href="/app/settings/alerts" { "your alert settings" } "." }
    };
    (
        axum::http::StatusCode::NOT_FOUND,
        page("Link not valid", body),
    )
        .into_response()
}

const CHANNELS: [(&str, &str); 3] = [("sms", "Text"), ("email", "Email"), ("push", "Push")];

/// One row per alert kind, one box per channel.
fn grid(f: &ui::Form, p: &alerts::Preferences) -> Markup {
    let chosen = |channel: &str| match channel {
        "sms" => &p.sms_kinds,
        "email" => &p.email_kinds,
        _ => &p.push_kinds,
    };
    html! {
        table class="grid" {
            thead { tr { th scope="col" { "Alert" } @for (_, label) in CHANNELS { th scope="col" { (label) } } } }
            tbody {
                @for (kind, label) in ALERT_KINDS {
                    tr {
                        th scope="row" { (label) }
                        @for (channel, channel_label) in CHANNELS {
                            td {
                                @let name = format!("channels.{channel}.{kind}");
                                @let on = chosen(channel).iter().any(|k| k == kind);
                                input type="checkbox" name=(name) id=(name) value="true"
                                    aria-label={ (label) " by " (channel_label) } checked[f.checked(&name, "true", on)];
                                input type="hidden" name="_type" value={ (name) ":bool" };
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn alerts_page(
    Signed(t): Signed,
    State(s): State<AppState>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    let kinds: Vec<&str> = ALERT_KINDS.iter().map(|(k, _)| *k).collect();
    let mut tx = t.begin(&s.db).await?;
    let p = alerts::preferences(&mut tx, t.business_id, t.user_id, &kinds).await?;
    let (slack, digest) = if t.owner_role {
        (
            Some(alerts::slack(&mut tx, t.business_id).await?),
            Some(nmc_store::digest::wanted(&mut tx, t.business_id, t.user_id).await?),
        )
    } else {
        (None, None)
    };
    let mine = ui::Form::new(
        &sent,
        "alerts",
        "PUT",
        "/api/me/alerts",
        "/app/settings/alerts",
    );
    let clock = |m: Option<i16>| {
        m.and_then(|m| u16::try_from(m).ok())
            .map(QuietHours::clock)
            .unwrap_or_default()
    };
    let body = html! {
        (nav("alerts", &t))
        h1 { "Your alerts" }
        p { "Emergencies reach you on every channel you have, whatever you tick. Every alert is also in "
            a href="/app/notifications" { "Notifications" } "." }
        @if p.sms_stopped { p role="status" { (ui::badge("Texts stopped", ui::Tone::Warn)) " You texted STOP. Text START to the business number to get alert texts again." } }
        (mine.render("card", &html! {
            (mine.field("phone", "Your mobile for alert texts and commands", p.phone.as_deref().unwrap_or_default())
                .input("tel").kind(Kind::Optional).attr("autocomplete", "tel")
                .hint("Reply to an alert from this phone to text the caller. HELP lists the commands."))
            (grid(&mine, &p))
            div class="grid3" {
                (mine.field("quiet_hours.start", "Quiet from", &clock(p.quiet_start)).input("time").kind(Kind::Text))
                (mine.field("quiet_hours.end", "until", &clock(p.quiet_end)).input("time").kind(Kind::Text))
            }
            p class="muted" { "Quiet hours hold back texts and push (not emergencies); email always goes." }
            @if let Some(on) = digest {
                (mine.field("weekly_digest", "The weekly email: last week's calls, recoveries and revenue, Mondays at 7:00", &on.to_string()).checkbox())
            }
            (form_status())
            button type="submit" { "Save" }
        }))
        @if let Some(phone) = p.phone.as_deref() { (phone_proof(&sent, phone, p.phone_verified, "/app/settings/alerts")) }
        section class="settings-section" {
            h2 { "Alerts on this device" }
            p { "Notifications on this phone or computer, even with the app closed (the Push column above says which)." }
            div id="push-alerts" { noscript { p { "Turning these on needs JavaScript; text and email alerts work without it." } } }
        }
        @if let Some((connected, hears)) = slack { (slack_section(&sent, connected, &hears)) }
    };
    Ok(page("Your alerts", body).into_response())
}

/// Proving the alert phone with a texted code: nothing is texted to it, and its texts are not
/// commands, until then.
pub(crate) fn phone_proof(sent: &Submitted, phone: &str, verified: bool, back: &str) -> Markup {
    if verified {
        return html! { p id="phone-proof" role="status" { (ui::badge("Proved", ui::Tone::Ok)) " Alert texts go to " (ui::phone(phone)) "." } };
    }
    let ask = ui::Form::new(sent, "phone-code", "POST", "/api/me/phone/code", back);
    let prove = ui::Form::new(sent, "phone-verify", "POST", "/api/me/phone/verify", back);
    html! {
        section class="card" id="phone-proof" aria-labelledby="phone-proof-title" {
            h2 id="phone-proof-title" { "Prove " (ui::phone(phone)) " is yours" }
            p { "Alerts are texted to this phone only after you enter the code we text it." }
            (ask.render("", &html! { button type="submit" class="secondary" { "Text me a code" } }))
            (prove.render("", &html! {
                (prove.field("code", "The six-digit code", "").input("text")
                    .attr("inputmode", "numeric").attr("autocomplete", "one-time-code").attr("maxlength", 6))
                button type="submit" { "Prove it" }
            }))
        }
    }
}

fn slack_section(sent: &Submitted, connected: bool, hears: &[String]) -> Markup {
    let f = ui::Form::new(
        sent,
        "slack",
        "PUT",
        "/api/settings/slack",
        "/app/settings/alerts",
    );
    html! {
        section class="settings-section" {
            h2 { "Slack" }
            p { @if connected { (ui::badge("Connected", ui::Tone::Ok)) " Alerts post to your channel." }
                @else { "Post alerts to a Slack channel: add an incoming webhook in Slack and paste its URL." } }
            (f.render("card", &html! {
                (f.field("webhook_url", "Incoming webhook URL", "").input("url").attr("autocomplete", "off")
                    .hint(if connected { "Leave empty to keep the connected channel." } else { "Starts with https://hooks.slack.com/services/" }))
                fieldset {
                    legend { "Post these" }
                    @for (kind, label) in ALERT_KINDS {
                        @let name = format!("kinds.{kind}");
                        label class="check" {
                            input type="checkbox" name=(name) value="true" checked[f.checked(&name, "true", hears.iter().any(|k| k == kind))];
                            input type="hidden" name="_type" value={ (name) ":bool" };
                            " " (label)
                        }
                    }
                }
                (form_status())
                button type="submit" { "Save" }
            }))
            @if connected {
                (ui::confirm(
                    &ui::Form::new(sent, "slack-off", "DELETE", "/api/settings/slack", "/app/settings/alerts"),
                    "Disconnect Slack",
                    "Alerts stop posting to the channel.",
                ))
            }
        }
    }
}
