//! The one place where request text crosses a boundary on the question paths (answer,
//! search, chat, redact): a [`Screen`] runs the policy on each piece of text, refuses on a
//! `block` with the boundary and every finding so far, and keeps the findings (each knows its
//! boundary) for the audit record.
//!
//! Beyond single texts it covers the ways an attacker splits a value so that no single
//! piece holds it: [`Screen::joins`] re-checks the conversation as one text with the joins
//! between turns and lines removed, and [`Screen::stops`] puts stop strings (which steer
//! where the output is cut) through the prompt boundary like any other request text.

use std::collections::BTreeMap;

use sluice_policy::{Boundary, Finding, Redactor};

use crate::error::AnswerError;

/// Entity type → count (never values).
pub type FindingCounts = BTreeMap<String, usize>;

/// Findings collected over one request, across boundaries.
pub struct Screen<'r> {
    redactor: &'r Redactor,
    findings: Vec<Finding>,
}

impl<'r> Screen<'r> {
    /// A screen over `redactor` (one policy snapshot per request).
    pub fn new(redactor: &'r Redactor) -> Self {
        Self {
            redactor,
            findings: Vec::new(),
        }
    }

    /// Redacts `text` at `boundary`; a `block` refuses with every finding so far.
    pub fn text(&mut self, text: &str, boundary: Boundary) -> Result<String, AnswerError> {
        let r = self.redactor.redact(text, boundary);
        self.findings.extend(r.findings);
        if let Some(b) = r.blocked {
            return Err(AnswerError::Blocked {
                boundary,
                rule: b.rule,
                entity: b.entity,
                findings: std::mem::take(&mut self.findings),
            });
        }
        Ok(r.text)
    }

    /// Re-checks already screened turns as the model will read them run together: the turns
    /// and their lines joined with nothing between them. A value that only exists across a
    /// join (half a key per message or per content part) is refused: there is no single
    /// piece to redact, and the model (or an upstream) would see both halves.
    pub fn joins(&mut self, screened: &[&str]) -> Result<(), AnswerError> {
        let mut joined = String::new();
        // Byte positions in `joined` where two pieces meet.
        let mut seams = Vec::new();
        for turn in screened {
            for line in turn.split('\n') {
                if !joined.is_empty() {
                    seams.push(joined.len());
                }
                joined.push_str(line);
            }
        }
        if seams.is_empty() {
            return Ok(());
        }
        let r = self.redactor.redact(&joined, Boundary::Prompt);
        let crossing = r
            .findings
            .into_iter()
            .find(|f| f.action.replaces() && seams.iter().any(|&s| f.start < s && s < f.end));
        match crossing {
            None => Ok(()),
            Some(f) => {
                let (rule, entity) = (f.rule.to_string(), f.entity.to_string());
                self.findings.push(f);
                Err(AnswerError::Blocked {
                    boundary: Boundary::Prompt,
                    rule,
                    entity,
                    findings: std::mem::take(&mut self.findings),
                })
            }
        }
    }

    /// Stop strings through the prompt boundary: a blocked one refuses the request, the
    /// others are used as redacted (they are request text like any other).
    pub fn stops(&mut self, stops: &[String]) -> Result<Vec<String>, AnswerError> {
        stops
            .iter()
            .map(|s| self.text(s, Boundary::Prompt))
            .collect()
    }

    /// Every finding so far.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Takes the findings.
    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }
}

/// Entity counts of the findings made at `boundary`.
pub fn counts(findings: &[Finding], boundary: Boundary) -> FindingCounts {
    let mut out = FindingCounts::new();
    for f in findings.iter().filter(|f| f.boundary == boundary) {
        *out.entry(f.entity.to_string()).or_insert(0) += 1;
    }
    out
}

/// The rule ids that fired, sorted and unique.
pub fn rules(findings: &[Finding]) -> Vec<String> {
    let mut v: Vec<String> = findings.iter().map(|f| f.rule.to_string()).collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        let policy = crate::policy_files::load_dir(&dir)
            .expect("read policies")
            .expect("valid policies");
        Redactor::new(
            std::sync::Arc::new(policy),
            sluice_policy::PseudonymKey::new(b"k".to_vec()),
        )
    }

    #[test]
    fn a_key_split_across_turns_or_parts_is_refused() {
        let r = redactor();
        let mut s = Screen::new(&r);
        // Each half passes alone…
        let a = s.text("AKIAD4WSWT", Boundary::Prompt).expect("half");
        let b = s.text("UUY2R6U7QW", Boundary::Prompt).expect("half");
        assert_eq!((a.as_str(), b.as_str()), ("AKIAD4WSWT", "UUY2R6U7QW"));
        // …together they are an AWS access key id.
        let e = s.joins(&[&a, &b]).expect_err("split key refused");
        assert!(matches!(
            e,
            AnswerError::Blocked {
                boundary: Boundary::Prompt,
                ..
            }
        ));
        // Parts joined by a newline inside one message.
        let mut s = Screen::new(&r);
        assert!(s.joins(&["AKIAD4WSWT\nUUY2R6U7QW"]).is_err());
        // Ordinary turns pass.
        let mut s = Screen::new(&r);
        s.joins(&["How do we fail over?", "Step one\nStep two"])
            .expect("plain text passes");
    }

    #[test]
    fn counts_are_per_boundary() {
        let r = redactor();
        let mut s = Screen::new(&r);
        s.text("mail jane.doe@acme-corp.com", Boundary::Prompt)
            .expect("redacts");
        s.text("and john@example.org", Boundary::Context)
            .expect("redacts");
        assert_eq!(
            counts(s.findings(), Boundary::Prompt)
                .values()
                .sum::<usize>(),
            1
        );
        assert_eq!(
            counts(s.findings(), Boundary::Context)
                .values()
                .sum::<usize>(),
            1
        );
        assert!(!rules(s.findings()).is_empty());
    }
}
