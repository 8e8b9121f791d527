//! `verify`: walk every segment and checkpoint, check each line's hash, the `prev_hash`
//! chain and `seq` continuity across segments, and each checkpoint's signature, count and
//! last hash. Reports counts, or the first break with its segment and 1-based line.

use std::fmt;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use serde_json::Value;

use crate::canonical::record_hash_of_value;
use crate::error::{Error, Result};
use crate::layout::{Checkpoint, checkpoint_name, list_dir, segment_name};
use crate::record::{GENESIS_HASH, SystemEvent};
use crate::recover::lines;

/// What kind of break was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// A line's content does not match its own hash (edited).
    HashMismatch,
    /// A line is not a valid record (garbage, incomplete line inside the chain).
    InvalidLine,
    /// Sequence numbers jump forward: records were deleted.
    RecordsMissing,
    /// Sequence numbers go backwards or repeat: records were reordered or duplicated.
    OutOfOrder,
    /// `prev_hash` does not match the previous record's hash (edited and re-hashed, or forged).
    ChainBroken,
    /// A segment file is missing from the middle of the sequence.
    SegmentMissing,
    /// A sealed segment has no checkpoint, or a checkpoint has no segment.
    CheckpointMissing,
    /// A checkpoint's signature is invalid or made with another key.
    CheckpointForged,
    /// A checkpoint's counts or hashes do not match its segment (truncated or extended).
    CheckpointMismatch,
    /// The chain does not start at the genesis and no retention event explains it.
    UnexplainedStart,
}

/// The first broken link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// What is wrong.
    pub kind: BreakKind,
    /// Segment (or checkpoint) file name.
    pub segment: String,
    /// 1-based line in the segment, when it applies.
    pub line: Option<u64>,
    /// Human-readable detail.
    pub detail: String,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(
                f,
                "{:?} in {} line {}: {}",
                self.kind, self.segment, l, self.detail
            ),
            None => write!(f, "{:?} in {}: {}", self.kind, self.segment, self.detail),
        }
    }
}

/// A torn (incomplete) last line found in the last segment (a crash not yet recovered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TornTail {
    /// Segment file name.
    pub segment: String,
    /// 1-based line number.
    pub line: u64,
    /// Number of bytes in the torn line.
    pub bytes: u64,
}

/// Result of [`verify_dir`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Segments walked.
    pub segments: u64,
    /// Records checked (requests + events).
    pub records: u64,
    /// System events among them.
    pub events: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// First sequence number present.
    pub first_seq: u64,
    /// Last sequence number present.
    pub last_seq: u64,
    /// Hash of the last record.
    pub last_hash: String,
    /// Records in the last segment not yet covered by a signed checkpoint.
    pub unsealed_records: u64,
    /// Recovery events (torn tails sealed after crashes): (segment, line, torn bytes).
    pub recoveries: Vec<(String, u64, u64)>,
    /// Retention events found.
    pub retentions: u64,
    /// Torn last line not yet recovered (reported, not a break).
    pub torn_tail: Option<TornTail>,
    /// Whether checkpoint signatures were checked against a key supplied by the caller
    /// (`false`: only against the key embedded in the first checkpoint).
    pub key_supplied: bool,
    /// The first break, if any.
    pub first_break: Option<Break>,
}

impl VerifyReport {
    /// No break found.
    pub fn is_ok(&self) -> bool {
        self.first_break.is_none()
    }
}

struct Walk {
    report: VerifyReport,
    expected: Option<(u64, String)>,
    first_prev: Option<String>,
    retention_marks: Vec<(u64, String)>,
    key: Option<VerifyingKey>,
}

impl Walk {
    fn brk(&mut self, kind: BreakKind, segment: &str, line: Option<u64>, detail: String) {
        if self.report.first_break.is_none() {
            self.report.first_break = Some(Break {
                kind,
                segment: segment.to_string(),
                line,
                detail,
            });
        }
    }
}

