//! The `[[test]]` cases that policy files carry, and their runner (`sluice policy test`).

use std::collections::BTreeMap;

use crate::action::Boundary;
use crate::redact::Redactor;

/// Outcome of one file's cases.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// Detector file path.
    pub file: String,
    /// Cases that passed.
    pub passed: usize,
    /// Failed cases: line of the case and what went wrong (entities and rule ids only).
    pub failures: Vec<(usize, String)>,
    /// Positive cases (expecting at least one finding).
    pub positives: usize,
    /// Negative cases (expecting none of the file's entities).
    pub negatives: usize,
    /// Expected findings found.
    pub true_positives: usize,
    /// Findings of the file's entities not expected.
    pub false_positives: usize,
    /// Expected findings missed.
    pub false_negatives: usize,
}

/// Outcome of all cases.
#[derive(Debug, Clone, Default)]
pub struct TestReport {
    /// One entry per detector file, in path order.
    pub files: Vec<FileReport>,
}

impl TestReport {
    /// Whether every case passed.
    pub fn ok(&self) -> bool {
        self.files.iter().all(|f| f.failures.is_empty())
    }

    /// Overall precision over all cases (1.0 when nothing was found).
    pub fn precision(&self) -> f64 {
        let tp: usize = self.files.iter().map(|f| f.true_positives).sum();
        let fp: usize = self.files.iter().map(|f| f.false_positives).sum();
        ratio(tp, tp + fp)
    }

    /// Overall recall over all cases (1.0 when nothing was expected).
    pub fn recall(&self) -> f64 {
        let tp: usize = self.files.iter().map(|f| f.true_positives).sum();
        let fn_: usize = self.files.iter().map(|f| f.false_negatives).sum();
        ratio(tp, tp + fn_)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Runs every test case of the policy (at the `ingest` boundary, where nothing is allowed
/// through by default) against the whole policy set.
pub fn run_tests(redactor: &Redactor) -> TestReport {
    let policy = redactor.policy();
    let mut report = TestReport::default();
    for ft in &policy.tests {
        let mut fr = FileReport {
            file: ft.file.clone(),
            passed: 0,
            failures: Vec::new(),
            positives: 0,
            negatives: 0,
            true_positives: 0,
            false_positives: 0,
            false_negatives: 0,
        };
        for case in &ft.cases {
            if case.expect.is_empty() {
                fr.negatives += 1;
            } else {
                fr.positives += 1;
            }
            let findings = redactor.findings(&case.text, Boundary::Ingest);
            let mut expected: BTreeMap<&str, usize> = BTreeMap::new();
            for e in &case.expect {
                *expected.entry(e.as_str()).or_default() += 1;
            }
            let mut found: BTreeMap<&str, usize> = BTreeMap::new();
            for f in &findings {
                if expected.contains_key(&*f.entity) || ft.entities.contains(&*f.entity) {
                    *found.entry(&f.entity).or_default() += 1;
                }
            }
            let mut problems = Vec::new();
            for (entity, &want) in &expected {
                let got = found.get(entity).copied().unwrap_or(0);
                fr.true_positives += want.min(got);
                if got < want {
                    fr.false_negatives += want - got;
                    problems.push(format!("expected {want}× {entity}, found {got}"));
                }
            }
            for (entity, &got) in &found {
                let want = expected.get(entity).copied().unwrap_or(0);
                if got > want {
                    fr.false_positives += got - want;
                    let rules: Vec<&str> = findings
                        .iter()
                        .filter(|f| &*f.entity == *entity)
                        .map(|f| &*f.rule)
                        .collect();
                    problems.push(format!(
                        "unexpected {}× {entity} (rules: {})",
                        got - want,
                        rules.join(", ")
                    ));
                }
            }
            if let Some(want) = &case.matches {
                let got: Vec<&str> = findings
                    .iter()
                    .filter(|f| expected.contains_key(&*f.entity))
                    .map(|f| f.value.expose())
                    .collect();
                if got.iter().copied().ne(want.iter().map(String::as_str)) {
                    // Test texts are policy-author fixtures, not user data: showing spans
                    // here is what makes a failing case fixable.
                    problems.push(format!("matches differ: expected {want:?}, found {got:?}"));
                }
            }
            if problems.is_empty() {
                fr.passed += 1;
            } else {
                fr.failures.push((case.line, problems.join("; ")));
            }
        }
        report.files.push(fr);
    }
    report
}
