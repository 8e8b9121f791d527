//! Checksum and format validators used by Sluice detectors.
//!
//! A detector's regex finds a candidate; a validator decides whether the candidate is a real
//! instance of the format (a card number whose Luhn digit is right, an IBAN whose mod-97 is 1).
//! Every validator is a pure `fn(&str) -> bool` that ignores the usual separators itself.

/// A validator: `true` when the candidate text is a valid instance of the format.
pub type ValidatorFn = fn(&str) -> bool;

/// Looks up a validator by the name used in policy files.
pub fn lookup(name: &str) -> Option<ValidatorFn> {
    REGISTRY.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The names accepted in a detector's `validators` list.
pub fn names() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|(n, _)| *n)
}

const REGISTRY: &[(&str, ValidatorFn)] = &[];
