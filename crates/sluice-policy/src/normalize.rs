//! The normalised view detectors match on, and the map from it back to the original bytes.
//!
//! Attackers and accidents hide values with invisible characters (`p\u{200B}aul@x.io`,
//! `AKIA\u{E0100}…`), combining marks (`A\u{0332}K\u{0332}…`), full-width digits (`０３０`),
//! or look-alikes from other scripts (`раypal`, Cherokee `Ꭺ`). Detectors run on a view where,
//! character by character:
//!
//! - ASCII is kept as it is (and pure-ASCII text is the view itself, with no copy);
//! - invisible characters are dropped: `Default_Ignorable_Code_Point`, format characters
//!   (`Cf`, e.g. the interlinear annotation controls U+FFF9–FFFB) and C1 controls;
//! - non-spacing and enclosing combining marks (`Mn`, `Me`) are dropped; spacing marks (`Mc`,
//!   Devanagari vowel signs) are kept;
//! - common Cyrillic and Greek homoglyphs are folded to ASCII by a hand-written table;
//! - anything else is NFKC-normalised, and every character NFKC produces goes through the
//!   same checks again, then through the UTS #39 confusables prototypes when its prototype is
//!   one ASCII character of the same kind (`Ꭺ` → `A`, `’` → `'`); characters without one
//!   (`é`, `आ`, `١`) are kept.
//!
//! Every byte of the view remembers which original character it came from, so findings
//! replace the *original* bytes, the dropped characters inside (and right after) a value
//! included.
//!
//! Normalisation is per character (no composition across characters) so that the view of a
//! text is the concatenation of the views of its pieces, which the streaming redactor needs.

use std::borrow::Cow;

use icu_properties::props::{DefaultIgnorableCodePoint, GeneralCategory, GeneralCategoryGroup};
use icu_properties::{
    CodePointMapData, CodePointMapDataBorrowed, CodePointSetData, CodePointSetDataBorrowed,
};
use unicode_normalization::UnicodeNormalization;

/// A normalised view of some text.
pub(crate) struct Normalized<'a> {
    text: Cow<'a, str>,
    /// For each byte of `text`, the byte offset in the original of the character it came
    /// from. `None` when the view is the original (pure ASCII fast path).
    map: Option<Vec<u32>>,
    original: &'a str,
}

impl<'a> Normalized<'a> {
    pub fn new(original: &'a str) -> Self {
        if original.is_ascii() {
            return Self {
                text: Cow::Borrowed(original),
                map: None,
                original,
            };
        }
        let mut text = String::with_capacity(original.len());
        let mut map = Vec::with_capacity(original.len());
        let mut memo = Memo::new();
        for (off, c) in original.char_indices() {
            let off = u32::try_from(off).unwrap_or(u32::MAX);
            if c.is_ascii() {
                text.push(c);
                map.push(off);
                continue;
            }
            let before = text.len();
            memo.push_view(c, &mut text);
            map.extend(std::iter::repeat_n(off, text.len() - before));
        }
        Self {
            text: Cow::Owned(text),
            map: Some(map),
            original,
        }
    }

    /// The view detectors match on.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Maps a span of the view to the span of the original it covers. The span ends where
    /// the next character of the view begins, so characters dropped from the view right
    /// after the value (a combining mark on its last letter, a zero-width tail) go with it.
    pub fn to_original(&self, start: usize, end: usize) -> (usize, usize) {
        match &self.map {
            None => (start, end),
            Some(map) => {
                if start >= end || end > map.len() {
                    let p = self.original_pos(start);
                    return (p, p);
                }
                let s = map[start] as usize;
                let last = map[end - 1] as usize;
                let e = match map.get(end) {
                    // The view ends inside the expansion of one original character (`ﬀ`).
                    Some(&next) if next as usize == last => {
                        last + self.original[last..]
                            .chars()
                            .next()
                            .map_or(0, char::len_utf8)
                    }
                    Some(&next) => next as usize,
                    None => self.original.len(),
                };
                (s, e)
            }
        }
    }

    /// The original offset corresponding to a position of the view (a cut point).
    pub fn original_pos(&self, pos: usize) -> usize {
        match &self.map {
            None => pos,
            Some(map) => map.get(pos).map_or(self.original.len(), |&o| o as usize),
        }
    }

    /// Whether a position of the view is a boundary between original characters, so that
    /// cutting the view there cuts the original cleanly.
    pub fn is_cut_point(&self, pos: usize) -> bool {
        match &self.map {
            None => self.text.is_char_boundary(pos),
            Some(map) => {
                pos == 0
                    || pos >= map.len()
                    || (map[pos] != map[pos - 1] && self.text.is_char_boundary(pos))
            }
        }
    }
}

