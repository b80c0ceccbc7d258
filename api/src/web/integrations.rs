//! `/app/settings/integrations` (owner): each CRM and the signed webhook, connected or not. A
//! connected one shows its health (synced, retrying, failing, and the last error in the
//! vendor's words), the field map, pause and disconnect, and its latest deliveries; the others
//! a form asking for exactly what that vendor needs. Every form saves through `/api/crm…`.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use nmc_domain::crm::{MAPPABLE, Vendor};
use nmc_store::crm as store;

use super::ui::{self, Form, Kind, Submitted, Tone};
use super::{Signed, nav, owner_only, page};
use crate::crm::ConnectionView;
use crate::{AppState, error::ApiError};

pub const PAGE: &str = "/app/settings/integrations";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(integrations_page))
        .route("/app/crm/{provider}/connect", post(connect))
}

/// "Connect with HubSpot / GoHighLevel": their OAuth consent, as the calendars do it.
async fn connect(
    Signed(t): Signed,
    State(s): State<AppState>,
    Path(provider): Path<String>,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let offers = Vendor::parse(&provider).is_some_and(|v| s.crms.oauth(v).is_some());
    if !offers {
        return Err(ApiError::NotFound);
    }
    crate::calendar_connect::start(t, &s, &provider).await
}

#[derive(serde::Deserialize, Default)]
struct Shown {
    connected: Option<String>,
    crm_error: Option<String>,
}

async fn integrations_page(
    Signed(t): Signed,
    State(s): State<AppState>,
    Query(shown): Query<Shown>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let views = crate::crm::views(&t, &s).await?;
    let mut logs = Vec::new();
    let mut secrets = Vec::new();
    {
        let mut tx = t.begin(&s.db).await?;
        for v in &views {
            logs.push(store::deliveries(&mut tx, t.business_id, v.id, 5).await?);
        }
        if let Some(sealed) = store::webhook_secret(&mut tx, t.business_id).await? {
            secrets.push(s.secrets.decrypt(&sealed).unwrap_or_default());
        }
        crate::owner::commit(tx).await?;
    }
    let body = html! {
        (nav("settings", &t))
        h1 { "Integrations" }
        @if let Some(p) = shown.connected.as_deref().and_then(Vendor::parse) { p role="status" { (ui::badge("Connected", Tone::Ok)) " " (p.label()) " is connected." } }
        @if let Some(e) = &shown.crm_error { p class="error" role="alert" { (crate::web::calendars::error_words(e)) } }
        p class="hint" { "Every missed-call conversation goes to the CRM you already use when it ends, is booked, or leaves a voicemail: the caller found by phone number (or created) and the conversation added as a note. A push that fails is retried for three days." }
        @for vendor in Vendor::ALL {
            @let connected = views.iter().position(|v| v.vendor == vendor.as_str());
            section class="card" id=(vendor.as_str()) aria-labelledby={ (vendor.as_str()) "-title" } {
                h2 id={ (vendor.as_str()) "-title" } { (vendor.label()) }
                @match connected {
                    Some(i) => (connected_card(&sent, &views[i], &logs[i], secrets.first().map(String::as_str))),
                    None => {
                        @if s.crms.oauth(vendor).is_some_and(nmc_calendar::OAuthClient::configured) {
                            form method="post" action={ "/app/crm/" (vendor.as_str()) "/connect" } {
                                button type="submit" { "Connect with " (vendor.label()) }
                            }
                            p class="hint" { "Or paste a token:" }
                        }
                        (connect_form(&sent, vendor))
                    },
                }
            }
        }
    };
    Ok(page("Integrations", body).into_response())
}

fn tone(health: &str) -> Tone {
    match health {
        "healthy" => Tone::Ok,
        "failing" => Tone::Bad,
        "retrying" | "paused" => Tone::Warn,
        _ => Tone::Muted,
    }
}

fn connected_card(
    sent: &Submitted,
    v: &ConnectionView,
    log: &[store::Delivery],
    webhook_secret: Option<&str>,
) -> Markup {
    let api = format!("/api/crm/connections/{}", v.id);
    let pause = Form::new(
        sent,
        format!("pause-{}", v.vendor),
        "PATCH",
        api.clone(),
        PAGE,
    );
    html! {
        p { (ui::badge(v.health, tone(v.health))) " "
            (v.synced_24h) " synced in the last day · " (v.failed_24h) " failed · " (v.retrying) " retrying" }
        @if let Some(e) = &v.last_error { p class="error" { "Last error: " (e) } }
        @if v.vendor == "webhook" {
            p { "Sends to " code { (v.settings["url"].as_str().unwrap_or_default()) } ", signed as Standard Webhooks v1." }
            @if let Some(secret) = webhook_secret {
                details { summary { "Show the signing secret" } p { code class="secret" { (secret) } } }
            }
        }
        @if Vendor::parse(&v.vendor).is_some_and(Vendor::maps_fields) { (field_map_form(sent, v, &api)) }
        (pause.render("inline-form", &html! {
            input type="hidden" name="_type" value="enabled:bool";
            input type="hidden" name="enabled" value=(if v.enabled { "false" } else { "true" });
            button type="submit" { (if v.enabled { "Pause syncing" } else { "Resume syncing" }) }
        }))
        (ui::confirm(&Form::new(sent, format!("disconnect-{}", v.vendor), "DELETE", api, PAGE),
            "Disconnect", "Nothing more goes to this CRM, and we forget its key and what we pushed."))
        @if !log.is_empty() {
            h3 { "Latest deliveries" }
            div class="scroll" { table class="table" {
                thead { tr { th scope="col" { "When" } th scope="col" { "Why" } th scope="col" { "Attempt" } th scope="col" { "Result" } } }
                tbody { @for d in log { tr {
                    td { (d.attempted_at.format("%b %e %H:%M:%S UTC")) }
                    td { (d.trigger) }
                    td { (d.attempt) }
                    td { @if d.ok { (ui::badge("delivered", Tone::Ok)) } @else {
                        (ui::badge("failed", Tone::Bad)) " " (d.error.clone().unwrap_or_default()) } }
                } } }
            } }
        }
    }
}

