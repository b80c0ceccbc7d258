//! What lets an owner put the app on a phone's home screen: the web app manifest, the icons, the
//! service worker and the page it shows offline. All public and the same for every business:
//! the service worker keeps some of it on the phone, so nothing here may name a tenant.

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::page;
use crate::{AppState, error::ApiError};

const SERVICE_WORKER: &str = include_str!("sw.js");

/// Brand primary: the installed app's title bar and splash screen.
pub const THEME_COLOR: &str = "#0a85c2";

/// Icons are cached for a year without asking again, so a changed icon needs a new file name.
const ICONS: &[(&str, &[u8])] = &[
    ("icon.svg", include_bytes!("icons/icon.svg")),
    ("icon-192.png", include_bytes!("icons/icon-192.png")),
    ("icon-512.png", include_bytes!("icons/icon-512.png")),
    ("maskable-512.png", include_bytes!("icons/maskable-512.png")),
    (
        "apple-touch-icon.png",
        include_bytes!("icons/apple-touch-icon.png"),
    ),
];

fn content_type(file: &str) -> &'static str {
    if std::path::Path::new(file)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"))
    {
        "image/svg+xml"
    } else {
        "image/png"
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/manifest.webmanifest", get(manifest))
        // At the root, so the worker's scope covers every page without Service-Worker-Allowed.
        .route("/sw.js", get(service_worker))
        .route("/offline", get(offline))
        .route("/assets/icons/{file}", get(icon))
}

/// The manifest (W3C Web App Manifest), with what Chrome needs to offer installing: a name,
/// 192 and 512 px icons, `start_url` and a standalone display.
fn manifest_json() -> Value {
    let image = |file: &str, sizes: &str, purpose: &str| {
        let src = format!("/assets/icons/{file}");
        json!({"src": src, "sizes": sizes, "type": content_type(file), "purpose": purpose})
    };
    json!({
        "id": "/app",
        "name": "NeverMissCall",
        // Launchers cut labels past about 12 characters ("NeverMissCa…").
        "short_name": "NeverMiss",
        "description": "Every missed call gets a text back, and the assistant books the job.",
        "lang": "en",
        "start_url": "/app",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "categories": ["business", "productivity"],
        "icons": [
            image("icon-192.png", "192x192", "any"),
            image("icon-512.png", "512x512", "any"),
            image("maskable-512.png", "512x512", "maskable"),
            image("icon.svg", "any", "any"),
        ],
    })
}

async fn manifest() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/manifest+json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        manifest_json().to_string(),
    )
}

/// Always revalidated, so a new worker reaches phones on their next visit.
async fn service_worker() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SERVICE_WORKER,
    )
}

async fn icon(Path(file): Path<String>) -> Response {
    match ICONS.iter().find(|(name, _)| *name == file) {
        Some((_, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type(&file)),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            *bytes,
        )
            .into_response(),
        None => ApiError::NotFound.into_response(),
    }
}

/// What the service worker shows when a page cannot load. "Retry" reloads the page the owner
/// asked for: the worker answers with this page at that page's address.
async fn offline() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-cache")], offline_page())
}

fn offline_page() -> Markup {
    page(
        "Offline",
        html! {
            h1 { "You're offline" }
            p { "This phone has no connection right now, so the app can't load." }
            p { "Nothing is lost: NeverMissCall runs on our servers, not on this phone." }
            ul {
                li { "Missed calls still get a text back, as always." }
                li { "The assistant keeps answering callers and booking jobs." }
                li { "Everything that happened shows up here once you're back online." }
            }
            p { a href="" { "Retry" } }
        },
    )
}
