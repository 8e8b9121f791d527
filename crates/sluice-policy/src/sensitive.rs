//! Types that hold sensitive material. Their `Debug` and `Display` print `[REDACTED]`, so a
//! value can never reach a log line, a panic message or a snapshot by accident.

use std::fmt;

/// A detected sensitive value. Read it with [`SensitiveValue::expose`], deliberately.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SensitiveValue(String);

impl SensitiveValue {
    pub(crate) fn new(v: impl Into<String>) -> Self {
        Self(v.into())
    }

    /// The raw value. Call sites are the only places a value can leak from: keep them few.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SensitiveValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for SensitiveValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// The key for `pseudonymize` and `hash` actions. It comes from runtime configuration,
/// never from a policy file, so a policy author cannot reverse tokens.
#[derive(Clone)]
pub struct PseudonymKey(Vec<u8>);

impl PseudonymKey {
    /// Wraps key bytes (at least 16 are recommended; any length works with HMAC).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey([REDACTED])")
    }
}

impl fmt::Display for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let v = SensitiveValue::new("jane@acme.io");
        assert_eq!(format!("{v:?} {v}"), "[REDACTED] [REDACTED]");
        let k = PseudonymKey::new(b"super secret key".to_vec());
        assert!(!format!("{k:?} {k}").contains("super"));
    }
}
