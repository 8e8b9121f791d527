//! Detection: find candidate spans in the normalised view and resolve overlaps.
//!
//! Most text never reaches a detector's regex. One pass of an Aho-Corasick automaton finds the
//! prefilter literals of all literal-bearing detectors (`AKIA`, `ghp_`, `@`), and each such
//! detector then runs only in a window around its literal's hits. Detectors without a literal
//! share one multi-pattern automaton whose matches are hits for all of them. Because every
//! pattern's length is bounded, a window of the pattern's maximum length around a hit contains
//! every match the detector could have there.
//!
//! Determinism matters for the streaming redactor: the windows, and so the matches, depend only
//! on the text near them (never on where a caller's chunks begin or end), so a scan of the
//! recent text, with enough of what came before as left context, finds what a scan of the
//! whole text finds there.

use std::collections::BTreeMap;

use regex_automata::{Anchored, Input, PatternSet};

use crate::encoded::{self, Encoding};
use crate::names::{self, NameModel};
use crate::names_build;
use crate::policy::{Detector, DetectorKind, Policy};

/// A detected span in the view, before actions are applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub start: usize,
    pub end: usize,
    pub det: u32,
    pub score: f32,
    pub encoding: Option<Encoding>,
}

/// Result of scanning a view.
pub(crate) struct Scan {
    /// Accepted candidates, sorted by start, non-overlapping.
    pub found: Vec<Candidate>,
    /// Intervals of the view that detection looked at as a unit (windows with their context,
    /// keyword matches, encoded runs). A streaming redactor that drops old text must not cut
    /// strictly inside one: a window searched from a different start can find different
    /// matches. Only filled on request.
    pub regions: Vec<(usize, usize)>,
    /// Every accepted candidate before overlaps were resolved (filled with `regions`): one
    /// that lost to a candidate the stream cannot decide yet may win in the end, so a
    /// streaming cut must not fall inside it either.
    pub candidates: Vec<(usize, usize)>,
}

impl Policy {
    pub(crate) fn scan(&self, view: &str, want_regions: bool) -> Scan {
        self.scan_inner(view, want_regions, true)
    }

