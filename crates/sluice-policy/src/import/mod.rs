//! Importing the detection rules security teams already maintain: a gitleaks config
//! ([`from_gitleaks`]) becomes a secrets pack, Presidio ad-hoc recognisers
//! ([`from_presidio`]) a PII pack.
//!
//! Text in, pack out, no IO: the caller reads the source and writes [`ImportedPack::files`]
//! into a pack folder. Whatever the source holds, the pack returned is valid: it has been
//! compiled by [`Policy::compile`] with the same checks as `sluice policy check`, and every
//! rule the engine rejected was dropped and listed in [`ImportedPack::skipped`]. Rules that
//! convert with a difference in behaviour carry it in [`Converted::losses`]; differences are
//! chosen to find *more* rather than less (an allow-list entry Sluice cannot express is left
//! out, a file-path condition is ignored). Reports name rule ids and reasons, never pattern
//! text or secrets.
//!
//! ```
//! use sluice_policy::import::{ImportOptions, from_gitleaks};
//!
//! let config = r#"
//! [[rules]]
//! id = "demo-token"
//! regex = '''\b(demo_[a-z0-9]{16})\b'''
//! keywords = ["demo_"]
//! entropy = 3
//!
//! [[rules]]
//! id = "look-behind"
//! regex = '''(?<=key=)[a-z]{8}'''
//! "#;
//! let pack = from_gitleaks(config, &ImportOptions::default())?;
//! assert_eq!(pack.converted.len(), 1);
//! assert_eq!(pack.skipped[0].rule, "look-behind");
//! assert_eq!(pack.files[0].path, "demo.toml");
//! pack.compile()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod gitleaks;
mod pattern;
mod presidio;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub use gitleaks::{GitleaksError, from_gitleaks};
pub use presidio::{PresidioError, from_presidio};

use crate::{Policy, PolicyError, PolicySource, ROOT_FILE};

/// Default for [`ImportOptions::max_repeat`].
pub const DEFAULT_MAX_REPEAT: u32 = 256;

/// How rules are converted.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Sluice patterns have a bounded length, so an unbounded repetition (`+`, `*`, `{n,}`)
    /// is bounded at its minimum plus this (lowered for a pattern that would exceed the
    /// engine's 4096-byte limit). Larger values find longer secrets (PEM keys are ~1700 to
    /// 3300 bytes) at the cost of a longer streaming hold-back.
    pub max_repeat: u32,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            max_repeat: DEFAULT_MAX_REPEAT,
        }
    }
}

/// A converted pack: detector files, and what became of each source rule.
#[derive(Debug, Clone)]
pub struct ImportedPack {
    /// Detector files, paths relative to the pack folder (`aws.toml`). Together they compile;
    /// empty when no rule converted.
    pub files: Vec<PolicySource>,
    /// Source rules that became detectors.
    pub converted: Vec<Converted>,
    /// Source rules left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// Differences that concern the whole source (a global allow-list's file paths, say).
    pub notes: Vec<String>,
}

/// A source rule that became a detector.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The rule's name in the source (gitleaks rule id; Presidio `recogniser/pattern`).
    pub rule: String,
    /// The Sluice detector id.
    pub detector: String,
    /// Where the detector behaves differently from the source.
    pub losses: Vec<Loss>,
}

/// A source rule left out.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The rule's name in the source.
    pub rule: String,
    /// Why, in words (never the pattern or a secret).
    pub reason: String,
}