/// Verify the audit directory. `pubkey`: the trusted checkpoint key; without it the key
/// embedded in the first checkpoint is used (and every checkpoint must match it).
pub fn verify_dir(dir: &Path, pubkey: Option<&VerifyingKey>) -> Result<VerifyReport> {
    if !dir.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "audit directory not found"),
        ));
    }
    let (segs, cps) = list_dir(dir)?;
    let mut w = Walk {
        report: VerifyReport {
            key_supplied: pubkey.is_some(),
            ..VerifyReport::default()
        },
        expected: None,
        first_prev: None,
        retention_marks: Vec::new(),
        key: pubkey.copied(),
    };
    let last_seg = segs.last().copied().unwrap_or(0);
    let mut prev_n: Option<u64> = None;
    for &n in &segs {
        if w.report.first_break.is_some() {
            break;
        }
        if let Some(p) = prev_n
            && n != p + 1
        {
            w.brk(
                BreakKind::SegmentMissing,
                &segment_name(p + 1),
                None,
                format!("segment(s) {}..{} missing", p + 1, n - 1),
            );
            break;
        }
        prev_n = Some(n);
        walk_segment(dir, n, n == last_seg, &mut w)?;
    }
    for &c in &cps {
        if w.report.first_break.is_none() && !segs.contains(&c) {
            w.brk(
                BreakKind::CheckpointMissing,
                &checkpoint_name(c),
                None,
                format!("checkpoint without its segment {}", segment_name(c)),
            );
            break;
        }
    }
    if w.report.first_break.is_none()
        && let Some(first_prev) = w.first_prev.clone()
    {
        let first_seq = w.report.first_seq;
        let first_name = segs.first().map(|&n| segment_name(n)).unwrap_or_default();
        if first_seq == 1 {
            if first_prev != GENESIS_HASH {
                w.brk(
                    BreakKind::ChainBroken,
                    &first_name,
                    Some(1),
                    "first record's prev_hash is not the genesis hash".into(),
                );
            }
        } else if !w
            .retention_marks
            .iter()
            .any(|(s, h)| *s + 1 == first_seq && *h == first_prev)
        {
            w.brk(
                BreakKind::UnexplainedStart,
                &first_name,
                Some(1),
                format!(
                    "chain starts at seq {first_seq} but no retention event covers seq 1..{}",
                    first_seq - 1
                ),
            );
        }
    }
    Ok(w.report)
}

