//! Batch redaction: text in, redacted text and findings out.

use std::sync::Arc;

use crate::action::{self, Action, Boundary};
use crate::detect::Candidate;
use crate::encoded::Encoding;
use crate::normalize::Normalized;
use crate::policy::Policy;
use crate::sensitive::{PseudonymKey, SensitiveValue};

/// One detected value. The value itself is only reachable through [`SensitiveValue::expose`].
#[derive(Debug, Clone)]
pub struct Finding {
    /// Entity type, e.g. `EMAIL_ADDRESS`.
    pub entity: Arc<str>,
    /// Rule (detector) id, e.g. `pii.email`.
    pub rule: Arc<str>,
    /// Category of the rule's file (`pii`, `secret`, `custom`).
    pub category: Arc<str>,
    /// Boundary the text was checked at.
    pub boundary: Boundary,
    /// What was done.
    pub action: Action,
    /// Byte offset of the first byte in the input.
    pub start: usize,
    /// Byte offset one past the last byte in the input.
    pub end: usize,
    /// Confidence after context, in (0, 1].
    pub score: f32,
    /// Set when the value was found inside an encoded run (the whole run is the span).
    pub encoding: Option<Encoding>,
    /// The original bytes of the span.
    pub value: SensitiveValue,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The rule that blocked.
    pub rule: String,
    /// Its entity type.
    pub entity: String,
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "blocked by policy rule {} ({})", self.rule, self.entity)
    }
}

impl std::error::Error for Blocked {}

/// The result of redacting one text.
#[derive(Debug, Clone)]
pub struct Redaction {
    /// The text with every replacing action applied. When `blocked` is set it is still fully
    /// redacted (block renders like redact), but callers must not use it.
    pub text: String,
    /// Findings in text order (`allow` findings are not reported).
    pub findings: Vec<Finding>,
    /// Set when a finding's action is `block`: the first such rule.
    pub blocked: Option<Blocked>,
    /// For each finding (same order), the byte range its rendering occupies in `text`.
    pub output_spans: Vec<std::ops::Range<usize>>,
}

impl Redaction {
    /// The part of the redacted text that corresponds to `range` of the input. A finding cut
    /// by either end is taken whole (its replacement is included), so a value split across
    /// two slices is never left half-visible in either.
    pub fn slice_for(&self, range: std::ops::Range<usize>) -> &str {
        let (lo, hi) = (range.start, range.end);
        let mut start_done = false;
        let mut out_start = 0usize;
        let mut out_end = None;
        // `delta` = output offset minus input offset after the findings seen so far.
        let mut delta: isize = 0;
        for (f, o) in self.findings.iter().zip(&self.output_spans) {
            if !start_done {
                if lo < f.start {
                    out_start = (lo as isize + delta) as usize;
                    start_done = true;
                } else if lo < f.end {
                    out_start = o.start;
                    start_done = true;
                }
            }
            if hi <= f.start {
                out_end = Some((hi as isize + delta) as usize);
                break;
            }
            if hi < f.end {
                out_end = Some(o.end);
                break;
            }
            delta = o.end as isize - f.end as isize;
        }
        if !start_done {
            out_start = (lo as isize + delta) as usize;
        }
        let end = out_end.unwrap_or((hi as isize + delta) as usize);
        let end = end.min(self.text.len()).max(out_start);
        self.text.get(out_start..end).unwrap_or("")
    }
}

/// A policy plus the runtime key: what applies actions. Cheap to clone.
#[derive(Clone)]
pub struct Redactor {
    policy: Arc<Policy>,
    key: PseudonymKey,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("policy", &self.policy)
            .field("key", &self.key)
            .finish()
    }
}

impl Redactor {
    /// A redactor for a compiled policy and the key for `pseudonymize` / `hash`.
    pub fn new(policy: Arc<Policy>, key: PseudonymKey) -> Self {
        Self { policy, key }
    }

    /// The policy in use.
    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// Redacts `text` for `boundary`.
    pub fn redact(&self, text: &str, boundary: Boundary) -> Redaction {
        let view = Normalized::new(text);
        let scan = self.policy.scan(view.as_str(), false);
        let mut out = String::with_capacity(text.len());
        let mut findings = Vec::with_capacity(scan.found.len());
        let mut blocked = None;
        let mut output_spans = Vec::with_capacity(scan.found.len());
        let end = self.apply(
            text,
            &view,
            &scan.found,
            boundary,
            0,
            0,
            &mut out,
            &mut findings,
            &mut blocked,
            Some(&mut output_spans),
        );
        out.push_str(&text[end..]);
        Redaction {
            text: out,
            findings,
            blocked,
            output_spans,
        }
    }

    /// Only the findings, with no text built (for dry runs and tests).
    pub fn findings(&self, text: &str, boundary: Boundary) -> Vec<Finding> {
        self.redact(text, boundary).findings
    }

    /// A streaming redactor for one stream of text at `boundary`.
    pub fn stream(&self, boundary: Boundary) -> crate::stream::StreamRedactor {
        crate::stream::StreamRedactor::new(self.clone(), boundary)
    }

    /// Applies actions for `found` (view offsets) to `text`, appending to `out` everything from
    /// `from` up to the end of the last finding; returns that end. `base` shifts reported
    /// offsets.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn apply(
        &self,
        text: &str,
        view: &Normalized<'_>,
        found: &[Candidate],
        boundary: Boundary,
        base: usize,
        from: usize,
        out: &mut String,
        findings: &mut Vec<Finding>,
        blocked: &mut Option<Blocked>,
        mut output_spans: Option<&mut Vec<std::ops::Range<usize>>>,
    ) -> usize {
        let mut pos = from;
        for c in found {
            let det = &self.policy.detectors[c.det as usize];
            let action = self.policy.action_for(boundary, &det.entity, &det.category);
            if action == Action::Allow {
                continue;
            }
            let (s, e) = view.to_original(c.start, c.end);
            if s < pos {
                continue;
            }
            let original = &text[s..e];
            out.push_str(&text[pos..s]);
            let out_start = out.len();
            // Tokens are computed on the normalised value so that a value hidden with
            // zero-width characters gets the same pseudonym as the plain one.
            let normalised = &view.as_str()[c.start..c.end];
            action::render(action, &det.entity, normalised, &self.key, out);
            if action == Action::Shadow {
                // render() wrote the normalised value; shadow must leave the original bytes.
                out.truncate(out.len() - normalised.len());
                out.push_str(original);
            }
            pos = e;
            if let Some(spans) = output_spans.as_deref_mut() {
                spans.push(out_start..out.len());
            }
            if action == Action::Block && blocked.is_none() {
                *blocked = Some(Blocked {
                    rule: det.id.clone(),
                    entity: det.entity.clone(),
                });
            }
            findings.push(Finding {
                entity: Arc::from(det.entity.as_str()),
                rule: Arc::from(det.id.as_str()),
                category: Arc::from(det.category.as_str()),
                boundary,
                action,
                start: base + s,
                end: base + e,
                score: c.score,
                encoding: c.encoding,
                value: SensitiveValue::new(original),
            });
        }
        pos
    }
}
