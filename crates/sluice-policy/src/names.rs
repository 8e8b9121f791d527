//! People's names without a NER model: the `kind = "names"` detector.
//!
//! A name is scored, not looked up. The detector reads the view as runs of capitalised words
//! (`Jane Doe`, `Dr. J. Smith`, `Pieter de Vries`), splits each run at words that never belong
//! to a name (honorifics and greetings open a name, headings and company words end one) and
//! scores each piece from what it is made of and what stands around it:
//!
//! | piece | score |
//! |---|---|
//! | known first name + surname-shaped word | 0.60, 0.85 if the surname is known |
//! | initial + surname (`J. Doe`) | 0.40, 0.55 if the surname is known |
//! | a first name that is also a word (`May`, `Will`, `Grant`) + surname | 0.25, 0.55 if known |
//! | unknown word + surname | 0.25, 0.50 if known |
//! | `Last, First` (known surname) | 0.65, 0.35 if the first name is not known |
//! | honorific + surname (`Dr Okafor`) | 0.85 |
//! | a single known first name after a lead word (`met with Jane`, `Regards,\nJane`) | 0.70 |
//! | any other single word after a greeting or sign-off (`Hi Oisin,`) | 0.60 |
//!
//! A single capitalised word is never a name on its own: sentence-initial words (`Marcus
//! asked…`) need a lead word, an honorific or a second word.
//!
//! and on top: +0.25 when the surname looks like one (accented letters, `Mc`/`O'` prefixes,
//! particles, typical endings such as `-ski` or `-sson`), +0.30 after an honorific, +0.20 after
//! a lead word, with a context word (`manager`, `called`) within the context window, or before
//! a mail address in angle brackets (`From: Jane Doe <jane@…>`). A piece followed by a company word (`Ltd`, `Group`, `Partners`) is not a
//! person. The policy's `min_score` decides what is reported.
//!
//! Every list (first names, surnames, honorifics, lead words, ambiguous names, words that are
//! never names, company words, particles, surname endings) comes from the policy files: the
//! detector in `pii/person.toml` and the generated data file it names. See [`crate::names_build`]
//! for what the streaming redactor is told about names still being written.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::AhoCorasick;

pub(crate) use crate::names_score::LOOK_AHEAD;
use crate::names_score::Lead;

/// Longest word of a name, in bytes.
pub(crate) const MAX_WORD: usize = 32;
/// Most words (initials included, particles not) in one run of capitalised words.
pub(crate) const MAX_RUN_WORDS: usize = 6;
/// Most particles between two words (`van der`).
pub(crate) const MAX_PARTICLES: usize = 2;
/// Longest particle (`della`); longer lower-case words end a run without a lookup.
pub(crate) const MAX_PARTICLE: usize = 8;
/// Most words of one name.
pub(crate) const MAX_NAME_WORDS: usize = 4;

/// FNV-1a: the sets hold short words, where it beats SipHash several times over.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Lower-case words.
pub(crate) type WordSet = HashSet<Box<[u8]>, BuildHasherDefault<Fnv>>;

