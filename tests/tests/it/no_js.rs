//! Every form that saves data, in Chromium with JavaScript switched off: each plain HTML post
//! saves (the database says so), and a refused one comes back as the same page with what was
//! typed and the error next to its field, having changed nothing. Plus what needs no script to
//! be right: the unnamed caller's row, and the installation metadata.

use std::time::Duration;

use fantoccini::Locator;
use nmc_tests::browser::Browser;
use nmc_tests::*;
use serde_json::Value;

use crate::business::{
    PASSWORD, accept_invitation, business_via_api, content_on_every_page, log_in_page, missed_call,
};

async fn select(b: &Browser, css: &str, value: &str) {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("{css} = {value}: {e}"));
}

/// Submits with a click and waits for the page that answers (the old one goes stale), so what
/// follows reads the database after the save, not before.
async fn submit(b: &Browser, css: &str) {
    let old = b.client.find(Locator::Css("main")).await.unwrap();
    b.click(css).await;
    gone(b, old).await;
}

async fn submit_text(b: &Browser, text: &str) {
    let old = b.client.find(Locator::Css("main")).await.unwrap();
    b.click_text(text).await;
    gone(b, old).await;
}

async fn gone(b: &Browser, old: fantoccini::elements::Element) {
    wait_until(Duration::from_secs(15), "the next page", || async {
        old.tag_name().await.is_err()
    })
    .await;
    b.wait_text("main", "", Duration::from_secs(5)).await;
}

async fn one<T>(app: &TestApp, sql: &str) -> T
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    sqlx::query_scalar(sql).fetch_one(&app.db).await.unwrap()
}

