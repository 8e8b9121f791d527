//! Bounded decoding of encoded runs (base64, hex, percent-encoding), so that a secret wrapped
//! in an encoding is still found. Decoding is bounded in length and depth (one level), and a
//! decoded run is only scanned if it looks like text.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

/// How a finding's value was wrapped in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Standard or URL-safe base64.
    Base64,
    /// Hexadecimal bytes.
    Hex,
    /// Percent-encoding (URL encoding).
    Percent,
}

impl Encoding {
    /// Lower-case name, used in findings.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
        }
    }
}

/// Patterns that find candidate runs, in the order of [`ENCODINGS`]. All bounded.
pub(crate) const PATTERNS: [&str; 3] = [
    r"[A-Za-z0-9+/_-]{24,1024}={0,2}",
    r"\b[0-9A-Fa-f]{32,1024}\b",
    r"(?:[A-Za-z0-9._~+-]{0,16}%[0-9A-Fa-f]{2}){3,128}",
];

/// The encoding of each pattern in [`PATTERNS`].
pub(crate) const ENCODINGS: [Encoding; 3] = [Encoding::Base64, Encoding::Hex, Encoding::Percent];

/// Shortest run any pattern matches; the streaming hold-back must exceed it.
pub(crate) const MIN_RUN: usize = 24;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Decodes a run; `None` when it does not decode to something that looks like text.
pub(crate) fn decode(enc: Encoding, run: &str) -> Option<String> {
    let bytes = match enc {
        Encoding::Base64 => {
            // Plain words and paths match the run pattern too; real base64 mixes classes.
            let has_digit = run.bytes().any(|b| b.is_ascii_digit());
            let has_upper = run.bytes().any(|b| b.is_ascii_uppercase());
            let has_lower = run.bytes().any(|b| b.is_ascii_lowercase());
            if !(has_upper && has_lower && (has_digit || run.len() > 40)) {
                return None;
            }
            let trimmed = run.trim_end_matches('=');
            if trimmed.len() % 4 == 1 {
                return None;
            }
            if trimmed.contains(['-', '_']) {
                URL.decode(trimmed).ok()?
            } else {
                STD.decode(trimmed).ok()?
            }
        }
        Encoding::Hex => {
            if !run.len().is_multiple_of(2) {
                return None;
            }
            hex::decode(run).ok()?
        }
        Encoding::Percent => percent_decode(run),
    };
    let text = String::from_utf8(bytes).ok()?;
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .count();
    // Random bytes are rarely valid UTF-8 and almost never 95% printable.
    (text.len() >= 8 && printable * 100 >= text.chars().count() * 95).then_some(text)
}

fn percent_decode(run: &str) -> Vec<u8> {
    let b = run.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = (b[i] == b'%')
            .then(|| b.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let Some(v) = escaped {
            out.push(v);
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_text_and_rejects_noise() {
        let enc =
            base64::engine::general_purpose::STANDARD.encode("aws_secret_access_key=abc123XYZ");
        assert_eq!(
            decode(Encoding::Base64, &enc).as_deref(),
            Some("aws_secret_access_key=abc123XYZ")
        );
        assert_eq!(
            decode(Encoding::Base64, "kubernetes-upgrade-checklist-final"),
            None
        );
        assert_eq!(
            decode(Encoding::Hex, "0123456789abcdef0123456789abcdef"),
            None
        );
        assert_eq!(
            decode(Encoding::Hex, &hex::encode("password=hunter2hunter2")).as_deref(),
            Some("password=hunter2hunter2")
        );
        assert_eq!(
            decode(Encoding::Percent, "a%3Db%26token%3Dxyz").as_deref(),
            Some("a=b&token=xyz")
        );
    }
}