fn walk_segment(dir: &Path, n: u64, is_last: bool, w: &mut Walk) -> Result<()> {
    let name = segment_name(n);
    let path = dir.join(&name);
    let data = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    w.report.segments += 1;
    let mut count = 0u64;
    let mut first: Option<(u64, String)> = None;
    let mut last_line = 0u64;
    for l in lines(&data) {
        last_line = l.line_no;
        if !l.complete {
            if is_last {
                w.report.torn_tail = Some(TornTail {
                    segment: name.clone(),
                    line: l.line_no,
                    bytes: l.bytes.len() as u64,
                });
            } else {
                w.brk(
                    BreakKind::InvalidLine,
                    &name,
                    Some(l.line_no),
                    "incomplete line (segment truncated)".into(),
                );
            }
            break;
        }
        let v: Value = match serde_json::from_slice(l.bytes) {
            Ok(v) => v,
            Err(e) => {
                w.brk(
                    BreakKind::InvalidLine,
                    &name,
                    Some(l.line_no),
                    format!("not valid JSON: {e}"),
                );
                return Ok(());
            }
        };
        let stored = v.get("hash").and_then(Value::as_str).unwrap_or("");
        let computed = record_hash_of_value(&v);
        if stored != computed {
            w.brk(
                BreakKind::HashMismatch,
                &name,
                Some(l.line_no),
                format!("content does not match its hash (stored {stored}, computed {computed})"),
            );
            return Ok(());
        }
        let seq = v.get("seq").and_then(Value::as_u64);
        let prev = v.get("prev_hash").and_then(Value::as_str);
        let (Some(seq), Some(prev)) = (seq, prev) else {
            w.brk(
                BreakKind::InvalidLine,
                &name,
                Some(l.line_no),
                "missing seq or prev_hash".into(),
            );
            return Ok(());
        };
        match &w.expected {
            None => {
                w.report.first_seq = seq;
                w.first_prev = Some(prev.to_string());
            }
            Some((es, eh)) => {
                if seq > *es {
                    w.brk(
                        BreakKind::RecordsMissing,
                        &name,
                        Some(l.line_no),
                        format!(
                            "expected seq {es}, found {seq}: {} record(s) deleted or moved",
                            seq - es
                        ),
                    );
                    return Ok(());
                }
                if seq < *es {
                    w.brk(
                        BreakKind::OutOfOrder,
                        &name,
                        Some(l.line_no),
                        format!("expected seq {es}, found {seq}: records reordered or duplicated"),
                    );
                    return Ok(());
                }
                if prev != eh {
                    w.brk(
                        BreakKind::ChainBroken,
                        &name,
                        Some(l.line_no),
                        format!("prev_hash {prev} does not match the previous record's hash {eh}"),
                    );
                    return Ok(());
                }
            }
        }
        if let Some(ev) = v.get("event") {
            w.report.events += 1;
            match serde_json::from_value::<SystemEvent>(ev.clone()) {
                Ok(SystemEvent::Recovery { torn_bytes, .. }) => {
                    w.report
                        .recoveries
                        .push((name.clone(), l.line_no, torn_bytes))
                }
                Ok(SystemEvent::Retention {
                    through_seq,
                    through_hash,
                    ..
                }) => {
                    w.report.retentions += 1;
                    w.retention_marks.push((through_seq, through_hash));
                }
                Err(_) => {}
            }
        }
        if first.is_none() {
            first = Some((seq, prev.to_string()));
        }
        count += 1;
        w.report.records += 1;
        w.report.last_seq = seq;
        w.report.last_hash = stored.to_string();
        w.expected = Some((seq + 1, stored.to_string()));
    }

    let cp_name = checkpoint_name(n);
    let cp_path = dir.join(&cp_name);
    if !cp_path.exists() {
        if is_last {
            w.report.unsealed_records = count;
        } else {
            w.brk(
                BreakKind::CheckpointMissing,
                &cp_name,
                None,
                format!("sealed segment {name} has no checkpoint"),
            );
        }
        return Ok(());
    }
    let cp = match Checkpoint::read(&cp_path) {
        Ok(c) => c,
        Err(e) => {
            w.brk(
                BreakKind::CheckpointForged,
                &cp_name,
                None,
                format!("unreadable: {e}"),
            );
            return Ok(());
        }
    };
    w.report.checkpoints += 1;
    let key = match w.key {
        Some(k) => k,
        None => match cp.embedded_key() {
            Some(k) => {
                w.key = Some(k);
                k
            }
            None => {
                w.brk(
                    BreakKind::CheckpointForged,
                    &cp_name,
                    None,
                    "bad embedded key".into(),
                );
                return Ok(());
            }
        },
    };
    if !cp.verify_signature(&key) {
        w.brk(
            BreakKind::CheckpointForged,
            &cp_name,
            None,
            "signature invalid for the trusted key (edited or signed by another key)".into(),
        );
        return Ok(());
    }
    let (fs, fp) = first.unwrap_or((0, String::new()));
    let last_hash = w
        .expected
        .as_ref()
        .map(|(_, h)| h.clone())
        .unwrap_or_default();
    if cp.segment != name
        || cp.count != count
        || cp.first_seq != fs
        || cp.first_prev_hash != fp
        || cp.last_hash != last_hash
    {
        let line = if count < cp.count {
            count + 1
        } else {
            cp.count.min(last_line) + 1
        };
        w.brk(
            BreakKind::CheckpointMismatch,
            &name,
            Some(line),
            format!(
                "checkpoint says {} records (seq {}..{}, last hash {}), segment has {count} (seq {fs}.., last hash {last_hash}): truncated, extended or checkpoint replaced",
                cp.count, cp.first_seq, cp.last_seq, cp.last_hash
            ),
        );
    }
    Ok(())
}