    fn scan_inner(&self, view: &str, want_regions: bool, decode: bool) -> Scan {
        let hay = view.as_bytes();
        let mut raw = Vec::new();
        let mut regions = Vec::new();
        let mut windows: Vec<(u32, usize, usize)> = Vec::new();

        let mut keyword_hits = Vec::new();
        if let Some(ac) = &self.literals {
            for m in ac.find_overlapping_iter(hay) {
                let p = m.pattern().as_usize();
                let Some(dets) = self.prefilter_dets.get(p) else {
                    keyword_hits.push((m.start(), m.end(), p - self.prefilter_dets.len()));
                    continue;
                };
                let word = whole_word(hay, m.start(), m.end());
                for &d in dets {
                    let det = &self.detectors[d as usize];
                    if det.context_prefilter && !word {
                        // `ach` in "each" is no context word: no match can be accepted here.
                        continue;
                    }
                    let s = m.start().saturating_sub(det.before);
                    let e = (m.end() + det.after).min(hay.len());
                    windows.push((d, s, e));
                }
            }
        }
        if let (Some(comb), Some(all)) = (&self.combined, &self.combined_all) {
            // Hits of the shared automaton, grown by the longest combined match on each side and
            // merged; in each region, only the detectors that match there run.
            let reach = self.combined_max;
            let mut region: Option<(usize, usize)> = None;
            let mut set = PatternSet::new(all.pattern_len());
            let mut flush = |(s, e): (usize, usize), windows: &mut Vec<(u32, usize, usize)>| {
                set.clear();
                all.which_overlapping_matches(&Input::new(hay).range(s..e), &mut set);
                for p in set.iter() {
                    windows.push((self.combined_dets[p.as_usize()], s, e));
                }
            };
            for m in comb.find_iter(hay) {
                let (s, e) = (
                    m.start().saturating_sub(reach),
                    (m.end() + reach).min(hay.len()),
                );
                region = match region {
                    Some((rs, re)) if s <= re => Some((rs, re.max(e))),
                    Some(r) => {
                        flush(r, &mut windows);
                        Some((s, e))
                    }
                    None => Some((s, e)),
                };
            }
            if let Some(r) = region {
                flush(r, &mut windows);
            }
        }
        windows.sort_unstable();
        let mut i = 0;
        while i < windows.len() {
            let (d, s, mut e) = windows[i];
            let mut j = i + 1;
            while j < windows.len() && windows[j].0 == d && windows[j].1 <= e {
                e = e.max(windows[j].2);
                j += 1;
            }
            if want_regions {
                let det = &self.detectors[d as usize];
                // `accept` reads the context window and one byte on each side of it.
                let ctx = if det.context.is_some() {
                    det.context_window + 1
                } else {
                    0
                };
                regions.push((s.saturating_sub(ctx), (e + ctx).min(hay.len())));
            }
            self.run_regex(d, view, s, e, &mut raw);
            i = j;
        }

        for (s, e, k) in leftmost_longest(keyword_hits) {
            if want_regions {
                regions.push((s, e));
            }
            let d = self.keyword_dets[k];
            let det = &self.detectors[d as usize];
            if let DetectorKind::Keywords { whole_word: true } = det.kind {
                let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
                if hay[..s].last().is_some_and(|&b| word(b)) || hay.get(e).is_some_and(|&b| word(b))
                {
                    continue;
                }
            }
            if let Some(c) = self.accept(d, view, s, e) {
                raw.push(c);
            }
        }

        for (d, det) in self.detectors.iter().enumerate() {
            if let DetectorKind::Names(m) = &det.kind {
                self.find_names(
                    d as u32,
                    m,
                    view,
                    want_regions.then_some(&mut regions),
                    &mut raw,
                );
            }
        }

        if decode {
            for m in self.encoded.find_iter(hay) {
                if want_regions {
                    regions.push((m.start(), m.end()));
                }
                let Some(run) = view.get(m.start()..m.end()) else {
                    continue;
                };
                let mut enc = encoded::ENCODINGS[m.pattern().as_usize()];
                // Hex digits are base64 characters too: a hex run is found by the base64
                // pattern first and must be decoded as hex.
                if enc == Encoding::Base64
                    && run.len() % 2 == 0
                    && run.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    enc = Encoding::Hex;
                }
                let Some(decoded) = encoded::decode(enc, run) else {
                    continue;
                };
                let inner = crate::normalize::Normalized::new(&decoded);
                let found = self.scan_inner(inner.as_str(), false, false).found;
                // The run stands for its most specific inner finding.
                if let Some(best) = found
                    .iter()
                    .max_by_key(|c| (self.detectors[c.det as usize].priority, c.end - c.start))
                {
                    raw.push(Candidate {
                        start: m.start(),
                        end: m.end(),
                        det: best.det,
                        score: best.score,
                        encoding: Some(enc),
                    });
                }
            }
        }

