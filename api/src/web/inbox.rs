//! The inbox: conversations with filters (live), the thread showing who said what with delivery
//! ticks, Take over / Return to assistant, the composer, the owner's head-start countdown, the
//! lead card (editable in place) and booking the job by hand.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use maud::{Markup, html};
use nmc_store::inbox::{self, ConversationFilter};
use nmc_store::scheduling;
use serde::Deserialize;
use uuid::Uuid;

use super::ui::{self, Submitted, Tone};
use super::{Signed, form_status, nav, page};
use crate::error::Params;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app/inbox", get(list))
        .route("/app/inbox/list", get(list_fragment))
        .route("/app/inbox/{conversation_id}", get(detail))
        .route("/app/inbox/{conversation_id}/thread", get(thread_fragment))
        .route(
            "/app/inbox/{conversation_id}/controls",
            get(controls_fragment),
        )
        .route("/app/inbox/{conversation_id}/takeover", post(take_over))
        .route("/app/inbox/{conversation_id}/return", post(give_back))
        .route("/app/inbox/{conversation_id}/send", post(send))
}

#[derive(Deserialize)]
struct Filter {
    show: Option<String>,
    /// Older conversations: the store's cursor from the page before.
    cursor: Option<String>,
}

const FILTERS: [(&str, &str); 5] = [
    ("", "All"),
    ("needs_owner", "Needs you"),
    ("assistant", "Assistant"),
    ("booked", "Booked"),
    ("closed", "Closed"),
];

fn filter_for(show: &str) -> ConversationFilter {
    ConversationFilter {
        status: match show {
            "closed" => Some("closed".into()),
            "assistant" | "needs_owner" => Some("active".into()),
            _ => None,
        },
        needs_owner: (show == "needs_owner").then_some(true),
        emergency: None,
        mode: (show == "assistant").then(|| "assistant".to_owned()),
        booked: (show == "booked").then_some(true),
    }
}

async fn rows(t: &crate::auth::Tenant, s: &AppState, f: &Filter) -> Result<Markup, ApiError> {
    let show = f.show.as_deref().unwrap_or_default();
    let cursor = f.cursor.as_deref().and_then(inbox::Cursor::decode);
    let mut tx = t.begin(&s.db).await?;
    let page = inbox::conversations(&mut tx, t.business_id, &filter_for(show), cursor, 50).await?;
    let (_, _, timezone) = nmc_store::booking::business_basics(&mut tx, t.business_id).await?;
    let zone = super::tz(&timezone);
    Ok(html! {
        @if page.items.is_empty() {
            @if show.is_empty() {
                (ui::empty(&html! {
                    "No conversations yet. When a call is missed, the caller gets a text and the conversation appears here at once. "
                    "Try it: ring your number from the " a href="/dev/phone" { "dev phone" } "."
                }, None))
            } @else { (ui::empty(&html! { "Nothing here right now." }, None)) }
        }
        ul class="list" {
            @for c in &page.items { (row(c, zone)) }
        }
        @if let Some(next) = &page.next_cursor {
            p { a class="button secondary" href={ "/app/inbox?show=" (show) "&cursor=" (super::enc(next)) } { "Older conversations" } }
        }
    })
}

/// One conversation: who (the number, formatted, until they give a name), what they need, and
/// the latest text other than our greeting — or, while there is none, the missed call and when.
pub(crate) fn row(c: &inbox::ConversationSummary, zone: chrono_tz::Tz) -> Markup {
    let who = c
        .caller_name
        .clone()
        .unwrap_or_else(|| nmc_domain::phone::display(&c.caller_phone));
    let (preview, at) = match (&c.preview, c.missed_call) {
        (Some(text), _) => (text.clone(), c.last_message_at.unwrap_or(c.created_at)),
        (None, true) => ("Missed call".to_owned(), c.created_at),
        (None, false) => (String::new(), c.created_at),
    };
    html! {
        li class="row" {
            a class="row-main" href={ "/app/inbox/" (c.id) } {
                strong class="who" { (who) }
                span {
                    @if c.emergency { (ui::badge("Emergency", Tone::Bad)) }
                    @if c.needs_owner { (ui::badge("Needs you", Tone::Warn)) }
                    @if c.mode == "owner" { (ui::badge("You have it", Tone::Info)) }
                    @if c.status != "active" { (ui::badge(&c.status.replace('_', " "), Tone::Muted)) }
                    @if let Some(need) = &c.service_needed { span class="muted" { (need) } }
                }
                span class="muted" { (preview.chars().take(80).collect::<String>()) }
            }
            span class="row-side" { (ui::when(at, zone)) }
        }
    }
}

