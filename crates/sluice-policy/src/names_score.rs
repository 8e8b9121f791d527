//! Scoring the pieces of a run of capitalised words (see [`crate::names`] for the table of
//! weights and what each shape means).

use aho_corasick::AhoCorasick;

use crate::names::{Found, LOOK_BEHIND, MAX_NAME_WORDS, MAX_WORD, NameModel, Word};

/// Score weights (see the module documentation).
pub(crate) mod w {
    pub const FIRST: f32 = 0.60;
    pub const FIRST_KNOWN_SURNAME: f32 = 0.85;
    pub const INITIAL: f32 = 0.40;
    pub const INITIAL_KNOWN_SURNAME: f32 = 0.55;
    pub const AMBIGUOUS: f32 = 0.25;
    pub const AMBIGUOUS_KNOWN_SURNAME: f32 = 0.55;
    pub const UNKNOWN: f32 = 0.25;
    pub const UNKNOWN_KNOWN_SURNAME: f32 = 0.50;
    pub const LAST_FIRST: f32 = 0.65;
    pub const HONORIFIC_SURNAME: f32 = 0.85;
    pub const LEAD_FIRST: f32 = 0.70;
    pub const GREETING_WORD: f32 = 0.60;
    pub const LAST_UNKNOWN_FIRST: f32 = 0.35;
    pub const SHAPE: f32 = 0.25;
    pub const HONORIFIC: f32 = 0.30;
    pub const LEAD: f32 = 0.20;
    pub const CONTEXT: f32 = 0.20;
}

/// What stands before a piece.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Lead {
    None,
    /// A lead word (`met with`, `from`).
    Word,
    /// A greeting or sign-off (`Hi`, `Regards`).
    Greeting,
}

impl NameModel {
    /// Splits a run into pieces at honorifics, lead words and words that are never names, and
    /// scores each piece (and `Last, First` pairs).
    pub(crate) fn score_run(
        &self,
        view: &str,
        run: &[Word],
        ctx: Option<(&AhoCorasick, usize)>,
        out: &mut Vec<Found>,
    ) {
        let (mut honorific, mut lead) = (false, Lead::None);
        let mut k = 0;
        while k < run.len() {
            let w = &run[k];
            if w.comma && k > 0 {
                // `Doe, Jane`: a known surname alone, then a known first name alone.
                if let Some(f) = self.last_first(view, run, k, ctx) {
                    out.push(f);
                    k += 1;
                    continue;
                }
                honorific = false;
                lead = Lead::None;
            }
            if !w.initial && self.has(&self.honorifics, view, w) {
                honorific = true;
                k += 1;
                continue;
            }
            if !w.initial && self.has(&self.greet_set, view, w) {
                lead = Lead::Greeting;
                k += 1;
                continue;
            }
            if !w.initial && self.has(&self.lead_set, view, w) {
                lead = Lead::Word;
                k += 1;
                continue;
            }
            if !w.initial && self.has(&self.not_names, view, w) {
                honorific = false;
                lead = Lead::None;
                k += 1;
                continue;
            }
            // A piece: words up to the next comma, dot word, or word that is never a name.
            let mut e = k + 1;
            while e < run.len()
                && !run[e].comma
                && !(run[e - 1].dot)
                && (run[e].initial || !self.stops(view, &run[e]))
            {
                e += 1;
            }
            // A piece followed by a company word or a word that is never a name is a company,
            // a place or a heading (`Rose Garden Hotel`, `Grant Thornton LLP`).
            let ends_sentence = run[e - 1].dot;
            let followed_by_org = !ends_sentence
                && match run.get(e) {
                    Some(n) => {
                        !n.comma && self.stops(view, n) && !self.has(&self.honorifics, view, n)
                    }
                    None => self.org_after(view, run[e - 1].end),
                };
            if !followed_by_org
                && let Some(f) = self.score_piece(view, &run[k..e], honorific, lead, ctx)
            {
                out.push(f);
            }
            honorific = false;
            lead = Lead::None;
            k = e;
        }
    }

