//! A real browser for the page tests: Debian's headless Chromium driven over WebDriver
//! (chromedriver, started per test on a free port) with fantoccini. Beside driving pages: axe-core
//! accessibility checks, page weight from the Performance API, and the keyboard (Tab, Enter).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde::Deserialize;
use serde_json::{Value, json};

pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: Child,
}

const DESKTOP: &str = "--window-size=1280,1000";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// A desktop-sized window.
    pub async fn desktop(base: &str) -> Self {
        Self::start(base, json!({}), DESKTOP).await
    }

    /// A 360 px wide phone (Chrome's device emulation: the viewport is exactly that wide).
    pub async fn phone(base: &str) -> Self {
        Self::start(
            base,
            json!({"mobileEmulation": {"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2.0}}}),
            "--window-size=360,740",
        )
        .await
    }

    /// The 360 px phone with the system in dark mode (`prefers-color-scheme: dark`; Blink's
    /// preferredColorScheme 0 is dark).
    pub async fn phone_dark(base: &str) -> Self {
        Self::start(
            base,
            json!({"mobileEmulation": {"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2.0}},
                   "args": ["--blink-settings=preferredColorScheme=0"]}),
            "--window-size=360,740",
        )
        .await
    }

    /// A desktop window with JavaScript switched off the way a policy does it (Chromium's
    /// `profile.managed_default_content_settings.javascript`, 2 = block): the pages' scripts do
    /// not run, so forms must work as plain HTML. WebDriver itself still finds and clicks.
    pub async fn no_js_desktop(base: &str) -> Self {
        Self::start(
            base,
            json!({"prefs": {"profile.managed_default_content_settings.javascript": 2}}),
            DESKTOP,
        )
        .await
    }

    /// `chrome_options` go into goog:chromeOptions beside the binary and arguments.
    async fn start(base: &str, chrome_options: Value, size: &str) -> Self {
        let port = free_port();
        // Its own process group, so the browser it starts goes with it (see Drop).
        let driver =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver (Debian chromium-driver; scripts/test installs it)");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{url}/status")).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut options = json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", size],
        });
        if let Value::Object(extra) = chrome_options {
            for (key, value) in extra {
                match (key.as_str(), value) {
                    // More arguments add to ours.
                    ("args", Value::Array(more)) => {
                        if let Some(args) = options["args"].as_array_mut() {
                            args.extend(more);
                        }
                    }
                    (_, value) => options[key] = value,
                }
            }
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("a Chromium session");
        Self {
            client,
            base: base.to_owned(),
            driver,
        }
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        format!(
            "{}{}",
            url.path(),
            url.query().map(|q| format!("?{q}")).unwrap_or_default()
        )
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let e = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        let e = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        e.click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks the button or link whose text contains `text`.
    pub async fn click_text(&self, text: &str) {
        let xpath = format!(
            "//*[self::button or self::a or self::summary][contains(normalize-space(.), '{text}')]"
        );
        // A live page (the inbox) may redraw between finding the element and clicking it:
        // find it again, a few times, before calling it a failure.
        for attempt in 1..=3 {
            let e = self
                .client
                .wait()
                .at_most(Duration::from_secs(10))
                .for_element(Locator::XPath(&xpath))
                .await
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            match e.click().await {
                Ok(()) => return,
                Err(e) if attempt < 3 && e.to_string().contains("stale element") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("click {text}: {e}"),
            }
        }
    }

    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until the element's text contains `needle`; returns how long that took.
    pub async fn wait_text(&self, css: &str, needle: &str, timeout: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.text(css).await.contains(needle) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() <= timeout,
                "{css} never showed {needle:?}; it shows {:?} on {}",
                self.text(css).await,
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn wait_path(&self, prefix: &str) {
        let started = Instant::now();
        while !self.path().await.starts_with(prefix) {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "never reached {prefix}; at {}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn js(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// The page is no wider than the viewport (nothing to scroll sideways).
    pub async fn horizontal_overflow(&self) -> i64 {
        let v = self.js("return document.documentElement.scrollWidth - document.documentElement.clientWidth;").await;
        v.as_i64().unwrap_or(0)
    }

    /// Saves a PNG of the page into docs/screenshots/ (referenced from the README).
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// One axe-core rule a page breaks, with the elements that break it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The rule, e.g. `color-contrast`.
    pub id: String,
    /// minor, moderate, serious or critical.
    pub impact: Option<String>,
    pub help: String,
    pub help_url: String,
    pub nodes: Vec<FailingNode>,
}

#[derive(Debug, Deserialize)]
pub struct FailingNode {
    /// axe's CSS selector for the element.
    pub target: String,
    /// The start of the element's markup.
    pub html: String,
}

impl Violation {
    /// Serious or critical: what keeps someone from using the page (the bar the tests hold).
    pub fn blocks(&self) -> bool {
        matches!(self.impact.as_deref(), Some("serious" | "critical"))
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let impact = self.impact.as_deref().unwrap_or("no impact");
        write!(
            f,
            "{} ({impact}): {} <{}>",
            self.id, self.help, self.help_url
        )?;
        for node in &self.nodes {
            write!(f, "\n    {}  {}", node.target, node.html)?;
        }
        Ok(())
    }
}

/// axe.min.js, read once per test binary from where scripts/test installed it.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = std::env::var("NMC_AXE_JS").unwrap_or_else(|_| {
            panic!("NMC_AXE_JS is not set: run the tests with scripts/test, which installs axe-core into .tools/axe-core and points NMC_AXE_JS at axe.min.js")
        });
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("NMC_AXE_JS={path}: {e} (scripts/test installs it)"))
    })
}

