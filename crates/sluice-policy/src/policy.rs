//! The compiled policy set and the one function that builds it from files
//! ([`Policy::compile`], quickwit's `validate_and_build`): parse every file, validate every
//! field, and either return a complete policy or every problem found, never half of one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_automata::meta;
use regex_automata::util::syntax;
use regex_syntax::hir::{Hir, HirKind};
use sha2::{Digest, Sha256};
use sluice_validators::ValidatorFn;
use toml::Spanned;

use crate::action::{Action, Boundary, BoundaryActions};
use crate::encoded;
use crate::error::{Diagnostic, PolicyError, line_col};
use crate::file::{ActionFile, BoundaryFile, DetectorFile, DetectorSpec, RootFile, TestSpec};
use crate::live::{LivePattern, LiveSet};
use crate::names::NameModel;
use crate::names_build::{self, NamesError};

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
    /// Literal prefilter over all prefiltered regex detectors.
    pub(crate) prefilter: Option<AhoCorasick>,
    /// For each prefilter literal, the detectors that use it.
    pub(crate) prefilter_dets: Vec<Vec<u32>>,
    /// One automaton over all regex detectors without a literal; its matches are hits.
    pub(crate) combined: Option<meta::Regex>,
    /// The same patterns with "all matches" semantics: which of them match in a region.
    pub(crate) combined_all: Option<meta::Regex>,
    pub(crate) combined_dets: Vec<u32>,
    /// Longest match of any combined detector: the half-width of a hit's region.
    pub(crate) combined_max: usize,
    pub(crate) keywords: Option<AhoCorasick>,
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

#[derive(Default)]
struct Builder {
    diags: Vec<Diagnostic>,
    /// Data files (outside the packs) that detectors read: part of the version hash.
    data_files: BTreeSet<String>,
}

impl Builder {
    fn err(
        &mut self,
        file: &str,
        text: &str,
        offset: usize,
        rule: Option<&str>,
        message: impl Into<String>,
    ) {
        let (line, col) = line_col(text, offset);
        self.diags.push(Diagnostic {
            file: file.to_owned(),
            line,
            col,
            rule: rule.map(str::to_owned),
            message: message.into(),
        });
    }