/// A refused post comes back as the page itself (no script moved anything), with the error by
/// the field and the field holding what was typed.
async fn refused_in_place(b: &Browser, field: &str, typed: &str, error: &str) {
    assert_eq!(
        b.path().await,
        "/app/save",
        "the page came back from the plain post (JavaScript is off)"
    );
    b.wait_text(&format!("#{field}-error"), error, Duration::from_secs(5))
        .await;
    let input = b
        .client
        .find(Locator::Css(&format!("#{field}")))
        .await
        .unwrap();
    assert_eq!(
        input.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(input.prop("value").await.unwrap().as_deref(), Some(typed));
}

#[tokio::test]
async fn every_settings_form_saves_without_javascript_and_refusals_show_by_the_field() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let email = "owner@nojs-settings.example";
    let (token, number) = business_via_api(&app, email).await;
    let conversation = content_on_every_page(&app, &token, &number).await;
    let b = Browser::no_js_desktop(&app.api_url).await;
    log_in_page(&b, email, PASSWORD).await;

    // Business: a bad mobile is refused by the API's own rule, shown by the field; nothing saved.
    b.goto("/app/settings").await;
    b.fill("#owner_phone", "call me maybe").await;
    submit(&b, "#settings-business button[type=submit]").await;
    refused_in_place(&b, "owner_phone", "call me maybe", "").await;
    b.screenshot("no-js-refused").await;
    assert_eq!(
        one::<String>(&app, "select owner_phone from businesses").await,
        "+15125550142"
    );
    // Corrected on the page that came back: saved, and back on settings.
    b.fill("#owner_phone", "+15125550177").await;
    b.fill("#name", "Rivera Plumbing & Drains").await;
    submit(&b, "#settings-business button[type=submit]").await;
    b.wait_path("/app/settings").await;
    assert_eq!(
        one::<String>(&app, "select owner_phone || ' ' || name from businesses").await,
        "+15125550177 Rivera Plumbing & Drains"
    );

    // Hours: Monday closed, Saturday opened at the usual hours (unticked days are dropped, ticked kept).
    b.click("#settings-hours input[name=_keep][value='business_hours.monday']")
        .await;
    b.click("#settings-hours input[name=_keep][value='business_hours.saturday']")
        .await;
    submit(&b, "#settings-hours button[type=submit]").await;
    b.wait_path("/app/settings").await;
    let hours: Value = one(&app, "select business_hours from businesses").await;
    assert!(
        hours["monday"].is_null()
            && hours["tuesday"]["open"] == "08:00"
            && hours["saturday"]["close"] == "17:00",
        "{hours}"
    );

    // Assistant: text where a number goes is refused here, before the API; then 45 s saves.
    b.fill("#owner_window_secs", "soon").await;
    submit(&b, "#settings-assistant button[type=submit]").await;
    refused_in_place(&b, "owner_window_secs", "soon", "a whole number").await;
    b.fill("#owner_window_secs", "45").await;
    b.fill("#follow_up_secs", "2, 24").await;
    submit(&b, "#settings-assistant button[type=submit]").await;
    b.wait_path("/app/settings").await;
    assert_eq!(
        one::<String>(
            &app,
            "select owner_window_secs || ' ' || follow_up_secs::text from businesses"
        )
        .await,
        "45 {7200,86400}"
    );

    // Greetings.
    b.fill("#greeting", "Hi, {business} here. What needs fixing?")
        .await;
    submit(&b, "#settings-greetings button[type=submit]").await;
    b.wait_path("/app/settings").await;
    assert_eq!(
        one::<String>(&app, "select greeting from businesses").await,
        "Hi, {business} here. What needs fixing?"
    );

    // Team: invite, and remove (behind one more tap, no confirm() dialog needed).
    b.goto("/app/team").await;
    b.fill("#invite-email", "tom@nojs-settings.example").await;
    submit_text(&b, "Send invitation").await;
    b.wait_path("/app/team").await;
    assert_eq!(
        app.count(
            "select count(*) from outbound_emails where to_email = 'tom@nojs-settings.example'"
        )
        .await,
        1
    );
    accept_invitation(&app, "tom@nojs-settings.example").await;
    b.goto("/app/team").await;
    b.click_text("Remove Tom").await;
    submit(&b, "details.confirm[open] button[type=submit]").await;
    b.wait_path("/app/team").await;
    assert_eq!(
        app.count("select count(*) from users where name = 'Tom' and active")
            .await,
        0
    );

    // The lead card sends only what changed: the address becomes the owner's, nothing else.
    b.goto(&format!("/app/inbox/{conversation}")).await;
    b.click(".lead summary").await;
    b.fill("#lead-address", "14 Oak St, Austin").await;
    submit_text(&b, "Save lead").await;
    b.wait_path(&format!("/app/inbox/{conversation}")).await;
    assert_eq!(
        one::<Vec<String>>(&app, "select owner_edited from leads").await,
        vec!["address".to_owned()]
    );

    // The pipeline: move the lead.
    b.goto("/app/leads").await;
    select(&b, "form.move select", "qualified").await;
    submit(&b, "form.move button[type=submit]").await;
    b.wait_path("/app/leads").await;
    assert_eq!(
        one::<String>(&app, "select status from leads").await,
        "qualified"
    );
    b.close().await;
}

