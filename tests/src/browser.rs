//! A real browser for the page tests: Debian's headless Chromium driven over WebDriver
//! (chromedriver, started per test on a free port) with fantoccini.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: Child,
}

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
        Self::start(base, json!({}), "--window-size=1280,1000").await
    }

    /// A 360 px wide phone (Chrome's device emulation: the viewport is exactly that wide).
    pub async fn phone(base: &str) -> Self {
        Self::start(
            base,
            json!({"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2.0}}),
            "--window-size=360,740",
        )
        .await
    }

    async fn start(base: &str, mobile: Value, size: &str) -> Self {
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
        if mobile.as_object().is_some_and(|m| !m.is_empty()) {
            options["mobileEmulation"] = mobile;
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
        let e = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        e.click()
            .await
            .unwrap_or_else(|e| panic!("click {text}: {e}"));
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
