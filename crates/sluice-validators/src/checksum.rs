//! Generic check-digit algorithms and input normalisation shared by the format validators.

/// Longest compacted candidate any validator needs; longer input is rejected before any work.
const MAX_COMPACT: usize = 64;

/// Drops every char in `seps` and upper-cases the rest; `None` if anything other than an ASCII
/// letter or digit remains, or if the result is implausibly long.
pub(crate) fn compact(s: &str, seps: &[char]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len().min(MAX_COMPACT));
    for c in s.chars() {
        if seps.contains(&c) {
            continue;
        }
        if !c.is_ascii_alphanumeric() || out.len() == MAX_COMPACT {
            return None;
        }
        out.push(c.to_ascii_uppercase() as u8);
    }
    Some(out)
}

/// Like [`compact`] but demands only digits and returns their values (0..=9).
pub(crate) fn digits(s: &str, seps: &[char]) -> Option<Vec<u8>> {
    let mut d = compact(s, seps)?;
    for b in &mut d {
        if !b.is_ascii_digit() {
            return None;
        }
        *b -= b'0';
    }
    Some(d)
}

/// Digit values of an already-compacted ASCII slice; `None` on any non-digit.
pub(crate) fn digit_values(b: &[u8]) -> Option<Vec<u8>> {
    b.iter()
        .map(|c| c.is_ascii_digit().then(|| c - b'0'))
        .collect()
}

/// Interprets digit values as a decimal number (callers keep it to at most 19 digits).
pub(crate) fn number(d: &[u8]) -> u64 {
    d.iter().fold(0, |n, &x| n * 10 + u64::from(x))
}

/// Sum of `d[i] * w[i]` over the shorter of the two slices.
pub(crate) fn weighted_sum(d: &[u8], w: &[u32]) -> u32 {
    d.iter().zip(w).map(|(&x, &w)| u32::from(x) * w).sum()
}

fn luhn_sum(d: &[u8], double_last: bool) -> u32 {
    d.iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if (i % 2 == 0) == double_last {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum()
}

/// Luhn (mod 10) check over digit values whose last element is the check digit.
pub(crate) fn luhn_valid(d: &[u8]) -> bool {
    !d.is_empty() && luhn_sum(d, false).is_multiple_of(10)
}

/// The Luhn check digit to append to `d`.
#[cfg(test)]
pub(crate) fn luhn_check_digit(d: &[u8]) -> u8 {
    ((10 - luhn_sum(d, true) % 10) % 10) as u8
}

/// Remainder mod 97 of an alphanumeric string read as a number with A=10 .. Z=35 (ISO 7064
/// MOD 97-10 as used by IBAN). `None` on a non-alphanumeric byte.
pub(crate) fn mod97(b: &[u8]) -> Option<u32> {
    let mut r = 0u32;
    for &c in b {
        r = match c {
            b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (r * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return None,
        };
    }
    Some(r)
}

/// ISO 7064 MOD 11,10 check digit for digit values `d`.
pub(crate) fn iso7064_mod11_10(d: &[u8]) -> u8 {
    let mut product = 10u32;
    for &x in d {
        let mut sum = (u32::from(x) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    ((11 - product) % 10) as u8
}

const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
#[cfg(test)]
const VERHOEFF_INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/// Verhoeff accumulator; `offset` is 1 when a check digit is still to be appended.
fn verhoeff_state(d: &[u8], offset: usize) -> u8 {
    d.iter().rev().enumerate().fold(0, |c, (i, &x)| {
        VERHOEFF_D[usize::from(c)][usize::from(VERHOEFF_P[(i + offset) % 8][usize::from(x % 10)])]
    })
}

/// Verhoeff check over digit values whose last element is the check digit.
pub(crate) fn verhoeff_valid(d: &[u8]) -> bool {
    !d.is_empty() && verhoeff_state(d, 0) == 0
}

/// The Verhoeff check digit to append to `d`.
#[cfg(test)]
pub(crate) fn verhoeff_check_digit(d: &[u8]) -> u8 {
    VERHOEFF_INV[usize::from(verhoeff_state(d, 1))]
}

/// Whether `year` is a Gregorian leap year.
pub(crate) fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Days in `month` (1..=12) of `year`; 0 for an invalid month.
pub(crate) fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Whether `year-month-day` is a real Gregorian calendar date.
pub(crate) fn is_valid_date(year: u32, month: u32, day: u32) -> bool {
    day >= 1 && day <= days_in_month(year, month)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Vec<u8> {
        digits(s, &[' ']).expect("digits")
    }

    #[test]
    fn compact_strips_and_rejects() {
        assert_eq!(compact("ab-12 c", &['-', ' ']), Some(b"AB12C".to_vec()));
        assert_eq!(compact("ab_12", &['-']), None);
        assert_eq!(compact("é12", &[]), None);
        assert_eq!(compact(&"1".repeat(65), &[]), None);
        assert_eq!(digits("12a", &[]), None);
        assert_eq!(digits("", &[]), Some(vec![]));
    }

    #[test]
    fn luhn_known_and_generated() {
        assert!(luhn_valid(&d("4111 1111 1111 1111")));
        assert!(luhn_valid(&d("79927398713")));
        assert!(!luhn_valid(&d("79927398710")));
        assert!(!luhn_valid(&[]));
        assert_eq!(luhn_check_digit(&d("7992739871")), 3);
        for seed in 0..200u64 {
            let mut v: Vec<u8> = format!("{:015}", seed * 7_919_113_457)
                .bytes()
                .map(|b| b - b'0')
                .collect();
            v.push(luhn_check_digit(&v));
            assert!(luhn_valid(&v));
            let last = v.len() - 1;
            v[last] = (v[last] + 1) % 10;
            assert!(!luhn_valid(&v));
        }
    }

    #[test]
    fn mod97_matches_bignum() {
        assert_eq!(mod97(b"123456"), Some(123_456 % 97));
        assert_eq!(mod97(b"A"), Some(10));
        assert_eq!(mod97(b"1Z"), Some(135 % 97));
        assert_eq!(mod97(b"a"), None);
    }

    #[test]
    fn iso7064_known() {
        // Steuer-IdNr 65929970489 and 86095742719 are published examples.
        assert_eq!(iso7064_mod11_10(&d("6592997048")), 9);
        assert_eq!(iso7064_mod11_10(&d("8609574271")), 9);
    }

    #[test]
    fn verhoeff_known_and_generated() {
        // Textbook example: 236 → check digit 3.
        assert_eq!(verhoeff_check_digit(&d("236")), 3);
        assert!(verhoeff_valid(&d("2363")));
        assert!(!verhoeff_valid(&d("2364")));
        for seed in 0..200u64 {
            let mut v: Vec<u8> = format!("{:011}", seed * 1_234_567_891)
                .bytes()
                .map(|b| b - b'0')
                .collect();
            v.push(verhoeff_check_digit(&v));
            assert!(verhoeff_valid(&v));
            // Verhoeff catches every adjacent transposition of distinct digits.
            if v[0] != v[1] {
                v.swap(0, 1);
                assert!(!verhoeff_valid(&v));
            }
        }
    }

    #[test]
    fn calendar() {
        assert!(is_valid_date(2000, 2, 29));
        assert!(!is_valid_date(1900, 2, 29));
        assert!(is_valid_date(2024, 2, 29));
        assert!(!is_valid_date(2023, 2, 29));
        assert!(!is_valid_date(2023, 4, 31));
        assert!(!is_valid_date(2023, 13, 1));
        assert!(!is_valid_date(2023, 1, 0));
    }
}
