//! `/app/settings/messaging` (owner): the texting registration US carriers require, prefilled
//! from what the business already texts, with the status and the carriers' reason in plain words.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nmc_domain::registration::{Registration, status_words};
use nmc_store::settings;

use super::ui::{self, Kind, Submitted, Tone};
use super::{Signed, form_status, nav, owner_only, page};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new().route("/app/settings/messaging", get(messaging_page))
}

fn tone(status: &str) -> Tone {
    match status {
        "approved" => Tone::Ok,
        "rejected" => Tone::Bad,
        _ => Tone::Warn,
    }
}

fn brand_fields(f: &ui::Form, r: &Registration) -> Markup {
    let b = &r.brand;
    html! {
        fieldset {
            legend { "The business (brand)" }
            (f.field("brand.business_type", "Kind of business", &b.business_type)
                .select(&[("sole_proprietor", "Sole proprietor (no EIN)"), ("company", "Company with an EIN")]))
            (f.field("brand.legal_name", "Legal name", &b.legal_name).attr("required", "").attr("autocomplete", "organization"))
            (f.field("brand.ein", "EIN (companies)", &b.ein).hint("Like 12-3456789. Sole proprietors leave it empty."))
            (f.field("brand.street", "Street address", &b.street).attr("autocomplete", "street-address"))
            div class="grid3" {
                (f.field("brand.city", "City", &b.city))
                (f.field("brand.state", "State or province", &b.state).hint("Two letters, like TX"))
                (f.field("brand.postal_code", "ZIP or postal code", &b.postal_code))
            }
            (f.field("brand.country", "Country", &b.country).select(&[("US", "United States"), ("CA", "Canada")]))
            (f.field("brand.website", "Website", &b.website).input("url").hint("Companies need one; carriers check it."))
            (f.field("brand.contact_name", "Contact person", &b.contact_name))
            (f.field("brand.contact_email", "Contact email", &b.contact_email).input("email"))
            (f.field("brand.contact_phone", "Contact phone", &b.contact_phone).input("tel"))
        }
    }
}

fn campaign_fields(f: &ui::Form, r: &Registration) -> Markup {
    let c = &r.campaign;
    html! {
        fieldset {
            legend { "What you text (campaign)" }
            (f.field("campaign.description", "What the texts are for", &c.description).textarea(3))
            (f.field("campaign.sample_messages", "Sample texts, one per line", &c.sample_messages.join("\n"))
                .textarea(5).kind(Kind::Lines).hint("Two to five, exactly as callers get them; name the business in at least one."))
            (f.field("campaign.opt_in", "How callers come to get texts", &c.opt_in).textarea(3))
            (f.field("campaign.help_message", "Your answer to HELP", &c.help_message).textarea(2))
            (f.field("campaign.opt_out_message", "Your answer to STOP", &c.opt_out_message).textarea(2))
        }
    }
}

async fn messaging_page(
    Signed(t): Signed,
    State(s): State<AppState>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    let m = settings::messaging(&mut tx, t.business_id).await?;
    let r = crate::messaging::draft(&m);
    let f = ui::Form::new(
        &sent,
        "messaging",
        "PUT",
        "/api/messaging",
        "/app/settings/messaging",
    );
    let body = html! {
        (nav("settings", &t))
        h1 { "Texting registration" }
        p role="status" { (ui::badge(&m.messaging_status.replace('_', " "), tone(&m.messaging_status))) " " (status_words(&m.messaging_status)) }
        @if let Some(note) = &m.messaging_note { p class="error" { strong { "The carriers said: " } (note) } }
        p class="muted" { "US carriers require every business that texts customers to register who it is and what it sends (A2P 10DLC). We filled this in from your settings and greeting: check it and submit." }
        (f.render("card", &html! {
            (brand_fields(&f, &r))
            (campaign_fields(&f, &r))
            (form_status())
            button type="submit" { @if m.messaging_status == "approved" { "Save changes" } @else { "Submit for approval" } }
        }))
    };
    Ok(page("Texting registration", body).into_response())
}

/// The set-up wizard's step: the same registration, then on to testing (or later, by the link:
/// until it is approved callers are not texted and alerts come by email).
pub(super) fn wizard_step(sent: &Submitted, m: &settings::Messaging, next: &str) -> Markup {
    let r = crate::messaging::draft(m);
    let f = ui::Form::new(
        sent,
        "messaging",
        "PUT",
        "/api/messaging",
        "/app/onboarding/texting",
    )
    .next(next);
    html! {
        h1 { "Texting registration" }
        p { "US carriers only deliver texts from business numbers that are registered (A2P 10DLC). We filled this in from what you told us; add your address, check it, and submit. Approval usually takes a few days; until then missed callers are not texted and your alerts come by email." }
        p role="status" { (ui::badge(&m.messaging_status.replace('_', " "), tone(&m.messaging_status))) " " (status_words(&m.messaging_status)) }
        (f.render("card", &html! {
            (brand_fields(&f, &r))
            (campaign_fields(&f, &r))
            (form_status())
            button type="submit" { "Submit and continue" }
        }))
        p { a class="button secondary" href=(next) { "Skip for now" } }
    }
}
