//! Presidio ad-hoc recogniser YAML → a Sluice PII pack.
//!
//! ```yaml
//! recognizers:
//!   - name: Zip code Recognizer
//!     supported_language: de
//!     supported_entity: ZIP
//!     patterns:
//!       - { name: zip code (weak), regex: "(\\b\\d{5}(?:\\-\\d{4})?\\b)", score: 0.01 }
//!     context: [zip, code]
//!     deny_list: [...]
//! ```
//!
//! | Presidio | Sluice |
//! |---|---|
//! | recogniser `name` | detector file `<name>.toml` |
//! | each of `patterns` | a regex detector `presidio.<name>.<pattern name>`, `score` kept |
//! | `deny_list` (`deny_list_score`, default 1) | a keywords detector `presidio.<name>.deny_list` |
//! | `supported_entity` | `entity` |
//! | `context` | `context`, boost 0.35 (Presidio's default similarity factor) |
//! | `global_regex_flags` (default `IGNORECASE \| MULTILINE \| DOTALL`) | inline flags `(?ims)` |
//! | `supported_language(s)` | ignored: Sluice detectors are language-agnostic |
//!
//! Python's `re` has look-around and back-references, Rust's engine does not: such patterns
//! are skipped with the reason. `type: predefined` recognisers (Presidio code, no patterns in
//! the file) are skipped.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::pattern::{self, Dialect, GroupChoice};
use super::{
    DetectorOut, Draft, ImportError, ImportOptions, ImportedPack, Loss, Outcome, Skipped,
    entity_name, finish, id_part, unique,
};

