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

/// Letters the DVLA never uses in the given place of a registration mark.
fn letter_in(c: u8, excluded: &[u8]) -> bool {
    c.is_ascii_uppercase() && !excluded.contains(&c)
}

/// UK vehicle registration mark (DVLA): the current format `AB51 ABC` (since 2001) with a real
/// age identifier (02-29 for March, 51-79 for September registrations), or the older prefix
/// (`A123 BCD`) and suffix (`ABC 123D`) formats; I and Q never appear, Z only in the random
/// letters, and the prefix/suffix year letter is never I, O, Q, U or Z.
pub fn uk_vehicle_registration(s: &str) -> bool {
    let Some(b) = compact(s, &[' ', '-']) else {
        return false;
    };
    let year_letter = |c: u8| letter_in(c, b"IOQUZ");
    let random = |c: u8| letter_in(c, b"IQ");
    let area = |c: u8| letter_in(c, b"IQZ");
    let digits = |d: &[u8]| (1..=3).contains(&d.len()) && d.iter().all(u8::is_ascii_digit);
    match b.as_slice() {
        [a1, a2, d1, d2, r1, r2, r3]
            if a1.is_ascii_uppercase()
                && a2.is_ascii_uppercase()
                && d1.is_ascii_digit()
                && d2.is_ascii_digit() =>
        {
            let age = u32::from(d1 - b'0') * 10 + u32::from(d2 - b'0');
            area(*a1)
                && area(*a2)
                && matches!(age, 2..=29 | 51..=79)
                && [r1, r2, r3].iter().all(|&&c| random(c))
        }
        [y, rest @ ..] if year_letter(*y) && rest.len() >= 4 && digits(&rest[..rest.len() - 3]) => {
            let l = &rest[rest.len() - 3..];
            area(l[0]) && random(l[1]) && random(l[2])
        }
        [l1, l2, l3, rest @ .., y] if year_letter(*y) && digits(rest) => {
            [l1, l2, l3].iter().all(|&&c| random(c))
        }
        _ => false,
    }
}

/// UK (DVLA) driving licence number, 16 characters: the first five letters of the surname
/// (padded with 9), the decade digit of the birth year, the birth month (+50 for women), day,
/// the year digit, two initials (9 when there is none), a digit and two check letters. The
/// check letters' algorithm is not public; the structure and the birth date are checked.
pub fn uk_driving_licence(s: &str) -> bool {
    let Some(b) = compact(s, &[' ']) else {
        return false;
    };
    if b.len() != 16 {
        return false;
    }
    let surname = &b[..5];
    let letters = surname
        .iter()
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    if letters == 0 || !surname[letters..].iter().all(|&c| c == b'9') {
        return false;
    }
    let Some(d) = crate::checksum::digit_values(&b[5..11]) else {
        return false;
    };
    let month = match u32::from(d[1]) * 10 + u32::from(d[2]) {
        m @ 1..=12 => m,
        m @ 51..=62 => m - 50,
        _ => return false,
    };
    let day = u32::from(d[3]) * 10 + u32::from(d[4]);
    // Any year of the decade: 1992 is a leap year, so 29 February is accepted.
    crate::checksum::is_valid_date(1992, month, day)
        && b[11].is_ascii_uppercase()
        && (b[12].is_ascii_uppercase() || b[12] == b'9')
        && b[13].is_ascii_alphanumeric()
        && b[14].is_ascii_uppercase()
        && b[15].is_ascii_uppercase()
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
    #[test]
    fn uk_registration_marks() {
        for ok in [
            "AB51 ABC", "AB51ABC", "LK07 XYZ", "A123 BCD", "A1 BCD", "ABC 123D", "ABC1D",
        ] {
            assert!(uk_vehicle_registration(ok), "{ok}");
        }
        for bad in [
            "AB99 ABC",
            "AB00 ABC",
            "IB51 ABC",
            "AB51 QBC",
            "Q123 BCD",
            "ABC 123Z",
            "AB51 AB",
            "A1234 BCD",
        ] {
            assert!(!uk_vehicle_registration(bad), "{bad}");
        }
    }

    #[test]
    fn uk_driving_licences() {
        for ok in [
            "MORGA753116SM9IJ",
            "MORGA 753116 SM9IJ",
            "LEE99657054SM9IJ",
            "SMITH862299J99AB",
        ] {
            assert!(uk_driving_licence(ok), "{ok}");
        }
        for bad in [
            "99999753116SM9IJ",
            "MOR9A753116SM9IJ",
            "MORGA713116SM9IJ",
            "MORGA752316SM9IJ",
            "MORGA753116SM9I",
            "MORGA7531169M9IJ",
        ] {
            assert!(!uk_driving_licence(bad), "{bad}");
        }
    }
}
