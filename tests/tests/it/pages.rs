//! Every owner page held to two bars at a 360 px phone and a 1280 px desktop: no serious or
//! critical axe-core finding, and under 100 KB of HTML + CSS + JS as the browser's Performance API
//! counts it. And the inbox works from the keyboard alone: a conversation opened, taken over and
//! answered with Tab and Enter, the focus visible all the way.

use std::time::Duration;

use nmc_tests::browser::Browser;
use nmc_tests::*;

use crate::business::{
    PASSWORD, business_via_api, content_on_every_page, log_in_page, missed_call, owner_pages,
};

/// The budget for a page's HTML + CSS + JS, uncompressed.
const BUDGET: u64 = 100 * 1024;

/// Opens `page`, weighs it, opens everything collapsed and runs axe on it.
async fn audit(b: &Browser, viewport: &str, page: &str) {
    b.goto(page).await;
    b.wait_text("main", "", Duration::from_secs(5)).await;
    assert_eq!(b.path().await, page, "{page} sent the browser elsewhere");
    let weight = b.page_weight().await;
    println!("{viewport:>7} {page}: {:.1} KB", weight as f64 / 1024.0);
    assert!(
        weight < BUDGET,
        "{page} at {viewport} weighs {weight} bytes of HTML + CSS + JS (uncompressed), over the 100 KB budget: {:?}",
        b.page_weight_parts().await
    );
    b.js("document.querySelectorAll('details').forEach(d => d.open = true); return true;")
        .await;
    b.assert_accessible(viewport).await;
}

#[tokio::test]
async fn every_page_passes_axe_and_weighs_under_100_kb_at_360_and_1280() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let email = "owner@pages-test.example";
    let (token, number) = business_via_api(&app, email).await;
    let conversation = content_on_every_page(&app, &token, &number).await;
    let signed_out = ["/signup", "/login", "/offline"];
    let signed_in = owner_pages(conversation);

    for phone in [true, false] {
        // Opening a set-up step records it as the one reached; each viewport starts from a
        // finished set-up, so log-in lands on /app as it did for the first.
        app.set("onboarding_step = null").await;
        let (b, viewport) = if phone {
            (Browser::phone(&app.api_url).await, "360 px")
        } else {
            (Browser::desktop(&app.api_url).await, "1280 px")
        };
        for page in signed_out {
            audit(&b, viewport, page).await;
        }
        log_in_page(&b, email, PASSWORD).await;
        for page in &signed_in {
            audit(&b, viewport, page).await;
        }
        b.close().await;
    }
}

/// Presses Enter on a control that loads a page, and waits for the new page.
async fn enter_to_new_page(b: &Browser) {
    b.js("window.__beforeEnter = true; return true;").await;
    b.press_enter().await;
    // While the next page loads, scripts may fail to run: that is "not yet".
    wait_until(Duration::from_secs(15), "the next page", || async {
        b.client
            .execute(
                "return window.__beforeEnter === undefined && document.readyState === 'complete';",
                vec![],
            )
            .await
            .is_ok_and(|v| v.as_bool() == Some(true))
    })
    .await;
}

async fn assert_focus_visible(b: &Browser, what: &str) {
    let outline = b.focus_outline().await;
    assert_ne!(
        outline,
        "none",
        "{what} has focus on {} but shows no outline",
        b.path().await
    );
}

#[tokio::test]
async fn the_inbox_and_take_over_work_from_the_keyboard_alone() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let email = "owner@keyboard-test.example";
    let (_, number) = business_via_api(&app, email).await;
    // Only a missed call: the conversation then stays still (no head start counting down, no
    // assistant reply), so no live refresh swaps the element that has focus. The greeting and
    // the owner's alert both go out at the call.
    missed_call(&app, &number).await;
    wait_until(Duration::from_secs(30), "the greeting and the alert delivered", || async {
        app.count("select count(*) from messages where kind in ('greeting', 'owner_alert') and status = 'delivered'")
            .await
            == 2
    })
    .await;
    let conversation: uuid::Uuid = sqlx::query_scalar("select id from conversations")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let b = Browser::desktop(&app.api_url).await;
    log_in_page(&b, email, PASSWORD).await;

    // The inbox: the skip link comes first, then the way to the conversation.
    b.goto("/app/inbox").await;
    assert_eq!(
        b.tab_to("a.skip").await,
        1,
        "the skip link is the first tab stop"
    );
    assert_focus_visible(&b, "the skip link").await;
    let presses = b
        .tab_to(&format!(
            "#conversations a.row-main[href='/app/inbox/{conversation}']"
        ))
        .await;
    println!("the conversation is {presses} Tab presses after the skip link");
    assert_focus_visible(&b, "the conversation's row").await;
    enter_to_new_page(&b).await;
    assert_eq!(b.path().await, format!("/app/inbox/{conversation}"));

    // Take over.
    b.tab_to("#controls form[action$='/takeover'] button").await;
    assert_focus_visible(&b, "Take over").await;
    enter_to_new_page(&b).await;
    b.wait_text("#controls", "Return to assistant", Duration::from_secs(10))
        .await;

    // Answer: type in the message box, Tab to Send, Enter.
    let reply = "Hi, this is Ana. I can come by this afternoon.";
    b.tab_to("#body").await;
    assert_focus_visible(&b, "the message box").await;
    b.type_text(reply).await;
    b.tab_to(".compose button[type=submit]").await;
    assert_focus_visible(&b, "Send").await;
    enter_to_new_page(&b).await;
    b.wait_text("#thread", reply, Duration::from_secs(15)).await;
    b.close().await;
}
