//! The serde "file forms" of policy files: exactly what a user writes, with spans kept for
//! error messages. Nothing here is validated beyond TOML shape; `compile` turns these into
//! runtime types (the one place where validation happens).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// `sluice.toml`, the root of a policy set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RootFile {
    pub version: Spanned<u32>,
    #[serde(default)]
    pub name: Option<String>,
    /// Documentation for readers of the file; not used at run time.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
    pub packs: Vec<Spanned<String>>,
    #[serde(default)]
    pub min_score: Option<Spanned<f64>>,
    #[serde(default)]
    pub boundaries: BoundariesFile,
}

/// The four boundaries; unknown boundary names are rejected by `deny_unknown_fields`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BoundariesFile {
    pub ingest: Option<BoundaryFile>,
    pub prompt: Option<BoundaryFile>,
    pub context: Option<BoundaryFile>,
    pub response: Option<BoundaryFile>,
}

/// Actions for one boundary.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BoundaryFile {
    pub default: Option<Spanned<ActionFile>>,
    #[serde(default)]
    pub categories: BTreeMap<String, Spanned<ActionFile>>,
    #[serde(default)]
    pub entities: BTreeMap<String, Spanned<ActionFile>>,
}

/// `"redact"` or `{ action = "mask", keep = 4 }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ActionFile {
    Name(String),
    Table(ActionTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionTable {
    pub action: String,
    pub keep: Option<usize>,
}

/// A detector file: one family of detectors and its test cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DetectorFile {
    pub version: Spanned<u32>,
    pub category: Spanned<String>,
    /// Documentation for readers of the file; not used at run time.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
    #[serde(default, rename = "detector")]
    pub detectors: Vec<DetectorSpec>,
    #[serde(default, rename = "test")]
    pub tests: Vec<TestSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DetectorSpec {
    pub id: Spanned<String>,
    pub entity: Spanned<String>,
    /// Documentation for readers of the file; not used at run time.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
    #[serde(default)]
    pub kind: Option<Spanned<String>>,
    #[serde(default)]
    pub pattern: Option<Spanned<String>>,
    #[serde(default)]
    pub prefilter: Vec<Spanned<String>>,
    #[serde(default)]
    pub secret_group: Option<Spanned<String>>,
    #[serde(default)]
    pub validators: Vec<Spanned<String>>,
    #[serde(default)]
    pub min_entropy: Option<f64>,
    #[serde(default)]
    pub score: Option<Spanned<f64>>,
    #[serde(default)]
    pub context: Vec<String>,
    #[serde(default)]
    pub context_window: Option<Spanned<usize>>,
    #[serde(default)]
    pub context_boost: Option<f64>,
    #[serde(default)]
    pub context_required: bool,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub allow_patterns: Vec<Spanned<String>>,
    #[serde(default)]
    pub priority: Option<i32>,
    #[serde(default)]
    pub keywords: Vec<Spanned<String>>,
    #[serde(default)]
    pub case_insensitive: Option<bool>,
    #[serde(default)]
    pub whole_word: Option<bool>,
    /// `kind = "names"`: the lists of the name detector.
    #[serde(default)]
    pub names: Option<Spanned<NamesSpec>>,
}

/// The `names` table of a `kind = "names"` detector. Words are matched ASCII
/// case-insensitively.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamesSpec {
    /// Path, relative to the policy folder, of a name-lists file (`first_names`, `surnames`).
    pub lists: Spanned<String>,
    /// Titles before a name (`Mr`, `Dr`): a capitalised word after one is a surname.
    #[serde(default)]
    pub honorifics: Vec<String>,
    /// Words right before a single first name that make it a name (`met with`, `regards`).
    #[serde(default)]
    pub lead_words: Vec<String>,
    /// Greetings and sign-offs (`hi`, `dear`, `regards`): before a single capitalised word that
    /// is not a known first name, they still make it a name (`Hi Oisin,`).
    #[serde(default)]
    pub greetings: Vec<String>,
    /// First names that are also common words (`May`, `Will`): they count only when paired
    /// with a known surname.
    #[serde(default)]
    pub ambiguous: Vec<String>,
    /// Capitalised words that are never part of a name (months, headings, products).
    #[serde(default)]
    pub not_names: Vec<String>,
    /// Words after a name that make it a company (`Ltd`, `Group`).
    #[serde(default)]
    pub org_words: Vec<String>,
    /// Lower-case words inside a name (`de`, `van`, `von`).
    #[serde(default)]
    pub particles: Vec<String>,
    /// Endings that make a word look like a surname (`ski`, `sson`).
    #[serde(default)]
    pub surname_endings: Vec<String>,
}

/// A name-lists file (generated by `scripts/gen-person-names.py`): whitespace-separated words.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NameListsFile {
    pub version: Spanned<u32>,
    pub first_names: String,
    pub surnames: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestSpec {
    pub text: Spanned<String>,
    #[serde(default)]
    pub expect: Vec<String>,
    #[serde(default)]
    pub matches: Option<Vec<String>>,
}