#[tokio::test]
async fn prices_and_jobs_save_without_javascript() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let email = "owner@nojs-prices.example";
    let (token, number) = business_via_api(&app, email).await;
    let conversation = content_on_every_page(&app, &token, &number).await;
    sqlx::query("delete from catalog_items")
        .execute(&app.db)
        .await
        .unwrap();
    let b = Browser::no_js_desktop(&app.api_url).await;
    log_in_page(&b, email, PASSWORD).await;

    // The starter list in one tap, then a price changed, a job added, a job deleted.
    b.goto("/app/catalog").await;
    b.click_text("Use the plumbing price list").await;
    b.wait_text("main", "Sink Clog", Duration::from_secs(10))
        .await;
    let items = app.count("select count(*) from catalog_items").await;
    assert!(items > 3, "{items}");
    b.click_text("Sink Clog").await;
    b.fill("details[open] input[name='price_cents']", "").await;
    b.fill("details[open] input[name='price_min_cents']", "175")
        .await;
    b.fill("details[open] input[name='price_max_cents']", "250")
        .await;
    b.click("details[open] form[id^='job-'] button[type=submit]")
        .await;
    b.wait_text("main", "Sink Clog · $175", Duration::from_secs(10))
        .await;
    assert_eq!(
        one::<String>(&app, "select price_min_cents || '-' || price_max_cents from catalog_items where name = 'Sink Clog'").await,
        "17500-25000"
    );
    b.fill("#name-new", "Sump Pump Install").await;
    b.fill("#price_cents-new", "$1,250").await;
    b.fill("#keywords-new", "sump, pump").await;
    submit(&b, "#add-job button[type=submit]").await;
    b.wait_path("/app/catalog").await;
    assert_eq!(
        one::<String>(&app, "select price_cents || ' ' || array_to_string(keywords, '/') from catalog_items where name = 'Sump Pump Install'").await,
        "125000 sump/pump"
    );
    b.click_text("Sump Pump Install").await;
    b.click_text("Delete Sump Pump Install").await;
    submit(&b, "details.confirm[open] button[type=submit]").await;
    b.wait_path("/app/catalog").await;
    assert_eq!(
        app.count("select count(*) from catalog_items where name = 'Sump Pump Install'")
            .await,
        0
    );

    // Book the job from the conversation, then move it from the appointments page.
    sqlx::query("delete from appointments")
        .execute(&app.db)
        .await
        .unwrap();
    b.goto(&format!("/app/inbox/{conversation}")).await;
    b.click_text("Book this job").await;
    b.fill("#book-name", "Sam Lee").await;
    submit(&b, ".book button[type=submit]").await;
    b.wait_path("/app/appointments").await;
    assert_eq!(app.count("select count(*) from appointments").await, 1);
    let before: chrono::DateTime<chrono::Utc> =
        one(&app, "select lower(during) from appointments").await;
    b.click_text("Reschedule").await;
    let second = b
        .client
        .find(Locator::Css("select[id^='move-'] option:nth-child(2)"))
        .await
        .unwrap()
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    select(&b, "select[id^='move-']", &second).await;
    b.click("form[id^='reschedule-'] button[type=submit]").await;
    wait_until(Duration::from_secs(10), "the move", || async {
        one::<chrono::DateTime<chrono::Utc>>(&app, "select lower(during) from appointments").await
            != before
    })
    .await;
    b.close().await;
}

#[tokio::test]
async fn set_up_works_without_javascript() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let b = Browser::no_js_desktop(&app.api_url).await;
    b.goto("/signup").await;
    b.fill("#business_name", "Lopez Electric").await;
    b.fill("#owner_name", "Maria Lopez").await;
    b.fill("#email", "maria@lopez-electric.example").await;
    b.fill("#phone", "+15125550188").await;
    b.fill("#password", PASSWORD).await;
    b.click_text("Create account").await;

    b.wait_path("/app/onboarding/profile").await;
    select(&b, "#trade", "electrical").await;
    submit_text(&b, "Save and continue").await;
    b.wait_path("/app/onboarding/hours").await;
    assert_eq!(
        one::<String>(&app, "select trade from businesses").await,
        "electrical"
    );
    submit_text(&b, "Add to the crew").await;
    b.wait_text("main", "Maria Lopez", Duration::from_secs(10))
        .await;
    assert_eq!(app.count("select count(*) from technicians").await, 1);
    b.click_text("Save and continue").await;

    b.wait_path("/app/onboarding/catalog").await;
    submit_text(&b, "Use the electrical price list").await;
    b.wait_path("/app/onboarding/catalog").await;
    assert!(app.count("select count(*) from catalog_items").await > 3);
    b.click_text("Continue").await;

    b.wait_path("/app/onboarding/greeting").await;
    b.fill(
        "#greeting",
        "Lopez Electric here, sorry we missed you. What's going on?",
    )
    .await;
    submit_text(&b, "Save and continue").await;
    b.wait_path("/app/onboarding/number").await;
    assert!(
        one::<String>(&app, "select greeting from businesses")
            .await
            .starts_with("Lopez Electric here")
    );

    b.fill("#area_code", "512").await;
    b.click_text("Find numbers").await;
    b.click("form[id^='buy-'] button[type=submit]").await;
    b.wait_text(
        "main",
        "Your NeverMissCall number is",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        app.count("select count(*) from businesses where twilio_number is not null")
            .await,
        1
    );
    b.click("#call-mode input[value='forwarded']").await;
    submit(&b, "#call-mode button[type=submit]").await;
    b.wait_path("/app/onboarding/number").await;
    assert_eq!(
        one::<String>(&app, "select call_mode from businesses").await,
        "forwarded"
    );
    b.close().await;
}

