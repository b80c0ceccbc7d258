//! The set-up wizard: profile and trade, hours and who does the jobs, the price list from the
//! trade's starter catalog, the greetings (with a phone-style preview rendered by the same code
//! that sends them, and the SMS segment count), the number and call forwarding, and a test call.
//! Each step saves through the owner API; the step reached is stored, so the owner can stop at
//! any point and pick up where they left off.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use nmc_assistant::guardrails::{is_gsm7, sms_segments};
use nmc_domain::greeting::{default_after_hours_greeting, default_greeting, render_greeting};
use nmc_store::scheduling;
use nmc_store::settings::{self, ONBOARDING_STEPS};
use serde::Deserialize;

use super::ui::{self, Form, Kind, Submitted};
use super::{Signed, TIMEZONES, TRADES, form_status, owner_only, page};
use crate::error::Params;
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/app/onboarding", get(resume))
        .route("/app/onboarding/preview", get(preview))
        .route("/app/onboarding/finish", post(finish))
        .route("/app/onboarding/{step}", get(step))
}

const TITLES: [&str; 7] = [
    "Your business",
    "Hours and crew",
    "Prices",
    "Greeting",
    "Your number",
    "Texting",
    "Test it",
];
const WEEK: [(&str, &str); 7] = [
    ("monday", "Mon"),
    ("tuesday", "Tue"),
    ("wednesday", "Wed"),
    ("thursday", "Thu"),
    ("friday", "Fri"),
    ("saturday", "Sat"),
    ("sunday", "Sun"),
];

async fn resume(Signed(t): Signed, State(s): State<AppState>) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    let step = settings::onboarding_step(&mut tx, t.business_id)
        .await?
        .unwrap_or_else(|| "profile".into());
    Ok(Redirect::to(&format!("/app/onboarding/{step}")).into_response())
}

fn progress(index: usize) -> Markup {
    html! {
        div class="progress" {
            label for="progress" { "Step " (index + 1) " of " (ONBOARDING_STEPS.len()) ": " (TITLES[index]) }
            progress id="progress" max=(ONBOARDING_STEPS.len()) value=(index + 1) { (index + 1) "/" (ONBOARDING_STEPS.len()) }
            ol class="steps" {
                @for (i, (key, title)) in ONBOARDING_STEPS.iter().zip(TITLES).enumerate() {
                    li aria-current=[(i == index).then_some("step")] class=(if i < index { "done" } else { "" }) {
                        a href={ "/app/onboarding/" (key) } { (title) }
                    }
                }
            }
        }
    }
}

fn next_link(index: usize) -> String {
    match ONBOARDING_STEPS.get(index + 1) {
        Some(next) => format!("/app/onboarding/{next}"),
        None => "/app/inbox".into(),
    }
}

#[derive(Deserialize)]
struct NumberSearch {
    area_code: Option<String>,
}