async fn list(
    Signed(t): Signed,
    State(s): State<AppState>,
    Params(f): Params<Filter>,
) -> Result<Response, ApiError> {
    let list = rows(&t, &s, &f).await?;
    let show = f.show.unwrap_or_default();
    let older = f
        .cursor
        .map(|c| format!("&cursor={}", super::enc(&c)))
        .unwrap_or_default();
    Ok(page(
        "Inbox",
        html! {
            (nav("inbox", &t))
            h1 { "Inbox" }
            nav class="filters" aria-label="Filter" {
                @for (key, label) in FILTERS {
                    a href={ "/app/inbox" @if !key.is_empty() { "?show=" (key) } } aria-current=[(key == show).then_some("page")] { (label) }
                }
            }
            div id="conversations" data-live={ "/app/inbox/list?show=" (show) (older) } data-on="conversation.created conversation.updated message.created lead.updated" { (list) }
        },
    )
    .into_response())
}

async fn list_fragment(
    Signed(t): Signed,
    State(s): State<AppState>,
    Params(f): Params<Filter>,
) -> Result<Markup, ApiError> {
    rows(&t, &s, &f).await
}

fn ticks(status: &str) -> &str {
    match status {
        "delivered" | "read" => "✓✓ delivered",
        "sent" | "queued" | "accepted" | "sending" => "✓ sent",
        "failed" | "undelivered" => "✗ not delivered",
        "held" => "held (messaging registration pending)",
        "suppressed" => "not sent (opted out)",
        "pending" => "sending…",
        other => other,
    }
}

fn thread(
    messages: &[inbox::Message],
    zone: chrono_tz::Tz,
    until: Option<chrono::DateTime<Utc>>,
) -> Markup {
    html! {
        @if messages.is_empty() { p class="empty" { "No texts yet." } }
        @for m in messages {
            div class=(match (m.direction.as_str(), m.sender.as_str()) { ("inbound", _) => "bubble them", (_, "owner") => "bubble me owner", _ => "bubble me" }) {
                small class="who" { (match (m.sender.as_str(), m.kind.as_str()) { ("caller", "voicemail") => "Caller's voicemail", ("caller", "agent_call") => "Call with your AI voice agent", ("caller", _) => "Caller", ("assistant", _) => "Assistant", ("owner", _) => "You", _ => "Automatic" }) }
                @if let Some(id) = m.recording_id {
                    audio controls preload="none" src={ "/api/recordings/" (id) "/audio" } aria-label="Play the voicemail" { "Your browser cannot play it." }
                }
                p { (m.body) }
                @if let Some(note) = &m.note { small class="note" { (note) } br; }
                small { time datetime=(m.created_at.to_rfc3339()) { (m.created_at.with_timezone(&zone).format("%-I:%M %p")) }
                    @if m.direction == "outbound" { " · " span class=(if matches!(m.status.as_str(), "failed" | "undelivered") { "tick bad" } else { "tick" }) { (ticks(&m.status)) } } }
            }
        }
        @if let Some(until) = until {
            p class="countdown" role="status" { "Your head start: the assistant answers in " strong data-until=(until.to_rfc3339()) { "…" } ". Take over to answer yourself." }
        }
    }
}

/// The lead card: what the assistant learned, editable in place (owner edits win over later
/// assistant guesses).
fn lead_card(sent: &Submitted, lead: &inbox::Lead, back: &str, owner: bool) -> Markup {
    let urgencies = [
        ("unknown", "Not known"),
        ("emergency", "Emergency"),
        ("soon", "Soon"),
        ("flexible", "Flexible"),
    ];
    let f = ui::Form::new(
        sent,
        "lead",
        "PATCH",
        format!("/api/leads/{}", lead.id),
        back,
    )
    .changed_only();
    let stored = |v: &Option<String>| v.clone().unwrap_or_default();
    html! {
        details class="card lead" open[f.error("name").is_some() || sent.form == "lead"] {
            summary {
                strong { (lead.name.clone().unwrap_or_else(|| "Caller".into())) } " · " (nmc_domain::phone::display(&lead.phone))
                br; span class="muted" { (lead.service_needed.clone().unwrap_or_else(|| "need not known yet".into())) " · " (lead.urgency.clone().unwrap_or_else(|| "urgency not known".into())) }
                br; span class="muted" { (lead.address.clone().unwrap_or_else(|| "no address yet".into())) }
                " " span class="link" { "Edit" }
            }
            (f.render("card", &html! {
                (f.field("name", "Name", &stored(&lead.name)).id("lead-name").attr("maxlength", 200))
                (f.field("service_needed", "Needs", &stored(&lead.service_needed)).id("lead-need").attr("maxlength", 500))
                (f.field("urgency", "Urgency", lead.urgency.as_deref().unwrap_or("unknown")).id("lead-urgency").select(&urgencies))
                (f.field("address", "Address", &stored(&lead.address)).id("lead-address").attr("maxlength", 500).attr("autocomplete", "street-address"))
                (f.field("notes", "Notes", &stored(&lead.notes)).id("lead-notes").textarea(2).attr("maxlength", 2000))
                (form_status())
                button type="submit" { "Save lead" }
            }))
            @if owner { (privacy_actions(sent, &lead.phone)) }
        }
    }
}