/// The view of a character, as remembered by [`Memo`].
#[derive(Clone, Copy)]
enum Cached {
    Dropped,
    One(char),
    /// Several characters (an NFKC expansion): computed again each time.
    Many,
}

/// A small direct-mapped memo of the views of non-ASCII characters, on the stack. Text
/// repeats few distinct characters, and the confusables lookup (two NFD passes and a binary
/// search) costs several times the rest; with the memo most characters cost one array probe.
struct Memo([(char, Cached); 256]);

impl Memo {
    fn new() -> Self {
        // NUL is ASCII, never looked up here, so it marks an empty slot.
        Self([('\0', Cached::Many); 256])
    }

    fn push_view(&mut self, c: char, text: &mut String) {
        let slot = &mut self.0[(c as usize ^ (c as usize >> 8)) & 0xFF];
        if slot.0 == c {
            match slot.1 {
                Cached::Dropped => return,
                Cached::One(v) => return text.push(v),
                Cached::Many => {}
            }
        }
        let before = text.len();
        push_view(c, text);
        let mut added = text[before..].chars();
        let cached = match (added.next(), added.next()) {
            (None, _) => Cached::Dropped,
            (Some(v), None) => Cached::One(v),
            _ => Cached::Many,
        };
        *slot = (c, cached);
    }
}

/// Appends the view of one non-ASCII character: table lookups, no allocation.
fn push_view(c: char, text: &mut String) {
    let gc_c = category(c);
    if is_dropped(c, gc_c) {
        return;
    }
    if let Some(f) = fold_homoglyph(c) {
        text.push(f);
        return;
    }
    let mut buf = [0u8; 4];
    for n in c.encode_utf8(&mut buf).nfkc() {
        // NFKC output is checked again: U+3164 becomes U+1160, U+00A8 a space and a mark.
        if n.is_ascii() {
            text.push(n);
            continue;
        }
        let gc = if n == c { gc_c } else { category(n) };
        if is_dropped(n, gc) {
            continue;
        }
        text.push(
            fold_homoglyph(n)
                .or_else(|| ascii_prototype(n, gc))
                .unwrap_or(n),
        );
    }
}

fn category(c: char) -> GeneralCategory {
    const CATEGORY: CodePointMapDataBorrowed<'static, GeneralCategory> =
        CodePointMapData::<GeneralCategory>::new();
    CATEGORY.get(c)
}

/// Characters the view leaves out: invisible ones and non-spacing combining marks.
fn is_dropped(c: char, gc: GeneralCategory) -> bool {
    const IGNORABLE: CodePointSetDataBorrowed<'static> =
        CodePointSetData::new::<DefaultIgnorableCodePoint>();
    // C1 controls (except NEL, a line break) render as nothing in most places.
    if ('\u{80}'..='\u{9F}').contains(&c) {
        return c != '\u{85}';
    }
    matches!(
        gc,
        GeneralCategory::Format | GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
    ) || IGNORABLE.contains(c)
}

/// The UTS #39 confusables prototype of `c` when it is one ASCII character of the same kind:
/// a letter for a letter (Cherokee `Ꭺ` → `A`, `ǀ` → `l`), punctuation for punctuation, a
/// symbol or a space (`’` → `'`). Digits keep their value (Arabic-Indic `١` is not `l`),
/// punctuation does not become a letter (`¡` is not `i`), and a prototype of several
/// characters (`“` → `''`) is not taken.
fn ascii_prototype(c: char, gc: GeneralCategory) -> Option<char> {
    let letter = GeneralCategoryGroup::Letter.contains(gc);
    let other = GeneralCategoryGroup::Punctuation
        .union(GeneralCategoryGroup::Symbol)
        .union(GeneralCategoryGroup::Separator)
        .contains(gc);
    if !letter && !other {
        return None;
    }
    let mut buf = [0u8; 4];
    let mut proto = unicode_security::skeleton(c.encode_utf8(&mut buf));
    let p = proto.next()?;
    let fits = p.is_ascii() && !p.is_ascii_control() && p.is_ascii_alphanumeric() == letter;
    (fits && proto.next().is_none()).then_some(p)
}

