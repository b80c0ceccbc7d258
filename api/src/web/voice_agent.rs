//! The AI voice agent's part of `/app/settings/voice` (owner): connect Vapi with its private
//! key, then the voice (with Vapi's sample of each), the spoken greeting and what the agent
//! collects; or disconnect. Saves go through `/api/voice-agent`, like every form here.

use std::time::Duration;

use maud::{Markup, html};
use nmc_domain::voice_agent::{Collect, DEFAULT_VOICE, VOICES, default_agent_greeting};
use nmc_store::voice_agent::Connection;
use nmc_vapi::VoiceSample;

use super::ui::{self, Kind, Submitted, Tone};
use super::voice::PAGE;
use crate::AppState;

/// Vapi's samples for the voices, when the account's library answers quickly (the page does not
/// wait on Vapi longer than this).
pub async fn samples(s: &AppState, c: Option<&Connection>) -> Vec<VoiceSample> {
    let Some(c) = c else { return Vec::new() };
    let Ok(key) = s.secrets.decrypt(&c.api_key_sealed) else {
        return Vec::new();
    };
    match tokio::time::timeout(Duration::from_secs(2), s.vapi.voice_samples(&key)).await {
        Ok(Ok(list)) => list,
        _ => Vec::new(),
    }
}

pub fn section(
    sent: &Submitted,
    c: Option<&Connection>,
    business: &str,
    samples: &[VoiceSample],
) -> Markup {
    html! {
        section class="settings-section" aria-labelledby="agent-title" {
            h2 id="agent-title" { "AI voice agent" }
            p { "When your routing says AI voice, a voice agent on your Vapi account answers the call you missed. It asks what you choose below, offers your open times and books the job, then texts the caller and tells you what was said." }
            @match c {
                None => (connect(sent)),
                Some(c) => (settings(sent, c, business, samples)),
            }
        }
    }
}

fn connect(sent: &Submitted) -> Markup {
    let f = ui::Form::new(sent, "voice-agent", "PUT", "/api/voice-agent", PAGE).merge();
    let voices: Vec<(&str, &str)> = VOICES.iter().map(|v| (*v, *v)).collect();
    html! {
        (f.render("card", &html! {
            (f.field("api_key", "Vapi private API key", "").input("password").attr("autocomplete", "off")
                .hint("From dashboard.vapi.ai, under API Keys. We check it with Vapi and keep it sealed; it is never shown again."))
            (f.field("voice", "Voice", DEFAULT_VOICE).select(&voices))
            button type="submit" { "Connect Vapi" }
        }))
    }
}

fn settings(sent: &Submitted, c: &Connection, business: &str, samples: &[VoiceSample]) -> Markup {
    let f = ui::Form::new(sent, "voice-agent", "PUT", "/api/voice-agent", PAGE).merge();
    let off = ui::Form::new(sent, "voice-agent-off", "DELETE", "/api/voice-agent", PAGE);
    let voices: Vec<(&str, &str)> = VOICES.iter().map(|v| (*v, *v)).collect();
    let default = default_agent_greeting(business);
    let fields: Vec<&str> = Collect::ALL.iter().map(|c| c.as_str()).collect();
    html! {
        p {
            @if c.sip_uri.is_some() && c.health == "ok" {
                (ui::badge("Connected", Tone::Ok))
            } @else {
                (ui::badge("Not in sync with Vapi", Tone::Warn))
                " " (c.last_error.as_deref().unwrap_or("Save again to retry."))
            }
        }
        (f.render("card", &html! {
            (f.field("voice", "Voice", &c.voice).select(&voices))
            (f.field("greeting", "What it says first", c.greeting.as_deref().unwrap_or_default())
                .textarea(3).kind(Kind::Text).attr("maxlength", 300)
                .hint(format!("Leave empty for: \"{default}\"")))
            (f.field("collect", "What it asks, in order", &c.checklist.join(", ")).kind(Kind::List)
                .hint(format!("Any of: {}. It always asks what they need.", fields.join(", "))))
            button type="submit" { "Save" }
        }))
        @if !samples.is_empty() {
            details class="card" {
                summary { "Hear the voices" }
                @for s in samples {
                    @if let Some(url) = s.preview_url.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
                        p { (s.name) br; audio controls preload="none" src=(url) { "Your browser cannot play it." } }
                    }
                }
            }
        }
        (ui::confirm(&off, "Disconnect Vapi", "The assistant and its number are deleted at Vapi; AI-voice hours go to voicemail."))
    }
}
