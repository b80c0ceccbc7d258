//! A real OpenAI-compatible model server for the assistant's tests: `scripts/llm_server.py`
//! (llama.cpp's server in the PyPI wheel xllamacpp) with SmolLM2-135M-Instruct; `scripts/test`
//! installs both and sets NMC_XLLAMACPP_PATH and NMC_SMOLLM_GGUF. Stopped when dropped.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

pub struct ModelServer {
    port: u16,
    _child: Child,
}

impl ModelServer {
    /// Starts the server on a free loopback port; returns once `/health` answers.
    pub async fn start() -> Self {
        // The tests' own HTTP clients use rustls on ring, as the services do.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (Ok(lib), Ok(model)) = (
            std::env::var("NMC_XLLAMACPP_PATH"),
            std::env::var("NMC_SMOLLM_GGUF"),
        ) else {
            panic!(
                "NMC_XLLAMACPP_PATH and NMC_SMOLLM_GGUF are not set: run the tests with scripts/test, which installs the model server"
            )
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/llm_server.py");
        let child = Command::new("python3")
            .env("PYTHONPATH", lib)
            .arg(script)
            .arg(model)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 scripts/llm_server.py");
        let server = Self {
            port,
            _child: child,
        };
        // Loading a 100 MB model takes a second or two; a loaded CI box, longer.
        let deadline = Instant::now() + Duration::from_secs(90);
        let health = format!("http://127.0.0.1:{port}/health");
        loop {
            if reqwest::get(&health)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return server;
            }
            assert!(Instant::now() < deadline, "the model server did not start");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The OpenAI-compatible base (`…/v1`).
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }
}