    fn build(mut self, sources: &[PolicySource]) -> Result<Policy, PolicyError> {
        let Some(root_src) = sources.iter().find(|s| s.path == ROOT_FILE) else {
            return Err(PolicyError::Invalid(vec![Diagnostic {
                file: ROOT_FILE.into(),
                line: 1,
                col: 1,
                rule: None,
                message: "missing root file `sluice.toml`".into(),
            }]));
        };
        let root: RootFile = match toml::from_str(&root_src.text) {
            Ok(r) => r,
            Err(e) => {
                let off = e.span().map_or(0, |s| s.start);
                self.err(ROOT_FILE, &root_src.text, off, None, e.message().to_owned());
                return Err(PolicyError::Invalid(self.diags));
            }
        };
        if *root.version.get_ref() != 1 {
            self.err(
                ROOT_FILE,
                &root_src.text,
                root.version.span().start,
                None,
                "unsupported version (expected 1)",
            );
        }
        let packs: Vec<String> = root
            .packs
            .iter()
            .map(|p| p.get_ref().trim_matches('/').to_owned())
            .collect();

        let mut files: Vec<&PolicySource> = sources
            .iter()
            .filter(|s| {
                s.path != ROOT_FILE && packs.iter().any(|p| s.path.starts_with(&format!("{p}/")))
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        for (pack, spanned) in packs.iter().zip(&root.packs) {
            if !files
                .iter()
                .any(|f| f.path.starts_with(&format!("{pack}/")))
            {
                self.err(
                    ROOT_FILE,
                    &root_src.text,
                    spanned.span().start,
                    None,
                    format!("pack `{pack}` has no .toml files"),
                );
            }
        }

        let mut detectors = Vec::new();
        let mut tests = Vec::new();
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut categories: BTreeSet<String> = BTreeSet::new();
        for src in &files {
            let file: DetectorFile = match toml::from_str(&src.text) {
                Ok(f) => f,
                Err(e) => {
                    let off = e.span().map_or(0, |s| s.start);
                    self.err(&src.path, &src.text, off, None, e.message().to_owned());
                    continue;
                }
            };
            if *file.version.get_ref() != 1 {
                self.err(
                    &src.path,
                    &src.text,
                    file.version.span().start,
                    None,
                    "unsupported version (expected 1)",
                );
            }
            let category = file.category.get_ref().clone();
            if !is_ident(&category) {
                self.err(
                    &src.path,
                    &src.text,
                    file.category.span().start,
                    None,
                    "category must be lower-case letters, digits or `_`",
                );
            }
            categories.insert(category.clone());
            let mut entities = BTreeSet::new();
            for spec in &file.detectors {
                let id = spec.id.get_ref();
                if let Some(prev) = ids.get(id) {
                    self.err(
                        &src.path,
                        &src.text,
                        spec.id.span().start,
                        Some(id),
                        format!("duplicate rule id (first defined in {prev})"),
                    );
                    continue;
                }
                ids.insert(id.clone(), src.path.clone());
                entities.insert(spec.entity.get_ref().clone());
                if let Some(d) = self.detector(src, spec, &category, sources) {
                    detectors.push(d);
                }
            }
            if file.detectors.is_empty() {
                self.err(
                    &src.path,
                    &src.text,
                    0,
                    None,
                    "a detector file needs at least one [[detector]]",
                );
            }
            tests.push(FileTests {
                file: src.path.clone(),
                cases: file.tests.iter().map(|t| test_case(src, t)).collect(),
                entities,
            });
        }

        let known_entities: BTreeSet<String> = detectors
            .iter()
            .map(|d: &Detector| d.entity.clone())
            .collect();
        let mut boundaries: [BoundaryActions; 4] = Default::default();
        let b = &root.boundaries;
        for (boundary, file) in [
            (Boundary::Ingest, &b.ingest),
            (Boundary::Prompt, &b.prompt),
            (Boundary::Context, &b.context),
            (Boundary::Response, &b.response),
        ] {
            if let Some(file) = file {
                boundaries[boundary.index()] =
                    self.boundary(&root_src.text, file, &known_entities, &categories);
            }
        }

        let min_score = match &root.min_score {
            Some(s) if !(0.0..=1.0).contains(s.get_ref()) => {
                self.err(
                    ROOT_FILE,
                    &root_src.text,
                    s.span().start,
                    None,
                    "min_score must be between 0 and 1",
                );
                0.5
            }
            Some(s) => *s.get_ref() as f32,
            None => 0.5,
        };

        if !self.diags.is_empty() {
            return Err(PolicyError::Invalid(self.diags));
        }
        let mut policy = assemble(detectors, boundaries, min_score)?;
        policy.name = root.name.unwrap_or_else(|| "unnamed".into());
        let data: Vec<&PolicySource> = sources
            .iter()
            .filter(|s| self.data_files.contains(&s.path))
            .collect();
        files.extend(data.iter().copied());
        policy.version = version_hash(root_src, &files);
        files.truncate(files.len() - data.len());
        policy.tests = tests;
        policy.files = files.len();
        Ok(policy)
    }

    fn boundary(
        &mut self,
        text: &str,
        file: &BoundaryFile,
        entities: &BTreeSet<String>,
        categories: &BTreeSet<String>,
    ) -> BoundaryActions {
        let mut out = BoundaryActions::default();
        if let Some(a) = file.default.as_ref().and_then(|a| self.action(text, a)) {
            out.default = a;
        }
        for (name, a) in &file.categories {
            if !categories.contains(name) {
                self.err(
                    ROOT_FILE,
                    text,
                    a.span().start,
                    None,
                    format!("unknown category `{name}` (no loaded detector file has it)"),
                );
            }
            if let Some(a) = self.action(text, a) {
                out.categories.insert(name.clone(), a);
            }
        }
        for (name, a) in &file.entities {
            if !entities.contains(name) {
                self.err(
                    ROOT_FILE,
                    text,
                    a.span().start,
                    None,
                    format!("unknown entity `{name}` (no loaded detector finds it)"),
                );
            }
            if let Some(a) = self.action(text, a) {
                out.entities.insert(name.clone(), a);
            }
        }
        out
    }

    fn action(&mut self, text: &str, a: &Spanned<ActionFile>) -> Option<Action> {
        let parsed = match a.get_ref() {
            ActionFile::Name(n) => Action::parse(n, None),
            ActionFile::Table(t) => Action::parse(&t.action, t.keep),
        };
        parsed
            .map_err(|m| self.err(ROOT_FILE, text, a.span().start, None, m))
            .ok()
    }

    fn detector(
        &mut self,
        src: &PolicySource,
        spec: &DetectorSpec,
        category: &str,
        sources: &[PolicySource],
    ) -> Option<Detector> {
        let id = spec.id.get_ref().as_str();
        let before = self.diags.len();
        let e = |b: &mut Self, off: usize, m: String| b.err(&src.path, &src.text, off, Some(id), m);
        let at = spec.id.span().start;
        if id.is_empty()
            || !id
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(&c))
        {
            e(
                self,
                at,
                "id must be non-empty lower-case letters, digits, `.`, `_` or `-`".into(),
            );
        }
        let entity = spec.entity.get_ref();
        if entity.is_empty()
            || !entity
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_')
        {
            e(
                self,
                spec.entity.span().start,
                "entity must be SCREAMING_SNAKE_CASE".into(),
            );
        }
        let score = spec.score.as_ref().map_or(0.9, |s| *s.get_ref());
        if !(score > 0.0 && score <= 1.0) {
            e(
                self,
                spec.score.as_ref().map_or(at, |s| s.span().start),
                "score must be in (0, 1]".into(),
            );
        }
        let context_window = spec.context_window.as_ref().map_or(48, |w| *w.get_ref());
        if context_window > MAX_CONTEXT_WINDOW {
            e(
                self,
                spec.context_window.as_ref().map_or(at, |w| w.span().start),
                format!("context_window is at most {MAX_CONTEXT_WINDOW}"),
            );
        }
        if spec.context_required && spec.context.is_empty() {
            e(
                self,
                at,
                "context_required needs a non-empty `context` list".into(),
            );
        }
        let mut validators = Vec::new();
        for v in &spec.validators {
            match sluice_validators::lookup(v.get_ref()) {
                Some(f) => validators.push(f),
                None => {
                    let names: Vec<_> = sluice_validators::names().collect();
                    e(
                        self,
                        v.span().start,
                        format!(
                            "unknown validator `{}` (known: {})",
                            v.get_ref(),
                            names.join(", ")
                        ),
                    );
                }
            }
        }
        let mut allow_patterns = Vec::new();
        for p in &spec.allow_patterns {
            match build_regex(p.get_ref()) {
                Ok(re) => allow_patterns.push(re),
                Err(m) => e(self, p.span().start, format!("allow_patterns: {m}")),
            }
        }
        let context = if spec.context.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&spec.context)
                .ok()
        };

