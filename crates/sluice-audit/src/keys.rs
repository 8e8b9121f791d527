//! Keys: the Ed25519 key that signs checkpoints, and the HMAC key for finding values.
//! Both types print `[REDACTED]` in `Debug` and `Display`.

use std::fmt;
use std::path::Path;

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// Domain-separation label for [`value_hmac`].
pub const VALUE_HMAC_LABEL: &[u8] = b"sluice-audit/value-hmac/v1";

/// Ed25519 key that signs segment checkpoints.
#[derive(Clone)]
pub struct AuditSigningKey(SigningKey);

impl AuditSigningKey {
    /// A new random key.
    pub fn generate() -> Self {
        AuditSigningKey(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// Parse a key: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) or 64 hex characters (the seed).
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        if t.starts_with("-----BEGIN") {
            return SigningKey::from_pkcs8_pem(t)
                .map(AuditSigningKey)
                .map_err(|e| Error::Key(format!("bad PKCS#8 PEM Ed25519 key: {e}")));
        }
        let bytes = hex::decode(t).map_err(|_| Error::Key("expected PEM or hex".into()))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::Key("hex key must be 32 bytes (64 hex chars)".into()))?;
        Ok(AuditSigningKey(SigningKey::from_bytes(&seed)))
    }

    /// Load a key file (PEM or hex).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text)
    }

    /// PKCS#8 PEM text of the key (secret! write with mode 0600).
    pub fn to_pem(&self) -> Result<String> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map(|z| z.to_string())
            .map_err(|e| Error::Key(e.to_string()))
    }

    /// Write a new PEM key file with mode 0600; refuses to overwrite.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let pem = self.to_pem()?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        f.write_all(pem.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(path, e))
    }

    /// The public half, hex-encoded (what `verify --pubkey` takes).
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    /// Sign `msg`, hex signature.
    pub(crate) fn sign_hex(&self, msg: &[u8]) -> String {
        hex::encode(self.0.sign(msg).to_bytes())
    }
}

impl fmt::Debug for AuditSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditSigningKey([REDACTED])")
    }
}

impl fmt::Display for AuditSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Parse a public key: 64 hex chars, or a file containing them, or a PEM public key file.
pub fn parse_public_key(text_or_path: &str) -> Result<VerifyingKey> {
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let p = Path::new(text_or_path);
    let text = if p.is_file() {
        std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?
    } else {
        text_or_path.to_string()
    };
    let t = text.trim();
    if t.starts_with("-----BEGIN PUBLIC KEY") {
        return VerifyingKey::from_public_key_pem(t).map_err(|e| Error::Key(e.to_string()));
    }
    if t.starts_with("-----BEGIN") {
        return Ok(AuditSigningKey::parse(t)?.verifying_key());
    }
    let bytes = hex::decode(t).map_err(|_| Error::Key("public key: expected 64 hex".into()))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| Error::Key("public key must be 32 bytes".into()))?;
    VerifyingKey::from_bytes(&arr).map_err(|e| Error::Key(e.to_string()))
}

/// Secret key for [`value_hmac`].
#[derive(Clone)]
pub struct HmacKey(Vec<u8>);

impl HmacKey {
    /// Wrap raw key bytes (at least 16 bytes recommended).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        HmacKey(bytes.into())
    }

    /// A new random 32-byte key.
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut k = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        HmacKey(k)
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey([REDACTED])")
    }
}

impl fmt::Display for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Keyed HMAC-SHA256 of a finding's value, truncated to 128 bits, hex: equal values of the
/// same entity give equal tags (so repeats correlate) without revealing the value.
/// Input: `label || 0 || entity || 0 || value`.
pub fn value_hmac(key: &HmacKey, entity: &str, value: &str) -> String {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&key.0) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(VALUE_HMAC_LABEL);
    mac.update(&[0]);
    mac.update(entity.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    let tag = mac.finalize().into_bytes();
    hex::encode(&tag[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let k = AuditSigningKey::generate();
        assert_eq!(format!("{k:?}"), "AuditSigningKey([REDACTED])");
        assert_eq!(format!("{k}"), "[REDACTED]");
        let h = HmacKey::new(b"secret-secret".to_vec());
        assert!(!format!("{h:?}").contains("secret"));
        assert_eq!(format!("{h}"), "[REDACTED]");
    }

    #[test]
    fn pem_and_hex_roundtrip() {
        let k = AuditSigningKey::generate();
        let pem = k.to_pem().expect("pem");
        let k2 = AuditSigningKey::parse(&pem).expect("parse pem");
        assert_eq!(k.public_hex(), k2.public_hex());
        let pk = parse_public_key(&k.public_hex()).expect("pub");
        assert_eq!(pk, k.verifying_key());
        assert!(AuditSigningKey::parse("zz").is_err());
    }

    #[test]
    fn value_hmac_is_keyed_and_separated() {
        let k1 = HmacKey::new(vec![1; 32]);
        let k2 = HmacKey::new(vec![2; 32]);
        let a = value_hmac(&k1, "email", "a@b.c");
        assert_eq!(a, value_hmac(&k1, "email", "a@b.c"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, value_hmac(&k2, "email", "a@b.c"));
        assert_ne!(a, value_hmac(&k1, "phone", "a@b.c"));
        assert!(!a.contains("a@b.c"));
    }
}