async fn step(
    Signed(t): Signed,
    State(s): State<AppState>,
    Path(step): Path<String>,
    Params(q): Params<NumberSearch>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let Some(index) = ONBOARDING_STEPS.iter().position(|x| *x == step) else {
        return Err(ApiError::NotFound);
    };
    let mut tx = t.begin(&s.db).await?;
    settings::reach_onboarding_step(&mut tx, t.business_id, Some(&step)).await?;
    let current = settings::get(&mut tx, t.business_id).await?;
    let next = next_link(index);
    let step_form = |id: &str| {
        Form::new(
            &sent,
            id,
            "PUT",
            "/api/settings",
            format!("/app/onboarding/{step}"),
        )
        .merge()
        .next(next.clone())
    };
    let body = match index {
        0 => profile(&step_form("profile"), &current),
        1 => hours(
            &step_form("hours"),
            &Form::new(
                &sent,
                "crew",
                "POST",
                "/api/technicians",
                "/app/onboarding/hours",
            ),
            &current,
            &scheduling::technicians(&mut tx, t.business_id).await?,
        ),
        2 => prices(
            &sent,
            &current,
            &scheduling::catalog(&mut tx, t.business_id, false).await?,
            &next,
        ),
        3 => greetings(&step_form("greetings"), &current),
        4 => {
            let number = settings::number(&mut tx, t.business_id).await?;
            let found = match (&number, q.area_code.as_deref()) {
                (None, Some(area)) => Some(crate::numbers::search(&s, area.trim()).await),
                _ => None,
            };
            number_step(
                &sent,
                &current,
                number.as_deref(),
                (q.area_code.as_deref(), found),
                &next,
            )
        }
        5 => super::messaging::wizard_step(
            &sent,
            &settings::messaging(&mut tx, t.business_id).await?,
            &next,
        ),
        _ => {
            let number = settings::number(&mut tx, t.business_id).await?;
            let proving = match s.config.platform_caller() {
                Some(_) => Some(crate::forwarding::report(&mut tx, t.business_id).await?),
                None => None,
            };
            let (phone, verified) =
                nmc_store::phone_codes::alert_phone(&mut tx, t.business_id, t.user_id).await?;
            let proof = phone.map(|p| super::alerts::phone_proof(&sent, &p, verified, BACK));
            let plan = match &s.config.billing {
                Some(_) => {
                    let b = nmc_store::billing::get(&mut tx, t.business_id).await?;
                    Some(super::billing::card(&crate::billing::view(true, &b)))
                }
                None => None,
            };
            html! {
                (test_step(&sent, number.as_deref(), s.sandbox.is_some(), proving.as_ref()))
                @if let Some(proof) = proof { (proof) }
                @if let Some(plan) = plan { (plan) }
                (finish_form())
            }
        }
    };
    crate::owner::commit(tx).await?;
    Ok(page(
        &format!("Set-up: {}", TITLES[index]),
        html! { (progress(index)) (body) },
    )
    .into_response())
}

fn profile(f: &Form, c: &settings::Settings) -> Markup {
    html! {
        h1 { "Your business" }
        (f.render("card", &html! {
            (profile_fields(f, c))
            (form_status())
            button type="submit" { "Save and continue" }
        }))
    }
}

/// The business's name, owner, mobile, trade and time zone (the wizard's first step and settings).
pub(crate) fn profile_fields(f: &Form, c: &settings::Settings) -> Markup {
    html! {
        (f.field("name", "Business name (callers see it in every text)", &c.name).attr("required", "").attr("maxlength", 100).attr("autocomplete", "organization"))
        (f.field("owner_name", "Your name", &c.owner_name).attr("required", "").attr("autocomplete", "name"))
        (f.field("owner_phone", "Your mobile (alerts come here)", &c.owner_phone).input("tel").attr("required", "").attr("autocomplete", "tel")
            .hint("Like +15125550142: the country code, then the number."))
        (f.field("trade", "Trade", c.trade.as_deref().unwrap_or("")).select(&TRADES))
        (f.field("timezone", "Time zone", &c.timezone).select(&TIMEZONES))
    }
}

/// The weekday hours editor (the business's hours; booking uses them unless a schedule says otherwise).
pub(crate) fn hours_fields(f: &Form, c: &settings::Settings) -> Markup {
    let h = serde_json::to_value(&c.business_hours.0).unwrap_or_default();
    let error = f.error("business_hours");
    html! {
        fieldset class="hours" data-field="business_hours" aria-describedby=[error.map(|_| "hours-error")] {
            legend { "Open hours" }
            @for (day, label) in WEEK {
                @let open = h.get(day).and_then(|d| d.get("open")).and_then(|v| v.as_str());
                @let close = h.get(day).and_then(|d| d.get("close")).and_then(|v| v.as_str());
                @let group = format!("business_hours.{day}");
                @let (open_name, close_name) = (format!("{group}.open"), format!("{group}.close"));
                div class="day" {
                    input type="hidden" name="_drop" value=(group);
                    label class="check" {
                        input type="checkbox" name="_keep" value=(group) data-drop-unless=(group) checked[f.checked("_keep", &group, open.is_some())];
                        " " (label)
                    }
                    label for={ (day) "-open" } class="visually-hidden" { (label) " opens" }
                    input id={ (day) "-open" } type="time" name=(open_name) value=(f.value(&open_name, open.unwrap_or("08:00")));
                    label for={ (day) "-close" } class="visually-hidden" { (label) " closes" }
                    input id={ (day) "-close" } type="time" name=(close_name) value=(f.value(&close_name, close.unwrap_or("17:00")));
                }
            }
            @if let Some(e) = error { p id="hours-error" class="field-error error" { (e) } }
        }
    }
}