        let candidates = if want_regions {
            raw.iter().map(|c| (c.start, c.end)).collect()
        } else {
            Vec::new()
        };
        Scan {
            found: self.resolve(raw),
            regions,
            candidates,
        }
    }

    fn run_regex(&self, d: u32, view: &str, s: usize, e: usize, raw: &mut Vec<Candidate>) {
        let det = &self.detectors[d as usize];
        let DetectorKind::Regex { re, group, .. } = &det.kind else {
            return;
        };
        let hay = view.as_bytes();
        let mut caps = group.map(|_| re.create_captures());
        for m in re.find_iter(Input::new(hay).range(s..e)) {
            let (fs, fe) = match (group, caps.as_mut()) {
                (Some(g), Some(caps)) => {
                    re.search_captures(
                        &Input::new(hay)
                            .range(m.start()..m.end())
                            .anchored(Anchored::Yes),
                        caps,
                    );
                    match caps.get_group(*g) {
                        Some(sp) if sp.start < sp.end => (sp.start, sp.end),
                        _ => continue,
                    }
                }
                _ => (m.start(), m.end()),
            };
            if let Some(c) = self.accept(d, view, fs, fe) {
                raw.push(c);
            }
        }
    }

    /// Names (see [`crate::names`]): scored by the detector itself; the allow-list and
    /// `min_score` apply as to every detector.
    fn find_names(
        &self,
        d: u32,
        m: &NameModel,
        view: &str,
        regions: Option<&mut Vec<(usize, usize)>>,
        raw: &mut Vec<Candidate>,
    ) {
        let det = &self.detectors[d as usize];
        let mut found = Vec::new();
        let ctx = names_build::context(det.context.as_ref(), det.context_window);
        names::find(m, ctx, view, regions, &mut found);
        for f in found {
            if f.score < self.min_score || det.allow.contains(&view[f.start..f.end]) {
                continue;
            }
            raw.push(Candidate {
                start: f.start,
                end: f.end,
                det: d,
                score: f.score,
                encoding: None,
            });
        }
    }

    /// Applies validators, allow-lists, entropy and context to a span; `None` rejects it.
    fn accept(&self, d: u32, view: &str, s: usize, e: usize) -> Option<Candidate> {
        let det: &Detector = &self.detectors[d as usize];
        let value = view.get(s..e)?;
        if looks_like_replacement(value, self.mask_keep) {
            return None;
        }
        if det.validators.iter().any(|v| !v(value)) {
            return None;
        }
        if det
            .min_entropy
            .is_some_and(|min| sluice_validators::shannon_entropy(value) < min)
        {
            return None;
        }
        if det.allow.contains(value) || det.allow_patterns.iter().any(|p| p.is_match(value)) {
            return None;
        }
        let mut score = det.score;
        if let Some(ctx) = &det.context {
            let hay = view.as_bytes();
            let cs = s.saturating_sub(det.context_window);
            let ce = (e + det.context_window).min(hay.len());
            let word = ctx
                .find_overlapping_iter(&hay[cs..ce])
                .any(|m| whole_word(hay, cs + m.start(), cs + m.end()));
            if word {
                score = (score + det.context_boost).min(1.0);
            } else if det.context_required {
                return None;
            }
        }
        (score >= self.min_score).then_some(Candidate {
            start: s,
            end: e,
            det: d,
            score,
            encoding: None,
        })
    }

    /// Overlaps: a finding that replaces text beats a passive one (`shadow`/`allow` at every
    /// boundary: a shadowed URL must not hide a code name or a token inside it), then the
    /// longest span wins, then the higher priority, then the earlier start, then the earlier
    /// rule; the result does not depend on the order candidates were found.
    fn resolve(&self, mut raw: Vec<Candidate>) -> Vec<Candidate> {
        if raw.len() <= 1 {
            return raw;
        }
        let passive = |c: &Candidate| self.detectors[c.det as usize].passive;
        raw.sort_by(|a, b| {
            passive(a)
                .cmp(&passive(b))
                .then_with(|| (b.end - b.start).cmp(&(a.end - a.start)))
                .then_with(|| {
                    self.detectors[b.det as usize]
                        .priority
                        .cmp(&self.detectors[a.det as usize].priority)
                })
                .then_with(|| a.start.cmp(&b.start))
                .then_with(|| a.det.cmp(&b.det))
        });
        let mut taken: BTreeMap<usize, Candidate> = BTreeMap::new();
        for c in raw {
            let overlaps_before = taken
                .range(..c.end)
                .next_back()
                .is_some_and(|(_, t)| t.end > c.start);
            if !overlaps_before {
                taken.insert(c.start, c);
            }
        }
        taken.into_values().collect()
    }
}

/// Whether `hay[s..e]` counts as a word: `bic` is context in "BIC: X", not in "LIBICONV". An
/// end that is not alphanumeric (`ein:`, `dl#`) needs no boundary there. The neighbours are
/// read from the whole text, so a word cut by the edge of a context window is still no word.
fn whole_word(hay: &[u8], s: usize, e: usize) -> bool {
    let alnum = |i: Option<usize>| {
        i.and_then(|i| hay.get(i))
            .is_some_and(u8::is_ascii_alphanumeric)
    };
    (!alnum(Some(s)) || !alnum(s.checked_sub(1))) && (!alnum(e.checked_sub(1)) || !alnum(Some(e)))
}

