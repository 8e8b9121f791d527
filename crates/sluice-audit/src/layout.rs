//! File layout of the audit directory and the signed checkpoint format.
//!
//! ```text
//! <dir>/seg-00000001.jsonl        records, one JSON object per line
//! <dir>/seg-00000001.checkpoint   signed checkpoint written when the segment is sealed
//! <dir>/seg-00000002.jsonl        ... the last segment is the active one
//! <dir>/seg-00000002.jsonl.torn-<unix_ms>  bytes cut off by recovery
//! <dir>/index/                    tantivy index (derived, rebuildable)
//! <dir>/LOCK                      held by the writing process
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, VerifyingKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::canonical::canonical_without;
use crate::error::{Error, Result};
use crate::keys::AuditSigningKey;

/// File name of segment `n`.
pub fn segment_name(n: u64) -> String {
    format!("seg-{n:08}.jsonl")
}

/// File name of the checkpoint of segment `n`.
pub fn checkpoint_name(n: u64) -> String {
    format!("seg-{n:08}.checkpoint")
}

/// Parse a segment number from a segment file name.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    name.strip_prefix("seg-")?
        .strip_suffix(".jsonl")?
        .parse()
        .ok()
}

/// Parse a segment number from a checkpoint file name.
pub fn parse_checkpoint_name(name: &str) -> Option<u64> {
    name.strip_prefix("seg-")?
        .strip_suffix(".checkpoint")?
        .parse()
        .ok()
}

/// Segment and checkpoint numbers present in `dir`, sorted.
pub fn list_dir(dir: &Path) -> Result<(Vec<u64>, Vec<u64>)> {
    let mut segs = Vec::new();
    let mut cps = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = parse_segment_name(name) {
            segs.push(n);
        } else if let Some(n) = parse_checkpoint_name(name) {
            cps.push(n);
        }
    }
    segs.sort_unstable();
    cps.sort_unstable();
    Ok((segs, cps))
}

/// fsync a directory so that created/renamed/deleted entries are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// A signed statement about a sealed segment (like a CloudTrail digest file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub v: u32,
    /// Segment file name.
    pub segment: String,
    /// First sequence number in the segment.
    pub first_seq: u64,
    /// Last sequence number in the segment.
    pub last_seq: u64,
    /// Number of records in the segment.
    pub count: u64,
    /// `prev_hash` of the first record.
    pub first_prev_hash: String,
    /// `hash` of the last record.
    pub last_hash: String,
    /// When the segment was sealed.
    pub sealed_at: Timestamp,
    /// Hex Ed25519 public key of the signer.
    pub pubkey: String,
    /// Hex Ed25519 signature over the canonical JSON of all other fields.
    #[serde(default)]
    pub signature: String,
}

impl Checkpoint {
    /// Sign: fills `pubkey` and `signature`.
    pub fn sign(mut self, key: &AuditSigningKey) -> Result<Self> {
        self.pubkey = key.public_hex();
        self.signature = String::new();
        let msg = canonical_without(&serde_json::to_value(&self)?, "signature");
        self.signature = key.sign_hex(&msg);
        Ok(self)
    }

    /// Check the signature against `key`.
    pub fn verify_signature(&self, key: &VerifyingKey) -> bool {
        let Ok(v) = serde_json::to_value(self) else {
            return false;
        };
        let msg = canonical_without(&v, "signature");
        let Ok(sig) = hex::decode(&self.signature) else {
            return false;
        };
        let Ok(sig) = <[u8; 64]>::try_from(sig.as_slice()) else {
            return false;
        };
        key.verify_strict(&msg, &Signature::from_bytes(&sig))
            .is_ok()
    }

    /// The embedded public key, if well-formed.
    pub fn embedded_key(&self) -> Option<VerifyingKey> {
        let b = hex::decode(&self.pubkey).ok()?;
        VerifyingKey::from_bytes(&b.try_into().ok()?).ok()
    }

    /// Write atomically (tmp + fsync + rename + dir fsync).
    pub fn write(&self, dir: &Path, n: u64) -> Result<PathBuf> {
        use std::io::Write;
        let path = dir.join(checkpoint_name(n));
        let tmp = dir.join(format!("{}.tmp", checkpoint_name(n)));
        let mut body = serde_json::to_vec_pretty(self)?;
        body.push(b'\n');
        let mut f = {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(|e| Error::io(&tmp, e))?
        };
        f.write_all(&body)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        sync_dir(dir)?;
        Ok(path)
    }

    /// Read a checkpoint file.
    pub fn read(path: &Path) -> Result<Self> {
        let b = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Ok(serde_json::from_slice(&b)?)
    }
}
