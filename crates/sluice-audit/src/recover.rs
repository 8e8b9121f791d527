//! Opening an audit directory after a clean shutdown or a crash.
//!
//! Only the last segment is scanned. A torn or invalid **last** line (what a crash mid-write
//! leaves) is moved aside into `<segment>.torn-<unix_ms>`, the segment is truncated to its
//! last valid record, and the writer records a [`SystemEvent::Recovery`] in the chain. Any
//! other damage (an invalid line followed by valid ones, a broken link) is tampering, not a
//! crash: opening fails with [`Error::Corrupt`] so nothing is appended on top of it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use jiff::Timestamp;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical::record_hash_of_value;
use crate::error::{Error, Result};
use crate::layout::{Checkpoint, checkpoint_name, list_dir, segment_name, sync_dir};
use crate::record::{GENESIS_HASH, Record, SystemEvent};

/// Where the chain stands after opening.
#[derive(Debug, Clone)]
pub(crate) struct ChainState {
    /// Active segment number.
    pub segment: u64,
    /// Bytes in the active segment.
    pub seg_bytes: u64,
    /// Records in the active segment.
    pub seg_count: u64,
    /// First seq in the active segment (valid when `seg_count > 0`).
    pub seg_first_seq: u64,
    /// prev_hash of the first record of the active segment.
    pub seg_first_prev_hash: String,
    /// Next sequence number to assign.
    pub next_seq: u64,
    /// Hash of the last record.
    pub last_hash: String,
    /// Timestamp of the last record.
    pub last_ts: Timestamp,
}

/// One line of a segment, as scanned.
pub(crate) struct ScannedLine<'a> {
    /// 1-based line number.
    pub line_no: u64,
    /// Byte offset of the line start.
    pub offset: u64,
    /// The line without its newline.
    pub bytes: &'a [u8],
    /// Whether the line ended with `\n`.
    pub complete: bool,
}

/// Split a segment into lines.
pub(crate) fn lines(data: &[u8]) -> impl Iterator<Item = ScannedLine<'_>> {
    let mut pos = 0usize;
    let mut line_no = 0u64;
    std::iter::from_fn(move || {
        if pos >= data.len() {
            return None;
        }
        line_no += 1;
        let start = pos;
        let (end, complete) = match data[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => (pos + i, true),
            None => (data.len(), false),
        };
        pos = if complete { end + 1 } else { end };
        Some(ScannedLine {
            line_no,
            offset: start as u64,
            bytes: &data[start..end],
            complete,
        })
    })
}

/// Parse a line and check its own hash. Returns the value and the record.
pub(crate) fn parse_line(bytes: &[u8]) -> std::result::Result<(Value, Record), String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let stored = v
        .get("hash")
        .and_then(Value::as_str)
        .ok_or("missing hash")?
        .to_string();
    let computed = record_hash_of_value(&v);
    if stored != computed {
        return Err(format!(
            "hash mismatch (stored {stored}, computed {computed}): record was edited"
        ));
    }
    let rec: Record =
        serde_json::from_value(v.clone()).map_err(|e| format!("not an audit record: {e}"))?;
    Ok((v, rec))
}

