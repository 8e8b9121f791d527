//! Compiling validated detectors into what the scanner runs: the literal automaton (prefilter
//! literals and deny-list keywords), the combined automata and the streaming patterns, plus
//! the regex settings every pattern of a policy is parsed and built with.

use std::collections::{BTreeMap, BTreeSet};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_automata::meta;
use regex_syntax::hir::{Hir, HirKind};

use super::{COMBINED_DFA_CACHE, Detector, DetectorKind, Policy, ROOT_FILE};
use crate::action::{Action, BoundaryActions};
use crate::encoded;
use crate::error::{Diagnostic, PolicyError};
use crate::live::LivePattern;
use crate::names_build;

pub(super) fn assemble(
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
        match &mut d.kind {
            DetectorKind::Regex { hir, .. } => {
                let hir = hir.take();
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
                    d.context_prefilter = true;
                }
                let lits = &d.prefilter;
                if lits.is_empty() {
                    combined_patterns.push(hir.unwrap_or_else(Hir::fail));
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

    let prefilter_dets: Vec<Vec<u32>> = lit_index.values().cloned().collect();
    // Keywords go after the prefilter literals in one automaton (see `Policy::literals`); the
    // scanner picks their leftmost-longest matches from its overlapping ones.
    let literals: Vec<&String> = lit_index.keys().chain(&kw_patterns).collect();
    let literals = if literals.is_empty() {
        None
    } else {
        Some(
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&literals)
                .map_err(|e| internal(format!("literal automaton: {e}")))?,
        )
    };
    let (combined, combined_all) = if combined_patterns.is_empty() {
        (None, None)
    } else {
        let all = meta::Regex::builder()
            .configure(
                meta::Config::new()
                    .match_kind(regex_automata::MatchKind::All)
                    .hybrid_cache_capacity(COMBINED_DFA_CACHE)
                    .auto_prefilter(false)
                    .onepass(false)
                    .backtrack(false),
            )
            .build_many_from_hir(&combined_patterns)
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
    let encoded = encoded::PATTERNS
        .iter()
        .map(|p| parse_hir(p))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|hirs| build_many(&hirs))
        .map_err(|m| internal(format!("encoded runs: {m}")))?;
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
        literals,
        prefilter_dets,
        combined,
        combined_all,
        combined_dets,
        combined_max,
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
pub(super) fn live_patterns(detectors: &[Detector]) -> Vec<LivePattern> {
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

/// Every pattern of a policy is parsed here. ASCII semantics: the view is mostly ASCII, and
/// Unicode word boundaries would force the slow engines on non-ASCII input.
pub(super) fn parse_hir(pattern: &str) -> Result<Hir, String> {
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
    build_regex_hir(&parse_hir(pattern)?)
}

/// A detector's regex from the pattern [`parse_hir`] already parsed (parsing is a good part of
/// compile time: each pattern is parsed once and built from its HIR here and in the combined
/// automata).
pub(crate) fn build_regex_hir(hir: &Hir) -> Result<meta::Regex, String> {
    // Only a pattern with a group of its own can have a secret group, searched for captures;
    // the one-pass and backtracking engines serve nothing but capture searches.
    let captures = hir.properties().explicit_captures_len() > 0;
    meta::Regex::builder()
        // Detectors run in short windows found by the shared prefilter; their own literal
        // prefilters, and full DFAs, would cost more to build (most of compile time) than they
        // save there.
        .configure(
            meta::Config::new()
                .auto_prefilter(false)
                .dfa(false)
                .onepass(captures)
                .backtrack(captures),
        )
        .build_from_hir(hir)
        .map_err(|e| first_line(&e.to_string()))
}

fn build_many(hirs: &[Hir]) -> Result<meta::Regex, String> {
    meta::Regex::builder()
        .configure(
            meta::Config::new()
                .match_kind(regex_automata::MatchKind::LeftmostFirst)
                .hybrid_cache_capacity(COMBINED_DFA_CACHE),
        )
        .build_many_from_hir(hirs)
        .map_err(|e| first_line(&e.to_string()))
}

/// How many bytes of a match can come before the first occurrence of one of `lits`
/// (lower-case), when the pattern's structure tells; `None` when it cannot be known.
pub(super) fn before_literal(hir: &Hir, lits: &[Vec<u8>]) -> Option<usize> {
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