/// A difference between a source rule and the detector it became. Each errs towards finding
/// more, except where the text says otherwise.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Loss {
    /// Unbounded repetitions were bounded at their minimum plus this many repeats: longer
    /// values are not found.
    RepetitionCapped(u32),
    /// A gitleaks `path` condition: Sluice scans text, not files, so the rule fires anywhere.
    PathIgnored,
    /// An allow-list entry Sluice cannot express was left out (more findings, not fewer).
    AllowlistDropped(&'static str),
    /// Several capture groups and no `secretGroup`: the whole match is the finding, and the
    /// entropy floor is measured on it.
    WholeMatch,
    /// Keywords that are not part of every match became required context words: the rule
    /// fires only with a keyword within this many bytes of the value (gitleaks: anywhere in
    /// the fragment), and a keyword must stand as a word.
    KeywordsAsContext(usize),
    /// Keywords could not be used (not ASCII, or empty): the rule runs on all text.
    KeywordsDropped,
    /// A composite rule's `required` companions are ignored: the rule fires alone.
    RequiredIgnored,
    /// The source's language restriction is ignored: the rule fires on text in any language.
    LanguageIgnored(String),
    /// The score, even with a context word near, is below Sluice's default `min_score` (0.5):
    /// the rule reports only under a root file with a lower `min_score`.
    LowScore,
    /// A case-sensitive source rule matches ASCII case-insensitively (Sluice deny-lists do).
    CaseFolded,
    /// A regex flag Sluice has no use for was ignored.
    FlagIgnored(&'static str),
    /// A field of the source rule that the importer does not know was ignored.
    FieldIgnored(String),
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loss::RepetitionCapped(n) => write!(
                f,
                "unbounded repetition capped at {n} beyond its minimum (longer values are missed)"
            ),
            Loss::PathIgnored => f.write_str("`path` condition ignored (fires on any text)"),
            Loss::AllowlistDropped(what) => {
                write!(f, "allow-list entries dropped ({what}): more findings")
            }
            Loss::WholeMatch => f.write_str(
                "several capture groups and no secretGroup: the whole match is the finding",
            ),
            Loss::KeywordsAsContext(w) => write!(
                f,
                "keywords are not in every match: required as words within {w} bytes"
            ),
            Loss::KeywordsDropped => f.write_str("keywords unusable: runs on all text"),
            Loss::RequiredIgnored => f.write_str("composite `required` rules ignored: fires alone"),
            Loss::LanguageIgnored(l) => write!(f, "language `{l}` ignored: fires on any text"),
            Loss::LowScore => {
                f.write_str("score below the default min_score 0.5: reports only if lowered")
            }
            Loss::CaseFolded => f.write_str("case-sensitive in the source, matched ignoring case"),
            Loss::FlagIgnored(flag) => write!(f, "regex flag {flag} ignored"),
            Loss::FieldIgnored(name) => write!(f, "unknown field `{name}` ignored"),
        }
    }
}

/// The generated pack could not be made valid. Should not happen: report it as a bug.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The engine rejected the pack as a whole, not a rule of it that could be dropped.
    #[error("the converted pack does not compile: {0}")]
    Invalid(#[source] PolicyError),
}

impl ImportedPack {
    /// The pack as a policy set of its own: its files under `imported/` and a root file that
    /// loads them (default actions: redact everywhere).
    pub fn check_sources(&self) -> Vec<PolicySource> {
        check_sources(&self.files)
    }

    /// Compiles the pack alone (see [`ImportedPack::check_sources`]).
    pub fn compile(&self) -> Result<Policy, PolicyError> {
        Policy::compile(&self.check_sources())
    }
}

fn check_sources(files: &[PolicySource]) -> Vec<PolicySource> {
    let root = PolicySource {
        path: ROOT_FILE.into(),
        text: "version = 1\nname = \"imported\"\npacks = [\"imported\"]\n".into(),
    };
    std::iter::once(root)
        .chain(files.iter().map(|f| PolicySource {
            path: format!("imported/{}", f.path),
            text: f.text.clone(),
        }))
        .collect()
}

/// One detector as it will be written.
#[derive(Debug, Clone, Default)]
pub(crate) struct DetectorOut {
    pub id: String,
    pub entity: String,
    pub description: Option<String>,
    /// Regex detectors; `None` for a keywords detector.
    pub pattern: Option<String>,
    pub prefilter: Vec<String>,
    pub secret_group: bool,
    pub min_entropy: Option<f64>,
    pub score: Option<f64>,
    pub context: Vec<String>,
    pub context_window: Option<usize>,
    pub context_boost: Option<f64>,
    pub context_required: bool,
    pub allow_patterns: Vec<String>,
    pub priority: Option<i32>,
    pub keywords: Vec<String>,
}

