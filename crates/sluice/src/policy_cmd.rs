//! `sluice policy check|test|import`, and loading a policy folder from disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Subcommand;
use sluice_policy::{Policy, PolicyError, PseudonymKey, Redactor, import};

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
    /// Convert gitleaks or Presidio rules into a Sluice pack (policies/README.md).
    Import {
        /// Format of the source file.
        #[arg(value_enum)]
        format: ImportFormat,
        /// The source file: a gitleaks config (TOML) or Presidio recognizers (YAML).
        file: PathBuf,
        /// Pack folder to write [default: ./imported-<format>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Upper bound for `+`, `*` and `{n,}`, beyond their minimum.
        #[arg(long, default_value_t = import::DEFAULT_MAX_REPEAT)]
        max_repeat: u32,
        /// Replace the .toml files already in the output folder.
        #[arg(long)]
        force: bool,
        /// List the rules each difference from the source applies to.
        #[arg(long, short)]
        verbose: bool,
    },
}

/// Rule formats `sluice policy import` reads.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ImportFormat {
    /// gitleaks config (`gitleaks.toml`): a secrets pack.
    Gitleaks,
    /// Presidio ad-hoc recognizer YAML: a PII pack.
    Presidio,
}

impl ImportFormat {
    fn name(self) -> &'static str {
        match self {
            ImportFormat::Gitleaks => "gitleaks",
            ImportFormat::Presidio => "presidio",
        }
    }
}

pub fn run(cmd: PolicyCommand) -> Result<ExitCode> {
    match cmd {
        PolicyCommand::Import {
            format,
            file,
            out,
            max_repeat,
            force,
            verbose,
        } => import_cmd(format, &file, out, max_repeat, force, verbose),
        PolicyCommand::Check { dir } => {
            let policy = match load_dir(&dir)? {
                Ok(p) => p,
                Err(e) => return Ok(report_invalid(&dir, &e)),
            };
            let (holdback, rule) = policy.holdback();
            println!(
                "ok: {} — {} files, {} detectors, {} entity types, version {}, streaming hold-back at most {holdback} bytes (set by {rule})",
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

/// `sluice policy import`: exit 0 when rules converted, 1 when none did, 2 (an error) when
/// the source cannot be read or parsed or the output folder is taken.
fn import_cmd(
    format: ImportFormat,
    file: &Path,
    out: Option<PathBuf>,
    max_repeat: u32,
    force: bool,
    verbose: bool,
) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let opts = import::ImportOptions { max_repeat };
    let pack = match format {
        ImportFormat::Gitleaks => import::from_gitleaks(&text, &opts)
            .with_context(|| format!("importing {}", file.display()))?,
        ImportFormat::Presidio => import::from_presidio(&text, &opts)
            .with_context(|| format!("importing {}", file.display()))?,
    };

    println!(
        "{}: converted {}, skipped {}",
        file.display(),
        pack.converted.len(),
        pack.skipped.len()
    );
    if !pack.skipped.is_empty() {
        println!("skipped:");
        for s in &pack.skipped {
            println!("  {}: {}", s.rule, s.reason);
        }
    }
    let mut losses: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for c in &pack.converted {
        for l in &c.losses {
            // One line for every bound: the bound of each rule is in its `# note:`.
            let key = match l {
                import::Loss::RepetitionCapped(_) => {
                    "unbounded repetition capped (longer values are missed)".to_owned()
                }
                other => other.to_string(),
            };
            losses.entry(key).or_default().push(&c.rule);
        }
    }
    if !losses.is_empty() {
        println!("converted with differences (`# note:` lines in the files):");
        for (loss, rules) in &losses {
            println!("  {} rule(s): {loss}", rules.len());
            if verbose {
                println!("    {}", rules.join(", "));
            }
        }
    }
    for n in &pack.notes {
        println!("note: {n}");
    }
    if pack.converted.is_empty() {
        println!("nothing converted; nothing written");
        return Ok(ExitCode::FAILURE);
    }

    let out = out.unwrap_or_else(|| PathBuf::from(format!("imported-{}", format.name())));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let existing: Vec<PathBuf> = std::fs::read_dir(&out)
        .with_context(|| format!("reading {}", out.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("reading {}", out.display()))?
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .collect();
    if !existing.is_empty() {
        if !force {
            anyhow::bail!(
                "{} already holds {} .toml file(s); pass --force to replace them",
                out.display(),
                existing.len()
            );
        }
        for p in &existing {
            std::fs::remove_file(p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    for f in &pack.files {
        let path = out.join(&f.path);
        std::fs::write(&path, &f.text).with_context(|| format!("writing {}", path.display()))?;
    }
    let pack_name = out.file_name().map_or_else(
        || out.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    println!(
        "wrote {} file(s) to {}: move the folder into your policy folder, add \"{pack_name}\" \
         to `packs` in sluice.toml, then run `sluice policy check`",
        pack.files.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
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
