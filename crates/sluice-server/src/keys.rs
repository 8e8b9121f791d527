//! API keys: generation, hashing, and the small secret files the gateway keeps (pseudonym
//! and audit keys).
//!
//! A key is `sluice_` followed by 32 base62 characters (≈190 bits from the OS RNG). Only its
//! SHA-256 is stored in the config. A fast hash is the right choice here, not a password
//! hash like argon2: a password hash slows down guessing *low-entropy* secrets, but nobody
//! can enumerate a 190-bit random key, so the extra cost per request would buy nothing.
//!
//! Keys match `\bsluice_[0-9A-Za-z]{32}\b`, which the default secrets pack detects, so a key
//! pasted into a prompt or a document is blocked or redacted like any other credential.

use std::path::Path;

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::authz::Role;

/// The prefix of every API key.
pub const KEY_PREFIX: &str = "sluice_";
/// Random base62 characters after the prefix.
pub const KEY_CHARS: usize = 32;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new API key and its hash: `(plaintext "sluice_<32 base62>", lower-case hex SHA-256)`.
/// Show the plaintext once; store only the hash.
pub fn new_api_key() -> (String, String) {
    let mut rng = rand::rngs::OsRng;
    let mut key = String::with_capacity(KEY_PREFIX.len() + KEY_CHARS);
    key.push_str(KEY_PREFIX);
    for _ in 0..KEY_CHARS {
        key.push(BASE62[rng.gen_range(0..BASE62.len())] as char);
    }
    let hash = hash_api_key(&key);
    (key, hash)
}

/// Lower-case hex SHA-256 of a key, as stored in `key_sha256`.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The `[[principal]]` block for a config file, serialised from the config's file form, so
/// `id` and collection names are quoted however they need to be (`*` means every
/// collection).
pub fn principal_toml(
    id: &str,
    key_sha256: &str,
    roles: &[Role],
    collections: &[String],
) -> String {
    crate::config::principal_block(id, key_sha256, roles, collections)
}

/// Whether `s` has the shape of a Sluice API key.
pub fn looks_like_api_key(s: &str) -> bool {
    s.len() == KEY_PREFIX.len() + KEY_CHARS
        && s.starts_with(KEY_PREFIX)
        && s[KEY_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
}

/// Reads a hex secret file, or creates it with 32 random bytes (mode 0600) if missing. The
/// CLI uses it too, so `sluice ingest` and the gateway pseudonymise with the same key.
pub fn load_or_create_secret(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read_to_string(path) {
        Ok(text) => hex::decode(text.trim()).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: expected hex", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = vec![0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            write_private(path, hex::encode(&bytes).as_bytes())?;
            Ok(bytes)
        }
        Err(e) => Err(e),
    }
}

/// Creates `path` (and its parent) with mode 0600; refuses to overwrite.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_shape() {
        let (k, h) = new_api_key();
        assert!(looks_like_api_key(&k), "{k}");
        assert_eq!(h, hash_api_key(&k));
        assert_eq!(h.len(), 64);
        let (k2, _) = new_api_key();
        assert_ne!(k, k2);
        assert!(!looks_like_api_key("sluice_short"));
    }
}