/// Runs axe on the whole document; answers the violations with each failing element's selector.
const AXE_RUN: &str = r"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then(r => done(r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({ target: n.target.map(t => [].concat(t).join(' >>> ')).join(' | '), html: n.html.slice(0, 160) })),
  }))))
  .catch(e => done({ error: String(e) }));
";

/// Page weight: what loading the page cost, once its load event has ended (plus a moment for the
/// fetches its scripts started during load). decodedBodySize is the uncompressed body, so
/// compression cannot hide growth (transferSize would shrink with gzip and be 0 from the cache).
/// Later traffic is not weight: polls and live refreshes started after load, and the
/// EventSource stream /api/events, which never ends.
const WEIGHT: &str = r"
const done = arguments[arguments.length - 1];
const measure = () => {
  const nav = performance.getEntriesByType('navigation')[0];
  const parts = [[location.pathname + location.search, nav.decodedBodySize]];
  for (const r of performance.getEntriesByType('resource')) {
    const url = new URL(r.name);
    if (url.pathname === '/api/events' || r.startTime > nav.loadEventEnd) continue;
    parts.push([url.pathname + url.search, r.decodedBodySize]);
  }
  done(parts);
};
const settle = () => {
  const nav = performance.getEntriesByType('navigation')[0];
  if (nav && nav.loadEventEnd > 0) setTimeout(measure, 200); else setTimeout(settle, 50);
};
settle();
";

/// Accessibility and weight of the page open now.
impl Browser {
    /// axe-core's violations on the page open now (injected once per page from NMC_AXE_JS).
    pub async fn axe(&self) -> Vec<Violation> {
        if self.js("return typeof window.axe === 'undefined';").await == json!(true) {
            self.client
                .execute(&format!("{}\n;return true;", axe_source()), vec![])
                .await
                .unwrap_or_else(|e| panic!("injecting axe-core: {e}"));
        }
        let found = self
            .client
            .execute_async(AXE_RUN, vec![])
            .await
            .unwrap_or_else(|e| panic!("axe.run: {e}"));
        if let Some(e) = found.get("error") {
            panic!("axe.run failed on {}: {e}", self.path().await);
        }
        serde_json::from_value(found).unwrap_or_else(|e| panic!("axe's answer: {e}"))
    }

    /// Fails on any serious or critical axe finding, naming the rule, the elements, the page and
    /// the viewport (`viewport` is the caller's label for it, e.g. "360 px").
    pub async fn assert_accessible(&self, viewport: &str) {
        let blocking: Vec<Violation> = self
            .axe()
            .await
            .into_iter()
            .filter(Violation::blocks)
            .collect();
        assert!(
            blocking.is_empty(),
            "{} at {viewport} breaks {} accessibility rule(s) (axe-core, serious or critical):\n{}",
            self.path().await,
            blocking.len(),
            blocking
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// The document and each resource it loaded, with their uncompressed sizes in bytes.
    pub async fn page_weight_parts(&self) -> Vec<(String, u64)> {
        let here = self.path().await;
        let parts = self
            .client
            .execute_async(WEIGHT, vec![])
            .await
            .unwrap_or_else(|e| panic!("weighing {here}: {e}"));
        // Numbers cross WebDriver as JSON numbers; read them as f64, whatever form they take.
        let parts: Vec<(String, f64)> =
            serde_json::from_value(parts).unwrap_or_else(|e| panic!("the page's weights: {e}"));
        parts
            .into_iter()
            .map(|(what, bytes)| (what, bytes as u64))
            .collect()
    }

    /// Bytes of the document plus everything it loaded (HTML + CSS + JS here), uncompressed.
    pub async fn page_weight(&self) -> u64 {
        self.page_weight_parts().await.iter().map(|p| p.1).sum()
    }
}

/// The keyboard alone: Tab, Enter and typing, with no clicks.
impl Browser {
    async fn press(&self, key: Key) {
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() });
        self.client
            .perform_actions(keys)
            .await
            .unwrap_or_else(|e| panic!("pressing {key:?}: {e}"));
    }

    /// Presses Tab until the focused element matches `css`; returns how many presses it took.
    pub async fn tab_to(&self, css: &str) -> usize {
        const MOST: usize = 60;
        let mut stops = Vec::new();
        for presses in 1..=MOST {
            self.press(Key::Tab).await;
            let focused = self
                .client
                .execute(
                    "const e = document.activeElement;
                     if (!e || e === document.body) return [false, 'body'];
                     const text = (e.innerText || e.value || '').trim().slice(0, 30);
                     return [e.matches(arguments[0]), e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (text ? ' \"' + text + '\"' : '')];",
                    vec![json!(css)],
                )
                .await
                .unwrap_or_else(|e| panic!("reading the focused element: {e}"));
            if focused[0] == json!(true) {
                return presses;
            }
            stops.push(focused[1].as_str().unwrap_or_default().to_owned());
        }
        panic!(
            "{MOST} presses of Tab on {} never reached {css}; focus went: {}",
            self.path().await,
            stops.join(" → ")
        );
    }

    pub async fn press_enter(&self) {
        self.press(Key::Enter).await;
    }

    /// Types into the focused element, as keys.
    pub async fn type_text(&self, text: &str) {
        self.client
            .active_element()
            .await
            .unwrap_or_else(|e| panic!("no focused element to type into: {e}"))
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing {text:?}: {e}"));
    }

    /// The focused element's computed outline-style ("none" when focus cannot be seen).
    pub async fn focus_outline(&self) -> String {
        self.js("return getComputedStyle(document.activeElement).outlineStyle;")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl Browser {
    /// Ends the browser session cleanly (Drop also stops everything, on failures too).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole process group: chromedriver and the Chromium it started.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.wait();
    }
}