        let kind_name = spec.kind.as_ref().map_or("regex", |k| k.get_ref().as_str());
        let (kind, max_len, before_len) = match kind_name {
            "regex" => {
                if !spec.keywords.is_empty() {
                    e(
                        self,
                        spec.keywords[0].span().start,
                        "`keywords` belongs to kind = \"keywords\"".into(),
                    );
                }
                let Some(pattern) = &spec.pattern else {
                    e(self, at, "a regex detector needs `pattern`".into());
                    return None;
                };
                let p_at = pattern.span().start;
                let hir = match parse_hir(pattern.get_ref()) {
                    Ok(h) => h,
                    Err(m) => {
                        e(self, p_at, format!("invalid pattern: {m}"));
                        return None;
                    }
                };
                let props = hir.properties();
                let max_len = match props.maximum_len() {
                    None => {
                        e(self, p_at, "pattern can match unbounded length: use bounded repetition such as {1,64} instead of +, * or {n,}".into());
                        return None;
                    }
                    Some(n) if n > MAX_PATTERN_LEN => {
                        e(
                            self,
                            p_at,
                            format!(
                                "pattern can match up to {n} bytes; the limit is {MAX_PATTERN_LEN}"
                            ),
                        );
                        return None;
                    }
                    Some(n) => n,
                };
                if props.minimum_len() == Some(0) {
                    e(self, p_at, "pattern can match the empty string".into());
                }
                let re = match build_regex(pattern.get_ref()) {
                    Ok(re) => re,
                    Err(m) => {
                        e(self, p_at, format!("invalid pattern: {m}"));
                        return None;
                    }
                };
                let group = match &spec.secret_group {
                    Some(g) => match re
                        .group_info()
                        .to_index(regex_automata::PatternID::ZERO, g.get_ref())
                    {
                        Some(i) => Some(i),
                        None => {
                            e(
                                self,
                                g.span().start,
                                format!(
                                    "secret_group `{}` is not a named group of the pattern",
                                    g.get_ref()
                                ),
                            );
                            None
                        }
                    },
                    None => re
                        .group_info()
                        .to_index(regex_automata::PatternID::ZERO, "secret"),
                };
                let lits: Vec<Vec<u8>> = spec
                    .prefilter
                    .iter()
                    .map(|l| l.get_ref().to_ascii_lowercase().into_bytes())
                    .collect();
                for l in &spec.prefilter {
                    if l.get_ref().is_empty() || !l.get_ref().is_ascii() {
                        e(
                            self,
                            l.span().start,
                            "prefilter literals must be non-empty ASCII".into(),
                        );
                    }
                }
                let before_len = if lits.is_empty() {
                    max_len
                } else {
                    before_literal(&hir, &lits).unwrap_or(max_len)
                };
                (DetectorKind::Regex { re, group }, max_len, before_len)
            }
            "keywords" => {
                if spec.pattern.is_some() {
                    e(self, at, "`pattern` belongs to kind = \"regex\"".into());
                }
                if spec.keywords.is_empty() {
                    e(
                        self,
                        at,
                        "a keywords detector needs a non-empty `keywords` list".into(),
                    );
                }
                for k in &spec.keywords {
                    if k.get_ref().trim().is_empty() {
                        e(self, k.span().start, "empty keyword".into());
                    }
                }
                if spec.case_insensitive == Some(false) {
                    // Keywords are matched on the normalised view with ASCII case folding.
                    e(self, at, "case_insensitive = false is not supported: keywords always match ASCII case-insensitively".into());
                }
                let max_len = spec
                    .keywords
                    .iter()
                    .map(|k| k.get_ref().len())
                    .max()
                    .unwrap_or(0);
                (
                    DetectorKind::Keywords {
                        whole_word: spec.whole_word.unwrap_or(true),
                    },
                    max_len,
                    max_len,
                )
            }
            "names" => {
                if spec.pattern.is_some() || !spec.keywords.is_empty() {
                    e(
                        self,
                        at,
                        "`pattern` and `keywords` do not belong to kind = \"names\"".into(),
                    );
                }
                let Some(names) = &spec.names else {
                    e(self, at, "a names detector needs a `names` table".into());
                    return None;
                };
                match names_build::build(names, sources) {
                    Ok((model, path)) => {
                        self.data_files.insert(path);
                        let max_len = names_build::max_len(&model);
                        (DetectorKind::Names(Box::new(model)), max_len, max_len)
                    }
                    Err(NamesError::Spec(off, m)) => {
                        e(self, off, m);
                        return None;
                    }
                    Err(NamesError::Lists(path, off, m)) => {
                        let text = sources
                            .iter()
                            .find(|s| s.path == path)
                            .map_or("", |s| &s.text);
                        self.err(&path, text, off, Some(id), m);
                        return None;
                    }
                }
            }
            other => {
                e(
                    self,
                    spec.kind.as_ref().map_or(at, |k| k.span().start),
                    format!("unknown kind `{other}` (expected regex, keywords or names)"),
                );
                return None;
            }
        };
        if spec.names.is_some() && kind_name != "names" {
            e(self, at, "`names` belongs to kind = \"names\"".into());
        }
        if self.diags.len() != before {
            return None;
        }
        Some(Detector {
            id: id.to_owned(),
            entity: entity.clone(),
            category: category.to_owned(),
            kind,
            score: score as f32,
            priority: spec.priority.unwrap_or(50),
            validators,
            min_entropy: spec.min_entropy,
            context,
            context_window,
            context_boost: spec.context_boost.unwrap_or(0.3) as f32,
            context_required: spec.context_required,
            allow: spec.allow.iter().cloned().collect(),
            allow_patterns,
            passive: false,
            max_len,
            before: before_len,
            after: max_len,
            pattern: spec
                .pattern
                .as_ref()
                .map(|p| p.get_ref().clone())
                .unwrap_or_default(),
            prefilter: spec
                .prefilter
                .iter()
                .map(|l| l.get_ref().to_ascii_lowercase())
                .collect(),
            keywords: spec.keywords.iter().map(|k| k.get_ref().clone()).collect(),
            context_words: spec.context.clone(),
        })
    }
}

