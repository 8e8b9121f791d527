//! Policy evaluation: detector findings against gold entity spans, per entity and in total.
//!
//! Cases are JSON lines `{"text": "...", "spans": [{"start": 0, "end": 5, "entity": "EMAIL_ADDRESS"}]}`
//! with UTF-8 byte offsets; other fields are ignored. The findings come from a closure the
//! caller supplies (text → `(start, end, entity)`), so this crate needs no policy engine.
//!
//! A finding matches a gold span of the same entity when they overlap by at least 50 % of the
//! gold span. Matching is one-to-one, largest overlap first: a true positive is a matched
//! pair, a false positive an unmatched finding, a false negative an unmatched gold span.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Location};

/// An entity span: byte range and entity type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitySpan {
    /// Start byte offset.
    pub start: usize,
    /// End byte offset (exclusive).
    pub end: usize,
    /// Entity type, e.g. `EMAIL_ADDRESS` (compared exactly).
    pub entity: String,
}

/// One labelled text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyCase {
    /// The text.
    pub text: String,
    /// Gold spans in it.
    #[serde(default)]
    pub spans: Vec<EntitySpan>,
}

/// Counts and rates for one entity type (or all of them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EntityScore {
    /// Entity type (`TOTAL` for the micro-averaged total).
    pub entity: String,
    /// Matched pairs.
    pub tp: usize,
    /// Findings matching no gold span.
    pub fp: usize,
    /// Gold spans matched by no finding.
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// tp / (tp + fp), 0 when there is no finding.
    pub precision: f64,
    /// tp / (tp + fn), 0 when there is no gold span.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
}

impl EntityScore {
    fn new(entity: &str, tp: usize, fp: usize, fn_: usize) -> Self {
        let div = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = div(tp, tp + fp);
        let recall = div(tp, tp + fn_);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Self {
            entity: entity.to_owned(),
            tp,
            fp,
            fn_,
            precision,
            recall,
            f1,
        }
    }
}

/// Per-entity scores (sorted by entity) and the micro-averaged total.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyReport {
    /// Number of cases evaluated.
    pub cases: usize,
    /// One row per entity type seen in the gold spans or the findings.
    pub entities: Vec<EntityScore>,
    /// All entities together.
    pub total: EntityScore,
}

/// Parses policy cases from JSON lines (blank lines skipped); `origin` names the input in
/// errors. Spans must satisfy `start < end <= text.len()` on UTF-8 character boundaries.
pub fn parse_policy_cases(jsonl: &str, origin: &str) -> Result<Vec<PolicyCase>, EvalError> {
    let mut cases = Vec::new();
    for (i, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || Location {
            origin: origin.to_owned(),
            line_col: Some((i + 1, 1)),
        };
        let case: PolicyCase = serde_json::from_str(line).map_err(|e| EvalError::PolicyCase {
            at: at(),
            // Serde quotes string values; drop them so the text is never echoed.
            message: format!(
                "not a policy case: {}",
                crate::format::redact_strings(&e.to_string())
            ),
        })?;
        for (j, s) in case.spans.iter().enumerate() {
            let ok = s.start < s.end
                && s.end <= case.text.len()
                && case.text.is_char_boundary(s.start)
                && case.text.is_char_boundary(s.end);
            if !ok {
                return Err(EvalError::PolicyCase {
                    at: at(),
                    message: format!(
                        "span {j} ({}..{}, {}) is not a byte range of the text",
                        s.start, s.end, s.entity
                    ),
                });
            }
        }
        cases.push(case);
    }
    Ok(cases)
}

fn overlap(a: &EntitySpan, b: &EntitySpan) -> usize {
    a.end.min(b.end).saturating_sub(a.start.max(b.start))
}