    /// A word that ends a piece of a run.
    fn stops(&self, view: &str, w: &Word) -> bool {
        self.has(&self.not_names, view, w)
            || self.has(&self.honorifics, view, w)
            || self.has(&self.lead_set, view, w)
            || self.has(&self.greet_set, view, w)
            || self.has(&self.org_words, view, w)
    }

    fn last_first(
        &self,
        view: &str,
        run: &[Word],
        k: usize,
        ctx: Option<(&AhoCorasick, usize)>,
    ) -> Option<Found> {
        let (last, first) = (&run[k - 1], &run[k]);
        let alone_before = k == 1 || run[k - 1].comma || run[k - 2].dot;
        let alone_after = run.get(k + 1).is_none_or(|n| n.comma);
        let shape = !last.initial
            && !first.initial
            && !first.particles
            && self.has(&self.surnames, view, last)
            && !self.stops(view, last)
            && !self.stops(view, first)
            && !self.has(&self.ambiguous, view, first);
        if !(alone_before && alone_after && shape) {
            return None;
        }
        let base = if self.has(&self.first, view, first) {
            w::LAST_FIRST
        } else {
            w::LAST_UNKNOWN_FIRST
        };
        let score = base + self.context_boost(view, last.start, first.end, ctx);
        Some(Found {
            start: last.start,
            end: first.end,
            score,
        })
    }

    fn score_piece(
        &self,
        view: &str,
        piece: &[Word],
        honorific: bool,
        lead: Lead,
        ctx: Option<(&AhoCorasick, usize)>,
    ) -> Option<Found> {
        let (first, last) = (piece.first()?, piece.last()?);
        let names = piece.len();
        if names > MAX_NAME_WORDS || last.initial {
            return None;
        }
        if !honorific && heading(view, first.start) {
            return None;
        }
        let lead = lead.max(self.lead_before(view, first.start));
        let fk = !first.initial && self.has(&self.first, view, first);
        let amb = fk && self.has(&self.ambiguous, view, first);
        let lk = self.has(&self.surnames, view, last);
        let mut score = if names == 1 {
            if honorific {
                w::HONORIFIC_SURNAME
            } else if lead >= Lead::Word && fk && !amb {
                w::LEAD_FIRST
            } else if lead == Lead::Greeting && !amb && !first.initial {
                w::GREETING_WORD
            } else {
                return None;
            }
        } else {
            let base = match (first.initial, fk, amb, lk) {
                (true, _, _, true) => w::INITIAL_KNOWN_SURNAME,
                (true, _, _, false) => w::INITIAL,
                (false, true, false, true) => w::FIRST_KNOWN_SURNAME,
                (false, true, false, false) => w::FIRST,
                (false, true, true, true) => w::AMBIGUOUS_KNOWN_SURNAME,
                (false, true, true, false) => w::AMBIGUOUS,
                (false, false, _, true) => w::UNKNOWN_KNOWN_SURNAME,
                (false, false, _, false) => w::UNKNOWN,
            };
            let shaped = self.surname_shaped(view, piece);
            let mut s = base + if shaped { w::SHAPE } else { 0.0 };
            if honorific {
                s += w::HONORIFIC;
            }
            if lead != Lead::None {
                s += w::LEAD;
            }
            s
        };
        score += self.context_boost(view, first.start, last.end, ctx);
        if mail_after(view, last.end) {
            score += w::LEAD;
        }
        Some(Found {
            start: first.start,
            end: last.end,
            score: score.min(1.0),
        })
    }

    /// Accented letters, particles, `Mc`/`Mac`/`O'` prefixes, a hyphen or a typical ending.
    fn surname_shaped(&self, view: &str, piece: &[Word]) -> bool {
        let Some(last) = piece.last() else {
            return false;
        };
        let text = &view.as_bytes()[last.start..last.end];
        let mut buf = [0u8; MAX_WORD + 2];
        let key = Self::key(view, last, &mut buf);
        last.accented
            || piece.iter().any(|w| w.particles)
            || text.starts_with(b"Mc")
            || (text.starts_with(b"Mac") && text.get(3).is_some_and(u8::is_ascii_uppercase))
            || text.starts_with(b"O'")
            || text.contains(&b'-')
            || self
                .endings
                .iter()
                .any(|e| key.len() > e.len() + 2 && key.ends_with(e))
    }