pub(crate) fn word_set<'a>(words: impl IntoIterator<Item = &'a str>) -> WordSet {
    words
        .into_iter()
        .map(|w| {
            w.trim()
                .to_ascii_lowercase()
                .into_bytes()
                .into_boxed_slice()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The compiled lists of one names detector.
pub(crate) struct NameModel {
    pub first: WordSet,
    pub surnames: WordSet,
    pub honorifics: WordSet,
    /// Greetings and sign-offs that may be capitalised inside a run (`Hi`, `Dear`, `Thanks`).
    pub lead_set: WordSet,
    /// Lead words as written (lower-case), for the text before a run.
    pub lead: Vec<Vec<u8>>,
    /// Greetings and sign-offs (`hi`, `dear`, `regards`): lead words strong enough for a
    /// single word that is not a known first name (`Hi Oisin,`).
    pub greet_set: WordSet,
    pub greet: Vec<Vec<u8>>,
    /// The last word of every lead word and greeting (`with` of `met with`).
    pub lead_last: WordSet,
    pub ambiguous: WordSet,
    pub not_names: WordSet,
    pub org_words: WordSet,
    pub particles: WordSet,
    pub endings: Vec<Vec<u8>>,
}

/// One word of a run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Word {
    pub start: usize,
    pub end: usize,
    /// A capital and a dot (`J.`).
    pub initial: bool,
    /// Ends with a dot that is not part of the word (`Dr.`): only honorifics and initials
    /// may have one inside a name.
    pub dot: bool,
    /// Has letters outside ASCII (`Lefèvre`).
    pub accented: bool,
    /// Particles (`de`, `van der`) between this word and the previous one.
    pub particles: bool,
    /// Separated from the previous word by `, ` rather than a space.
    pub comma: bool,
}

/// A found name: view span and score.
pub(crate) struct Found {
    pub start: usize,
    pub end: usize,
    pub score: f32,
}

/// What `find` reports about one run, for the streaming redactor: the view interval its
/// decision looked at.
pub(crate) type Region = (usize, usize);

/// Is `c` a capital the tokenizer (and the streaming pattern) accepts: ASCII, or Latin-1
/// Supplement / Latin Extended-A (U+00C0–U+017F).
fn is_cap(c: char) -> bool {
    c.is_ascii_uppercase() || (('\u{C0}'..='\u{17F}').contains(&c) && c.is_uppercase())
}

fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || (('\u{C0}'..='\u{17F}').contains(&c) && c.is_alphabetic())
}

/// The character at byte `i` of `view` (ASCII without decoding).
fn char_at(view: &str, i: usize) -> Option<char> {
    match view.as_bytes().get(i) {
        Some(&b) if b < 0x80 => Some(b as char),
        Some(_) => view.get(i..)?.chars().next(),
        None => None,
    }
}

/// Reads a capitalised word at `i` (which holds a capital). `None` when it is not one: all
/// capitals (`EMEA`), too long, or glued to digits.
fn word_at(view: &str, i: usize) -> Option<Word> {
    let c0 = char_at(view, i)?;
    if !is_cap(c0) {
        return None;
    }
    let (mut end, mut accented, mut prev_upper, mut lower) =
        (i + c0.len_utf8(), !c0.is_ascii(), true, 0);
    while let Some(c) = char_at(view, end) {
        let len = c.len_utf8();
        if is_letter(c) {
            let upper = c.is_uppercase();
            if upper && prev_upper {
                return None; // two capitals in a row: an acronym
            }
            prev_upper = upper;
            lower += usize::from(!upper);
            accented |= !c.is_ascii();
        } else if (c == '\'' || c == '-') && char_at(view, end + len).is_some_and(is_letter) {
            prev_upper = false;
        } else {
            break;
        }
        end += len;
        if end - i > MAX_WORD {
            return None;
        }
    }
    // A possessive (`Nguyen's`) is not part of the name.
    if end - i > 3 && view.as_bytes()[end - 2..end] == *b"'s" {
        end -= 2;
    }
    let after = char_at(view, end);
    if after.is_some_and(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let dot = after == Some('.');
    let initial = lower == 0 && end - i == c0.len_utf8();
    if initial && !dot {
        return None; // a lone capital (`A`, `I`)
    }
    Some(Word {
        start: i,
        end: if initial { end + 1 } else { end },
        initial,
        dot: dot && !initial,
        accented,
        particles: false,
        comma: false,
    })
}

impl NameModel {
    /// Lower-cased copy of a word (ASCII folding only) for set lookups; `None` if too long.
    pub(crate) fn key<'b>(view: &str, w: &Word, buf: &'b mut [u8; MAX_WORD + 2]) -> &'b [u8] {
        let end = if w.initial { w.end - 1 } else { w.end };
        let b = &view.as_bytes()[w.start..end];
        let n = b.len().min(buf.len());
        for (d, s) in buf.iter_mut().zip(&b[..n]) {
            *d = s.to_ascii_lowercase();
        }
        &buf[..n]
    }

    pub(crate) fn has(&self, set: &WordSet, view: &str, w: &Word) -> bool {
        let mut buf = [0u8; MAX_WORD + 2];
        set.contains(Self::key(view, w, &mut buf))
    }

    /// The run of capitalised words starting at `i`: words joined by one space (or `, `),
    /// with particles between them. Ends before the first thing that is none of these.
    fn run_at(&self, view: &str, i: usize, run: &mut Vec<Word>) {
        let b = view.as_bytes();
        run.clear();
        let (mut pos, mut comma, mut particles) = (i, false, false);
        while run.len() < MAX_RUN_WORDS {
            let Some(mut w) = word_at(view, pos) else {
                break;
            };
            w.comma = comma;
            w.particles = particles;
            run.push(w);
            // The separator: one space, after the word's dot or a comma.
            let mut p = w.end + usize::from(w.dot);
            comma = !w.dot && b.get(p) == Some(&b',');
            p += usize::from(comma);
            if b.get(p) != Some(&b' ') {
                break;
            }
            p += 1;
            particles = false;
            for n in 0..MAX_PARTICLES {
                let len = b[p..].iter().take_while(|c| c.is_ascii_lowercase()).count();
                // A particle is followed by a capitalised word (or another particle): most
                // lower-case words are not, and need no lookup.
                let cap_after = b.get(p + len + 1).is_some_and(|&c| {
                    c.is_ascii_uppercase()
                        || c >= 0xC3
                        || (n + 1 < MAX_PARTICLES && c.is_ascii_lowercase())
                });
                if len == 0 || len > MAX_PARTICLE || b.get(p + len) != Some(&b' ') || !cap_after {
                    if len > 0 {
                        return; // a lower-case word that is not a particle ends the run
                    }
                    break;
                }
                if !self.particles.contains(&b[p..p + len]) {
                    return;
                }
                p += len + 1;
                particles = true;
            }
            pos = p;
        }
    }
}

