//! `/app/settings/voice` (owner): call screening, the voicemail greeting with a preview, what a
//! missed call gets at each time of the week, holidays, and the block list.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nmc_domain::audio::VOICES;
use nmc_domain::routing::{Grid, Holiday, Method};
use nmc_store::voice::{self, Blocked, VoiceSettings};

use super::ui::{self, Kind, Submitted};
use super::{Signed, nav, owner_only, page};
use crate::{AppState, error::ApiError};

pub const PAGE: &str = "/app/settings/voice";

pub fn router() -> Router<AppState> {
    Router::new().route(PAGE, get(voice_page))
}

async fn voice_page(
    Signed(t): Signed,
    State(s): State<AppState>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    let v = voice::settings(&mut tx, t.business_id).await?;
    let (name, _, timezone) = nmc_store::booking::business_basics(&mut tx, t.business_id).await?;
    let zone = super::tz(&timezone);
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let (grid, holidays) = voice::routing_in(&mut tx, t.business_id, today).await?;
    let blocked = voice::blocked(&mut tx, t.business_id).await?;
    let agent = nmc_store::voice_agent::connection(&mut *tx, t.business_id).await?;
    crate::owner::commit(tx).await?;
    let samples = super::voice_agent::samples(&s, agent.as_ref()).await;
    let grid = grid.unwrap_or_else(|| Grid::uniform(Method::Text));
    let with_agent = agent.as_ref().is_some_and(|a| a.sip_uri.is_some());
    let body = html! {
        (nav("settings", &t))
        h1 { "Calls and voicemail" }
        (screening(&sent, &v))
        (voicemail(&sent, &v, &name))
        (super::voice_agent::section(&sent, agent.as_ref(), &name, &samples))
        (routing(&sent, &grid, &holidays, &timezone, with_agent))
        (block_list(&sent, &blocked))
    };
    Ok(page("Calls and voicemail", body).into_response())
}

fn screening(sent: &Submitted, v: &VoiceSettings) -> Markup {
    let f = ui::Form::new(sent, "voice-screening", "PUT", "/api/voice", PAGE).merge();
    html! {
        section class="settings-section" aria-labelledby="screening-title" {
            h2 id="screening-title" { "Call screening" }
            @if v.call_mode == "forwarded" {
                p class="muted" { "Your calls are forwarded from your own phone, so screening does not apply: a call reaches us only once you missed it." }
            }
            (f.render("card", &html! {
                (f.field("call_screening", "Screen calls before they reach me", &v.call_screening.to_string()).checkbox()
                    .hint("Whoever answers hears \"Call for your business — press 1 to take it\". Your voicemail can't press 1, so a call you decline or miss is texted back instead of lost."))
                button type="submit" { "Save" }
            }))
        }
    }
}

fn voicemail(sent: &Submitted, v: &VoiceSettings, business: &str) -> Markup {
    let f = ui::Form::new(sent, "voicemail", "PUT", "/api/voice", PAGE).merge();
    let voices: Vec<(&str, &str)> = VOICES.iter().map(|(v, _, l)| (*v, *l)).collect();
    let default = nmc_domain::default_voicemail_greeting(business);
    let preview = ui::Form::new(
        sent,
        "voicemail-preview",
        "POST",
        "/api/voice/preview-call",
        PAGE,
    );
    let remove = ui::Form::new(
        sent,
        "voicemail-audio-remove",
        "DELETE",
        "/api/voice/greeting-audio",
        PAGE,
    );
    html! {
        section class="settings-section" aria-labelledby="voicemail-title" {
            h2 id="voicemail-title" { "Voicemail" }
            p { "When your routing sends a missed call to voicemail, the caller hears your greeting and leaves a message. We keep the recording, write it out, alert you, and text the caller back about what they said." }
            (f.render("card", &html! {
                (f.field("voicemail.greeting", "Greeting", v.voicemail_greeting.as_deref().unwrap_or_default())
                    .textarea(3).kind(Kind::Text).attr("maxlength", 500)
                    .hint(format!("Leave empty for: \"{default}\"")))
                (f.field("voicemail.voice", "Voice", &v.voicemail_voice).select(&voices))
                (f.field("voicemail.max_secs", "Longest message (seconds)", &v.voicemail_max_secs.to_string())
                    .kind(Kind::Int).attr("inputmode", "numeric"))
                button type="submit" { "Save" }
            }))
            div class="card" {
                h3 { "Your own recording" }
                @if v.voicemail_audio {
                    p { "Callers hear your recording instead of the spoken greeting." }
                    audio controls preload="none" src="/api/voice/greeting-audio" { "Your browser cannot play it." }
                    (ui::confirm(&remove, "Use the spoken greeting", "Your recording is deleted."))
                } @else {
                    p class="muted" { "Or upload your own greeting: an MP3 or WAV file, up to 60 seconds and 2 MB." }
                }
                label for="greeting-file" { "Recording" }
                input id="greeting-file" type="file" accept="audio/mpeg,audio/wav,.mp3,.wav" data-upload="/api/voice/greeting-audio";
                p class="muted" role="status" id="greeting-file-status" {}
                noscript { p class="muted" { "Uploading needs JavaScript." } }
            }
            (preview.render("card", &html! {
                p { "Hear it as callers will: we call your phone (the one you proved under Alerts) and play the greeting." }
                button type="submit" { "Call me to hear it" }
            }))
        }
    }
}

