//! `sluice policy check|test`, and loading a policy folder from disk.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use clap::Subcommand;
use sluice_policy::{Policy, PolicyError, PseudonymKey, Redactor};

/// Default policy folder, relative to the working directory.
pub const DEFAULT_POLICY_DIR: &str = "policies";

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy set without running it; errors are file:line:col with the rule id.
    Check {
        /// Policy folder (holds sluice.toml).
        #[arg(default_value = DEFAULT_POLICY_DIR)]
        dir: PathBuf,
    },
    /// Run every [[test]] case in a policy set; fails on any failing case.
    Test {
        /// Policy folder (holds sluice.toml).
        #[arg(default_value = DEFAULT_POLICY_DIR)]
        dir: PathBuf,
        /// Minimum positive cases per detector file.
        #[arg(long, default_value_t = 5)]
        min_positive: usize,
        /// Minimum negative cases per detector file.
        #[arg(long, default_value_t = 3)]
        min_negative: usize,
        /// Print every file, not only failing ones.
        #[arg(long, short)]
        verbose: bool,
    },
}

pub fn run(cmd: PolicyCommand) -> Result<ExitCode> {
    match cmd {
        PolicyCommand::Check { dir } => {
            let policy = match load_dir(&dir)? {
                Ok(p) => p,
                Err(e) => return Ok(report_invalid(&dir, &e)),
            };
            let (holdback, rule) = policy.holdback();
            println!(
                "ok: {} — {} files, {} detectors, {} entity types, version {}, streaming hold-back {holdback} bytes (set by {rule})",
                dir.display(),
                policy.file_count(),
                policy.detector_count(),
                policy.entities().len(),
                policy.version()
            );
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Test {
            dir,
            min_positive,
            min_negative,
            verbose,
        } => {
            let policy = match load_dir(&dir)? {
                Ok(p) => p,
                Err(e) => return Ok(report_invalid(&dir, &e)),
            };
            let redactor =
                Redactor::new(Arc::new(policy), PseudonymKey::new(b"policy-test".to_vec()));
            let report = sluice_policy::run_tests(&redactor);
            let mut failed_files = 0;
            let (mut passed, mut failed) = (0, 0);
            for f in &report.files {
                let mut problems: Vec<String> = f
                    .failures
                    .iter()
                    .map(|(line, m)| format!("    {}:{line}: {m}", f.file))
                    .collect();
                if f.positives < min_positive || f.negatives < min_negative {
                    problems.push(format!(
                        "    {}: needs at least {min_positive} positive and {min_negative} negative cases (has {} and {})",
                        f.file, f.positives, f.negatives
                    ));
                }
                passed += f.passed;
                failed += f.failures.len();
                let status = if problems.is_empty() { "PASS" } else { "FAIL" };
                if !problems.is_empty() {
                    failed_files += 1;
                }
                if verbose || !problems.is_empty() {
                    println!(
                        "{status} {:<44} {:>3}/{:<3} (+{} -{})",
                        f.file,
                        f.passed,
                        f.passed + f.failures.len(),
                        f.positives,
                        f.negatives
                    );
                    for p in problems {
                        println!("{p}");
                    }
                }
            }
            println!(
                "policy tests: {} files ({} failing), precision {:.4}, recall {:.4}",
                report.files.len(),
                failed_files,
                report.precision(),
                report.recall()
            );
            println!("{passed} passed, {failed} failed");
            Ok(if failed_files == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn report_invalid(dir: &Path, e: &PolicyError) -> ExitCode {
    for d in e.diagnostics() {
        let located = sluice_policy::Diagnostic {
            file: dir.join(&d.file).display().to_string(),
            ..d.clone()
        };
        eprintln!("{located}");
    }
    eprintln!(
        "error: policy set {} is invalid; nothing was loaded",
        dir.display()
    );
    ExitCode::FAILURE
}

/// Reads every `*.toml` under `dir` and compiles the set. The outer error is IO; the inner
/// one is the policy's own validation.
pub fn load_dir(dir: &Path) -> Result<Result<Policy, PolicyError>> {
    Ok(sluice_rag::policy_files::load_dir(dir)?)
}

/// Loads a policy folder or fails with every problem listed.
pub fn load_policy(dir: &Path) -> Result<Policy> {
    load_dir(dir)?.map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))
}

/// The key for pseudonymize/hash actions: `SLUICE_PSEUDONYM_KEY` (any string), or a random
/// per-process key (tokens are then stable within one run only).
pub fn pseudonym_key() -> PseudonymKey {
    match std::env::var("SLUICE_PSEUDONYM_KEY") {
        Ok(k) if !k.is_empty() => PseudonymKey::new(k.into_bytes()),
        _ => {
            use rand::RngCore;
            let mut k = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut k);
            PseudonymKey::new(k.to_vec())
        }
    }
}