    /// A lead word (`met with`, `regards,`, `cc:`) right before `start`, across one to three
    /// separators.
    pub(crate) fn lead_before(&self, view: &str, start: usize) -> Lead {
        let b = view.as_bytes();
        let mut p = start;
        for _ in 0..3 {
            if p > 0 && matches!(b[p - 1], b' ' | b'\t' | b'\r' | b'\n' | b',' | b':') {
                p -= 1;
            }
        }
        // Every lead word ends with a letter: most capitals follow `. ` or start a line.
        if p == start || p == 0 || !b[p - 1].is_ascii_alphabetic() {
            return Lead::None;
        }
        let before = &b[p.saturating_sub(LOOK_BEHIND - 4)..p];
        // One lookup of the last word before any comparison of whole lead phrases.
        let word = before.len()
            - before
                .iter()
                .rev()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
        let mut buf = [0u8; MAX_WORD + 2];
        let last = &before[word..];
        if last.len() > buf.len() {
            return Lead::None;
        }
        for (d, s) in buf.iter_mut().zip(last) {
            *d = s.to_ascii_lowercase();
        }
        if !self.lead_last.contains(&buf[..last.len()]) {
            return Lead::None;
        }
        let ends = |l: &Vec<u8>| {
            before.len() >= l.len()
                && before[before.len() - l.len()..].eq_ignore_ascii_case(l)
                && (before.len() == l.len()
                    || !before[before.len() - l.len() - 1].is_ascii_alphanumeric())
        };
        if self.greet.iter().any(ends) {
            Lead::Greeting
        } else if self.lead.iter().any(ends) {
            Lead::Word
        } else {
            Lead::None
        }
    }

    /// A company word right after a run, in any case (`LLP`, `GmbH`, `Inc.`).
    fn org_after(&self, view: &str, end: usize) -> bool {
        let b = &view.as_bytes()[end..];
        if b.first() != Some(&b' ') {
            return false;
        }
        let len = b[1..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        let word = b[1..1 + len].to_ascii_lowercase();
        len > 0 && len <= 16 && self.org_words.contains(word.as_slice())
    }

    /// +`CONTEXT` if a context word stands (as a word) within the window around the span.
    fn context_boost(
        &self,
        view: &str,
        s: usize,
        e: usize,
        ctx: Option<(&AhoCorasick, usize)>,
    ) -> f32 {
        let Some((ac, window)) = ctx else {
            return 0.0;
        };
        let b = view.as_bytes();
        let alnum = |i: Option<&u8>| i.is_some_and(u8::is_ascii_alphanumeric);
        let near = |from: usize, to: usize| {
            let h = &b[from..to];
            ac.find_overlapping_iter(h).any(|m| {
                let word = &h[m.start()..m.end()];
                (!alnum(word.first()) || !alnum(m.start().checked_sub(1).and_then(|i| h.get(i))))
                    && (!alnum(word.last()) || !alnum(h.get(m.end())))
            })
        };
        if near(s.saturating_sub(window), s) || near(e, (e + window).min(b.len())) {
            w::CONTEXT
        } else {
            0.0
        }
    }
}

/// How far after a name `mail_after` looks.
pub(crate) const LOOK_AHEAD: usize = 42;

/// A mail address in angle brackets right after the name (`Jane Doe <jane@…>`).
fn mail_after(view: &str, e: usize) -> bool {
    let b = &view.as_bytes()[e..];
    b.starts_with(b" <")
        && b[2..]
            .iter()
            .take(LOOK_AHEAD - 2)
            .take_while(|&&c| c != b'>' && c != b' ')
            .any(|&c| c == b'@')
}

/// Is `i` on a Markdown heading line (`# Vendor Payments`): headings are Title Case.
fn heading(view: &str, i: usize) -> bool {
    let b = view.as_bytes();
    let lo = i.saturating_sub(LOOK_BEHIND);
    let line = b[lo..i]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(lo, |p| lo + p + 1);
    (line > lo || lo == 0) && b[line..i].trim_ascii_start().first() == Some(&b'#')
}