/// The caller's privacy rights, exercised by the owner: everything we hold in one download,
/// or everything erased (the opt-out kept).
fn privacy_actions(sent: &Submitted, phone: &str) -> Markup {
    let erase = ui::Form::new(
        sent,
        "erase-caller",
        "POST",
        "/api/privacy/erase",
        "/app/inbox",
    );
    let block = ui::Form::new(
        sent,
        "block-this-caller",
        "POST",
        "/api/blocked-callers",
        "/app/inbox",
    );
    html! {
        (ui::confirm_with(&block, "Block this caller",
            "Their calls are turned away and their texts ignored from now on, with no alert. Unblock them under Settings → Calls and voicemail.",
            &html! { input type="hidden" name="phone" value=(phone); input type="hidden" name="note" value="spam"; }))
        p { a href={ "/api/privacy/caller?phone=" (super::enc(phone)) } download { "Download everything about this caller" } }
        (ui::confirm_with(&erase, "Erase this caller",
            "Their calls, texts and lead go for good, here and in the history; if they opted out, that stays.",
            &html! { input type="hidden" name="phone" value=(phone); }))
    }
}

async fn detail(
    Signed(t): Signed,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let c = inbox::conversation(&mut tx, t.business_id, id).await?;
    let lead = inbox::lead(&mut tx, t.business_id, c.lead_id).await?;
    let messages = inbox::messages(&mut tx, t.business_id, id).await?;
    let catalog = scheduling::catalog(&mut tx, t.business_id, true).await?;
    let has_crew = scheduling::technicians(&mut tx, t.business_id)
        .await?
        .iter()
        .any(|t| t.active);
    let matched = lead.service_needed.as_deref().and_then(|need| {
        let items: Vec<_> = catalog.iter().map(|c| c.item()).collect();
        nmc_assistant::catalog::match_item(need, &items).map(|m| m.name.clone())
    });
    let matched_row = catalog.iter().find(|c| Some(&c.name) == matched.as_ref());
    let minutes = match matched_row {
        Some(row) => row.duration_minutes,
        None => {
            scheduling::rules(&mut tx, t.business_id)
                .await?
                .default_job_minutes
        }
    };
    let (timezone, slots) =
        scheduling::open_slots(&mut tx, t.business_id, minutes, None, Utc::now()).await?;
    let zone = super::tz(&timezone);
    let offers = nmc_domain::availability::pick_offers(zone, &slots, 8);
    drop(tx);
    let open = c.status == "active";
    let until = if open && c.mode == "assistant" {
        s.temporal.owner_window_until(&c.workflow_id).await
    } else {
        None
    };
    let back = format!("/app/inbox/{id}");
    let book = ui::Form::new(&sent, "book", "POST", "/api/appointments", back.clone())
        .next("/app/appointments?view=list");
    Ok(page(
        "Conversation",
        html! {
            (nav("inbox", &t))
            p { a href="/app/inbox" { "← All conversations" } }
            h1 { (lead.name.clone().unwrap_or_else(|| nmc_domain::phone::display(&lead.phone)))
                @if c.emergency { " " (ui::badge("Emergency", Tone::Bad)) } }
            (lead_card(&sent, &lead, &back, t.owner_role))
            div id="controls" data-live={ "/app/inbox/" (id) "/controls" } data-on="conversation.updated" { (controls(&c, &lead)) }
            section id="thread" class="thread" aria-live="polite" aria-label="Messages" tabindex="0" data-stick-bottom
                data-live={ "/app/inbox/" (id) "/thread" } data-on="message.created message.updated conversation.updated" { (thread(&messages, zone, until)) }
            @if open {
                form method="post" action={ "/app/inbox/" (id) "/send" } class="compose" {
                    label for="body" class="visually-hidden" { "Message to the caller" }
                    // One key per rendered form: a double tap or a resubmit sends the text once.
                    input type="hidden" name="key" value=(Uuid::new_v4());
                    input id="body" name="body" placeholder="Text the caller" required maxlength="1600" autocomplete="off";
                    button type="submit" { "Send" }
                }
            }
            @if has_crew && !offers.is_empty() {
                details class="card book" open[sent.form == "book"] {
                    summary { "Book this job" }
                    (book.render("card", &html! {
                        input type="hidden" name="customer_phone" value=(lead.phone);
                        input type="hidden" name="idempotency_key" value={ "web-" (Uuid::new_v4()) };
                        input type="hidden" name="_type" value="catalog_item_id:optional";
                        label for="book-service" { "Job" }
                        select id="book-service" name="catalog_item_id" {
                            option value="" { "Not on the price list (" (minutes) " min)" }
                            // Prices are the owner's (technicians get 403 on the price list too).
                            @for item in &catalog {
                                option value=(item.id) selected[Some(&item.name) == matched.as_ref()] {
                                    (item.name)
                                    @if t.owner_role { " — " (nmc_assistant::catalog::price_text(&item.item()).unwrap_or_else(|| "price to confirm".into())) }
                                }
                            }
                        }
                        (book.field("start", "Time", "").id("book-start").select(&offers.iter().map(|slot| (slot.start.to_rfc3339(), nmc_domain::availability::slot_text(zone, slot))).collect::<Vec<_>>()))
                        (book.field("customer_name", "Name", &lead.name.clone().unwrap_or_default()).id("book-name").attr("required", "").attr("maxlength", 200))
                        (book.field("address", "Address", &lead.address.clone().unwrap_or_default()).id("book-address").attr("maxlength", 500))
                        (form_status())
                        button type="submit" { "Book" }
                    }))
                }
            }
        },
    )
    .into_response())
}