/// A converted rule before the pack check.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    /// Source rule name.
    pub rule: String,
    /// Detector file (relative to the pack folder).
    pub file: String,
    pub detector: DetectorOut,
    pub losses: Vec<Loss>,
}

/// What a format module hands over: drafts, rules already skipped, notes.
pub(crate) struct Outcome {
    /// Detector-file `category`.
    pub category: &'static str,
    /// The tool named in generated comments (`gitleaks`).
    pub tool: &'static str,
    pub drafts: Vec<Draft>,
    pub skipped: Vec<Skipped>,
    pub notes: Vec<String>,
}

/// Compiles the drafts as a pack, drops every rule the engine rejects (listing it as
/// skipped with the engine's message), and returns the valid pack.
pub(crate) fn finish(mut out: Outcome) -> Result<ImportedPack, ImportError> {
    // Each round removes at least one rule or returns.
    loop {
        let files = render(&out);
        let checked = if files.is_empty() {
            // Nothing converted: an empty pack (a pack folder without files is invalid,
            // so there is nothing to write either).
            Ok(())
        } else {
            Policy::compile(&check_sources(&files)).map(drop)
        };
        let err = match checked {
            Ok(()) => {
                return Ok(ImportedPack {
                    files,
                    converted: out
                        .drafts
                        .into_iter()
                        .map(|d| Converted {
                            rule: d.rule,
                            detector: d.detector.id,
                            losses: d.losses,
                        })
                        .collect(),
                    skipped: out.skipped,
                    notes: out.notes,
                });
            }
            Err(e) => e,
        };
        let mut rejected: BTreeMap<String, String> = BTreeMap::new();
        for d in err.diagnostics() {
            if let Some(rule) = &d.rule {
                rejected
                    .entry(rule.clone())
                    .or_insert_with(|| d.message.clone());
            }
        }
        if rejected.is_empty() {
            // A problem of the set rather than of a rule (the shared automaton, say): find
            // the rules that fail on their own.
            for d in &out.drafts {
                let alone = Outcome {
                    drafts: vec![d.clone()],
                    skipped: Vec::new(),
                    notes: Vec::new(),
                    ..out
                };
                if let Err(e) = Policy::compile(&check_sources(&render(&alone))) {
                    let message = e
                        .diagnostics()
                        .first()
                        .map_or_else(String::new, |d| d.message.clone());
                    rejected.insert(d.detector.id.clone(), message);
                }
            }
            if rejected.is_empty() {
                return Err(ImportError::Invalid(err));
            }
        }
        let before = out.drafts.len();
        let mut kept = Vec::with_capacity(before);
        for d in out.drafts {
            match rejected.get(&d.detector.id) {
                Some(message) => out.skipped.push(Skipped {
                    rule: d.rule,
                    reason: format!("rejected by the policy check: {message}"),
                }),
                None => kept.push(d),
            }
        }
        out.drafts = kept;
        if out.drafts.len() == before {
            return Err(ImportError::Invalid(err));
        }
    }
}

fn render(out: &Outcome) -> Vec<PolicySource> {
    let mut by_file: BTreeMap<&str, Vec<&Draft>> = BTreeMap::new();
    for d in &out.drafts {
        by_file.entry(&d.file).or_default().push(d);
    }
    by_file
        .into_iter()
        .map(|(file, drafts)| {
            let family = file.trim_end_matches(".toml");
            let mut t = String::new();
            t.push_str(&format!(
                "# Imported by `sluice policy import {tool}`. Review the notes, then run\n\
                 # `sluice policy check`; regenerate rather than edit.\n\
                 version = 1\n\
                 category = \"{category}\"\n\
                 description = {}\n",
                toml_str(&format!("{} rules: {family}", out.tool)),
                tool = out.tool,
                category = out.category,
            ));
            for d in drafts {
                t.push('\n');
                emit(d, out.tool, &mut t);
            }
            PolicySource {
                path: file.to_owned(),
                text: t,
            }
        })
        .collect()
}