fn assemble(
    mut detectors: Vec<Detector>,
    boundaries: [BoundaryActions; 4],
    min_score: f32,
) -> Result<Policy, PolicyError> {
    let mut lit_index: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut combined_patterns = Vec::new();
    let mut combined_dets = Vec::new();
    let mut kw_patterns = Vec::new();
    let mut keyword_dets = Vec::new();
    let (mut holdback, mut holdback_rule) = (encoded::MIN_RUN + 1, "encoded runs".to_owned());
    let mut bump = |n: usize, rule: &str| {
        if n > holdback {
            holdback = n;
            holdback_rule = rule.to_owned();
        }
    };
    for d in detectors.iter_mut() {
        d.passive = boundaries.iter().all(|b| {
            matches!(
                b.resolve(&d.entity, &d.category),
                Action::Shadow | Action::Allow
            )
        });
    }
    for (i, d) in detectors.iter_mut().enumerate() {
        let i = i as u32;
        let ctx = if d.context.is_some() {
            2 * d.context_window
        } else {
            0
        };
        match &d.kind {
            DetectorKind::Regex { .. } => {
                if d.prefilter.is_empty() && d.context_required {
                    // A match that needs a context word lies within reach of an occurrence of
                    // one: the context words are this detector's literals, which keeps weak
                    // patterns (bare 9-digit numbers) out of the shared automaton.
                    d.prefilter = d
                        .context_words
                        .iter()
                        .map(|w| w.to_ascii_lowercase())
                        .collect();
                    d.before = d.context_window + d.max_len;
                    d.after = d.context_window + d.max_len;
                }
                let lits = &d.prefilter;
                if lits.is_empty() {
                    combined_patterns.push(d.pattern.clone());
                    combined_dets.push(i);
                } else {
                    let lit_max = lits.iter().map(String::len).max().unwrap_or(0);
                    bump(d.before + lit_max + ctx + 1, &d.id);
                    for l in lits {
                        lit_index.entry(l.clone()).or_default().push(i);
                    }
                }
            }
            DetectorKind::Keywords { .. } => {
                for k in &d.keywords {
                    kw_patterns.push(k.clone());
                    keyword_dets.push(i);
                }
                bump(d.max_len + 1, &d.id);
            }
            DetectorKind::Names(_) => {
                bump(d.max_len + names_build::look_around() + ctx + 1, &d.id);
            }
        }
    }
    let combined_max = combined_dets
        .iter()
        .map(|&i| detectors[i as usize].max_len)
        .max()
        .unwrap_or(0);
    for &i in &combined_dets {
        let d = &detectors[i as usize];
        let ctx = if d.context.is_some() {
            2 * d.context_window
        } else {
            0
        };
        bump(2 * combined_max + ctx + 1, &d.id);
    }

    let prefilter_lits: Vec<&String> = lit_index.keys().collect();
    let prefilter = if prefilter_lits.is_empty() {
        None
    } else {
        Some(
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&prefilter_lits)
                .map_err(|e| internal(format!("prefilter: {e}")))?,
        )
    };
    let prefilter_dets: Vec<Vec<u32>> = lit_index.values().cloned().collect();
    let (combined, combined_all) = if combined_patterns.is_empty() {
        (None, None)
    } else {
        let all = meta::Regex::builder()
            .syntax(syntax_config())
            .configure(
                meta::Config::new()
                    .match_kind(regex_automata::MatchKind::All)
                    .hybrid_cache_capacity(COMBINED_DFA_CACHE)
                    .auto_prefilter(false)
                    .onepass(false)
                    .backtrack(false),
            )
            .build_many(&combined_patterns)
            .map_err(|e| {
                internal(format!(
                    "combined automaton: {}",
                    first_line(&e.to_string())
                ))
            })?;
        (
            Some(
                build_many(&combined_patterns)
                    .map_err(|m| internal(format!("combined automaton: {m}")))?,
            ),
            Some(all),
        )
    };
    let keywords = if kw_patterns.is_empty() {
        None
    } else {
        Some(
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&kw_patterns)
                .map_err(|e| internal(format!("keywords: {e}")))?,
        )
    };
    let encoded =
        build_many(&encoded::PATTERNS).map_err(|m| internal(format!("encoded runs: {m}")))?;
    let mask_keep = boundaries
        .iter()
        .flat_map(|b| {
            std::iter::once(&b.default)
                .chain(b.categories.values())
                .chain(b.entities.values())
        })
        .filter_map(|a| match a {
            Action::Mask { keep } => Some(*keep),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    Ok(Policy {
        name: String::new(),
        version: String::new(),
        min_score,
        detectors,
        boundaries,
        prefilter,
        prefilter_dets,
        combined,
        combined_all,
        combined_dets,
        combined_max,
        keywords,
        keyword_dets,
        encoded,
        live: std::sync::OnceLock::new(),
        holdback,
        holdback_rule,
        mask_keep,
        tests: Vec::new(),
        files: 0,
    })
}

/// What the streaming redactor follows: every detector's pattern (a deny-list keyword as a
/// case-insensitive literal) and the encoded-run patterns, with each detector's context reach.
fn live_patterns(detectors: &[Detector]) -> Vec<LivePattern> {
    let mut out = Vec::new();
    for d in detectors {
        let context_reach = d.context.as_ref().map(|_| d.context_window + 1);
        match d.kind {
            DetectorKind::Regex { .. } => out.push(LivePattern {
                pattern: d.pattern.clone(),
                context_reach,
            }),
            DetectorKind::Keywords { .. } => out.extend(d.keywords.iter().map(|k| LivePattern {
                pattern: keyword_pattern(k),
                context_reach,
            })),
            DetectorKind::Names(ref m) => {
                out.extend(names_build::live_patterns(m, context_reach));
            }
        }
    }
    out.extend(encoded::PATTERNS.iter().map(|p| LivePattern {
        pattern: (*p).to_owned(),
        context_reach: None,
    }));
    out
}

/// A keyword as a byte pattern matched like the keyword automaton does: ASCII
/// case-insensitively, every other byte as itself.
fn keyword_pattern(k: &str) -> String {
    let mut p = String::from("(?i)");
    for b in k.bytes() {
        if b.is_ascii_alphanumeric() {
            p.push(b as char);
        } else {
            p.push_str(&format!("\\x{b:02X}"));
        }
    }
    p
}

fn internal(m: String) -> PolicyError {
    PolicyError::Invalid(vec![Diagnostic {
        file: ROOT_FILE.into(),
        line: 1,
        col: 1,
        rule: None,
        message: m,
    }])
}

fn syntax_config() -> syntax::Config {
    // ASCII semantics: the view is mostly ASCII, and Unicode word boundaries would force the
    // slow engines on non-ASCII input.
    syntax::Config::new().unicode(false).utf8(false)
}

fn parse_hir(pattern: &str) -> Result<Hir, String> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| first_line(&e.to_string()))
}

