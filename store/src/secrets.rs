//! Secrets at rest (Twilio auth tokens): AES-256-GCM with the deployment's NMC_SECRET_KEY.
//! Stored as base64(nonce || ciphertext); a fresh random nonce per encryption.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::{Engine, engine::general_purpose::STANDARD};

use crate::StoreError;

#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// `key_b64`: 32 random bytes, base64 (`openssl rand -base64 32`).
    pub fn from_base64(key_b64: &str) -> Result<Self, StoreError> {
        let key = STANDARD
            .decode(key_b64.trim())
            .map_err(|_| StoreError::Secret("NMC_SECRET_KEY is not base64".into()))?;
        if key.len() != 32 {
            return Err(StoreError::Secret(format!(
                "NMC_SECRET_KEY must be 32 bytes, got {}",
                key.len()
            )));
        }
        Ok(Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
        })
    }

    pub fn encrypt(&self, plain: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .expect("aes-gcm encryption cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        STANDARD.encode(out)
    }

    pub fn decrypt(&self, sealed: &str) -> Result<String, StoreError> {
        let raw = STANDARD
            .decode(sealed)
            .map_err(|_| StoreError::Secret("stored secret is not base64".into()))?;
        if raw.len() < 12 {
            return Err(StoreError::Secret("stored secret is too short".into()));
        }
        let (nonce, ct) = raw.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| {
                StoreError::Secret("stored secret does not open with NMC_SECRET_KEY".into())
            })?;
        String::from_utf8(plain)
            .map_err(|_| StoreError::Secret("stored secret is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let a = SecretBox::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        let b = SecretBox::from_base64(&STANDARD.encode([8u8; 32])).unwrap();
        let sealed = a.encrypt("token-123");
        assert!(!sealed.contains("token-123"));
        assert_ne!(sealed, a.encrypt("token-123"), "fresh nonce each time");
        assert_eq!(a.decrypt(&sealed).unwrap(), "token-123");
        assert!(b.decrypt(&sealed).is_err());
        assert!(SecretBox::from_base64("c2hvcnQ=").is_err());
    }
}