fn emit(d: &Draft, tool: &str, t: &mut String) {
    use std::fmt::Write as _;
    let det = &d.detector;
    // Writing into a String cannot fail.
    let _ = writeln!(t, "# from {tool} rule {}", comment(&d.rule));
    for l in &d.losses {
        let _ = writeln!(t, "# note: {}", comment(&l.to_string()));
    }
    t.push_str("[[detector]]\n");
    let _ = writeln!(t, "id = {}", toml_str(&det.id));
    let _ = writeln!(t, "entity = {}", toml_str(&det.entity));
    if let Some(desc) = &det.description {
        let _ = writeln!(t, "description = {}", toml_str(desc));
    }
    match &det.pattern {
        Some(p) => {
            let _ = writeln!(t, "pattern = {}", toml_str(p));
            if !det.prefilter.is_empty() {
                let _ = writeln!(t, "prefilter = {}", toml_array(&det.prefilter));
            }
            if det.secret_group {
                let _ = writeln!(t, "secret_group = {}", toml_str(pattern::SECRET_GROUP));
            }
        }
        None => {
            t.push_str("kind = \"keywords\"\n");
            let _ = writeln!(t, "keywords = {}", toml_array(&det.keywords));
        }
    }
    if let Some(e) = det.min_entropy {
        let _ = writeln!(t, "min_entropy = {e:?}");
    }
    if let Some(s) = det.score {
        let _ = writeln!(t, "score = {s:?}");
    }
    if !det.context.is_empty() {
        let _ = writeln!(t, "context = {}", toml_array(&det.context));
    }
    if let Some(w) = det.context_window {
        let _ = writeln!(t, "context_window = {w}");
    }
    if let Some(b) = det.context_boost {
        let _ = writeln!(t, "context_boost = {b:?}");
    }
    if det.context_required {
        t.push_str("context_required = true\n");
    }
    if !det.allow_patterns.is_empty() {
        let _ = writeln!(t, "allow_patterns = {}", toml_array(&det.allow_patterns));
    }
    if let Some(p) = det.priority {
        let _ = writeln!(t, "priority = {p}");
    }
}

/// Text safe inside a `#` comment line.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A TOML string: a literal string where the text allows (regexes stay readable), else a
/// basic string with escapes.
pub(crate) fn toml_str(s: &str) -> String {
    let plain = !s.chars().any(|c| c.is_control() && c != '\t');
    if plain && !s.contains('\'') {
        return format!("'{s}'");
    }
    if plain && !s.contains("'''") && !s.ends_with('\'') {
        return format!("'''{s}'''");
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_array(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| toml_str(s)).collect();
    let one_line = format!("[{}]", parts.join(", "));
    if one_line.len() <= 96 {
        return one_line;
    }
    let mut s = String::from("[\n");
    for p in parts {
        s.push_str("    ");
        s.push_str(&p);
        s.push_str(",\n");
    }
    s.push(']');
    s
}

/// A detector id part: lower-case letters, digits, `_` and `-`.
pub(crate) fn id_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() { "rule".into() } else { out }
}

/// An entity name: SCREAMING_SNAKE_CASE.
pub(crate) fn entity_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_owned();
    if out.is_empty() { "SECRET".into() } else { out }
}

/// Makes `id` unique among `taken` by appending `-2`, `-3`...
pub(crate) fn unique(id: String, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = id.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{id}-{n}");
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_round_trip() {
        #[derive(serde::Deserialize)]
        struct V {
            v: String,
        }
        for s in [
            r"\b(AKIA[A-Z2-7]{16})\b",
            r#"["']?key["']?\s{0,4}="#,
            "ends with '",
            "has ''' inside",
            "line\nbreak \"quoted\" \\ \u{1}",
            "",
        ] {
            let v: V = toml::from_str(&format!("v = {}", toml_str(s))).expect("parses");
            assert_eq!(v.v, s);
        }
    }

    #[test]
    fn names() {
        assert_eq!(id_part("AWS Access.Token"), "aws-access-token");
        assert_eq!(entity_name("1password-secret-key"), "1PASSWORD_SECRET_KEY");
        let mut taken = BTreeSet::new();
        assert_eq!(unique("a".into(), &mut taken), "a");
        assert_eq!(unique("a".into(), &mut taken), "a-2");
    }
}
