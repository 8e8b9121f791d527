//! The normalised view detectors match on, and the map from it back to the original bytes.
//!
//! Attackers and accidents hide values with zero-width characters (`p\u{200B}aul@x.io`),
//! full-width digits (`０３０`), or Cyrillic look-alikes (`раypal`). Detectors run on a view
//! where each character is NFKC-normalised on its own, invisible controls are dropped and
//! common homoglyphs are folded to ASCII; every byte of the view remembers which original
//! character it came from, so findings replace the *original* bytes.
//!
//! Normalisation is per character (no composition across characters) so that the view of a
//! text is the concatenation of the views of its pieces, which the streaming redactor needs.

use std::borrow::Cow;

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
        let mut buf = [0u8; 4];
        for (off, c) in original.char_indices() {
            let off = u32::try_from(off).unwrap_or(u32::MAX);
            if c.is_ascii() {
                text.push(c);
                map.push(off);
                continue;
            }
            if is_invisible(c) {
                continue;
            }
            if let Some(f) = fold_homoglyph(c) {
                text.push(f);
                map.push(off);
                continue;
            }
            let before = text.len();
            for n in c.encode_utf8(&mut buf).nfkc() {
                text.push(fold_homoglyph(n).unwrap_or(n));
            }
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

    /// Maps a span of the view to the span of the original it covers.
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
                let e = last
                    + self.original[last..]
                        .chars()
                        .next()
                        .map_or(0, char::len_utf8);
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

/// Zero-width, bidi and other invisible format characters.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{E0000}'..='\u{E007F}')
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
