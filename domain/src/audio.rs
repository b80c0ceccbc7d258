//! An uploaded voicemail greeting: is it really a WAV or an MP3 Twilio can `<Play>`, and how
//! long is it? Read from the file's own headers (no decoder needed for either question).

/// The longest greeting we take: callers hang up on long ones.
pub const MAX_GREETING_SECS: f64 = 60.0;
/// The largest upload (a minute of 8 kHz 16-bit WAV is under 1 MB; MP3 far less).
pub const MAX_GREETING_BYTES: usize = 2 * 1024 * 1024;

/// The voices a spoken greeting can use: Twilio's `<Say voice>` names (Amazon Polly), each with
/// the language it speaks and how the settings page names it.
pub const VOICES: &[(&str, &str, &str)] = &[
    ("Polly.Joanna", "en-US", "Joanna, US English"),
    (
        "Polly.Joanna-Neural",
        "en-US",
        "Joanna (natural), US English",
    ),
    (
        "Polly.Matthew-Neural",
        "en-US",
        "Matthew (natural), US English",
    ),
    ("Polly.Salli-Neural", "en-US", "Salli (natural), US English"),
    (
        "Polly.Amy-Neural",
        "en-GB",
        "Amy (natural), British English",
    ),
    ("Polly.Lupe-Neural", "es-US", "Lupe (natural), US Spanish"),
    ("Polly.Pedro-Neural", "es-US", "Pedro (natural), US Spanish"),
    (
        "Polly.Mia-Neural",
        "es-MX",
        "Mia (natural), Mexican Spanish",
    ),
    (
        "Polly.Gabrielle-Neural",
        "fr-CA",
        "Gabrielle (natural), Canadian French",
    ),
];

/// The language a voice speaks, if it is one of [`VOICES`].
pub fn voice_language(voice: &str) -> Option<&'static str> {
    VOICES
        .iter()
        .find(|(v, _, _)| *v == voice)
        .map(|(_, l, _)| *l)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioKind {
    Wav,
    Mp3,
}

impl AudioKind {
    pub fn content_type(self) -> &'static str {
        match self {
            AudioKind::Wav => "audio/wav",
            AudioKind::Mp3 => "audio/mpeg",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    #[error("the file is not a WAV or MP3 recording")]
    NotAudio,
    #[error("the recording is longer than {MAX_GREETING_SECS} seconds")]
    TooLong,
    #[error("the file is larger than 2 MB")]
    TooLarge,
}

/// What the file is and how many seconds it plays, or why it is refused.
pub fn check_greeting(bytes: &[u8]) -> Result<(AudioKind, f64), AudioError> {
    if bytes.len() > MAX_GREETING_BYTES {
        return Err(AudioError::TooLarge);
    }
    let (kind, secs) = if bytes.starts_with(b"RIFF") {
        (AudioKind::Wav, wav_secs(bytes).ok_or(AudioError::NotAudio)?)
    } else {
        (AudioKind::Mp3, mp3_secs(bytes).ok_or(AudioError::NotAudio)?)
    };
    if secs > MAX_GREETING_SECS {
        return Err(AudioError::TooLong);
    }
    Ok((kind, secs))
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// RIFF/WAVE: the `fmt ` chunk's byte rate and the `data` chunk's size.
fn wav_secs(b: &[u8]) -> Option<f64> {
    if b.get(8..12)? != b"WAVE" {
        return None;
    }
    let (mut at, mut byte_rate, mut data) = (12usize, None, None);
    while at + 8 <= b.len() {
        let id = &b[at..at + 4];
        let size = u32_le(b, at + 4)? as usize;
        match id {
            b"fmt " => byte_rate = u32_le(b, at + 16),
            // A streamed WAV may say 0xFFFFFFFF: count what is there.
            b"data" => data = Some(size.min(b.len().saturating_sub(at + 8))),
            _ => {}
        }
        at = at.checked_add(8 + size + (size & 1))?;
    }
    let rate = byte_rate.filter(|r| *r > 0)?;
    Some(data? as f64 / f64::from(rate))
}

/// MP3: past any ID3v2 tag, the first frame header's bitrate; the length assumes a constant
/// bitrate (a variable-bitrate file is estimated from its first frame).
fn mp3_secs(b: &[u8]) -> Option<f64> {
    let mut at = 0;
    if b.starts_with(b"ID3") {
        let s = b.get(6..10)?;
        let size = s
            .iter()
            .fold(0usize, |acc, byte| (acc << 7) | usize::from(byte & 0x7f));
        at = 10 + size;
    }
    let h = b.get(at..at + 4)?;
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let mpeg1 = h[1] & 0x18 == 0x18;
    let layer3 = h[1] & 0x06 == 0x02;
    if !layer3 {
        return None;
    }
    const V1: [u32; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let index = usize::from(h[2] >> 4);
    let kbps = if mpeg1 { V1 } else { V2 }
        .get(index)
        .copied()
        .filter(|k| *k > 0)?;
    Some((b.len() - at) as f64 * 8.0 / (f64::from(kbps) * 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(secs: u32, rate: u32) -> Vec<u8> {
        let data = secs * rate * 2;
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * 2).to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&16u16.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&data.to_le_bytes());
        b.resize(44 + data as usize, 0);
        b
    }

    #[test]
    fn wav_length_comes_from_its_headers() {
        let (kind, secs) = check_greeting(&wav(12, 8000)).unwrap();
        assert_eq!(kind, AudioKind::Wav);
        assert!((secs - 12.0).abs() < 0.01);
        assert_eq!(check_greeting(&wav(61, 8000)), Err(AudioError::TooLong));
    }

    #[test]
    fn mp3_length_is_estimated_from_the_bitrate() {
        // MPEG-1 layer III, 128 kbps: 16 000 bytes a second.
        let mut b = vec![0xFF, 0xFB, 0x90, 0x64];
        b.resize(160_000, 0);
        let (kind, secs) = check_greeting(&b).unwrap();
        assert_eq!(kind, AudioKind::Mp3);
        assert!((secs - 10.0).abs() < 0.01);
    }

    #[test]
    fn other_files_are_refused() {
        assert_eq!(
            check_greeting(b"<html>hello</html>"),
            Err(AudioError::NotAudio)
        );
        assert_eq!(
            check_greeting(b"RIFF\0\0\0\0AVI LIST"),
            Err(AudioError::NotAudio)
        );
        assert_eq!(
            check_greeting(&vec![0; MAX_GREETING_BYTES + 1]),
            Err(AudioError::TooLarge)
        );
    }
}