fn hours(
    f: &Form,
    crew: &Form,
    c: &settings::Settings,
    technicians: &[scheduling::TechnicianRow],
) -> Markup {
    let suggested = if technicians.is_empty() {
        c.owner_name.as_str()
    } else {
        ""
    };
    html! {
        h1 { "Hours and crew" }
        p { "Outside these hours callers get the after-hours greeting, and the assistant offers times inside them." }
        (f.render("card", &html! {
            (hours_fields(f, c))
            (form_status())
            button type="submit" { "Save and continue" }
        }))
        h2 { "Who does the jobs?" }
        @if technicians.is_empty() {
            p { "The assistant books jobs into someone's day. Add yourself (you can add up to five people later)." }
        } @else {
            ul { @for tech in technicians { li { (tech.name) @if !tech.active { " (inactive)" } } } }
        }
        (crew.render("card", &html! {
            (crew.field("name", "Name", suggested).id("tech-name").attr("required", "").attr("maxlength", 80))
            (form_status())
            button type="submit" class="secondary" { "Add to the crew" }
        }))
    }
}

/// The trade's starter price list, adopted in one tap (a form, so it works without script).
pub(crate) fn adopt(sent: &Submitted, trade: &str, back: &str) -> Markup {
    let f = Form::new(sent, "adopt", "POST", "/api/catalog/adopt", back);
    f.render(
        "",
        &html! {
            input type="hidden" name="trade" value=(trade);
            button type="submit" { "Use the " (trade) " price list" }
        },
    )
}

fn prices(
    sent: &Submitted,
    c: &settings::Settings,
    items: &[scheduling::CatalogRow],
    next: &str,
) -> Markup {
    let trade = c.trade.clone().unwrap_or_else(|| "handyman".into());
    html! {
        h1 { "Prices" }
        p { "The assistant quotes only from this list, never a made-up price. Without a match, it tells the caller you will confirm the price." }
        @if items.is_empty() {
            p class="empty" { "Start from the usual " (trade) " jobs and change the prices to yours." }
            (adopt(sent, &trade, "/app/onboarding/catalog"))
        } @else {
            table class="table" {
                thead { tr { th scope="col" { "Job" } th scope="col" { "Price" } th scope="col" { "Time" } } }
                tbody {
                    @for i in items {
                        tr { td { (i.name) } td { (nmc_assistant::catalog::price_text(&i.item()).unwrap_or_else(|| "price to confirm".into())) } td { (i.duration_minutes) " min" } }
                    }
                }
            }
            p { a href="/app/catalog" { "Change prices" } " (opens the price list; come back here after)" }
        }
        p { a class="button" href=(next) { "Continue" } }
    }
}

fn greetings(f: &Form, c: &settings::Settings) -> Markup {
    html! {
        h1 { "Greeting" }
        p { "The first text a caller gets, within a second of the missed call. " code { "{business}" } " and " code { "{owner}" } " are filled in." }
        (f.render("card", &html! {
            (greeting_fields(f, c))
            (form_status())
            button type="submit" { "Save and continue" }
        }))
    }
}

/// Both greetings, each with its phone-style preview (the default text until the owner writes one).
pub(crate) fn greeting_fields(f: &Form, c: &settings::Settings) -> Markup {
    let greeting = c
        .greeting
        .clone()
        .unwrap_or_else(|| default_greeting("{business}"));
    let after = c
        .after_hours_greeting
        .clone()
        .unwrap_or_else(|| default_after_hours_greeting("{business}"));
    let text = |name: &str, label: &str, value: &str, target: &str| {
        html! {
            (f.field(name, label, value).textarea(4).kind(Kind::Optional).attr("maxlength", 480)
                .attr("data-preview", "/app/onboarding/preview").attr("data-target", target))
            div id=(target) class="preview" aria-live="polite" {}
        }
    };
    html! {
        (text("greeting", "During open hours", &greeting, "greeting-preview"))
        (text("after_hours_greeting", "After hours", &after, "after-preview"))
    }
}

#[derive(Deserialize)]
struct PreviewQuery {
    text: Option<String>,
}

