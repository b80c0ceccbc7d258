//! Speech to text for voicemails. Two engines behind one call:
//! - an OpenAI-compatible `POST {base}/audio/transcriptions` (multipart `file` + `model`,
//!   <https://platform.openai.com/docs/api-reference/audio/createTranscription>) when
//!   `NMC_TRANSCRIPTION_BASE_URL` is set — OpenAI itself, or any server that speaks it;
//! - otherwise the embedded offline engine: a local command that takes a WAV file's path and
//!   prints `{"text": …, "language": …}` (scripts/transcribe.py, a small Whisper model shipped
//!   inside a PyPI wheel, so a fresh machine transcribes with no account and no download).

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::audio::{AudioInput, CreateTranscriptionRequest};
use serde::Deserialize;

/// What was heard.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Heard {
    pub text: String,
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    /// Worth another try later (rate limit, server away, timeout).
    #[error("transcription failed for now: {0}")]
    Retryable(String),
    /// Will not work on retry (refused file, bad key, engine missing).
    #[error("transcription failed: {0}")]
    Permanent(String),
}

pub enum Transcriber {
    Api {
        client: Client<OpenAIConfig>,
        model: String,
    },
    Offline {
        program: String,
        args: Vec<String>,
        timeout: Duration,
    },
}

impl Transcriber {
    /// `base_url` like `https://api.openai.com/v1`.
    pub fn api(base_url: &str, api_key: &str, model: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = OpenAIConfig::new()
            .with_api_base(base_url.trim_end_matches('/'))
            .with_api_key(api_key);
        Transcriber::Api {
            client: Client::with_config(config),
            model: model.to_owned(),
        }
    }

    /// A command line (`python3 scripts/transcribe.py`): the WAV's path is appended.
    pub fn offline(command: &str) -> Option<Self> {
        let mut words = command.split_whitespace().map(str::to_owned);
        Some(Transcriber::Offline {
            program: words.next()?,
            args: words.collect(),
            timeout: Duration::from_mins(5),
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Transcriber::Api { model, .. } => format!("OpenAI-compatible API, model {model}"),
            Transcriber::Offline { program, args, .. } => {
                format!("offline engine `{program} {}`", args.join(" "))
            }
        }
    }

    /// Transcribes one recording (WAV or MP3 bytes).
    pub async fn transcribe(
        &self,
        audio: Vec<u8>,
        filename: &str,
    ) -> Result<Heard, TranscribeError> {
        match self {
            Transcriber::Api { client, model } => {
                let request = CreateTranscriptionRequest {
                    file: AudioInput::from_vec_u8(filename.to_owned(), audio),
                    model: model.clone(),
                    ..Default::default()
                };
                // The raw body, read leniently: async-openai's typed answer requires `usage`,
                // which OpenAI-compatible servers (whisper.cpp, faster-whisper-server) leave out.
                let raw = tokio::time::timeout(
                    Duration::from_mins(2),
                    client.audio().transcription().create_raw(request),
                )
                .await
                .map_err(|_| TranscribeError::Retryable("timed out".into()))?
                .map_err(api_error)?;
                let heard: Heard = serde_json::from_slice(&raw).map_err(|e| {
                    TranscribeError::Permanent(format!("the service answered oddly: {e}"))
                })?;
                Ok(Heard {
                    text: heard.text.trim().to_owned(),
                    language: heard.language,
                })
            }
            Transcriber::Offline {
                program,
                args,
                timeout,
            } => offline(program, args, *timeout, &audio, filename).await,
        }
    }
}

fn api_error(e: OpenAIError) -> TranscribeError {
    match &e {
        // async-openai already retried 429 and 5xx; what is left may still pass later.
        OpenAIError::Reqwest(_) | OpenAIError::StreamError(_) => {
            TranscribeError::Retryable(e.to_string())
        }
        OpenAIError::ApiError(api)
            if api.status_code.as_u16() == 429 || api.status_code.is_server_error() =>
        {
            TranscribeError::Retryable(e.to_string())
        }
        _ => TranscribeError::Permanent(e.to_string()),
    }
}

/// Runs the offline engine on a temporary copy of the audio.
async fn offline(
    program: &str,
    args: &[String],
    timeout: Duration,
    audio: &[u8],
    filename: &str,
) -> Result<Heard, TranscribeError> {
    let dir = std::env::temp_dir().join(format!("nmc-vm-{}", uuid::Uuid::new_v4()));
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| TranscribeError::Retryable(e.to_string()))?;
    let path = dir.join(filename);
    let result = async {
        tokio::fs::write(&path, audio)
            .await
            .map_err(|e| TranscribeError::Retryable(e.to_string()))?;
        let run = tokio::process::Command::new(program)
            .args(args)
            .arg(&path)
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(timeout, run)
            .await
            .map_err(|_| TranscribeError::Retryable("offline engine timed out".into()))?
            .map_err(|e| TranscribeError::Permanent(format!("cannot run {program}: {e}")))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().last().unwrap_or("no output").to_owned();
            return Err(TranscribeError::Permanent(format!(
                "offline engine failed: {last}"
            )));
        }
        serde_json::from_slice::<Heard>(&out.stdout)
            .map(|h| Heard {
                text: h.text.trim().to_owned(),
                language: h.language,
            })
            .map_err(|e| TranscribeError::Permanent(format!("offline engine answered oddly: {e}")))
    }
    .await;
    let _ = tokio::fs::remove_dir_all(&dir).await;
    result
}
