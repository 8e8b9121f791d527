//! Heuristics that are not checksums: placeholder numbers and randomness.

use std::collections::HashMap;

/// `false` when, after dropping separators, the value is at least two digits that are all the
/// same (000000000) or run straight up or down (123456789, 9876543210, wrapping 9→0 / 0→9).
/// Values containing anything besides digits and separators are not judged and pass.
pub fn not_trivial(s: &str) -> bool {
    let mut d = Vec::new();
    for c in s.chars() {
        match c {
            ' ' | '-' | '.' | '/' | '(' | ')' | '+' | '_' => {}
            '0'..='9' => d.push(c as u8 - b'0'),
            _ => return true,
        }
    }
    if d.len() < 2 {
        return true;
    }
    let steps = |step: u8| d.windows(2).all(|w| (w[0] + step) % 10 == w[1]);
    !(steps(0) || steps(1) || steps(9))
}

/// Shannon entropy of `s` in bits per character (0.0 for the empty string).
pub fn shannon_entropy(s: &str) -> f64 {
    let mut counts: HashMap<char, usize> = HashMap::new();
    let mut total = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    let n = total as f64;
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivial_numbers() {
        for bad in [
            "000000000",
            "111-11-1111",
            "123456789",
            "987654321",
            "1234567890",
            "0123456789",
            "9876543210",
            "12",
            "44",
        ] {
            assert!(!not_trivial(bad), "{bad}");
        }
        for ok in [
            "123456780",
            "4111111111111111",
            "112233",
            "abc",
            "AB123456C",
            "",
            "7",
            "13579",
            "١١١١",
        ] {
            assert!(not_trivial(ok), "{ok}");
        }
    }

    #[test]
    fn entropy() {
        assert_eq!(shannon_entropy(""), 0.0);
        assert_eq!(shannon_entropy("aaaa"), 0.0);
        assert!((shannon_entropy("ab") - 1.0).abs() < 1e-12);
        assert!((shannon_entropy("abcd") - 2.0).abs() < 1e-12);
        assert!((shannon_entropy("ééàà") - 1.0).abs() < 1e-12);
        let all: String = (0..=255u8).map(char::from).collect();
        assert!((shannon_entropy(&all) - 8.0).abs() < 1e-9);
    }
}
