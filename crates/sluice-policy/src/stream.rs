//! The streaming redactor: feed chunks (model tokens, network reads), get back only text that
//! can no longer become part of a match; [`StreamRedactor::finish`] flushes the rest.
//!
//! Every chunk goes to the stream's [`Tracker`](crate::live::Tracker), which knows the
//! earliest position where a match may still be in progress (see [`crate::live`]). Text before
//! that *frontier* is final: the redactor scans what it holds and emits everything up to the
//! last cut point before the frontier that splits no finding. For prose that is everything but
//! the word being written, so a streamed answer arrives token by token; a tail that looks like
//! the start of a secret is held until it is complete or has turned into something else.
//!
//! Detection also looks *behind* a match (context words, `\b`, the windows of literal hits),
//! so the redactor keeps the policy's hold-back of already-emitted text as left context and
//! scans it again with the new text; only findings that start after the emitted text are
//! applied. The text before a cut is therefore redacted exactly as the whole text would be:
//! streaming output equals batch output, and no value is emitted before it can be recognised.

use crate::action::Boundary;
use crate::live::Tracker;
use crate::normalize::Normalized;
use crate::redact::{Blocked, Finding, Redactor};

/// Incremental redaction of one stream. Create with [`Redactor::stream`].
pub struct StreamRedactor {
    redactor: Redactor,
    boundary: Boundary,
    /// Original text from stream offset `base`: left context already emitted, then pending.
    buf: String,
    base: usize,
    /// Bytes of `buf` already emitted.
    emitted: usize,
    /// Absolute view offsets of the start of `buf` and of the emitted point.
    view_base: usize,
    view_emitted: usize,
    /// Absolute view offset of the end of what has been received.
    view_end: usize,
    /// The view of `buf` (normalisation is per character, so it grows chunk by chunk): what
    /// the tracker reads, and replays from after a cache clear.
    view_text: String,
    tracker: Tracker,
    findings: Vec<Finding>,
    blocked: Option<Blocked>,
}

impl std::fmt::Debug for StreamRedactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamRedactor")
            .field("boundary", &self.boundary)
            .field("emitted", &(self.base + self.emitted))
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl Drop for StreamRedactor {
    fn drop(&mut self) {
        if let Some(live) = self.redactor.policy().live() {
            live.give_back(&mut self.tracker);
        }
    }
}

impl StreamRedactor {
    pub(crate) fn new(redactor: Redactor, boundary: Boundary) -> Self {
        let tracker = match redactor.policy().live() {
            Some(live) => live.tracker(),
            None => Tracker::failed(),
        };
        Self {
            redactor,
            boundary,
            buf: String::new(),
            base: 0,
            emitted: 0,
            view_base: 0,
            view_emitted: 0,
            view_end: 0,
            view_text: String::new(),
            tracker,
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
        if chunk.is_empty() {
            return Ok(String::new());
        }
        // Normalisation is per character, so the view of the chunk continues the view of
        // what came before.
        let view = Normalized::new(chunk);
        self.view_text.push_str(view.as_str());
        self.buf.push_str(chunk);
        let policy = self.redactor.policy().clone();
        if let Some(live) = policy.live() {
            self.tracker
                .feed(live, self.view_text.as_bytes(), self.view_base);
        }
        self.view_end += view.as_str().len();
        let end = self.view_end;
        // A cut needs the view byte after it (characters the view drops go with what precedes
        // them), so the last byte always waits.
        let limit = self
            .tracker
            .frontier(end, policy.holdback)
            .unwrap_or(end)
            .min(end.saturating_sub(1));
        if limit <= self.view_emitted {
            return Ok(String::new());
        }
        // No pattern has matched anything that ends after the emitted point, so nothing
        // there can be a finding: the text up to the frontier goes out as it is, without a
        // scan. (The usual case for prose; ASCII only, where view and original align.)
        let pending = &self.buf[self.emitted..];
        if self.tracker.last_match_end() <= self.view_emitted && pending.is_ascii() {
            let n = limit - self.view_emitted;
            let out = pending[..n].to_owned();
            self.emitted += n;
            self.view_emitted = limit;
            if self.emitted > 2 * policy.holdback.max(256) {
                let view = Normalized::new(&self.buf);
                let regions = policy.scan(view.as_str(), true).regions;
                let cut = self.view_emitted - self.view_base;
                let t = trim_point(&view, regions, cut, policy.holdback);
                let orig = view.original_pos(t);
                drop(view);
                self.trim(t, orig);
            }
            return Ok(out);
        }
        self.emit(Some(limit))
    }

    /// Flushes the rest of the stream.
    pub fn finish(&mut self) -> Result<String, Blocked> {
        if let Some(b) = &self.blocked {
            return Err(b.clone());
        }
        self.emit(None)
    }

    /// Findings so far (offsets are into the whole stream).
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Bytes received but not yet emitted.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.emitted
    }