/// The greeting as the caller's phone will show it, rendered by the code that sends it.
async fn preview(
    Signed(t): Signed,
    State(s): State<AppState>,
    Params(q): Params<PreviewQuery>,
) -> Result<Markup, ApiError> {
    let mut tx = t.begin(&s.db).await?;
    let c = settings::get(&mut tx, t.business_id).await?;
    let template = q.text.unwrap_or_default();
    let template = if template.trim().is_empty() {
        default_greeting("{business}")
    } else {
        template
    };
    let text = render_greeting(&template, &c.name, &c.owner_name);
    let segments = sms_segments(&text);
    let unicode = !is_gsm7(&text);
    Ok(html! {
        div class="phone-preview" {
            div class="bubble them" { p { (text) } }
        }
        p class=(if segments > 3 { "error" } else if segments > 1 { "warn" } else { "muted" }) {
            (text.chars().count()) " characters · " (segments) " SMS segment" @if segments != 1 { "s" }
            @if segments > 3 { " — too long: keep it to 3 segments" } @else if segments > 1 { " — each segment is billed as a text" }
            @if unicode { " · an emoji or special character makes every segment shorter (70 instead of 160)" }
        }
    })
}

type Found = Option<Result<Vec<nmc_twilio::client::AvailableNumber>, ApiError>>;

fn number_step(
    sent: &Submitted,
    c: &settings::Settings,
    number: Option<&str>,
    (area, found): (Option<&str>, Found),
    next: &str,
) -> Markup {
    let mode = Form::new(
        sent,
        "call-mode",
        "PUT",
        "/api/settings",
        "/app/onboarding/number",
    )
    .merge();
    let back = match area {
        Some(a) => format!("/app/onboarding/number?area_code={}", super::enc(a)),
        None => "/app/onboarding/number".into(),
    };
    html! {
        h1 { "Your number" }
        @match number {
            Some(n) => {
                p { "Your NeverMissCall number is " strong class="number" { (ui::phone(n)) } "." }
                h2 { "How calls reach it" }
                (mode.render("card", &html! {
                    fieldset {
                        legend { "Choose one" }
                        label class="check" { input type="radio" name="call_mode" value="dial_through" checked[mode.checked("call_mode", "dial_through", c.call_mode == "dial_through")]; " Give out this number. Calls ring your mobile first; if you don't answer, the caller gets a text." }
                        label class="check" { input type="radio" name="call_mode" value="forwarded" checked[mode.checked("call_mode", "forwarded", c.call_mode == "forwarded")]; " Keep your number. Your phone forwards unanswered calls here." }
                    }
                    (form_status())
                    button type="submit" class="secondary" { "Save" }
                }))
                details open[c.call_mode == "forwarded"] {
                    summary { "Forwarding instructions for your carrier" }
                    p { "Forward only calls you don't answer, so you still get every call first. Dial from your business phone:" }
                    @let digits = n.trim_start_matches("+1");
                    table class="table" {
                        thead { tr { th scope="col" { "Carrier" } th scope="col" { "Turn on" } th scope="col" { "Turn off" } } }
                        tbody {
                            tr { td { "AT&T, T-Mobile, most GSM" } td { code { "**004*" (n) "#" } } td { code { "##004#" } } }
                            tr { td { "Verizon" } td { code { "*71" (digits) } } td { code { "*73" } } }
                            tr { td { "Landline or VoIP (RingCentral, Google Voice…)" } td { "In your provider's settings: forward when busy or unanswered to " (n) } td { "Same place" } }
                        }
                    }
                }
                p { a class="button" href=(next) { "Continue" } }
            }
            None => {
                p { "Pick a local number. Callers see it, so choose your area code." }
                form method="get" action="/app/onboarding/number" class="card" {
                    label for="area_code" { "Area code" }
                    input id="area_code" name="area_code" inputmode="numeric" pattern="[0-9]{3}" maxlength="3" value=(area.unwrap_or("")) required;
                    button type="submit" { "Find numbers" }
                }
                @match found {
                    Some(Ok(list)) if list.is_empty() => p class="empty" { "No numbers free in that area code right now. Try a neighbouring one." },
                    Some(Ok(list)) => ul class="list" {
                        @for a in list.iter().take(8) {
                            li class="row" {
                                strong { (a.friendly_name.clone().unwrap_or_else(|| a.phone_number.clone())) }
                                span class="muted" { (a.locality.clone().unwrap_or_default()) " " (a.region.clone().unwrap_or_default()) }
                                @let buy = Form::new(sent, format!("buy-{}", a.phone_number), "POST", "/api/numbers", back.clone()).next("/app/onboarding/number");
                                (buy.render("", &html! {
                                    input type="hidden" name="phone_number" value=(a.phone_number);
                                    button type="submit" { "Use " (nmc_domain::phone::display(&a.phone_number)) }
                                }))
                            }
                        }
                    },
                    Some(Err(ApiError::Invalid(_))) => p class="error" role="alert" { "An area code is three digits, like 512." },
                    Some(Err(_)) => p class="error" role="alert" { "The phone company did not answer. Try again in a minute." },
                    None => {},
                }
            }
        }
    }
}