/// Take over / Return to assistant, live: the workflow records the switch a moment after the
/// click, and the buttons follow the conversation's state.
fn controls(c: &inbox::ConversationSummary, lead: &inbox::Lead) -> Markup {
    let id = c.id;
    let open = c.status == "active";
    html! {
        @if open {
            div class="actions" {
                @if c.mode == "owner" {
                    form method="post" action={ "/app/inbox/" (id) "/return" } { button type="submit" class="secondary" { "Return to assistant" } }
                } @else {
                    form method="post" action={ "/app/inbox/" (id) "/takeover" } { button type="submit" { "Take over" } }
                }
                a class="button secondary" href={ "tel:" (lead.phone) } { "Call " (nmc_domain::phone::display(&lead.phone)) }
            }
            p class="muted" { @if c.mode == "owner" { "You have this conversation; the assistant stays quiet until you return it." } @else { "The assistant is answering. Take over to text the caller yourself." } }
        } @else {
            p class="muted" { "This conversation is closed (" (c.status.replace('_', " ")) ")." }
        }
    }
}

async fn controls_fragment(
    Signed(t): Signed,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Markup, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let c = inbox::conversation(&mut tx, t.business_id, id).await?;
    let lead = inbox::lead(&mut tx, t.business_id, c.lead_id).await?;
    Ok(controls(&c, &lead))
}

async fn thread_fragment(
    Signed(t): Signed,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Markup, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let c = inbox::conversation(&mut tx, t.business_id, id).await?;
    let messages = inbox::messages(&mut tx, t.business_id, id).await?;
    let (_, _, timezone) = nmc_store::booking::business_basics(&mut tx, t.business_id).await?;
    drop(tx);
    let until = if c.status == "active" && c.mode == "assistant" {
        s.temporal.owner_window_until(&c.workflow_id).await
    } else {
        None
    };
    Ok(thread(&messages, super::tz(&timezone), until))
}

async fn take_over(
    Signed(t): Signed,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let wf = crate::inbox::open_workflow(&t, &s, id).await?;
    s.temporal
        .owner_takeover(&wf, &t.user_id.to_string())
        .await
        .map_err(|_| ApiError::Unavailable("temporal"))?;
    Ok(Redirect::to(&format!("/app/inbox/{id}")).into_response())
}

async fn give_back(
    Signed(t): Signed,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let wf = crate::inbox::open_workflow(&t, &s, id).await?;
    s.temporal
        .owner_release(&wf, &t.user_id.to_string())
        .await
        .map_err(|_| ApiError::Unavailable("temporal"))?;
    Ok(Redirect::to(&format!("/app/inbox/{id}")).into_response())
}

#[derive(Deserialize)]
struct Compose {
    body: String,
    #[serde(default)]
    key: Option<String>,
}

async fn send(
    Signed(t): Signed,
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    Form(f): Form<Compose>,
) -> Result<Response, ApiError> {
    let text = f.body.trim().to_owned();
    if nmc_domain::check_owner_text(&text).is_err() {
        return Err(ApiError::BadRequest(
            "a message of 1 to 1600 characters".into(),
        ));
    }
    let wf = crate::inbox::open_workflow(&t, &s, id).await?;
    let key = crate::inbox::send_key(f.key.as_deref())?;
    match s.temporal.owner_message(&wf, &text, &key).await {
        // Sent, or still with the carrier: the thread shows it either way.
        Ok(_) | Err(crate::temporal::SendError::StillSending) => {
            Ok(Redirect::to(&format!("/app/inbox/{id}")).into_response())
        }
        Err(crate::temporal::SendError::Refused(reason)) => Err(ApiError::BadRequest(reason)),
        Err(crate::temporal::SendError::Unavailable) => Err(ApiError::Unavailable("temporal")),
    }
}