    /// Scans what is held and emits up to the last safe cut at or before `limit` (absolute
    /// view offset), or everything when `limit` is `None`.
    fn emit(&mut self, limit: Option<usize>) -> Result<String, Blocked> {
        let policy = self.redactor.policy().clone();
        let view = Normalized::new(&self.buf);
        let vlen = view.as_str().len();
        let from = self.view_emitted - self.view_base;
        let scan = policy.scan(view.as_str(), true);
        let (found, regions) = (scan.found, scan.regions);
        let cut = match limit {
            None => vlen,
            Some(l) => safe_cut(&view, scan.candidates, from, l - self.view_base),
        };
        if cut <= from && limit.is_some() {
            return Ok(String::new());
        }
        // Findings that start in text already emitted were applied then.
        let found: Vec<_> = found
            .into_iter()
            .filter(|c| c.start >= from && c.end <= cut)
            .collect();
        let orig_cut = if cut >= vlen {
            self.buf.len()
        } else {
            view.original_pos(cut)
        };
        let mut out = String::with_capacity(orig_cut - self.emitted);
        let mut blocked = None;
        let end = self.redactor.apply(
            &self.buf[..orig_cut],
            &view,
            &found,
            self.boundary,
            self.base,
            self.emitted,
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
        let t = trim_point(&view, regions, cut, policy.holdback);
        let orig = view.original_pos(t);
        drop(view);
        self.emitted = orig_cut;
        self.view_emitted = self.view_base + cut;
        self.trim(t, orig);
        Ok(out)
    }

    /// Drops the first `orig` bytes (`view` view bytes) of emitted text.
    fn trim(&mut self, view: usize, orig: usize) {
        if view == 0 {
            return;
        }
        self.buf.drain(..orig);
        self.view_text.drain(..view);
        self.base += orig;
        self.emitted -= orig;
        self.view_base += view;
    }
}

/// Past this many bytes of left context, old text is dropped even inside a region, so memory
/// stays bounded on adversarial input (an endless run of overlapping windows).
const MAX_LEFT_CONTEXT: usize = 1 << 20;

/// Where emitted text older than the policy's hold-back (kept as left context) can go: the
/// last cut point at least `keep` view bytes before `cut` that is not strictly inside a
/// region the scan looked at as a unit. A window or a merged run of hits that starts before
/// the dropped text would otherwise be searched from a different start next time, and a
/// search from another start can pair digits into different matches (`\d{4}` over a long
/// run of digits).
fn trim_point(
    view: &Normalized<'_>,
    mut regions: Vec<(usize, usize)>,
    cut: usize,
    keep: usize,
) -> usize {
    let floor = cut.saturating_sub(keep);
    regions.sort_unstable();
    let mut t = floor;
    loop {
        let idx = regions.partition_point(|r| r.0 < t);
        // Regions may overlap: any one that starts before `t` and ends after it holds `t`.
        if let Some(start) = regions[..idx].iter().filter(|r| r.1 > t).map(|r| r.0).min() {
            t = start;
            continue;
        }
        if t == 0 || view.is_cut_point(t) {
            break;
        }
        t -= 1;
    }
    if t == 0 && floor > MAX_LEFT_CONTEXT {
        // Bounded memory beats exactness on input built to grow a region forever.
        t = floor;
        while t > 0 && !view.is_cut_point(t) {
            t -= 1;
        }
    }
    t
}

/// The largest cut point in `(from, limit]` that is not strictly inside a candidate, or
/// `from`. Candidates are taken before overlaps are resolved: a final candidate that lost to
/// one near the end (a keyword whose next character has not arrived) may win once it does.
fn safe_cut(
    view: &Normalized<'_>,
    mut spans: Vec<(usize, usize)>,
    from: usize,
    limit: usize,
) -> usize {
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s < last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut cut = limit;
    while cut > from {
        // Merged spans are disjoint: at most one contains `cut`.
        let idx = merged.partition_point(|c| c.0 < cut);
        if idx > 0 && merged[idx - 1].1 > cut {
            cut = merged[idx - 1].0;
            continue;
        }
        if view.is_cut_point(cut) {
            return cut;
        }
        cut -= 1;
    }
    from
}
