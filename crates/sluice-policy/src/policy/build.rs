//! Building a policy from its files: the root file (packs, boundaries, `min_score`), every
//! detector file of the packs, and the version hash over all of them; every problem is
//! collected as a diagnostic with its file, line and rule.

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};
use toml::Spanned;

use super::assemble::assemble;
use super::{Detector, FileTests, Policy, PolicySource, ROOT_FILE, TestCase};
use crate::action::{Action, Boundary, BoundaryActions};
use crate::error::{Diagnostic, PolicyError, line_col};
use crate::file::{ActionFile, BoundaryFile, DetectorFile, RootFile, TestSpec};

#[derive(Default)]
pub(super) struct Builder {
    pub(super) diags: Vec<Diagnostic>,
    /// Data files (outside the packs) that detectors read: part of the version hash.
    pub(super) data_files: BTreeSet<String>,
}

impl Builder {
    pub(super) fn err(
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

    pub(super) fn build(mut self, sources: &[PolicySource]) -> Result<Policy, PolicyError> {
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