fn test_step(
    sent: &Submitted,
    number: Option<&str>,
    sandbox: bool,
    proving: Option<&serde_json::Value>,
) -> Markup {
    html! {
        h1 { "Test it" }
        @match (number, proving) {
            (None, _) => p { "You need a number first. " a href="/app/onboarding/number" { "Pick one" } },
            (Some(n), Some(report)) => {
                @let forwarded = report["call_mode"] == "forwarded";
                @let rang = if forwarded { report["business_phone"].as_str().unwrap_or(n) } else { n };
                (super::forwarding::card(sent, report, rang))
                @if sandbox && forwarded {
                    form method="post" action="/dev/phone/forwarding" class="card" {
                        p class="muted" { "Sandbox: play your phone company. The code turns on forwarding from " (ui::phone(rang)) " to " (ui::phone(n)) "." }
                        input type="hidden" name="on" value="true";
                        button type="submit" class="secondary" { "Dial the forwarding code" }
                    }
                }
            },
            (Some(n), None) => p { "Call " strong { (n) } " from another phone and let it ring out. The text arrives within a second, and the conversation shows up in the " a href="/app/inbox" { "inbox" } "." },
        }
        @if let (Some(n), true) = (number, sandbox) {
            h2 { "Play a caller" }
            p { "We ring " (n) " from a test phone and let it ring out. Watch the text arrive." }
            div class="card" {
                input type="hidden" id="number" value=(n);
                input type="hidden" id="caller" value="+15125550199";
                button type="button" id="test-call" { "Call my number now" }
            }
            section id="test-thread" class="thread" aria-live="polite" aria-label="The test caller's phone" tabindex="0" {}
            p { "Answer as the caller from the " a href={ "/dev/phone?number=" (super::enc(n)) } target="_blank" { "dev phone" } ", and watch the conversation in the " a href="/app/inbox" target="_blank" { "inbox" } "." }
            script { (maud::PreEscaped(TEST_SCRIPT)) }
        }
    }
}

/// The last step's own address, where its forms come back to.
const BACK: &str = "/app/onboarding/test";

fn finish_form() -> Markup {
    html! {
        form method="post" action="/app/onboarding/finish" {
            button type="submit" { "Finish set-up" }
        }
    }
}

const TEST_SCRIPT: &str = r"
(() => {
  const q = () => new URLSearchParams({number: document.getElementById('number').value, caller: document.getElementById('caller').value});
  const refresh = async () => { const r = await fetch('/dev/phone/thread?' + q()); if (r.ok) document.getElementById('test-thread').innerHTML = await r.text(); };
  document.getElementById('test-call').onclick = async (e) => { e.target.disabled = true; e.target.textContent = 'Ringing…'; await fetch('/dev/phone/call', {method: 'POST', body: q()}); setTimeout(() => { e.target.disabled = false; e.target.textContent = 'Call again'; }, 3000); refresh(); };
  setInterval(refresh, 1000); refresh();
})();
";

async fn finish(Signed(t): Signed, State(s): State<AppState>) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    settings::reach_onboarding_step(&mut tx, t.business_id, None).await?;
    crate::owner::commit(tx).await?;
    Ok(Redirect::to("/app/inbox").into_response())
}