/// Can a run start at `i`: a word start not inside an identifier, a path or an address.
fn run_start(b: &[u8], i: usize) -> bool {
    i == 0
        || !matches!(b[i - 1], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'@' | b'/' | b'\\' | b'\'' | b'&' | b'#' | b'$' | 0x80..=0xFF)
}

/// Next position at or after `i` that holds a capital's first byte (ASCII upper case or a
/// two-byte UTF-8 lead of U+00C0–U+017F). Sixteen bytes at a time where there is none.
fn next_cap(b: &[u8], mut i: usize) -> Option<usize> {
    let hit = |c: u8| c.wrapping_sub(b'A') < 26 || (0xC3..=0xC5).contains(&c);
    while i + 16 <= b.len() {
        let chunk = &b[i..i + 16];
        let mut any = false;
        for &c in chunk {
            any |= hit(c);
        }
        if any {
            break;
        }
        i += 16;
    }
    (i..b.len()).find(|&j| hit(b[j]))
}

/// Finds names in `view`. `regions` (streaming only) receives, for every run looked at, the
/// interval of the view its decision depended on.
pub(crate) fn find(
    m: &NameModel,
    ctx: Option<(&AhoCorasick, usize)>,
    view: &str,
    mut regions: Option<&mut Vec<Region>>,
    out: &mut Vec<Found>,
) {
    let b = view.as_bytes();
    let reach = ctx.map_or(0, |c| c.1);
    let mut run = Vec::with_capacity(MAX_RUN_WORDS);
    let mut i = 0;
    while let Some(j) = next_cap(b, i) {
        i = j + 1;
        if !view.is_char_boundary(j) || !run_start(b, j) {
            continue;
        }
        m.run_at(view, j, &mut run);
        let Some(last) = run.last() else {
            continue;
        };
        let end = last.end;
        if let Some(r) = regions.as_deref_mut() {
            r.push((
                j.saturating_sub(reach + LOOK_BEHIND),
                (end + reach.max(LOOK_AHEAD) + 1).min(b.len()),
            ));
        }
        // Fast path: a single word is a name only after a lead word or a greeting.
        if run.len() > 1 || m.lead_before(view, j) != Lead::None {
            m.score_run(view, &run, ctx, out);
        }
        i = end;
    }
}

/// How far before a run the detector looks, besides the context window: a lead word and the
/// separators after it, or the punctuation that ends a sentence.
pub(crate) const LOOK_BEHIND: usize = 40;

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
