//! Validating one `[[detector]]` (regex, keywords or names) into a [`Detector`]: every field
//! is checked and every problem reported, and a detector with any problem is left out.

use aho_corasick::AhoCorasick;

use super::assemble::{before_literal, build_regex, build_regex_hir, parse_hir};
use super::build::Builder;
use super::{Detector, DetectorKind, MAX_CONTEXT_WINDOW, MAX_PATTERN_LEN, PolicySource};
use crate::file::DetectorSpec;
use crate::names_build::{self, NamesError};

impl Builder {
    /// A problem with detector `spec` of file `src`, at byte `off` of that file.
    fn spec_err(&mut self, src: &PolicySource, spec: &DetectorSpec, off: usize, m: String) {
        self.err(&src.path, &src.text, off, Some(spec.id.get_ref()), m);
    }

    pub(super) fn detector(
        &mut self,
        src: &PolicySource,
        spec: &DetectorSpec,
        category: &str,
        sources: &[PolicySource],
    ) -> Option<Detector> {
        let id = spec.id.get_ref().as_str();
        let before = self.diags.len();
        let at = spec.id.span().start;
        if id.is_empty()
            || !id
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(&c))
        {
            self.spec_err(
                src,
                spec,
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
            self.spec_err(
                src,
                spec,
                spec.entity.span().start,
                "entity must be SCREAMING_SNAKE_CASE".into(),
            );
        }
        let score = spec.score.as_ref().map_or(0.9, |s| *s.get_ref());
        if !(score > 0.0 && score <= 1.0) {
            self.spec_err(
                src,
                spec,
                spec.score.as_ref().map_or(at, |s| s.span().start),
                "score must be in (0, 1]".into(),
            );
        }
        let context_window = spec.context_window.as_ref().map_or(48, |w| *w.get_ref());
        if context_window > MAX_CONTEXT_WINDOW {
            self.spec_err(
                src,
                spec,
                spec.context_window.as_ref().map_or(at, |w| w.span().start),
                format!("context_window is at most {MAX_CONTEXT_WINDOW}"),
            );
        }
        if spec.context_required && spec.context.is_empty() {
            self.spec_err(
                src,
                spec,
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
                    self.spec_err(
                        src,
                        spec,
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
                Err(m) => self.spec_err(src, spec, p.span().start, format!("allow_patterns: {m}")),
            }
        }
        let context = if spec.context.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                .build(&spec.context)
                .ok()
        };

        let kind_name = spec.kind.as_ref().map_or("regex", |k| k.get_ref().as_str());
        let (kind, max_len, before_len) = match kind_name {
            "regex" => self.regex_kind(src, spec)?,
            "keywords" => self.keywords_kind(src, spec)?,
            "names" => self.names_kind(src, spec, sources)?,
            other => {
                self.spec_err(
                    src,
                    spec,
                    spec.kind.as_ref().map_or(at, |k| k.span().start),
                    format!("unknown kind `{other}` (expected regex, keywords or names)"),
                );
                return None;
            }
        };
        if spec.names.is_some() && kind_name != "names" {
            self.spec_err(src, spec, at, "`names` belongs to kind = \"names\"".into());
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
            context_prefilter: false,
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

    /// A regex detector: its pattern (bounded, never empty), secret group and prefilter
    /// literals; the longest match and how far before a literal a match may start.
    fn regex_kind(
        &mut self,
        src: &PolicySource,
        spec: &DetectorSpec,
    ) -> Option<(DetectorKind, usize, usize)> {
        let at = spec.id.span().start;
        if !spec.keywords.is_empty() {
            self.spec_err(
                src,
                spec,
                spec.keywords[0].span().start,
                "`keywords` belongs to kind = \"keywords\"".into(),
            );
        }
        let Some(pattern) = &spec.pattern else {
            self.spec_err(src, spec, at, "a regex detector needs `pattern`".into());
            return None;
        };
        let p_at = pattern.span().start;
        let hir = match parse_hir(pattern.get_ref()) {
            Ok(h) => h,
            Err(m) => {
                self.spec_err(src, spec, p_at, format!("invalid pattern: {m}"));
                return None;
            }
        };
        let props = hir.properties();
        let max_len = match props.maximum_len() {
            None => {
                self.spec_err(src, spec, p_at, "pattern can match unbounded length: use bounded repetition such as {1,64} instead of +, * or {n,}".into());
                return None;
            }
            Some(n) if n > MAX_PATTERN_LEN => {
                self.spec_err(
                    src,
                    spec,
                    p_at,
                    format!("pattern can match up to {n} bytes; the limit is {MAX_PATTERN_LEN}"),
                );
                return None;
            }
            Some(n) => n,
        };
        if props.minimum_len() == Some(0) {
            self.spec_err(src, spec, p_at, "pattern can match the empty string".into());
        }
        let re = match build_regex_hir(&hir) {
            Ok(re) => re,
            Err(m) => {
                self.spec_err(src, spec, p_at, format!("invalid pattern: {m}"));
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
                    self.spec_err(
                        src,
                        spec,
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
                self.spec_err(
                    src,
                    spec,
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
        let hir = Some(hir);
        Some((DetectorKind::Regex { re, group, hir }, max_len, before_len))
    }

    /// A deny-list detector: non-empty keywords, always ASCII case-insensitive.
    fn keywords_kind(
        &mut self,
        src: &PolicySource,
        spec: &DetectorSpec,
    ) -> Option<(DetectorKind, usize, usize)> {
        let at = spec.id.span().start;
        if spec.pattern.is_some() {
            self.spec_err(
                src,
                spec,
                at,
                "`pattern` belongs to kind = \"regex\"".into(),
            );
        }
        if spec.keywords.is_empty() {
            self.spec_err(
                src,
                spec,
                at,
                "a keywords detector needs a non-empty `keywords` list".into(),
            );
        }
        for k in &spec.keywords {
            if k.get_ref().trim().is_empty() {
                self.spec_err(src, spec, k.span().start, "empty keyword".into());
            }
        }
        if spec.case_insensitive == Some(false) {
            // Keywords are matched on the normalised view with ASCII case folding.
            self.spec_err(src, spec, at, "case_insensitive = false is not supported: keywords always match ASCII case-insensitively".into());
        }
        let max_len = spec
            .keywords
            .iter()
            .map(|k| k.get_ref().len())
            .max()
            .unwrap_or(0);
        let whole_word = spec.whole_word.unwrap_or(true);
        Some((DetectorKind::Keywords { whole_word }, max_len, max_len))
    }

    /// A people's-names detector: name lists and scoring from its `names` table (see
    /// [`crate::names`]); the list file it reads becomes part of the policy version.
    fn names_kind(
        &mut self,
        src: &PolicySource,
        spec: &DetectorSpec,
        sources: &[PolicySource],
    ) -> Option<(DetectorKind, usize, usize)> {
        let id = spec.id.get_ref().as_str();
        let at = spec.id.span().start;
        if spec.pattern.is_some() || !spec.keywords.is_empty() {
            self.spec_err(
                src,
                spec,
                at,
                "`pattern` and `keywords` do not belong to kind = \"names\"".into(),
            );
        }
        let Some(names) = &spec.names else {
            self.spec_err(
                src,
                spec,
                at,
                "a names detector needs a `names` table".into(),
            );
            return None;
        };
        match names_build::build(names, sources) {
            Ok((model, path)) => {
                self.data_files.insert(path);
                let max_len = names_build::max_len(&model);
                Some((DetectorKind::Names(Box::new(model)), max_len, max_len))
            }
            Err(NamesError::Spec(off, m)) => {
                self.spec_err(src, spec, off, m);
                None
            }
            Err(NamesError::Lists(path, off, m)) => {
                let text = sources
                    .iter()
                    .find(|s| s.path == path)
                    .map_or("", |s| &s.text);
                self.err(&path, text, off, Some(id), m);
                None
            }
        }
    }
}
