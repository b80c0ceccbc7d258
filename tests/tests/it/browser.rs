//! The owner's pages in a real browser (headless Chromium over WebDriver) against the whole
//! stack: sign up → set-up wizard → test call → the conversation appears in the inbox without a
//! reload → the caller answers from the dev phone → take over → send → the caller sees it → book
//! → the appointment is on the appointments page. Plus: a technician cannot open settings, and
//! no page scrolls sideways on a 360 px phone. Screenshots land in docs/screenshots/. The set-up
//! here (a business through the API, content on every page, the page list) serves pages.rs too.

use std::time::Duration;

use nmc_tests::browser::Browser;
use nmc_tests::*;
use serde_json::{Value, json};

use crate::business::{
    CALLER, PASSWORD, business_via_api, content_on_every_page, log_in_page, owner_pages,
};

const OWNER_EMAIL: &str = "ana@rivera-plumbing.example";
const CALLER_AS_READ: &str = "(512) 555-0123";

#[tokio::test]
async fn an_owner_signs_up_sets_up_and_books_a_job_from_a_missed_call() {
    let app = TestApp::builder()
        .empty()
        .built_in_sandbox()
        .billing()
        .spawn()
        .await;
    let b = Browser::desktop(&app.api_url).await;

    // Sign up.
    b.goto("/signup").await;
    b.screenshot("signup").await;
    b.fill("#business_name", "Rivera Plumbing").await;
    b.fill("#owner_name", "Ana Rivera").await;
    b.fill("#email", OWNER_EMAIL).await;
    b.fill("#phone", "+15125550142").await;
    b.fill("#password", PASSWORD).await;
    b.click_text("Create account").await;

    // The wizard: profile.
    b.wait_path("/app/onboarding/profile").await;
    assert!(b.text(".progress").await.contains("Step 1 of 7"));
    b.click_text("Save and continue").await;

    // Hours (open every day around the clock, so the test call gets the open-hours greeting
    // whenever CI runs) and crew.
    b.wait_path("/app/onboarding/hours").await;
    b.click_text("Add to the crew").await;
    b.wait_text("main", "Ana Rivera", Duration::from_secs(10))
        .await;
    for day in ["saturday", "sunday"] {
        b.click(&format!("input[data-drop-unless='business_hours.{day}']"))
            .await;
    }
    b.js("document.querySelectorAll('input[type=time][name$=\".open\"]').forEach(i => i.value = '00:00');
          document.querySelectorAll('input[type=time][name$=\".close\"]').forEach(i => i.value = '23:59'); return true;")
        .await;
    b.click_text("Save and continue").await;

    // Prices from the plumbing starter list.
    b.wait_path("/app/onboarding/catalog").await;
    b.click_text("Use the plumbing price list").await;
    b.wait_text("main", "Sink Clog", Duration::from_secs(10))
        .await;
    b.click_text("Continue").await;

    // Greeting, with the live preview rendered as it will be sent.
    b.wait_path("/app/onboarding/greeting").await;
    b.fill(
        "#greeting",
        "Hi, this is {business}. Sorry we missed you! What needs fixing?",
    )
    .await;
    b.wait_text("#greeting-preview", "Hi, this is Rivera Plumbing. Sorry we missed you! What needs fixing? Reply STOP to opt out.", Duration::from_secs(5)).await;
    b.wait_text("#greeting-preview", "1 SMS segment", Duration::from_secs(5))
        .await;
    b.screenshot("onboarding-greeting").await;
    b.click_text("Save and continue").await;

    // A number in the owner's area code.
    b.wait_path("/app/onboarding/number").await;
    b.fill("#area_code", "512").await;
    b.click_text("Find numbers").await;
    b.click("form[id^='buy-'] button[type=submit]").await;
    b.wait_text(
        "main",
        "Your NeverMissCall number is",
        Duration::from_secs(10),
    )
    .await;
    let number = b.text(".number").await;
    assert!(number.starts_with("(512) "), "{number}");
    b.screenshot("onboarding-number").await;
    b.click_text("Continue").await;

    // Texting registration: prefilled from the business; the owner adds the address and submits.
    b.wait_path("/app/onboarding/texting").await;
    b.fill("#brand\\.street", "1 Main St").await;
    b.fill("#brand\\.city", "Austin").await;
    b.fill("#brand\\.state", "TX").await;
    b.fill("#brand\\.postal_code", "78701").await;
    b.click_text("Submit and continue").await;
    // Operations approve it once the carriers have (the admin API; the page is tested in
    // registration.rs).
    let business: uuid::Uuid = sqlx::query_scalar("select id from businesses")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let approved = app
        .http
        .post(format!(
            "{}/api/admin/businesses/{business}/messaging",
            app.api_url
        ))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"status": "approved"}))
        .send()
        .await
        .unwrap();
    assert!(
        approved.status().is_success(),
        "{}",
        approved.text().await.unwrap()
    );

    // Test it. First the plan: the free trial starts on Stripe's page (the sandbox's double)
    // and the browser comes back with it running, so callers are texted from now on.
    b.wait_path("/app/onboarding/test").await;
    b.click_text("Start the free trial").await;
    b.wait_text("h1", "Stripe test checkout", Duration::from_secs(10))
        .await;
    b.click_text("Start subscription").await;
    b.wait_path("/app/settings/billing").await;
    b.wait_text("#plan", "free trial", Duration::from_secs(10))
        .await;
    // Google Calendar: the consent page (the double decides at once), back to the picker, and
    // jobs go to the crew's calendar.
    b.goto("/app/settings/calendars").await;
    b.click_text("Connect Google Calendar").await;
    b.wait_text("#google", "No job sent yet", Duration::from_secs(10))
        .await;
    b.js("document.getElementById('write_calendar_id').value = 'crew-b@group.calendar.google.com'; return true;")
        .await;
    b.click_text("Save calendars").await;
    b.wait_text("#google", "Syncing", Duration::from_secs(10))
        .await;
    let chosen: String = sqlx::query_scalar("select calendar_id from calendar_connections")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(chosen, "crew-b@group.calendar.google.com");
    b.goto("/app/onboarding/test").await;
    // The text arrives on the test caller's phone.
    b.click("#test-call").await;
    b.wait_text(
        "#test-thread",
        "Sorry we missed you! What needs fixing?",
        Duration::from_secs(15),
    )
    .await;
    // Proving the number: the platform rings the business phone, which rings out unforwarded,
    // and the page says what to dial; once the owner has (the sandbox plays the carrier), the
    // next test call is forwarded to the NeverMissCall number and reported verified.
    b.click_text("Call my phone now").await;
    b.wait_text(
        "#forwarding-result",
        "not forwarded",
        Duration::from_secs(15),
    )
    .await;
    b.js("window.__beforeTheCode = true; return true;").await;
    b.click_text("Dial the forwarding code").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while b.js("return window.__beforeTheCode === true;").await == Value::Bool(true) {
        assert!(
            std::time::Instant::now() < deadline,
            "the page never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.click_text("Call my phone now").await;
    b.wait_text("#forwarding-result", "Verified", Duration::from_secs(15))
        .await;
    // Proving the owner's phone with the code texted to it, before any alert is texted there.
    b.click_text("Text me a code").await;
    let code = wait_for_code(&app, "+15125550142").await;
    b.fill("#code", &code).await;
    b.click_text("Prove it").await;
    b.wait_text("#phone-proof", "Proved", Duration::from_secs(10))
        .await;
    b.screenshot("onboarding-test").await;
    b.click_text("Finish set-up").await;
    b.wait_path("/app/inbox").await;
    // Quiet hours away from now, so the caller hears of the move below at any hour CI runs.
    app.set(&quiet_hours_away()).await;

    // The dev phone in a second window calls; the inbox shows the conversation without a reload.
    let inbox = b.client.window().await.unwrap();
    b.js("window.__stillThisPage = true; return true;").await;
    let phone = b.client.new_window(false).await.unwrap().handle;
    b.client.switch_to_window(phone.clone()).await.unwrap();
    b.goto("/dev/phone").await;
    b.fill("#caller", CALLER).await;
    b.click("#call").await;
    b.client.switch_to_window(inbox.clone()).await.unwrap();
    let appeared = b
        .wait_text("#conversations", CALLER_AS_READ, Duration::from_secs(15))
        .await;
    assert_eq!(
        b.js("return window.__stillThisPage === true;").await,
        json!(true),
        "the list updated in place, not by reloading"
    );
    println!(
        "missed call → conversation on the open inbox page: {} ms",
        appeared.as_millis()
    );
    b.screenshot("inbox").await;

    // The caller answers; the thread updates live, with the owner's head start counting down.
    b.click_text(CALLER_AS_READ).await;
    b.wait_path("/app/inbox/").await;
    b.js("window.__stillThisPage = true; return true;").await;
    b.client.switch_to_window(phone.clone()).await.unwrap();
    b.wait_text("#thread", "What needs fixing?", Duration::from_secs(15))
        .await;
    b.fill(
        "#body",
        "My kitchen sink is clogged. This is Sam Lee at 12 Oak St",
    )
    .await;
    b.click("#compose button").await;
    b.client.switch_to_window(inbox.clone()).await.unwrap();
    b.wait_text(
        "#thread",
        "kitchen sink is clogged",
        Duration::from_secs(15),
    )
    .await;
    b.wait_text("#thread", "Your head start", Duration::from_secs(15))
        .await;
    assert_eq!(
        b.js("return window.__stillThisPage === true;").await,
        json!(true),
        "the thread updated in place"
    );
    b.screenshot("conversation").await;

    // Take over and answer; the caller gets it.
    b.click_text("Take over").await;
    b.wait_text("main", "Return to assistant", Duration::from_secs(10))
        .await;
    b.fill(
        "#body",
        "Hi Sam, this is Ana. I can come by to clear that sink.",
    )
    .await;
    b.click(".compose button").await;
    b.wait_text(
        "#thread",
        "I can come by to clear that sink",
        Duration::from_secs(15),
    )
    .await;
    b.client.switch_to_window(phone.clone()).await.unwrap();
    b.wait_text(
        "#thread",
        "I can come by to clear that sink",
        Duration::from_secs(15),
    )
    .await;
    b.screenshot("dev-phone").await;

    // Book the job from the conversation; it is on the appointments page.
    b.client.switch_to_window(inbox.clone()).await.unwrap();
    b.click_text("Book this job").await;
    let service = b
        .client
        .find(fantoccini::Locator::Css("#book-service"))
        .await
        .unwrap();
    assert!(
        service
            .prop("value")
            .await
            .unwrap()
            .is_some_and(|v| !v.is_empty()),
        "the sink clog is matched from the catalog"
    );
    b.fill("#book-name", "Sam Lee").await;
    b.fill("#book-address", "12 Oak St").await;
    b.click(".book button[type=submit]").await;
    b.wait_path("/app/appointments").await;
    b.wait_text("main", "Sam Lee", Duration::from_secs(10))
        .await;
    assert!(b.text("main").await.contains("Sink Clog"));
    b.screenshot("appointments").await;

    // Reschedule from the appointments page: the caller is texted the new time.
    let before: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select lower(during) from appointments")
            .fetch_one(&app.db)
            .await
            .unwrap();
    b.click_text("Reschedule").await;
    let choice = b
        .client
        .find(fantoccini::Locator::Css(
            "select[id^='move-'] option:nth-child(2)",
        ))
        .await
        .unwrap();
    let to = choice.attr("value").await.unwrap().unwrap();
    b.client
        .find(fantoccini::Locator::Css("select[id^='move-']"))
        .await
        .unwrap()
        .select_by_value(&to)
        .await
        .unwrap();
    b.click_text("Move").await;
    wait_until(Duration::from_secs(10), "the move", || async {
        sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>(
            "select lower(during) from appointments",
        )
        .fetch_one(&app.db)
        .await
        .unwrap()
            != before
    })
    .await;
    b.client.switch_to_window(phone.clone()).await.unwrap();
    b.wait_text("#thread", "moved", Duration::from_secs(20))
        .await;
    b.client.switch_to_window(inbox.clone()).await.unwrap();

    // The lead card, edited in place: only the changed field becomes the owner's.
    let conversation: uuid::Uuid = sqlx::query_scalar(
        "select c.id from conversations c join leads l on l.id = c.lead_id where l.phone = $1",
    )
    .bind(CALLER)
    .fetch_one(&app.db)
    .await
    .unwrap();
    b.goto(&format!("/app/inbox/{conversation}")).await;
    b.click(".lead summary").await;
    b.fill("#lead-address", "14 Oak St, Austin").await;
    b.click_text("Save lead").await;
    b.wait_text(
        ".lead summary",
        "14 Oak St, Austin",
        Duration::from_secs(10),
    )
    .await;
    let edited: Vec<String> = sqlx::query_scalar("select owner_edited from leads where phone = $1")
        .bind(CALLER)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(edited, vec!["address".to_owned()]);

    // A price, a setting and an invitation, each saved from its page.
    b.goto("/app/catalog").await;
    b.click_text("Sink Clog").await;
    b.fill("details[open] input[name='price_min_cents']", "175")
        .await;
    b.click("details[open] button[type=submit]").await;
    b.wait_text("main", "Sink Clog · $175", Duration::from_secs(10))
        .await;
    b.goto("/app/settings").await;
    b.fill("#owner_window_secs", "45").await;
    b.click("form:has(#owner_window_secs) button[type=submit]")
        .await;
    wait_until(Duration::from_secs(10), "the setting", || async {
        app.count("select count(*) from businesses where owner_window_secs = 45")
            .await
            == 1
    })
    .await;
    b.goto("/app/team").await;
    b.fill("#invite-email", "tom@rivera-plumbing.example").await;
    b.click_text("Send invitation").await;
    wait_until(Duration::from_secs(10), "the invitation email", || async {
        app.count(
            "select count(*) from outbound_emails where to_email = 'tom@rivera-plumbing.example'",
        )
        .await
            == 1
    })
    .await;

    // The other pages, for the README.
    for (path, name) in [
        ("/app", "home"),
        ("/app/leads", "leads"),
        ("/app/calls", "calls"),
        ("/app/catalog", "prices"),
        ("/app/reports", "reports"),
        ("/app/settings", "settings"),
    ] {
        b.goto(path).await;
        b.wait_text("main", "", Duration::from_secs(5)).await;
        b.screenshot(name).await;
    }
    assert!(
        b.text("main").await.contains("Your number: "),
        "{}",
        b.text("main").await
    );
    b.close().await;
}

#[tokio::test]
async fn a_technician_joins_from_the_invitation_and_cannot_open_settings() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let (token, _) = business_via_api(&app, "owner@tech-test.example").await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/team/invites", app.api_url))
        .bearer_auth(&token)
        .json(&json!({"email": "tom@tech-test.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let mail: String =
        sqlx::query_scalar("select body from outbound_emails order by created_at desc limit 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let link = mail
        .split_whitespace()
        .find(|w| w.contains("/invite/"))
        .unwrap()
        .to_owned();
    let path = link.trim_start_matches(&app.api_url).to_owned();

    let b = Browser::desktop(&app.api_url).await;
    b.goto(&path).await;
    b.fill("#name", "Tom Tech").await;
    b.fill("#password", "wrenches all day 7").await;
    b.click_text("Join").await;
    b.wait_path("/app/inbox").await;
    b.click_text("More").await;
    let nav = b.text("nav.links").await;
    assert!(
        nav.contains("Inbox")
            && nav.contains("Calls")
            && !nav.contains("Settings")
            && !nav.contains("Prices")
            && !nav.contains("Team"),
        "{nav}"
    );
    for page in [
        "/app/settings",
        "/app/team",
        "/app/catalog",
        "/app/reports",
        "/app/onboarding/profile",
    ] {
        b.goto(page).await;
        b.wait_text(
            "h1",
            "Only the owner can open this page",
            Duration::from_secs(5),
        )
        .await;
    }
    // And the API behind the pages refuses the technician too.
    let status = b
        .js("return fetch('/api/settings').then(r => r.status);")
        .await;
    assert_eq!(status, json!(403));
    // Home has no revenue for a technician.
    b.goto("/app").await;
    assert!(!b.text("main").await.contains("revenue"));
    b.close().await;
}

#[tokio::test]
async fn no_page_scrolls_sideways_on_a_360_px_phone() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let (token, number) = business_via_api(&app, "owner@phone-test.example").await;
    let conversation = content_on_every_page(&app, &token, &number).await;

    let b = Browser::phone(&app.api_url).await;
    for page in ["/signup", "/login"] {
        b.goto(page).await;
        assert!(
            b.horizontal_overflow().await <= 0,
            "{page} scrolls sideways at 360 px"
        );
    }
    log_in_page(&b, "owner@phone-test.example", PASSWORD).await;
    for page in &owner_pages(conversation) {
        b.goto(page).await;
        b.wait_text("main", "", Duration::from_secs(5)).await;
        // Open the collapsed parts too (lead card, booking, reschedule, price rows).
        b.js("document.querySelectorAll('details').forEach(d => d.open = true); return true;")
            .await;
        let overflow = b.horizontal_overflow().await;
        assert!(
            overflow <= 0,
            "{page} scrolls sideways by {overflow} px at 360 px"
        );
    }
    b.goto(&format!("/app/inbox/{conversation}")).await;
    b.wait_text("#thread", "Water heater", Duration::from_secs(5))
        .await;
    b.screenshot("phone-conversation").await;
    b.goto("/app").await;
    b.screenshot("phone-home").await;
    b.close().await;

    // Dark mode: the same tokens, redefined; axe checks the contrast it produces.
    let dark = Browser::phone_dark(&app.api_url).await;
    log_in_page(&dark, "owner@phone-test.example", PASSWORD).await;
    assert_eq!(
        dark.js("return matchMedia('(prefers-color-scheme: dark)').matches;")
            .await,
        json!(true)
    );
    for page in [
        "/app/inbox".to_owned(),
        format!("/app/inbox/{conversation}"),
        "/app".into(),
    ] {
        dark.goto(&page).await;
        dark.wait_text("main", "", Duration::from_secs(5)).await;
        dark.assert_accessible("360 px, dark").await;
    }
    dark.goto("/app/inbox").await;
    dark.screenshot("phone-inbox-dark").await;
    dark.close().await;
}

/// The one-time code texted from the platform's number to `phone`.
async fn wait_for_code(app: &TestApp, phone: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let texts = app.texts_to(phone);
        if let Some(m) = texts.iter().find(|m| m.from == PLATFORM_NUMBER) {
            return m.body[..6].to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no code texted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