/// Errors of [`from_presidio`].
#[derive(Debug, thiserror::Error)]
pub enum PresidioError {
    /// The file is not Presidio recogniser YAML (YAML syntax, a field of the wrong type, or
    /// no `recognizers` list).
    #[error("not a Presidio recognizer file: {0}")]
    Parse(#[from] serde_yaml_ng::Error),
    /// The converted pack could not be made valid.
    #[error(transparent)]
    Pack(#[from] ImportError),
}

/// Presidio's `re` flags (Python's values).
const IGNORECASE: u32 = 2;
const LOCALE: u32 = 4;
const MULTILINE: u32 = 8;
const DOTALL: u32 = 16;
const VERBOSE: u32 = 64;
/// Presidio's default `global_regex_flags`.
const DEFAULT_FLAGS: u32 = IGNORECASE | MULTILINE | DOTALL;
/// Presidio's default context similarity factor (LemmaContextAwareEnhancer).
const CONTEXT_BOOST: f64 = 0.35;
/// Sluice's default root `min_score`.
const DEFAULT_MIN_SCORE: f64 = 0.5;

#[derive(Debug, Deserialize)]
struct Config {
    recognizers: Vec<Recognizer>,
    #[serde(default)]
    global_regex_flags: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct Recognizer {
    name: String,
    #[serde(default)]
    supported_entity: Option<String>,
    #[serde(default)]
    supported_language: Option<String>,
    /// `[en, de]` or `[{language: en, context: [...]}]`.
    #[serde(default)]
    supported_languages: Vec<Language>,
    #[serde(default)]
    patterns: Vec<Pattern>,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    deny_list: Vec<String>,
    #[serde(default)]
    deny_list_score: Option<f64>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    global_regex_flags: Option<u32>,
    #[serde(default)]
    #[allow(dead_code)]
    version: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_yaml_ng::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Language {
    Code(String),
    WithContext {
        language: String,
        #[serde(default)]
        context: Vec<String>,
    },
}

#[derive(Debug, Deserialize)]
struct Pattern {
    #[serde(default)]
    name: Option<String>,
    regex: String,
    score: f64,
}

/// Converts Presidio recogniser YAML. Patterns and deny lists that cannot be represented are
/// listed in [`ImportedPack::skipped`]; the pack returned always compiles.
pub fn from_presidio(text: &str, opts: &ImportOptions) -> Result<ImportedPack, PresidioError> {
    let config: Config = serde_yaml_ng::from_str(text)?;
    let mut taken = BTreeSet::new();
    let mut drafts = Vec::new();
    let mut skipped = Vec::new();
    for rec in &config.recognizers {
        let skip_all = if rec.enabled == Some(false) {
            Some("disabled in the source")
        } else if rec
            .kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("predefined"))
        {
            Some("predefined recognizer: its logic is Presidio code, not in the file")
        } else if rec.patterns.is_empty() && rec.deny_list.is_empty() {
            Some("no patterns and no deny_list")
        } else if rec
            .supported_entity
            .as_deref()
            .is_none_or(|e| e.trim().is_empty())
        {
            Some("no supported_entity")
        } else {
            None
        };
        if let Some(reason) = skip_all {
            skipped.push(Skipped {
                rule: rec.name.clone(),
                reason: reason.into(),
            });
            continue;
        }
        convert(rec, &config, opts, &mut taken, &mut drafts, &mut skipped);
    }
    Ok(finish(Outcome {
        category: "pii",
        tool: "presidio",
        drafts,
        skipped,
        notes: Vec::new(),
    })?)
}

fn convert(
    rec: &Recognizer,
    config: &Config,
    opts: &ImportOptions,
    taken: &mut BTreeSet<String>,
    drafts: &mut Vec<Draft>,
    skipped: &mut Vec<Skipped>,
) {
    let base = id_part(&rec.name);
    let file = format!("{base}.toml");
    let entity = entity_name(rec.supported_entity.as_deref().unwrap_or_default());
    let flags = rec
        .global_regex_flags
        .or(config.global_regex_flags)
        .unwrap_or(DEFAULT_FLAGS);

    // Losses shared by the recogniser's detectors.
    let mut common = Vec::new();
    let mut languages: Vec<&str> = rec.supported_language.iter().map(String::as_str).collect();
    let mut context: Vec<String> = rec.context.clone();
    for l in &rec.supported_languages {
        match l {
            Language::Code(code) => languages.push(code),
            Language::WithContext {
                language,
                context: c,
            } => {
                languages.push(language);
                context.extend(c.iter().cloned());
            }
        }
    }
    for l in languages {
        if !l.eq_ignore_ascii_case("en") {
            common.push(Loss::LanguageIgnored(l.to_owned()));
        }
    }
    let mut seen = BTreeSet::new();
    context.retain(|w| !w.trim().is_empty() && seen.insert(w.to_ascii_lowercase()));
    if flags & LOCALE != 0 {
        common.push(Loss::FlagIgnored("LOCALE"));
    }
    for name in rec.other.keys() {
        common.push(Loss::FieldIgnored(name.clone()));
    }
    let boost = if context.is_empty() {
        0.0
    } else {
        CONTEXT_BOOST
    };

    let mut inline = String::new();
    for (bit, c) in [
        (IGNORECASE, 'i'),
        (MULTILINE, 'm'),
        (DOTALL, 's'),
        (VERBOSE, 'x'),
    ] {
        if flags & bit != 0 {
            inline.push(c);
        }
    }
    let prefix = if inline.is_empty() {
        String::new()
    } else {
        format!("(?{inline})")
    };

    for (n, p) in rec.patterns.iter().enumerate() {
        let pname = p
            .name
            .clone()
            .unwrap_or_else(|| format!("pattern {}", n + 1));
        let rule = format!("{}/{pname}", rec.name);
        if !(p.score > 0.0 && p.score <= 1.0) {
            skipped.push(Skipped {
                rule,
                reason: "score outside (0, 1]".into(),
            });
            continue;
        }
        let src = format!("{prefix}{}", p.regex);
        let t = match pattern::translate(
            &src,
            Dialect::Python,
            GroupChoice::WholeMatch,
            opts.max_repeat,
        ) {
            Ok(t) => t,
            Err(e) => {
                skipped.push(Skipped {
                    rule,
                    reason: format!("regex not supported by Sluice: {}", e.0),
                });
                continue;
            }
        };
        let mut losses = common.clone();
        if let Some(cap) = t.capped {
            losses.push(Loss::RepetitionCapped(cap));
        }
        if p.score + boost < DEFAULT_MIN_SCORE {
            losses.push(Loss::LowScore);
        }
        drafts.push(Draft {
            rule,
            file: file.clone(),
            detector: DetectorOut {
                id: unique(format!("presidio.{base}.{}", id_part(&pname)), taken),
                entity: entity.clone(),
                pattern: Some(t.pattern),
                score: Some(p.score),
                context: context.clone(),
                context_boost: (!context.is_empty()).then_some(CONTEXT_BOOST),
                ..DetectorOut::default()
            },
            losses,
        });
    }

    if !rec.deny_list.is_empty() {
        let rule = format!("{}/deny_list", rec.name);
        let mut seen = BTreeSet::new();
        let keywords: Vec<String> = rec
            .deny_list
            .iter()
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty() && seen.insert(w.to_ascii_lowercase()))
            .collect();
        let score = rec.deny_list_score.unwrap_or(1.0);
        if keywords.is_empty() {
            skipped.push(Skipped {
                rule,
                reason: "deny_list has only empty entries".into(),
            });
        } else if !(score > 0.0 && score <= 1.0) {
            skipped.push(Skipped {
                rule,
                reason: "deny_list_score outside (0, 1]".into(),
            });
        } else {
            let mut losses = common.clone();
            if flags & IGNORECASE == 0 {
                losses.push(Loss::CaseFolded);
            }
            if score + boost < DEFAULT_MIN_SCORE {
                losses.push(Loss::LowScore);
            }
            drafts.push(Draft {
                rule,
                file,
                detector: DetectorOut {
                    id: unique(format!("presidio.{base}.deny_list"), taken),
                    entity,
                    keywords,
                    score: Some(score),
                    context: context.clone(),
                    context_boost: (!context.is_empty()).then_some(CONTEXT_BOOST),
                    ..DetectorOut::default()
                },
                losses,
            });
        }
    }
}