fn first_line(s: &str) -> String {
    // regex-syntax errors draw the pattern with a caret; the last line is the message.
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_owned()
}

pub(crate) fn build_regex(pattern: &str) -> Result<meta::Regex, String> {
    meta::Regex::builder()
        .syntax(syntax_config())
        // Detectors run in short windows found by the shared prefilter; their own literal
        // prefilters would cost more to build (most of compile time) than they save.
        .configure(meta::Config::new().auto_prefilter(false))
        .build(pattern)
        .map_err(|e| first_line(&e.to_string()))
}

fn build_many<P: AsRef<str>>(patterns: &[P]) -> Result<meta::Regex, String> {
    meta::Regex::builder()
        .syntax(syntax_config())
        .configure(
            meta::Config::new()
                .match_kind(regex_automata::MatchKind::LeftmostFirst)
                .hybrid_cache_capacity(COMBINED_DFA_CACHE),
        )
        .build_many(patterns)
        .map_err(|e| first_line(&e.to_string()))
}

/// How many bytes of a match can come before the first occurrence of one of `lits`
/// (lower-case), when the pattern's structure tells; `None` when it cannot be known.
fn before_literal(hir: &Hir, lits: &[Vec<u8>]) -> Option<usize> {
    match hir.kind() {
        HirKind::Alternation(alts) => alts
            .iter()
            .map(|h| before_literal(h, lits))
            .try_fold(0, |m, b| Some(m.max(b?))),
        HirKind::Capture(c) => before_literal(&c.sub, lits),
        _ => {
            let mut atoms = Vec::new();
            flatten(hir, &mut atoms);
            let chars: Vec<Option<u8>> = atoms.iter().map(|a| a.0).collect();
            for start in 0..chars.len() {
                if lits.iter().any(|l| {
                    l.len() <= chars.len() - start
                        && l.iter().zip(&chars[start..]).all(|(c, a)| Some(*c) == *a)
                }) {
                    return atoms[..start]
                        .iter()
                        .try_fold(0usize, |s, a| Some(s + a.1?));
                }
            }
            None
        }
    }
}

