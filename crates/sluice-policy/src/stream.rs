//! The streaming redactor: feed chunks (model tokens, network reads), get back only text that
//! can no longer become part of a match; [`StreamRedactor::finish`] flushes the rest.
//!
//! The redactor keeps the unsent tail in a buffer. When the buffer has grown enough, it scans
//! it and emits everything before a *cut*: a point at least the policy's hold-back away from
//! the end (so no future text can complete a match across it) and outside every region the
//! scan looked at as a unit (so the cut splits no match, window or context). The text before a
//! cut is therefore redacted exactly as the whole text would be: streaming output equals batch
//! output, and no value is ever emitted before it can be recognised.

use crate::action::Boundary;
use crate::normalize::Normalized;
use crate::redact::{Blocked, Finding, Redactor};

/// Past this many buffered bytes a cut is forced at the best point available, so memory stays
/// bounded on adversarial input (an endless run of overlapping windows). The forced cut still
/// never splits a candidate match.
const MAX_BUFFER: usize = 1 << 20;

/// Incremental redaction of one stream. Create with [`Redactor::stream`].
#[derive(Debug)]
pub struct StreamRedactor {
    redactor: Redactor,
    boundary: Boundary,
    buf: String,
    /// Bytes of input already emitted (offset of `buf` in the stream).
    consumed: usize,
    /// Scan again once the buffer reaches this length.
    next_scan: usize,
    findings: Vec<Finding>,
    blocked: Option<Blocked>,
}

impl StreamRedactor {
    pub(crate) fn new(redactor: Redactor, boundary: Boundary) -> Self {
        let holdback = redactor.policy().holdback;
        Self {
            redactor,
            boundary,
            buf: String::new(),
            consumed: 0,
            next_scan: 2 * holdback.max(64),
            findings: Vec::new(),
            blocked: None,
        }
    }

    /// Adds a chunk; returns the redacted text that is now safe to emit (often empty).
    /// After a block, every call returns the same error and nothing more is emitted.
    pub fn push(&mut self, chunk: &str) -> Result<String, Blocked> {
        if let Some(b) = &self.blocked {
            return Err(b.clone());
        }
        self.buf.push_str(chunk);
        if self.buf.len() < self.next_scan {
            return Ok(String::new());
        }
        self.emit(false)
    }

    /// Flushes the rest of the stream.
    pub fn finish(&mut self) -> Result<String, Blocked> {
        if let Some(b) = &self.blocked {
            return Err(b.clone());
        }
        self.emit(true)
    }

    /// Findings so far (offsets are into the whole stream).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Bytes received but not yet emitted.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    fn emit(&mut self, last: bool) -> Result<String, Blocked> {
        let policy = self.redactor.policy().clone();
        let holdback = policy.holdback;
        let view = Normalized::new(&self.buf);
        let scan = policy.scan(view.as_str(), !last);
        let vlen = view.as_str().len();
        let cut = if last {
            vlen
        } else {
            let limit = vlen.saturating_sub(holdback);
            let cut = safe_cut(&view, scan.regions, limit);
            if cut == 0 && self.buf.len() >= MAX_BUFFER {
                forced_cut(&view, &scan.found, limit)
            } else {
                cut
            }
        };
        if cut == 0 && !last {
            self.next_scan = self.buf.len() + holdback.max(64);
            return Ok(String::new());
        }
        let found: Vec<_> = scan.found.into_iter().filter(|c| c.end <= cut).collect();
        let orig_cut = if cut >= vlen {
            self.buf.len()
        } else {
            view.original_pos(cut)
        };
        let mut out = String::with_capacity(orig_cut);
        let mut blocked = None;
        let end = self.redactor.apply(
            &self.buf[..orig_cut],
            &view,
            &found,
            self.boundary,
            self.consumed,
            &mut out,
            &mut self.findings,
            &mut blocked,
            None,
        );
        out.push_str(&self.buf[end..orig_cut]);
        if let Some(b) = blocked {
            self.blocked = Some(b.clone());
            self.buf.clear();
            return Err(b);
        }
        self.buf.drain(..orig_cut);
        self.consumed += orig_cut;
        self.next_scan = self.buf.len() + holdback.max(64);
        Ok(out)
    }
}

/// The largest cut point ≤ `limit` not strictly inside any region.
fn safe_cut(view: &Normalized<'_>, mut regions: Vec<(usize, usize)>, limit: usize) -> usize {
    regions.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(regions.len());
    for (s, e) in regions {
        match merged.last_mut() {
            Some(last) if s < last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut cut = limit;
    loop {
        // Regions are disjoint after merging, so at most one contains `cut`.
        let idx = merged.partition_point(|r| r.0 < cut);
        if idx > 0 && merged[idx - 1].1 > cut {
            cut = merged[idx - 1].0;
            continue;
        }
        if cut == 0 || view.is_cut_point(cut) {
            return cut;
        }
        cut -= 1;
    }
}

/// Under memory pressure: the largest cut point ≤ `limit` outside every accepted finding.
fn forced_cut(view: &Normalized<'_>, found: &[crate::detect::Candidate], limit: usize) -> usize {
    let mut cut = limit;
    while cut > 0 {
        if !found.iter().any(|c| c.start < cut && cut < c.end) && view.is_cut_point(cut) {
            return cut;
        }
        cut -= 1;
    }
    0
}
