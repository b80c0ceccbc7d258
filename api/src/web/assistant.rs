//! What the assistant knows (owner only): the name it goes by, the owner's instructions, the
//! service area, and the FAQ it answers callers from.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use nmc_store::knowledge::{self, FaqRow};
use nmc_store::settings;

use super::ui::{self, Form, Kind, Submitted};
use super::{Signed, form_status, nav, owner_only, page};
use crate::{AppState, error::ApiError};

pub fn router() -> Router<AppState> {
    Router::new().route("/app/assistant", get(editor))
}

const BACK: &str = "/app/assistant";

async fn editor(
    Signed(t): Signed,
    State(s): State<AppState>,
    sent: Submitted,
) -> Result<Response, ApiError> {
    if let Err(r) = owner_only(&t) {
        return Ok(r);
    }
    let mut tx = t.begin(&s.db).await?;
    let profile = knowledge::profile(&mut tx, t.business_id).await?;
    let faqs = knowledge::faqs(&mut tx, t.business_id).await?;
    let trade = settings::get(&mut tx, t.business_id)
        .await?
        .trade
        .unwrap_or_else(|| "handyman".into());
    let area = &profile.service_area.0;
    let about = Form::new(&sent, "assistant", "PUT", "/api/assistant", BACK);
    let add = Form::new(&sent, "add-faq", "POST", "/api/faqs", BACK);
    Ok(page(
        "Assistant",
        html! {
            (nav("assistant", &t))
            h1 { "What the assistant knows" }
            p { "The assistant answers callers from this page. It never states a price (those come from your price list) and never guesses: what it cannot answer, it passes to you." }
            (about.render("card", &html! {
                (about.field("assistant_name", "Its name (optional)", profile.assistant_name.as_deref().unwrap_or("")).kind(Kind::Optional).attr("maxlength", 40).hint("Callers see \"Riley, Ace Plumbing's virtual assistant\"."))
                (about.field("instructions", "Your instructions", profile.instructions.as_deref().unwrap_or("")).kind(Kind::Optional).textarea(4).attr("maxlength", 600).hint("Up to 600 characters, e.g. \"We're family-owned since 1998. We don't do septic.\""))
                h2 { "Service area" }
                p class="hint" { "Leave all empty to serve everywhere. An address outside gets a polite no, and you are told." }
                (about.field("zips", "ZIP codes (comma-separated)", &area.zips.join(", ")).kind(Kind::List))
                (about.field("cities", "Cities (comma-separated)", &area.cities.join(", ")).kind(Kind::List))
                div class="grid3" {
                    (about.field("radius_miles", "Or within miles", &area.radius_miles.map(|r| r.to_string()).unwrap_or_default()).kind(Kind::Int).attr("inputmode", "numeric"))
                    (about.field("address", "of this address", area.center.as_ref().map_or("", |c| c.address.as_str())).kind(Kind::Optional))
                }
                (form_status())
                button type="submit" { "Save" }
            }))
            h2 id="faq" { "Questions callers ask" }
            @if faqs.is_empty() {
                (ui::empty(&html! { "No questions yet: the assistant passes every question to you. Start from the usual " (trade) " questions and make the answers yours:" }, None))
                (adopt(&sent, &trade))
            }
            @for row in &faqs { (faq(&sent, row)) }
            h3 { "Add a question" }
            (add.render("card", &html! {
                (faq_fields(&add, "new", None))
                (form_status())
                button type="submit" { "Add" }
            }))
        },
    )
    .into_response())
}

fn adopt(sent: &Submitted, trade: &str) -> Markup {
    let f = Form::new(sent, "adopt-faqs", "POST", "/api/faqs/adopt", BACK);
    f.render(
        "",
        &html! {
            input type="hidden" name="trade" value=(trade);
            button type="submit" { "Use the " (trade) " questions" }
        },
    )
}

fn faq_fields(f: &Form, id: &str, row: Option<&FaqRow>) -> Markup {
    html! {
        (f.field("question", "Question", row.map_or("", |r| r.question.as_str())).id(format!("question-{id}")).attr("required", "").attr("maxlength", 200))
        (f.field("answer", "Answer, as the assistant texts it", row.map_or("", |r| r.answer.as_str())).id(format!("answer-{id}")).textarea(3).attr("required", "").attr("maxlength", 300))
    }
}

/// One question on the list, opened to edit (open after a refused save, to show why).
fn faq(sent: &Submitted, row: &FaqRow) -> Markup {
    let id = row.id.to_string();
    let api = format!("/api/faqs/{id}");
    let edit = Form::new(sent, format!("faq-{id}"), "PUT", api.clone(), BACK);
    let remove = Form::new(sent, format!("delete-faq-{id}"), "DELETE", api, BACK);
    html! {
        details class="card item" open[sent.form == format!("faq-{id}") || sent.form == format!("delete-faq-{id}")] {
            summary { strong { (row.question) } br; span class="hint" { (row.answer) } }
            (edit.render("card", &html! {
                (faq_fields(&edit, &id, Some(row)))
                (form_status())
                button type="submit" { "Save" }
            }))
            (ui::confirm(&remove, "Delete this question", "The assistant passes it to you instead."))
        }
    }
}