fn routing(
    sent: &Submitted,
    grid: &Grid,
    holidays: &[Holiday],
    timezone: &str,
    with_agent: bool,
) -> Markup {
    // AI voice is offered once a voice agent is connected (the API refuses it before).
    let methods: Vec<(&str, &str)> = Method::ALL
        .iter()
        .filter(|m| with_agent || !m.needs_voice_agent())
        .map(|m| (m.as_str(), m.label()))
        .collect();
    let preset = ui::Form::new(sent, "routing-preset", "PUT", "/api/routing", PAGE);
    let range = ui::Form::new(sent, "routing-range", "PUT", "/api/routing", PAGE);
    let holiday = ui::Form::new(
        sent,
        "routing-holiday",
        "POST",
        "/api/routing/holidays",
        PAGE,
    );
    let days = [
        ("weekdays", "Monday to Friday"),
        ("weekends", "Saturday and Sunday"),
        ("every_day", "Every day"),
        ("monday", "Monday"),
        ("tuesday", "Tuesday"),
        ("wednesday", "Wednesday"),
        ("thursday", "Thursday"),
        ("friday", "Friday"),
        ("saturday", "Saturday"),
        ("sunday", "Sunday"),
    ];
    html! {
        section class="settings-section" aria-labelledby="routing-title" {
            h2 id="routing-title" { "What a missed call gets" }
            p { "Each half hour of the week says what happens to a call you miss, on your clock (" (timezone) ")." }
            (week(grid))
            (preset.render("card", &html! {
                h3 { "Start from your business hours" }
                div class="grid2" {
                    (preset.field("preset.open", "While you're open", "text").id("preset-open").select(&methods))
                    (preset.field("preset.closed", "After hours", "voicemail").id("preset-closed").select(&methods))
                }
                button type="submit" { "Apply to the whole week" }
            }))
            (range.render("card", &html! {
                h3 { "Change some hours" }
                (range.field("range.days", "Days", "weekdays").id("range-days").select(&days))
                div class="grid3" {
                    (range.field("range.from", "From", "18:00").id("range-from").input("time"))
                    (range.field("range.to", "Until", "22:00").id("range-to").input("time"))
                    (range.field("range.method", "Calls get", "voicemail").id("range-method").select(&methods))
                }
                button type="submit" { "Apply" }
            }))
            h3 { "Holidays" }
            @if holidays.is_empty() { p class="muted" { "No holidays coming up." } }
            ul class="list" {
                @for h in holidays {
                    li class="row" {
                        span { strong { (h.day.format("%a %b %-d, %Y")) } " " (h.label.clone().unwrap_or_default()) }
                        span { (ui::badge(h.method.label(), ui::Tone::Info)) }
                        (ui::confirm(&ui::Form::new(sent, format!("holiday-{}", h.day), "DELETE", format!("/api/routing/holidays/{}", h.day), PAGE), "Remove", "That day follows the week again."))
                    }
                }
            }
            (holiday.render("card", &html! {
                div class="grid3" {
                    (holiday.field("day", "Day", "").id("holiday-day").input("date").attr("required", ""))
                    (holiday.field("method", "Calls get", "voicemail").id("holiday-method").select(&methods))
                    (holiday.field("label", "Name", "").id("holiday-label").kind(Kind::Optional).attr("maxlength", 80).attr("placeholder", "Christmas"))
                }
                button type="submit" { "Add holiday" }
            }))
        }
    }
}

/// The week as a table: a row per day, a cell per hour holding its two half hours.
fn week(grid: &Grid) -> Markup {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let short = |m: Method| match m {
        Method::Text => "T",
        Method::Voicemail => "V",
        Method::AiVoice => "A",
        Method::Both => "B",
    };
    html! {
        div class="scroll" tabindex="0" role="region" aria-label="The week's routing" {
            table class="table routing-week" {
                caption class="muted" { "T = text, V = voicemail, A = AI voice, B = AI voice and text; two letters per hour (:00 and :30)." }
                thead { tr { th scope="col" { "Day" } @for h in 0..24 { th scope="col" { (h) } } } }
                tbody {
                    @for (d, day) in DAYS.iter().enumerate() {
                        tr {
                            th scope="row" { (day) }
                            @for h in 0..24 {
                                @let a = grid.cells()[d * 48 + h * 2];
                                @let b = grid.cells()[d * 48 + h * 2 + 1];
                                td class={ "route-" (a.as_str()) } title={ (day) " " (h) ":00 " (a.label()) ", :30 " (b.label()) } { (short(a)) (short(b)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn block_list(sent: &Submitted, blocked: &[Blocked]) -> Markup {
    let f = ui::Form::new(sent, "block-caller", "POST", "/api/blocked-callers", PAGE);
    html! {
        section class="settings-section" aria-labelledby="blocked-title" {
            h2 id="blocked-title" { "Blocked callers" }
            p { "Calls from these numbers are turned away without a lead, a text or an alert; their texts are ignored (a STOP still counts)." }
            ul class="list" {
                @for b in blocked {
                    li class="row" {
                        span { (ui::phone(&b.phone)) " " span class="muted" { (b.note.clone().unwrap_or_default()) } }
                        (ui::confirm(&ui::Form::new(sent, format!("unblock-{}", b.phone.trim_start_matches('+')), "DELETE", format!("/api/blocked-callers/{}", b.phone), PAGE), "Unblock", "Their calls reach you again."))
                    }
                }
            }
            (f.render("card", &html! {
                div class="grid2" {
                    (f.field("phone", "Phone number", "").id("block-phone").input("tel").attr("required", "").attr("autocomplete", "off"))
                    (f.field("note", "Why (for you)", "").id("block-note").kind(Kind::Optional).attr("maxlength", 200))
                }
                button type="submit" { "Block" }
            }))
        }
    }
}