/// One-to-one matching of findings to gold spans: `(gold index, finding index)` pairs where
/// the entity is equal and the overlap is at least half of the gold span, largest first.
pub fn match_spans(gold: &[EntitySpan], found: &[EntitySpan]) -> Vec<(usize, usize)> {
    let mut candidates: Vec<(usize, usize, usize)> = Vec::new();
    for (gi, g) in gold.iter().enumerate() {
        let len = g.end.saturating_sub(g.start);
        for (fi, f) in found.iter().enumerate() {
            let ov = overlap(g, f);
            if f.entity == g.entity && ov > 0 && 2 * ov >= len {
                candidates.push((ov, gi, fi));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut g_used, mut f_used) = (vec![false; gold.len()], vec![false; found.len()]);
    let mut pairs = Vec::new();
    for (_, gi, fi) in candidates {
        if !g_used[gi] && !f_used[fi] {
            g_used[gi] = true;
            f_used[fi] = true;
            pairs.push((gi, fi));
        }
    }
    pairs.sort_unstable();
    pairs
}

/// Scores `findings_fn` on parsed cases.
pub fn eval_policy_cases<F>(cases: &[PolicyCase], mut findings_fn: F) -> PolicyReport
where
    F: FnMut(&str) -> Vec<(usize, usize, String)>,
{
    // entity -> (tp, fp, fn)
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for case in cases {
        let found: Vec<EntitySpan> = findings_fn(&case.text)
            .into_iter()
            .map(|(start, end, entity)| EntitySpan { start, end, entity })
            .collect();
        let pairs = match_spans(&case.spans, &found);
        let mut g_hit = vec![false; case.spans.len()];
        let mut f_hit = vec![false; found.len()];
        for &(gi, fi) in &pairs {
            g_hit[gi] = true;
            f_hit[fi] = true;
            counts.entry(case.spans[gi].entity.clone()).or_default().0 += 1;
        }
        for (f, _) in found.iter().zip(&f_hit).filter(|(_, hit)| !**hit) {
            counts.entry(f.entity.clone()).or_default().1 += 1;
        }
        for (g, _) in case.spans.iter().zip(&g_hit).filter(|(_, hit)| !**hit) {
            counts.entry(g.entity.clone()).or_default().2 += 1;
        }
    }
    let entities: Vec<EntityScore> = counts
        .iter()
        .map(|(e, &(tp, fp, fn_))| EntityScore::new(e, tp, fp, fn_))
        .collect();
    let (tp, fp, fn_) = counts
        .values()
        .fold((0, 0, 0), |(a, b, c), &(tp, fp, fn_)| {
            (a + tp, b + fp, c + fn_)
        });
    PolicyReport {
        cases: cases.len(),
        entities,
        total: EntityScore::new("TOTAL", tp, fp, fn_),
    }
}

/// Parses JSON-lines cases and scores `findings_fn` on them.
pub fn eval_policy<F>(jsonl: &str, origin: &str, findings_fn: F) -> Result<PolicyReport, EvalError>
where
    F: FnMut(&str) -> Vec<(usize, usize, String)>,
{
    Ok(eval_policy_cases(
        &parse_policy_cases(jsonl, origin)?,
        findings_fn,
    ))
}

/// A plain-text table: one row per entity, then the total.
pub fn render_policy_table(report: &PolicyReport) -> String {
    let width = report
        .entities
        .iter()
        .map(|e| e.entity.chars().count())
        .chain([6])
        .max()
        .unwrap_or(6);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>5}  {:>5}  {:>5}  {:>9}  {:>6}  {:>5}",
        "entity", "tp", "fp", "fn", "precision", "recall", "F1"
    );
    let row = |out: &mut String, e: &EntityScore| {
        let _ = writeln!(
            out,
            "{:<width$}  {:>5}  {:>5}  {:>5}  {:>9.3}  {:>6.3}  {:>5.3}",
            e.entity, e.tp, e.fp, e.fn_, e.precision, e.recall, e.f1
        );
    };
    for e in &report.entities {
        row(&mut out, e);
    }
    let _ = writeln!(out, "{}", "-".repeat(width + 48));
    row(&mut out, &report.total);
    let _ = writeln!(out, "{} cases", report.cases);
    out
}