/// The matches a leftmost-longest search would report, picked from all `(start, end, id)`
/// occurrences: the earliest start, the longest there (the lowest id on a tie, as
/// aho-corasick's leftmost-longest does for duplicate patterns), then on from its end.
fn leftmost_longest(mut hits: Vec<(usize, usize, usize)>) -> Vec<(usize, usize, usize)> {
    hits.sort_unstable_by_key(|&(s, e, k)| (s, std::cmp::Reverse(e), k));
    let mut next = 0;
    hits.retain(|&(s, e, _)| {
        let keep = s >= next;
        if keep {
            next = e;
        }
        keep
    });
    hits
}

/// A value that *is* one of Sluice's own replacement tokens (`[EMAIL_ADDRESS]`,
/// `<PERSON_1a2b3c4d5e6f7a8b>`, `[IBAN_CODE:…]`) or masks (`********1234`) is never a finding:
/// redacting redacted text changes nothing.
///
/// The whole value must be the token or mask. A value that merely *contains* one is text an
/// attacker can write (`Password=[X1]hunter2`, forty `*` before the password), so it is
/// detected like any other. A mask is a run of `*` followed by at most `mask_keep` (the
/// largest `keep` of the policy's mask actions) characters, never more than the stars.
fn looks_like_replacement(value: &str, mask_keep: usize) -> bool {
    static TOKEN: std::sync::LazyLock<Option<regex_automata::meta::Regex>> =
        std::sync::LazyLock::new(|| {
            regex_automata::meta::Regex::new(
                r"^[\[<][A-Z][A-Z0-9_]{1,63}(?:_[0-9a-f]{16}|:[0-9a-f]{16})?[\]>]$",
            )
            .ok()
        });
    let b = value.as_bytes();
    if matches!(b.first(), Some(b'[' | b'<')) {
        return TOKEN.as_ref().is_some_and(|t| t.is_match(value));
    }
    let stars = b.iter().take_while(|&&c| c == b'*').count();
    let rest = &value[stars..];
    stars > 0 && rest.chars().count() <= mask_keep.min(stars)
}

#[cfg(test)]
mod tests {
    use aho_corasick::{AhoCorasick, MatchKind};
    use proptest::prelude::*;

    use super::{leftmost_longest, looks_like_replacement};

    proptest! {
        /// Picking keyword matches from one overlapping pass gives what a separate
        /// leftmost-longest pass over the keywords gave (duplicates, prefixes, case included).
        #[test]
        fn leftmost_longest_from_overlapping_matches_the_automaton(
            keywords in proptest::collection::vec("[abAB]{1,4}", 1..6),
            text in "[abAB ]{0,40}",
        ) {
            let build = |kind| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(kind)
                    .build(&keywords)
                    .expect("small automaton")
            };
            let want: Vec<_> = build(MatchKind::LeftmostLongest)
                .find_iter(&text)
                .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
                .collect();
            let all = build(MatchKind::Standard)
                .find_overlapping_iter(&text)
                .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
                .collect();
            prop_assert_eq!(leftmost_longest(all), want);
        }
    }

    #[test]
    fn only_a_whole_token_or_mask_is_a_replacement() {
        for v in [
            "[EMAIL_ADDRESS]",
            "<PERSON_1a2b3c4d5e6f7a8b>",
            "[IBAN_CODE:0123456789abcdef]",
            "************1111",
            "****",
        ] {
            assert!(looks_like_replacement(v, 4), "{v}");
        }
        for v in [
            "[X1]hunter2secret",
            "hunter2[X1]secret",
            "Server=db;Password=[PASSWORD]x",
            "<PERSON_1a2b3c4d5e6f7a8b>hunter2",
            "****************hunter2secret",
            "**1234",
            "ab**",
            "Server=db;Password=****************************************",
        ] {
            assert!(!looks_like_replacement(v, 4), "{v}");
        }
        // No mask action in the policy: only bare stars.
        assert!(!looks_like_replacement("****1234", 0));
        assert!(looks_like_replacement("****", 0));
    }
}