/// Flattens a concatenation into atoms: `(Some(lower-case byte), Some(1))` for a byte the
/// match must contain there (case-insensitively), `(None, max_len)` for anything else.
fn flatten(hir: &Hir, out: &mut Vec<(Option<u8>, Option<usize>)>) {
    match hir.kind() {
        HirKind::Concat(subs) => subs.iter().for_each(|h| flatten(h, out)),
        HirKind::Capture(c) => flatten(&c.sub, out),
        HirKind::Literal(l) => {
            out.extend(l.0.iter().map(|b| (Some(b.to_ascii_lowercase()), Some(1))))
        }
        HirKind::Class(regex_syntax::hir::Class::Bytes(c)) => {
            let bytes: Vec<u8> = c
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .collect();
            let lower: BTreeSet<u8> = bytes.iter().map(|b| b.to_ascii_lowercase()).collect();
            if bytes.len() <= 2 && lower.len() == 1 {
                out.push((lower.first().copied(), Some(1)));
            } else {
                out.push((None, hir.properties().maximum_len()));
            }
        }
        _ => out.push((None, hir.properties().maximum_len())),
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

fn test_case(src: &PolicySource, t: &TestSpec) -> TestCase {
    TestCase {
        line: line_col(&src.text, t.text.span().start).0,
        text: t.text.get_ref().clone(),
        expect: t.expect.clone(),
        matches: t.matches.clone(),
    }
}

fn version_hash(root: &PolicySource, files: &[&PolicySource]) -> String {
    let mut h = Sha256::new();
    for s in std::iter::once(root).chain(files.iter().copied()) {
        h.update(s.path.as_bytes());
        h.update([0]);
        h.update((s.text.len() as u64).to_le_bytes());
        h.update(s.text.as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}
