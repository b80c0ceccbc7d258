//! The "prove it works" card of the set-up wizard's last step: pick the phone company, ring the
//! business phone from the platform's number, and read what happened with that carrier's own
//! dial codes. A plain form; while the call rings the page checks again every two seconds
//! (with script) or offers a link (without).

use maud::{Markup, html};
use serde_json::Value;

use super::ui::{self, Form, Submitted, Tone};

const BACK: &str = "/app/onboarding/test";

/// The card, from `api::forwarding::report`. `rang` is where the next call will ring.
pub fn card(sent: &Submitted, report: &Value, rang: &str) -> Markup {
    let test = &report["test"];
    let status = test["status"].as_str().unwrap_or("none");
    let form = Form::new(
        sent,
        "forwarding-test",
        "POST",
        "/api/forwarding/test",
        BACK,
    );
    let carriers: Vec<(String, String)> = report["carriers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (s(&c["code"]), s(&c["name"])))
        .collect();
    let forwarded = report["call_mode"] == "forwarded";
    html! {
        section class="card" aria-labelledby="forwarding-title" {
            h2 id="forwarding-title" { "Check that missed calls reach us" }
            @if forwarded {
                p { "We call " (ui::phone(rang)) " from our test line. " strong { "Don't answer" } ": let it ring out, and your phone company should forward it to your NeverMissCall number." }
            } @else {
                p { "We call your NeverMissCall number " (ui::phone(rang)) " from our test line, to prove calls reach us." }
            }
            (form.render("", &html! {
                (form.field("carrier", "Your phone company", report["carrier"].as_str().unwrap_or("other")).select(&carriers))
                button type="submit" disabled[status == "calling"] { "Call my phone now" }
            }))
            div id="forwarding-result" data-status=(status) aria-live="polite" {
                (result(test, status))
            }
        }
        @if status == "calling" {
            script { (maud::PreEscaped("setTimeout(() => location.reload(), 2000);")) }
        }
    }
}

fn result(test: &Value, status: &str) -> Markup {
    let headline = test["headline"].as_str().unwrap_or_default();
    html! {
        @match status {
            "calling" => p { (ui::badge("Ringing", Tone::Info)) " Up to 45 seconds. " a href=(BACK) { "Check the result" } },
            "verified" => p { (ui::badge("Verified", Tone::Ok)) " " (headline) },
            "failed" => {
                p { (ui::badge("Not yet", Tone::Warn)) " " (headline) }
                ol {
                    @for line in test["advice"].as_array().into_iter().flatten() {
                        li { (s(line)) }
                    }
                }
            },
            _ => {},
        }
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}