fn field_map_form(sent: &Submitted, v: &ConnectionView, api: &str) -> Markup {
    let f = Form::new(sent, format!("fields-{}", v.vendor), "PATCH", api, PAGE);
    html! {
        details {
            summary { "Custom fields" }
            (f.render("card", &html! {
                p class="hint" { "Fill a custom field of yours with each of these (its internal name, key or id in your CRM). Leave empty to skip." }
                @for field in MAPPABLE {
                    (f.field(&format!("field_map.{field}"), &field.replace('_', " "), v.field_map.get(field).map_or("", String::as_str)).kind(Kind::Optional))
                }
                (crate::web::form_status())
                button type="submit" { "Save the fields" }
            }))
        }
    }
}

/// What each vendor asks for, and where the owner finds it.
fn connect_form(sent: &Submitted, vendor: Vendor) -> Markup {
    let f = Form::new(
        sent,
        format!("connect-{}", vendor.as_str()),
        "POST",
        "/api/crm/connections",
        PAGE,
    );
    let key = |label: &str, hint: &str| {
        f.field("key", label, "")
            .hint(hint)
            .attr("autocomplete", "off")
    };
    let setting = |name: &str, label: &str, hint: &str| {
        f.field(&format!("settings.{name}"), label, "").hint(hint)
    };
    html! {
        (f.render("card", &html! {
            input type="hidden" name="vendor" value=(vendor.as_str());
            @match vendor {
                Vendor::HubSpot => (key("Private app access token", "HubSpot → Settings → Integrations → Private Apps, with the contacts read and write scopes.")),
                Vendor::GoHighLevel => {
                    (key("Private Integration Token", "Sub-account → Settings → Private Integrations, with contacts read and write."))
                    (setting("location_id", "Location ID", "Sub-account → Settings → Business Profile."))
                },
                Vendor::ServiceTitan => {
                    (setting("tenant_id", "Tenant ID", "Settings → Integrations → API Application Access, after you allow NeverMissCall."))
                    (setting("client_id", "Client ID", ""))
                    (key("Client secret", ""))
                    (setting("app_key", "App key", "NeverMissCall's app key, shown when you allow the app."))
                    (setting("booking_provider", "Booking provider tag ID", "New callers without an address arrive as Bookings on your Calls screen."))
                },
                Vendor::HousecallPro => (key("API key", "App Store → API → Generate API key (an admin's; needs the MAX plan).")),
                Vendor::Jobber => p { "Uses your Jobber connection from " a href="/app/settings/calendars" { "Calendars" } ": callers become clients, each conversation a request with its notes." },
                Vendor::Webhook => (setting("url", "Your endpoint (https)", "We POST JSON signed as Standard Webhooks v1; you get the signing secret here once connected.")),
            }
            (crate::web::form_status())
            button type="submit" { "Connect " (vendor.label()) }
        }))
    }
}

/// The calls page's CRM column: each caller's latest push per CRM, and "Push to CRM".
pub struct CallsSync {
    pub connected: bool,
    syncs: Vec<store::LeadSync>,
}

impl CallsSync {
    pub async fn load(
        t: &crate::auth::Tenant,
        s: &AppState,
        leads: &[uuid::Uuid],
    ) -> Result<Self, ApiError> {
        let mut tx = t.begin(&s.db).await?;
        let connected = !store::connections(&mut tx, t.business_id).await?.is_empty();
        let syncs = if connected {
            store::latest_for_leads(&mut tx, t.business_id, leads).await?
        } else {
            Vec::new()
        };
        crate::owner::commit(tx).await?;
        Ok(Self { connected, syncs })
    }

    pub fn cell(&self, sent: &Submitted, lead: uuid::Uuid, query: &str) -> Markup {
        let back = format!("/app/calls?{query}");
        let f = Form::new(
            sent,
            format!("crm-push-{lead}"),
            "POST",
            format!("/api/leads/{lead}/crm/push"),
            back,
        );
        let label = |vendor: &str| Vendor::parse(vendor).map_or("CRM", Vendor::label);
        html! {
            @for p in self.syncs.iter().filter(|p| p.lead_id == lead) {
                @let (text, t) = match p.status.as_str() {
                    "synced" => ("synced", Tone::Ok),
                    "failed" => ("failed", Tone::Bad),
                    "retrying" => ("retrying", Tone::Warn),
                    _ => ("pending", Tone::Muted),
                };
                span class="crm-sync" title=(p.last_error.clone().unwrap_or_default()) {
                    (label(&p.vendor)) " " (ui::badge(text, t))
                }
                " "
            }
            (f.render("inline-form", &html! { button type="submit" class="secondary" { "Push to CRM" } }))
        }
    }
}
