//! Payment-card, bank-account and bank-routing numbers.

use crate::checksum::{compact, digits, luhn_valid, mod97, weighted_sum};

/// Payment card number: 12 to 19 digits passing Luhn. Spaces and dashes are ignored.
pub fn luhn(s: &str) -> bool {
    digits(s, &[' ', '-']).is_some_and(|d| (12..=19).contains(&d.len()) && luhn_valid(&d))
}

/// IBAN lengths from the SWIFT IBAN registry, sorted by country code.
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24), (b"AE", 23), (b"AL", 28), (b"AT", 20), (b"AZ", 28), (b"BA", 20),
    (b"BE", 16), (b"BG", 22), (b"BH", 22), (b"BI", 27), (b"BR", 29), (b"BY", 28),
    (b"CH", 21), (b"CR", 22), (b"CY", 28), (b"CZ", 24), (b"DE", 22), (b"DJ", 27),
    (b"DK", 18), (b"DO", 28), (b"EE", 20), (b"EG", 29), (b"ES", 24), (b"FI", 18),
    (b"FK", 18), (b"FO", 18), (b"FR", 27), (b"GB", 22), (b"GE", 22), (b"GI", 23),
    (b"GL", 18), (b"GR", 27), (b"GT", 28), (b"HN", 28), (b"HR", 21), (b"HU", 28),
    (b"IE", 22), (b"IL", 23), (b"IQ", 23), (b"IS", 26), (b"IT", 27), (b"JO", 30),
    (b"KW", 30), (b"KZ", 20), (b"LB", 28), (b"LC", 32), (b"LI", 21), (b"LT", 20),
    (b"LU", 20), (b"LV", 21), (b"LY", 25), (b"MC", 27), (b"MD", 24), (b"ME", 22),
    (b"MK", 19), (b"MN", 20), (b"MR", 27), (b"MT", 31), (b"MU", 30), (b"NI", 28),
    (b"NL", 18), (b"NO", 15), (b"OM", 23), (b"PK", 24), (b"PL", 28), (b"PS", 29),
    (b"PT", 25), (b"QA", 29), (b"RO", 24), (b"RS", 22), (b"RU", 33), (b"SA", 24),
    (b"SC", 31), (b"SD", 18), (b"SE", 24), (b"SI", 19), (b"SK", 24), (b"SM", 27),
    (b"SO", 23), (b"ST", 25), (b"SV", 28), (b"TL", 23), (b"TN", 24), (b"TR", 26),
    (b"UA", 29), (b"VA", 22), (b"VG", 24), (b"XK", 20), (b"YE", 30),
];

fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .binary_search_by(|(c, _)| c.as_slice().cmp(country))
        .ok()
        .and_then(|i| IBAN_LENGTHS.get(i))
        .map(|&(_, len)| len)
}