/// Read every record of a segment file with its byte offset and length (for indexing).
/// Stops at a torn tail.
pub(crate) fn read_segment_records(path: &Path) -> Result<Vec<(Record, u64, u64)>> {
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for l in lines(&data) {
        if !l.complete {
            break;
        }
        match parse_line(l.bytes) {
            Ok((_, r)) => out.push((r, l.offset, l.bytes.len() as u64)),
            Err(detail) => {
                return Err(Error::Corrupt {
                    segment: file_name(path),
                    line: l.line_no,
                    detail,
                });
            }
        }
    }
    Ok(out)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Open (creating if needed) the directory's chain; returns the state, the active segment
/// opened for append, and the recovery event to append if a torn tail was sealed.
pub(crate) fn recover(dir: &Path) -> Result<(ChainState, File, Option<SystemEvent>)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (segs, _cps) = list_dir(dir)?;
    let Some(&last) = segs.last() else {
        let st = ChainState {
            segment: 1,
            seg_bytes: 0,
            seg_count: 0,
            seg_first_seq: 1,
            seg_first_prev_hash: GENESIS_HASH.to_string(),
            next_seq: 1,
            last_hash: GENESIS_HASH.to_string(),
            last_ts: Timestamp::UNIX_EPOCH,
        };
        let f = create_segment(dir, 1)?;
        return Ok((st, f, None));
    };

    let last_cp_path = dir.join(checkpoint_name(last));
    if last_cp_path.exists() {
        // The last segment was sealed; start the next one.
        let cp = Checkpoint::read(&last_cp_path)?;
        let st = ChainState {
            segment: last + 1,
            seg_bytes: 0,
            seg_count: 0,
            seg_first_seq: cp.last_seq + 1,
            seg_first_prev_hash: cp.last_hash.clone(),
            next_seq: cp.last_seq + 1,
            last_hash: cp.last_hash,
            last_ts: cp.sealed_at,
        };
        let f = create_segment(dir, last + 1)?;
        return Ok((st, f, None));
    }

    // Chain position before the active segment.
    let (mut next_seq, mut last_hash, mut last_ts) = if last == 1 {
        (1, GENESIS_HASH.to_string(), Timestamp::UNIX_EPOCH)
    } else {
        let p = dir.join(checkpoint_name(last - 1));
        match Checkpoint::read(&p) {
            Ok(cp) => (cp.last_seq + 1, cp.last_hash, cp.sealed_at),
            // After retention the previous segment may be gone: trust the first record.
            Err(_) => (0, String::new(), Timestamp::UNIX_EPOCH),
        }
    };

    let name = segment_name(last);
    let path = dir.join(&name);
    let mut data = Vec::new();
    File::open(&path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(|e| Error::io(&path, e))?;

    let mut valid_len = 0u64;
    let mut count = 0u64;
    let mut first_seq = next_seq;
    let mut first_prev = last_hash.clone();
    let mut bad: Option<(u64, String)> = None;
    for l in lines(&data) {
        if let Some((line, detail)) = &bad {
            // Something valid-looking after an invalid line: not a crash.
            return Err(Error::Corrupt {
                segment: name.clone(),
                line: *line,
                detail: detail.clone(),
            });
        }
        if !l.complete {
            bad = Some((l.line_no, "incomplete last line".into()));
            continue;
        }
        match parse_line(l.bytes) {
            Ok((_, r)) => {
                if next_seq != 0 && (r.seq != next_seq || r.prev_hash != last_hash) {
                    bad = Some((
                        l.line_no,
                        format!(
                            "chain break: seq {} prev_hash {} (expected seq {next_seq} prev_hash {last_hash})",
                            r.seq, r.prev_hash
                        ),
                    ));
                    continue;
                }
                if count == 0 {
                    first_seq = r.seq;
                    first_prev = r.prev_hash.clone();
                }
                count += 1;
                next_seq = r.seq + 1;
                last_hash = r.hash;
                last_ts = r.ts;
                valid_len = l.offset + l.bytes.len() as u64 + 1;
            }
            Err(detail) => bad = Some((l.line_no, detail)),
        }
    }
    if next_seq == 0 {
        return Err(Error::Corrupt {
            segment: name,
            line: 1,
            detail: "active segment is empty and the previous checkpoint is missing".into(),
        });
    }

    let mut event = None;
    if (valid_len as usize) < data.len() {
        let torn = &data[valid_len as usize..];
        let moved = format!("{name}.torn-{}", Timestamp::now().as_millisecond());
        let moved_path = dir.join(&moved);
        let mut tf = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&moved_path)
            .map_err(|e| Error::io(&moved_path, e))?;
        tf.write_all(torn)
            .and_then(|()| tf.sync_all())
            .map_err(|e| Error::io(&moved_path, e))?;
        let f = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        f.set_len(valid_len)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&path, e))?;
        sync_dir(dir)?;
        event = Some(SystemEvent::Recovery {
            segment: name.clone(),
            offset: valid_len,
            torn_bytes: torn.len() as u64,
            torn_sha256: hex::encode(Sha256::digest(torn)),
            moved_to: moved,
        });
    }

    let f = OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    let st = ChainState {
        segment: last,
        seg_bytes: valid_len,
        seg_count: count,
        seg_first_seq: first_seq,
        seg_first_prev_hash: first_prev,
        next_seq,
        last_hash,
        last_ts,
    };
    Ok((st, f, event))
}

/// Create a new, empty segment file durably.
pub(crate) fn create_segment(dir: &Path, n: u64) -> Result<File> {
    let path = dir.join(segment_name(n));
    // Records are content-minimised but still say who asked what when: owner-only.
    let f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    sync_dir(dir)?;
    Ok(f)
}
