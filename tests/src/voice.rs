//! Callers who speak: voicemails said by espeak-ng (Debian; scripts/test installs it), as the
//! WAV a carrier records.

use base64::Engine;
use nmc_sandbox::voice::Voicemail;

/// `text` spoken into a WAV file's bytes.
pub fn speak(text: &str) -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("nmc-speech-{}.wav", uuid::Uuid::new_v4()));
    let status = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng runs (scripts/test installs it)");
    assert!(status.success(), "espeak-ng failed");
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    bytes
}

/// A voicemail saying `text`, for the sandbox caller to leave after the beep.
pub fn voicemail(text: &str) -> Voicemail {
    let wav = speak(text);
    let (_, secs) =
        nmc_domain::audio::check_greeting(&wav).unwrap_or((nmc_domain::audio::AudioKind::Wav, 5.0));
    Voicemail {
        audio_base64: base64::engine::general_purpose::STANDARD.encode(&wav),
        duration_secs: secs.ceil() as u32,
    }
}

/// The test's object storage (recordings, greetings), shared by its API and worker.
pub fn objects_dir(database_url: &str) -> std::path::PathBuf {
    let name = database_url.rsplit('/').next().unwrap_or("nmc");
    std::env::temp_dir().join(format!("nmc-objects-{name}"))
}

impl crate::TestApp {
    /// Every missed call, at any hour, gets `method` (text, voicemail, ai_voice, both).
    pub async fn route_all(&self, method: &str) {
        let b = self.business_id().await;
        let r = self
            .owner(reqwest::Method::PUT, "/api/routing", b)
            .json(&serde_json::json!({"preset": {"open": method, "closed": method}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
}