/// IBAN (ISO 13616): registered country, that country's length, and mod-97 == 1. Spaces are
/// ignored and letters may be lower case.
pub fn iban(s: &str) -> bool {
    let Some(b) = compact(s, &[' ']) else {
        return false;
    };
    if b.len() < 5 || !b[..2].iter().all(u8::is_ascii_uppercase) {
        return false;
    }
    if iban_length(&b[..2]) != Some(b.len()) || !b[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    // Valid check digits are 02..=98; 00, 01 and 99 alias 97, 98 and 02 under mod 97.
    let check = (b[2] - b'0') * 10 + (b[3] - b'0');
    if !(2..=98).contains(&check) {
        return false;
    }
    let rotated: Vec<u8> = b[4..].iter().chain(&b[..4]).copied().collect();
    mod97(&rotated) == Some(1)
}

/// US ABA routing transit number: 9 digits, weights 3-7-1 sum to a multiple of 10, and a
/// Federal Reserve prefix (00-12, 21-32, 61-72 or 80).
pub fn aba_routing(s: &str) -> bool {
    let Some(d) = digits(s, &[' ', '-']) else {
        return false;
    };
    if d.len() != 9 || d.iter().all(|&x| x == 0) {
        return false;
    }
    let prefix = d[0] * 10 + d[1];
    matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80)
        && weighted_sum(&d, &[3, 7, 1, 3, 7, 1, 3, 7, 1]).is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::luhn_check_digit;

    #[test]
    fn luhn_cards() {
        for ok in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5555555555554444",
            "378282246310005",
            "6011111111111117",
            "3530111333300000",
            "4222222222222",
        ] {
            assert!(luhn(ok), "{ok}");
        }
        for bad in [
            "4111 1111 1111 1112",
            "41111111111",
            "41111111111111111111",
            "4111a111111111111",
            "4111_1111_1111_1111",
            "",
            "１１１１１１１１１１１１",
        ] {
            assert!(!luhn(bad), "{bad}");
        }
    }

    #[test]
    fn luhn_generated() {
        for len in 11..=18usize {
            let mut d: Vec<u8> = (0..len).map(|i| ((i * 7 + len) % 10) as u8).collect();
            d.push(luhn_check_digit(&d));
            let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
            assert!(luhn(&s), "{s}");
        }
    }

    #[test]
    fn iban_known() {
        for ok in [
            "GB82 WEST 1234 5698 7654 32",
            "GB82WEST12345698765432",
            "gb82west12345698765432",
            "DE89 3704 0044 0532 0130 00",
            "FR14 2004 1010 0505 0001 3M02 606",
            "NL91ABNA0417164300",
            "BE68539007547034",
            "NO9386011117947",
            "CH9300762011623852957",
            "SA0380000000608010167519",
            "LC55HEMM000100010012001200023015",
            "RU0204452560040702810412345678901",
        ] {
            assert!(iban(ok), "{ok}");
        }
        for bad in [
            "GB82 WEST 1234 5698 7654 33",
            "GB82WEST1234569876543",
            "XX82WEST12345698765432",
            "US64SVBKUS6S3300958879",
            "DE89-3704-0044-0532-0130-00",
            "",
            "GB",
            "1282WEST12345698765432",
        ] {
            assert!(!iban(bad), "{bad}");
        }
    }

    #[test]
    fn iban_generated_for_every_country() {
        assert!(
            IBAN_LENGTHS.windows(2).all(|w| w[0].0 < w[1].0),
            "table sorted"
        );
        for (country, len) in IBAN_LENGTHS {
            let bban: Vec<u8> = (0..len - 4).map(|i| b'0' + (i % 10) as u8).collect();
            let mut probe = bban.clone();
            probe.extend_from_slice(&country[..]);
            probe.extend_from_slice(b"00");
            let check = 98 - mod97(&probe).expect("alnum");
            let cc = String::from_utf8_lossy(&country[..]);
            let b = String::from_utf8_lossy(&bban);
            let good = format!("{cc}{check:02}{b}");
            assert!(iban(&good), "{good}");
            let wrong = format!("{cc}{:02}{b}", if check == 98 { 2 } else { check + 1 });
            assert!(!iban(&wrong), "{wrong}");
            assert!(!iban(&format!("{good}0")), "too long {good}");
        }
    }

    #[test]
    fn iban_alias_check_digits_rejected() {
        // GB82... with check digits replaced by an alias that still satisfies mod 97.
        let b = "WEST12345698765432";
        for cd in 0..=99u32 {
            let s = format!("GB{cd:02}{b}");
            assert_eq!(iban(&s), cd == 82, "{s}");
        }
    }

    #[test]
    fn aba() {
        for ok in [
            "011000015",
            "021000021",
            "121000358",
            "322271627",
            "011-000-015",
        ] {
            assert!(aba_routing(ok), "{ok}");
        }
        for bad in [
            "011000016",
            "000000000",
            "01100001",
            "0110000155",
            "O11000015",
        ] {
            assert!(!aba_routing(bad), "{bad}");
        }
        // 136000000 passes the checksum but 13 is no Federal Reserve prefix.
        assert_eq!(
            weighted_sum(&[1, 3, 6, 0, 0, 0, 0, 0, 0], &[3, 7, 1, 3, 7, 1, 3, 7, 1]) % 10,
            0
        );
        assert!(!aba_routing("136000000"));
    }
}