#[tokio::test]
async fn an_unnamed_caller_reads_as_a_number_and_a_missed_call_and_the_app_installs() {
    let app = TestApp::builder().empty().built_in_sandbox().spawn().await;
    let email = "owner@nojs-inbox.example";
    let (_, number) = business_via_api(&app, email).await;
    missed_call(&app, &number).await;
    wait_until(Duration::from_secs(15), "the greeting", || async {
        app.count("select count(*) from messages where kind = 'greeting'")
            .await
            == 1
    })
    .await;
    let b = Browser::no_js_desktop(&app.api_url).await;
    log_in_page(&b, email, PASSWORD).await;
    b.goto("/app/inbox").await;
    let row = b.text("#conversations li.row").await;
    assert!(row.contains("(512) 555-0123"), "{row}");
    assert!(
        row.contains("Missed call") && row.contains("just now"),
        "{row}"
    );
    let greeting: String = one(&app, "select body from messages where kind = 'greeting'").await;
    assert!(
        !row.contains(greeting.trim()),
        "the row shows our greeting: {row}"
    );
    let time = b
        .client
        .find(Locator::Css("#conversations time"))
        .await
        .unwrap();
    assert!(
        time.attr("title")
            .await
            .unwrap()
            .is_some_and(|t| t.contains("CST") || t.contains("CDT")),
        "the time on hover is the business's (Chicago)"
    );

    // Installation: the manifest, its icons, the service worker and the offline page.
    let head = |css: &'static str| b.client.find(Locator::Css(css));
    let manifest_href = head("link[rel=manifest]")
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(head("meta[name=theme-color]").await.is_ok());
    assert!(head("link[rel=apple-touch-icon]").await.is_ok());
    let http = reqwest::Client::new();
    let manifest = http
        .get(format!("{}{manifest_href}", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        manifest.headers()["content-type"],
        "application/manifest+json"
    );
    let manifest: Value = manifest.json().await.unwrap();
    assert_eq!(manifest["start_url"], "/app");
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["theme_color"], "#0a85c2");
    let icons = manifest["icons"].as_array().unwrap();
    for size in ["192x192", "512x512"] {
        let icon = icons
            .iter()
            .find(|i| i["sizes"] == size && i["type"] == "image/png")
            .unwrap_or_else(|| panic!("a {size} PNG icon"));
        let png = http
            .get(format!("{}{}", app.api_url, icon["src"].as_str().unwrap()))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{size} is a PNG");
        let (w, h) = (
            u32::from_be_bytes(png[16..20].try_into().unwrap()),
            u32::from_be_bytes(png[20..24].try_into().unwrap()),
        );
        assert_eq!(format!("{w}x{h}"), size, "the icon is the size it claims");
    }
    assert!(icons.iter().any(|i| i["purpose"] == "maskable"));
    let sw = http
        .get(format!("{}/sw.js", app.api_url))
        .send()
        .await
        .unwrap();
    assert!(
        sw.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(sw.text().await.unwrap().contains("/offline"));
    let offline = http
        .get(format!("{}/offline", app.api_url))
        .send()
        .await
        .unwrap();
    assert_eq!(offline.status(), 200);
    assert!(offline.text().await.unwrap().contains("offline"));
    b.close().await;
}