/// Latin look-alikes from Cyrillic and Greek that NFKC leaves alone.
fn fold_homoglyph(c: char) -> Option<char> {
    Some(match c {
        'а' => 'a',
        'в' => 'B',
        'е' => 'e',
        'к' => 'k',
        'м' => 'M',
        'н' => 'H',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'т' => 'T',
        'у' => 'y',
        'х' => 'x',
        'і' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'һ' => 'h',
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'У' => 'Y',
        'Х' => 'X',
        'І' => 'I',
        'Ј' => 'J',
        'Ѕ' => 'S',
        'ο' => 'o',
        'α' => 'a',
        'ν' => 'v',
        'ρ' => 'p',
        'τ' => 't',
        'υ' => 'u',
        'ι' => 'i',
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        // Punctuation look-alikes used to break up addresses and numbers.
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2212}' | '\u{FE63}' => '-',
        '\u{00A0}' | '\u{2007}' | '\u{202F}' => ' ',
        '\u{2024}' => '.',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_is_borrowed() {
        let n = Normalized::new("plain text");
        assert!(matches!(n.text, Cow::Borrowed(_)));
        assert_eq!(n.to_original(2, 5), (2, 5));
    }

    #[test]
    fn zero_width_and_fullwidth_fold_and_map_back() {
        let s = "mail p\u{200B}aul@example.com or call ０３０ 1234";
        let n = Normalized::new(s);
        assert_eq!(n.as_str(), "mail paul@example.com or call 030 1234");
        let v = n.as_str().find("paul@").unwrap_or(0);
        let (a, b) = n.to_original(v, v + "paul@example.com".len());
        assert_eq!(&s[a..b], "p\u{200B}aul@example.com");
        let d = n.as_str().find("030").unwrap_or(0);
        let (a, b) = n.to_original(d, d + 3);
        assert_eq!(&s[a..b], "０３０");
    }

    #[test]
    fn homoglyphs_fold() {
        assert_eq!(Normalized::new("рaypal.com").as_str(), "paypal.com");
    }

    #[test]
    fn default_ignorables_and_format_characters_are_dropped() {
        for hidden in [
            '\u{E0100}',
            '\u{E01EF}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{1D173}',
            '\u{1D17A}',
            '\u{FFF9}',
            '\u{FFFA}',
            '\u{FFFB}',
            '\u{200B}',
            '\u{E0041}',
        ] {
            let s = format!("a{hidden}b");
            assert_eq!(
                Normalized::new(&s).as_str(),
                "ab",
                "{}",
                hidden.escape_unicode()
            );
        }
    }

    #[test]
    fn nfkc_output_is_checked_again() {
        // U+00A8 DIAERESIS is NFKC " \u{0308}"; the combining mark it produces is dropped.
        assert_eq!(Normalized::new("x\u{00A8}y").as_str(), "x y");
        // U+1D400 MATHEMATICAL BOLD CAPITAL A is NFKC `A`.
        assert_eq!(Normalized::new("\u{1D400}KIA").as_str(), "AKIA");
    }

    #[test]
    fn combining_marks_are_dropped_spacing_marks_kept() {
        let s = "A\u{0332}K\u{0332}I\u{20DD}A\u{0332} x";
        let n = Normalized::new(s);
        assert_eq!(n.as_str(), "AKIA x");
        // The span covers the hidden marks inside and the one attached to the last letter.
        assert_eq!(n.to_original(0, 4), (0, s.len() - 2));
        // Devanagari vowel signs are spacing marks (Mc): they stay, so keywords still match.
        assert_eq!(Normalized::new("आधार").as_str(), "आधार");
    }

    #[test]
    fn confusables_fold_to_ascii() {
        assert_eq!(Normalized::new("\u{13AA}KIA").as_str(), "AKIA");
        assert_eq!(Normalized::new("\u{01C0}ogin").as_str(), "login");
        // Letters with no ASCII prototype are kept as they are.
        assert_eq!(
            Normalized::new("Lucía Fernández").as_str(),
            "Lucía Fernández"
        );
        // The hand-written folds win over the confusables prototypes (Cyrillic І is `I`).
        assert_eq!(Normalized::new("\u{0406}D").as_str(), "ID");
        // Punctuation folds to punctuation only; digits and multi-character prototypes stay.
        assert_eq!(Normalized::new("it’s").as_str(), "it's");
        assert_eq!(Normalized::new("¡Hola! “x” ١٠").as_str(), "¡Hola! “x” ١٠");
    }

    #[test]
    fn concatenation_property() {
        let a = "x\u{200B}y ０";
        let b = "é z";
        let whole = format!("{a}{b}");
        assert_eq!(
            Normalized::new(&whole).as_str(),
            format!(
                "{}{}",
                Normalized::new(a).as_str(),
                Normalized::new(b).as_str()
            )
        );
    }
}
