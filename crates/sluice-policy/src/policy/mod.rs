//! The compiled policy set and the one function that builds it from files
//! ([`Policy::compile`], quickwit's `validate_and_build`): parse every file, validate every
//! field, and either return a complete policy or every problem found, never half of one.
//!
//! [`build`] reads the root file, the packs and the boundaries, [`detector`] validates one
//! `[[detector]]` of any kind, and [`assemble`] compiles the validated detectors into the
//! shared automata the scanner runs.

mod assemble;
mod build;
mod detector;

use assemble::live_patterns;
use build::Builder;

use std::collections::{BTreeSet, HashSet};

use aho_corasick::AhoCorasick;
use regex_automata::meta;
use sluice_validators::ValidatorFn;

use crate::action::{Action, Boundary, BoundaryActions};
use crate::error::PolicyError;
use crate::live::LiveSet;
use crate::names::NameModel;

/// The root file's name inside a policy folder.
pub const ROOT_FILE: &str = "sluice.toml";

/// Longest match a pattern may have: the streaming hold-back grows with it.
const MAX_PATTERN_LEN: usize = 4096;
const MAX_CONTEXT_WINDOW: usize = 256;
/// Lazy-DFA cache of the shared automata. Dozens of patterns in one DFA have many states; with
/// the default 2 MiB the cache is cleared over and over and determinisation dominates.
const COMBINED_DFA_CACHE: usize = 32 << 20;

/// One policy file's text, as read by the caller (the engine does no IO).
#[derive(Debug, Clone)]
pub struct PolicySource {
    /// Path relative to the policy folder, with `/` separators (`pii/email.toml`).
    pub path: String,
    /// The file's content.
    pub text: String,
}

/// A compiled, validated policy set. Cheap to share (`Arc<Policy>`), immutable.
pub struct Policy {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) min_score: f32,
    pub(crate) detectors: Vec<Detector>,
    pub(crate) boundaries: [BoundaryActions; 4],
    /// One overlapping, ASCII case-insensitive literal automaton: the prefilter literals of
    /// all prefiltered regex detectors (pattern ids `0..prefilter_dets.len()`), then every
    /// deny-list keyword (the ids after them). One pass over the text finds both: each pass
    /// of an automaton costs a dependent table load per byte, whatever it searches for.
    pub(crate) literals: Option<AhoCorasick>,
    /// For each prefilter literal, the detectors that use it.
    pub(crate) prefilter_dets: Vec<Vec<u32>>,
    /// One automaton over all regex detectors without a literal; its matches are hits.
    pub(crate) combined: Option<meta::Regex>,
    /// The same patterns with "all matches" semantics: which of them match in a region.
    pub(crate) combined_all: Option<meta::Regex>,
    pub(crate) combined_dets: Vec<u32>,
    /// Longest match of any combined detector: the half-width of a hit's region.
    pub(crate) combined_max: usize,
    /// For each keyword (literal id minus `prefilter_dets.len()`), its detector.
    pub(crate) keyword_dets: Vec<u32>,
    pub(crate) encoded: meta::Regex,
    /// Every pattern, anchored at each position of a stream: what may still be in progress.
    /// Built on the first stream, so batch-only users (ingest, `sluice redact`) never pay
    /// for it; `None` if it cannot be built (streams then hold back `holdback` bytes).
    pub(crate) live: std::sync::OnceLock<Option<LiveSet>>,
    pub(crate) holdback: usize,
    pub(crate) holdback_rule: String,
    /// Largest `keep` of any mask action: the longest unmasked tail a mask of ours can have.
    pub(crate) mask_keep: usize,
    pub(crate) tests: Vec<FileTests>,
    pub(crate) files: usize,
}

pub(crate) struct Detector {
    pub id: String,
    pub entity: String,
    pub category: String,
    pub kind: DetectorKind,
    pub score: f32,
    pub priority: i32,
    pub validators: Vec<ValidatorFn>,
    pub min_entropy: Option<f64>,
    pub context: Option<AhoCorasick>,
    pub context_window: usize,
    pub context_boost: f32,
    pub context_required: bool,
    pub allow: HashSet<String>,
    pub allow_patterns: Vec<meta::Regex>,
    /// Its action leaves text as it is at every boundary (`shadow`, `allow`): its findings
    /// never hide an overlapping finding that replaces text (see `detect::resolve`).
    pub passive: bool,
    /// Longest possible match.
    pub max_len: usize,
    /// How far before a hit of one of its literals a match can start.
    pub before: usize,
    /// Its literals are its context words (a weak pattern that needs one): only a hit that
    /// is a whole word, as `accept` counts context words, opens a window.
    pub context_prefilter: bool,
    /// How far after the end of a hit of one of its literals a match can end.
    pub after: usize,
    /// Pattern text (regex detectors), for the combined automaton.
    pub pattern: String,
    /// Prefilter literals, lower-case (regex detectors).
    pub prefilter: Vec<String>,
    /// Deny-list (keyword detectors).
    pub keywords: Vec<String>,
    /// Context words as written.
    pub context_words: Vec<String>,
}

pub(crate) enum DetectorKind {
    Regex {
        re: meta::Regex,
        /// Capture group whose span is the finding (None: the whole match).
        group: Option<usize>,
        /// The parsed pattern, until assembly takes it for the combined automata (so no
        /// pattern is parsed twice).
        hir: Option<regex_syntax::hir::Hir>,
    },
    Keywords {
        whole_word: bool,
    },
    /// People's names, scored from name lists and context (see [`crate::names`]).
    Names(Box<NameModel>),
}

/// Test cases of one detector file.
pub(crate) struct FileTests {
    pub file: String,
    pub entities: BTreeSet<String>,
    pub cases: Vec<TestCase>,
}

pub(crate) struct TestCase {
    pub line: usize,
    pub text: String,
    pub expect: Vec<String>,
    pub matches: Option<Vec<String>>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("detectors", &self.detectors.len())
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// Parses and validates a policy set. `sources` are all `*.toml` files of the policy
    /// folder; `sluice.toml` among them is the root, and detector files outside the packs it
    /// names are ignored. On any problem, every problem is returned and nothing is built.
    pub fn compile(sources: &[PolicySource]) -> Result<Policy, PolicyError> {
        Builder::default().build(sources)
    }

    /// Name from the root file.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Content hash of the loaded files (16 hex digits): recorded with every audit record.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Number of detectors.
    pub fn detector_count(&self) -> usize {
        self.detectors.len()
    }

    /// Distinct entity types the detectors find.
    pub fn entities(&self) -> BTreeSet<&str> {
        self.detectors.iter().map(|d| d.entity.as_str()).collect()
    }

    /// Number of detector files loaded.
    pub fn file_count(&self) -> usize {
        self.files
    }

    /// The longest reach of any rule (its longest match plus the window around its literals
    /// and its context words), and the rule that sets it. The streaming redactor holds back
    /// at most this much (only text that may still be part of a match waits; prose is
    /// released word by word) and keeps this much emitted text as left context.
    pub fn holdback(&self) -> (usize, &str) {
        (self.holdback, &self.holdback_rule)
    }

    /// The streaming automaton (see [`crate::live`]), built on first use.
    pub(crate) fn live(&self) -> Option<&LiveSet> {
        self.live
            .get_or_init(|| LiveSet::build(&live_patterns(&self.detectors)).ok())
            .as_ref()
    }

    /// The action for an entity of a category at a boundary.
    pub fn action_for(&self, boundary: Boundary, entity: &str, category: &str) -> Action {
        self.boundaries[boundary.index()].resolve(entity, category)
    }
}
