//! Vehicle identification numbers.

use crate::checksum::compact;

const VIN_WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// ISO 3779 transliteration of a VIN character; `None` for I, O, Q and non-alphanumerics.
fn vin_value(c: u8) -> Option<u32> {
    Some(match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => return None,
    })
}

/// Vehicle Identification Number: 17 characters without I, O or Q, whose 9th character is the
/// North American mod-11 check digit ('X' for 10).
pub fn vin(s: &str) -> bool {
    let Some(b) = compact(s, &[' ', '-']) else {
        return false;
    };
    if b.len() != 17 {
        return false;
    }
    let mut sum = 0;
    for (&c, w) in b.iter().zip(VIN_WEIGHTS) {
        let Some(v) = vin_value(c) else {
            return false;
        };
        sum += v * w;
    }
    let expected = match sum % 11 {
        10 => b'X',
        r => b'0' + r as u8,
    };
    b[8] == expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_examples() {
        for ok in [
            "1M8GDM9AXKP042788",
            "1HGCM82633A004352",
            "11111111111111111",
            "1m8gdm9axkp042788",
            "1M8GDM9-AXKP042788",
        ] {
            assert!(vin(ok), "{ok}");
        }
        for bad in [
            "1M8GDM9AYKP042788",
            "1M8GDM9A1KP042788",
            "1M8GDM9AXKP04278",
            "1M8GDM9AXKP0427888",
            "1O8GDM9AXKP042788",
            "1M8GDM9AXKP04278_",
            "",
        ] {
            assert!(!vin(bad), "{bad}");
        }
    }

    #[test]
    fn generated_check_digits() {
        let alphabet = b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ";
        for seed in 0..200usize {
            let mut b: Vec<u8> = (0..17)
                .map(|i| alphabet[(seed * 31 + i * 17 + i * i) % alphabet.len()])
                .collect();
            let sum: u32 = b
                .iter()
                .zip(VIN_WEIGHTS)
                .map(|(&c, w)| vin_value(c).expect("valid char") * w)
                .sum();
            b[8] = match sum % 11 {
                10 => b'X',
                r => b'0' + r as u8,
            };
            let s = String::from_utf8(b).expect("ascii");
            assert!(vin(&s), "{s}");
            // Weight 0 at position 9 means the check digit itself does not affect the sum.
            let wrong = if s.as_bytes()[8] == b'0' { "1" } else { "0" };
            assert!(!vin(&format!("{}{wrong}{}", &s[..8], &s[9..])));
        }
    }
}
