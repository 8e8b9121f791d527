//! National identity, tax and health-insurance numbers.

use crate::checksum::{
    compact, digit_values, digits, is_valid_date, iso7064_mod11_10, luhn_valid, number,
    verhoeff_valid, weighted_sum,
};

/// Separators people put inside id numbers.
const SEP: &[char] = &[' ', '-', '.', '/'];

/// Digits of `s` (separators in `seps` ignored) if there are exactly `len` of them.
fn fixed_digits(s: &str, seps: &[char], len: usize) -> Option<Vec<u8>> {
    digits(s, seps).filter(|d| d.len() == len)
}

fn two(d: &[u8]) -> u32 {
    u32::from(d[0]) * 10 + u32::from(d[1])
}

/// US Social Security number: area not 000, 666 or 9xx, group not 00, serial not 0000, and
/// not one of the numbers famously printed on sample cards.
pub fn us_ssn(s: &str) -> bool {
    // Dots too: "078.05.1120" is a form people write (the detector keeps one separator kind).
    let Some(d) = fixed_digits(s, &[' ', '-', '.'], 9) else {
        return false;
    };
    let (area, group, serial) = (number(&d[..3]), number(&d[3..5]), number(&d[5..]));
    let sample = matches!((area, group, serial), (78, 5, 1120) | (219, 9, 9999));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && !sample
}

/// US Individual Taxpayer Identification Number: 9xx-GG-xxxx with GG in the IRS ranges.
pub fn us_itin(s: &str) -> bool {
    fixed_digits(s, &[' ', '-', '.'], 9).is_some_and(|d| {
        d[0] == 9 && matches!(two(&d[3..5]), 50..=65 | 70..=88 | 90..=92 | 94..=99)
    })
}

/// UK National Insurance number: two prefix letters, six digits, suffix A-D.
pub fn uk_nino(s: &str) -> bool {
    let Some(b) = compact(s, &[' ', '-']) else {
        return false;
    };
    let [p1, p2, rest @ .., suffix] = b.as_slice() else {
        return false;
    };
    rest.len() == 6
        && rest.iter().all(u8::is_ascii_digit)
        && p1.is_ascii_uppercase()
        && p2.is_ascii_uppercase()
        && !b"DFIQUV".contains(p1)
        && !b"DFIOQUV".contains(p2)
        && !matches!(
            &b[..2],
            b"BG" | b"GB" | b"NK" | b"KN" | b"TN" | b"NT" | b"ZZ"
        )
        && (b'A'..=b'D').contains(suffix)
}

/// NHS number (England, Wales, Isle of Man): 10 digits, mod-11 check digit.
pub fn uk_nhs(s: &str) -> bool {
    let Some(d) = fixed_digits(s, &[' ', '-'], 10) else {
        return false;
    };
    let check = match 11 - weighted_sum(&d, &[10, 9, 8, 7, 6, 5, 4, 3, 2]) % 11 {
        11 => 0,
        10 => return false,
        c => c,
    };
    u32::from(d[9]) == check
}

const DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

fn dni_letter_ok(d: &[u8], letter: u8) -> bool {
    DNI_LETTERS[(number(d) % 23) as usize] == letter
}

/// Spanish DNI / NIF of a person: 8 digits (7 when the leading zero is left out) and the mod-23
/// control letter; also the K, L and M NIFs (Spaniards without a DNI: minors, residents abroad),
/// a letter, 7 digits and the same control letter computed on the 7 digits.
pub fn es_dni(s: &str) -> bool {
    let Some(b) = compact(s, SEP) else {
        return false;
    };
    let [body @ .., letter] = b.as_slice() else {
        return false;
    };
    let (body, lengths) = match body.first() {
        Some(b'K' | b'L' | b'M') => (&body[1..], 7..=7),
        _ => (body, 7..=8),
    };
    lengths.contains(&body.len()) && digit_values(body).is_some_and(|d| dni_letter_ok(&d, *letter))
}

/// Spanish NIE: X, Y or Z (read as 0, 1, 2), 7 digits, and the DNI control letter.
pub fn es_nie(s: &str) -> bool {
    let Some(b) = compact(s, SEP) else {
        return false;
    };
    let [prefix, body @ .., letter] = b.as_slice() else {
        return false;
    };
    let Some(lead) = b"XYZ".iter().position(|c| c == prefix) else {
        return false;
    };
    body.len() == 7
        && digit_values(body).is_some_and(|mut d| {
            d.insert(0, lead as u8);
            dni_letter_ok(&d, *letter)
        })
}

/// Value of an odd-position (1-based) character in the codice fiscale check; indexed by the
/// character's ordinary value (digit value, or A=0 .. Z=25).
const CF_ODD: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];
/// Letters that replace digits 0-9 in numeric positions when codes collide (omocodia).
const CF_OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";

/// Italian codice fiscale: 16 characters with a valid shape (omocodia letters accepted in the
/// numeric positions), a plausible birth day, and the odd/even-table check character.
pub fn it_codice_fiscale(s: &str) -> bool {
    let Some(b) = compact(s, &[' ']) else {
        return false;
    };
    if b.len() != 16 {
        return false;
    }
    let numeric = |i: usize| -> Option<u8> {
        let c = b[i];
        if c.is_ascii_digit() {
            Some(c - b'0')
        } else {
            CF_OMOCODIA.iter().position(|&o| o == c).map(|p| p as u8)
        }
    };
    let letters_ok = [0, 1, 2, 3, 4, 5, 11, 15]
        .iter()
        .all(|&i| b[i].is_ascii_uppercase());
    let numbers: Option<Vec<u8>> = [6, 7, 9, 10, 12, 13, 14]
        .iter()
        .map(|&i| numeric(i))
        .collect();
    let Some(n) = numbers else {
        return false;
    };
    // Women's codes add 40 to the day.
    let day = u32::from(n[2]) * 10 + u32::from(n[3]);
    if !letters_ok || !b"ABCDEHLMPRST".contains(&b[8]) || !matches!(day, 1..=31 | 41..=71) {
        return false;
    }
    let sum: u32 = b[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let v = if c.is_ascii_digit() {
                c - b'0'
            } else {
                c - b'A'
            };
            if i % 2 == 0 {
                CF_ODD[usize::from(v)]
            } else {
                u32::from(v)
            }
        })
        .sum();
    b[15] == b'A' + (sum % 26) as u8
}

/// French NIR (numéro de sécurité sociale): 13 characters plus a 2-digit key equal to
/// 97 - (number mod 97). Corsican departments 2A/2B count as 19/18 in the key.
pub fn fr_nir(s: &str) -> bool {
    let Some(mut b) = compact(s, &[' ', '-', '.']) else {
        return false;
    };
    if b.len() != 15 {
        return false;
    }
    match &b[5..7] {
        b"2A" => b[5..7].copy_from_slice(b"19"),
        b"2B" => b[5..7].copy_from_slice(b"18"),
        _ => {}
    }
    let Some(d) = digit_values(&b) else {
        return false;
    };
    // 1/2: men/women; 3/4 and 7/8: provisional numbers.
    matches!(d[0], 1 | 2 | 3 | 4 | 7 | 8) && 97 - number(&d[..13]) % 97 == number(&d[13..])
}

/// Dutch BSN: 9 digits passing the "11-proef" (weights 9..2 and -1 for the last digit).
pub fn nl_bsn(s: &str) -> bool {
    let Some(d) = fixed_digits(s, SEP, 9) else {
        return false;
    };
    let sum = weighted_sum(&d, &[9, 8, 7, 6, 5, 4, 3, 2]);
    // The last digit has weight -1; adding 110 (≡ 0 mod 11) keeps the arithmetic unsigned.
    d.iter().any(|&x| x != 0) && (sum + 110 - u32::from(d[8])).is_multiple_of(11)
}

/// Belgian national register number: YYMMDD-SSS-CC with CC = 97 - (first 9 mod 97), where
/// people born from 2000 on have a '2' prefixed to the first 9 digits.
pub fn be_national_number(s: &str) -> bool {
    let Some(d) = fixed_digits(s, SEP, 11) else {
        return false;
    };
    // Month may carry +20/+40 for BIS numbers; 0 means an unknown birth date.
    let month_ok = matches!(two(&d[2..4]), 0..=12 | 20..=32 | 40..=52) && two(&d[4..6]) <= 31;
    let (base, check) = (number(&d[..9]), number(&d[9..]));
    month_ok && (97 - base % 97 == check || 97 - (2_000_000_000 + base) % 97 == check)
}

/// Polish PESEL: 11 digits, a real birth date (century encoded in the month), and the
/// 1-3-7-9 check digit.
pub fn pl_pesel(s: &str) -> bool {
    let Some(d) = fixed_digits(s, &[' ', '-'], 11) else {
        return false;
    };
    let (yy, mm, dd) = (two(&d[..2]), two(&d[2..4]), two(&d[4..6]));
    let (century, month) = match mm {
        81..=92 => (1800, mm - 80),
        1..=12 => (1900, mm),
        21..=32 => (2000, mm - 20),
        41..=52 => (2100, mm - 40),
        61..=72 => (2200, mm - 60),
        _ => return false,
    };
    let sum = weighted_sum(&d, &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]);
    is_valid_date(century + yy, month, dd) && (10 - sum % 10) % 10 == u32::from(d[10])
}

/// Swedish personnummer or samordningsnummer: YYMMDD-NNNC or YYYYMMDD-NNNC ('+' also allowed
/// as separator), a real date (day + 60 for samordningsnummer), Luhn over the 10-digit form.
pub fn se_personnummer(s: &str) -> bool {
    let Some(d) = digits(s, &[' ', '-', '+']) else {
        return false;
    };
    let (date, ten) = match d.len() {
        10 => (&d[..6], &d[..]),
        12 => (&d[2..8], &d[2..]),
        _ => return false,
    };
    let year = if d.len() == 12 {
        two(&d[..2]) * 100 + two(&d[2..4])
    } else {
        // Century unknown: 2000 + yy is a leap year exactly when either 19yy or 20yy is.
        2000 + two(&d[..2])
    };
    let day = match two(&date[4..6]) {
        61..=91 => two(&date[4..6]) - 60,
        dd => dd,
    };
    (1800..=2099).contains(&year) && is_valid_date(year, two(&date[2..4]), day) && luhn_valid(ten)
}

const HETU_CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";

/// Finnish henkilötunnus: DDMMYY, century sign, 3-digit individual number, mod-31 check char.
pub fn fi_hetu(s: &str) -> bool {
    let b: Vec<u8> = s.bytes().map(|c| c.to_ascii_uppercase()).collect();
    let [date @ .., sign, i1, i2, i3, check] = b.as_slice() else {
        return false;
    };
    let century = match sign {
        b'+' => 1800,
        b'-' | b'Y' | b'X' | b'W' | b'V' | b'U' => 1900,
        b'A'..=b'F' => 2000,
        _ => return false,
    };
    if date.len() != 6 {
        return false;
    }
    let Some(d) = digit_values(date) else {
        return false;
    };
    let Some(ind) = digit_values(&[*i1, *i2, *i3]) else {
        return false;
    };
    let year = century + two(&d[4..]);
    // Individual numbers 000 and 001 are never issued.
    let n = number(&d) * 1000 + number(&ind);
    number(&ind) >= 2
        && is_valid_date(year, two(&d[2..4]), two(&d[..2]))
        && HETU_CHECK[(n % 31) as usize] == *check
}

/// Portuguese NIF: 9 digits, an allocated leading digit or prefix, and a mod-11 check digit.
pub fn pt_nif(s: &str) -> bool {
    let Some(d) = fixed_digits(s, SEP, 9) else {
        return false;
    };
    let prefix_ok = matches!(d[0], 1 | 2 | 3 | 5 | 6 | 8 | 9)
        || matches!(two(&d[..2]), 45 | 70 | 71 | 72 | 74 | 75 | 77 | 79);
    let check = match weighted_sum(&d, &[9, 8, 7, 6, 5, 4, 3, 2]) % 11 {
        0 | 1 => 0,
        r => 11 - r,
    };
    prefix_ok && u32::from(d[8]) == check
}

/// German Steuerliche Identifikationsnummer: 11 digits, no leading 0, exactly one digit repeated
/// (2 or 3 times, never 3 in a row) among the first 10, and an ISO 7064 MOD 11,10 check digit.
pub fn de_tax_id(s: &str) -> bool {
    let Some(d) = fixed_digits(s, SEP, 11) else {
        return false;
    };
    let body = &d[..10];
    let mut counts = [0u8; 10];
    for &x in body {
        counts[usize::from(x)] += 1;
    }
    let repeated: Vec<usize> = (0..10).filter(|&x| counts[x] > 1).collect();
    let freq_ok = match repeated.as_slice() {
        [x] => {
            counts[*x] <= 3
                && !body
                    .windows(3)
                    .any(|w| w.iter().all(|&y| usize::from(y) == *x))
        }
        _ => false,
    };
    d[0] != 0 && freq_ok && iso7064_mod11_10(body) == d[10]
}

const PPSN_LETTERS: &[u8; 23] = b"WABCDEFGHIJKLMNOPQRSTUV";

/// Irish PPS number: 7 digits, a mod-23 check letter, and an optional second letter that also
/// enters the checksum (weight 9).
pub fn ie_ppsn(s: &str) -> bool {
    let Some(b) = compact(s, &[' ', '-']) else {
        return false;
    };
    if !(8..=9).contains(&b.len()) {
        return false;
    }
    let Some(d) = digit_values(&b[..7]) else {
        return false;
    };
    let second = match b.get(8) {
        None => 0,
        Some(c) => match PPSN_LETTERS.iter().position(|l| l == c) {
            Some(v) => v as u32,
            None => return false,
        },
    };
    let sum = weighted_sum(&d, &[8, 7, 6, 5, 4, 3, 2]) + 9 * second;
    PPSN_LETTERS[(sum % 23) as usize] == b[7]
}

/// Canadian Social Insurance Number: 9 digits passing Luhn, not starting with 0 or 8.
pub fn ca_sin(s: &str) -> bool {
    fixed_digits(s, &[' ', '-'], 9).is_some_and(|d| d[0] != 0 && d[0] != 8 && luhn_valid(&d))
}

/// Australian Tax File Number: 9 digits (or the older 8) whose weighted sum is divisible by 11.
pub fn au_tfn(s: &str) -> bool {
    let Some(d) = digits(s, &[' ', '-']) else {
        return false;
    };
    let weights: &[u32] = match d.len() {
        9 => &[1, 4, 3, 7, 5, 8, 6, 9, 10],
        8 => &[10, 7, 8, 4, 6, 3, 5, 1],
        _ => return false,
    };
    d.iter().any(|&x| x != 0) && weighted_sum(&d, weights).is_multiple_of(11)
}

/// Australian Medicare card number: 10 digits (11 with the individual reference number),
/// first digit 2-6, 9th digit the weighted check of the first 8.
pub fn au_medicare(s: &str) -> bool {
    let Some(d) = digits(s, &[' ', '-', '/']) else {
        return false;
    };
    (10..=11).contains(&d.len())
        && (2..=6).contains(&d[0])
        && weighted_sum(&d, &[1, 3, 7, 9, 1, 3, 7, 9]) % 10 == u32::from(d[8])
}

/// Indian Aadhaar number: 12 digits, first not 0 or 1, Verhoeff checksum.
pub fn in_aadhaar(s: &str) -> bool {
    fixed_digits(s, &[' ', '-'], 12).is_some_and(|d| d[0] > 1 && verhoeff_valid(&d))
}

/// Singapore NRIC/FIN: S, T, F, G or M, 7 digits, and the series' check letter.
pub fn sg_nric(s: &str) -> bool {
    let Some(b) = compact(s, &[' ', '-']) else {
        return false;
    };
    let [prefix, body @ .., check] = b.as_slice() else {
        return false;
    };
    let Some(d) = digit_values(body).filter(|d| d.len() == 7) else {
        return false;
    };
    let sum = weighted_sum(&d, &[2, 7, 6, 5, 4, 3, 2]);
    let r = |offset: u32| ((sum + offset) % 11) as usize;
    let expected = match prefix {
        b'S' => b"JZIHGFEDCBA"[r(0)],
        b'T' => b"JZIHGFEDCBA"[r(4)],
        b'F' => b"XWUTRQPNMLK"[r(0)],
        b'G' => b"XWUTRQPNMLK"[r(4)],
        // ICA publishes the M series table in ascending order of 11 - remainder.
        b'M' => b"KLJNPQRTUWX"[10 - r(3)],
        _ => return false,
    };
    expected == *check
}

/// Brazilian CPF: 11 digits with two mod-11 check digits; all-same-digit numbers rejected.
pub fn br_cpf(s: &str) -> bool {
    let Some(d) = fixed_digits(s, SEP, 11) else {
        return false;
    };
    let check = |n: usize| {
        let sum: u32 = (0..n)
            .map(|i| u32::from(d[i]) * (n as u32 + 1 - i as u32))
            .sum();
        (sum * 10 % 11 % 10) as u8
    };
    d.iter().any(|&x| x != d[0]) && check(9) == d[9] && check(10) == d[10]
}

/// US National Provider Identifier: 10 digits starting 1 or 2, Luhn over "80840" + the number.
pub fn us_npi(s: &str) -> bool {
    let Some(d) = fixed_digits(s, &[' ', '-'], 10) else {
        return false;
    };
    let mut full = vec![8, 0, 8, 4, 0];
    full.extend_from_slice(&d);
    matches!(d[0], 1 | 2) && luhn_valid(&full)
}

/// Cross sum of a product of two digits (at most 9 × 9 = 81, so two digits at most).
fn cross(x: u32) -> u32 {
    x / 10 + x % 10
}

/// German statutory health-insurance number (Krankenversichertennummer, KVNR, § 290 SGB V):
/// a letter, 8 digits and a check digit. The letter counts as its two-digit position (A = 01);
/// with the 8 digits that makes 10 digits, weighted 1, 2, 1, 2, …; the cross sums of the
/// products, summed, mod 10 give the check digit.
pub fn de_kvnr(s: &str) -> bool {
    let Some(b) = compact(s, &[' ']) else {
        return false;
    };
    let [letter, rest @ ..] = b.as_slice() else {
        return false;
    };
    let Some(d) = digit_values(rest).filter(|d| d.len() == 9) else {
        return false;
    };
    if !letter.is_ascii_uppercase() {
        return false;
    }
    let pos = u32::from(letter - b'A' + 1);
    let eff = [pos / 10, pos % 10]
        .into_iter()
        .chain(d[..8].iter().map(|&x| u32::from(x)));
    let sum: u32 = eff
        .enumerate()
        .map(|(i, x)| cross(x * if i % 2 == 0 { 1 } else { 2 }))
        .sum();
    sum % 10 == u32::from(d[8])
}

/// German VAT id (Umsatzsteuer-Identifikationsnummer): `DE`, 8 digits and an ISO 7064
/// MOD 11,10 check digit over them (the Bundeszentralamt für Steuern's scheme).
pub fn de_vat_id(s: &str) -> bool {
    let Some(b) = compact(s, SEP) else {
        return false;
    };
    let Some(rest) = b.strip_prefix(b"DE") else {
        return false;
    };
    digit_values(rest)
        .is_some_and(|d| d.len() == 9 && d[0] != 0 && iso7064_mod11_10(&d[..8]) == d[8])
}

/// German pension / social-insurance number (Rentenversicherungsnummer, VKVV § 4): area (2
/// digits), birth day (01-31, or +50), month, year, the first letter of the birth name, a 2-digit
/// serial and a check digit: with the letter as its two-digit position, the 12 digits weighted
/// 2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1, cross sums summed, mod 10.
pub fn de_rvnr(s: &str) -> bool {
    let Some(b) = compact(s, &[' ']) else {
        return false;
    };
    if b.len() != 12 || !b[8].is_ascii_uppercase() {
        return false;
    }
    let (Some(head), Some(tail)) = (digit_values(&b[..8]), digit_values(&b[9..])) else {
        return false;
    };
    let (day, month) = (two(&head[2..4]), two(&head[4..6]));
    if !(matches!(day, 1..=31 | 51..=81) && (1..=12).contains(&month)) {
        return false;
    }
    let pos = b[8] - b'A' + 1;
    let eff: Vec<u8> = head
        .iter()
        .copied()
        .chain([pos / 10, pos % 10])
        .chain(tail[..2].iter().copied())
        .collect();
    let sum: u32 = eff
        .iter()
        .zip([2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1])
        .map(|(&x, w)| cross(u32::from(x) * w))
        .sum();
    sum % 10 == u32::from(tail[2])
}

/// German lifelong physician number (lebenslange Arztnummer, LANR): 9 digits; the 7th is the
/// check digit over the first six (weights 4, 9, 4, 9, 4, 9; 10 - sum mod 10), the last two
/// the specialty group.
pub fn de_lanr(s: &str) -> bool {
    let Some(d) = fixed_digits(s, SEP, 9) else {
        return false;
    };
    let sum = weighted_sum(&d, &[4, 9, 4, 9, 4, 9]);
    d[..6].iter().any(|&x| x != 0) && (10 - sum % 10) % 10 == u32::from(d[6])
}

/// Italian VAT number (partita IVA), optionally prefixed `IT`: 11 digits, a tax-office code
/// (digits 8-10) of 001-100, 120, 121, 888 or 999, and a Luhn check digit.
pub fn it_vat(s: &str) -> bool {
    let Some(b) = compact(s, &[' ', '-', '_', '.']) else {
        return false;
    };
    let body = b.strip_prefix(b"IT").unwrap_or(&b);
    let Some(d) = digit_values(body).filter(|d| d.len() == 11) else {
        return false;
    };
    let office = number(&d[7..10]);
    d[..7].iter().any(|&x| x != 0)
        && matches!(office, 1..=100 | 120 | 121 | 888 | 999)
        && luhn_valid(&d)
}

/// US DEA registration number: a registrant-type letter, a second letter (the registrant's
/// initial, or 9), and 7 digits whose last is (d1 + d3 + d5 + 2·(d2 + d4 + d6)) mod 10.
pub fn us_dea(s: &str) -> bool {
    let Some(b) = compact(s, &[' ', '-']) else {
        return false;
    };
    if b.len() != 9 || !b"ABCDEFGHJKLMPRSTUX".contains(&b[0]) {
        return false;
    }
    if !(b[1].is_ascii_uppercase() || b[1] == b'9') {
        return false;
    }
    let Some(d) = digit_values(&b[2..]) else {
        return false;
    };
    let odd = u32::from(d[0]) + u32::from(d[2]) + u32::from(d[4]);
    let even = u32::from(d[1]) + u32::from(d[3]) + u32::from(d[5]);
    d[..6].iter().any(|&x| x != 0) && (odd + 2 * even) % 10 == u32::from(d[6])
}

/// Swedish organisationsnummer: 10 digits (or 12 with the `16` prefix), a group digit 1-9, a
/// third digit of at least 2 (which keeps it apart from a personnummer's month), Luhn check.
pub fn se_organisationsnummer(s: &str) -> bool {
    let Some(mut d) = digits(s, &[' ', '-']) else {
        return false;
    };
    if d.len() == 12 && d[..2] == [1, 6] {
        d.drain(..2);
    }
    d.len() == 10 && d[0] != 0 && d[2] >= 2 && luhn_valid(&d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::{luhn_check_digit, verhoeff_check_digit};

    fn to_str(d: &[u8]) -> String {
        d.iter().map(|x| char::from(b'0' + x)).collect()
    }

    /// Deterministic digit strings for generated cases.
    fn pseudo_digits(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((x >> 33) % 10) as u8
            })
            .collect()
    }

    fn check_all(f: fn(&str) -> bool, ok: &[&str], bad: &[&str]) {
        for s in ok {
            assert!(f(s), "expected valid: {s}");
        }
        for s in bad {
            assert!(!f(s), "expected invalid: {s}");
        }
    }

    #[test]
    fn ssn() {
        check_all(
            us_ssn,
            &[
                "123-45-6789",
                "123 45 6789",
                "123456789",
                // Dotted, as Presidio and many forms accept it (the detector keeps one
                // separator kind throughout).
                "123.45.6789",
                "899-99-9999",
                "001-01-0001",
            ],
            &[
                "000-12-3456",
                "666-12-3456",
                "900-12-3456",
                "999-99-9999",
                "123-00-4567",
                "123-45-0000",
                "078-05-1120",
                "219-09-9999",
                "12345678",
                "1234567890",
                "12a-45-6789",
                "",
            ],
        );
    }

    #[test]
    fn itin() {
        check_all(
            us_itin,
            &[
                "912-50-1234",
                "912-65-1234",
                "912 70 1234",
                "900881234",
                "999-92-1234",
                "999-94-1234",
            ],
            &[
                "912-49-1234",
                "912-66-1234",
                "912-89-1234",
                "912-93-1234",
                "812-70-1234",
                "912-70-123",
            ],
        );
    }

    #[test]
    fn nino() {
        check_all(
            uk_nino,
            &[
                "AB123456C",
                "AB 12 34 56 C",
                "ab123456d",
                "JG123456B",
                "OA123456A",
            ],
            &[
                "DA123456A",
                "FA123456A",
                "AO123456A",
                "AD123456A",
                "GB123456A",
                "BG123456A",
                "NK123456A",
                "KN123456A",
                "TN123456A",
                "NT123456A",
                "ZZ123456A",
                "AB123456E",
                "AB12345C",
                "AB1234567C",
                "A1123456C",
                "AB123456",
            ],
        );
    }

    #[test]
    fn nhs() {
        check_all(
            uk_nhs,
            &["943 476 5919", "9434765919", "401-023-2137"],
            &["9434765918", "943476591", "94347659190", "943476591X"],
        );
        // 4010232137 → check 7. Digits summing to remainder 1 need check 10: never valid.
        let mut found_ten = false;
        for seed in 0..300 {
            let d = pseudo_digits(seed, 9);
            let r = 11 - weighted_sum(&d, &[10, 9, 8, 7, 6, 5, 4, 3, 2]) % 11;
            let valid: Vec<String> = (0..10)
                .map(|c| format!("{}{c}", to_str(&d)))
                .filter(|s| uk_nhs(s))
                .collect();
            match r {
                10 => {
                    found_ten = true;
                    assert!(valid.is_empty());
                }
                11 => assert_eq!(valid, vec![format!("{}0", to_str(&d))]),
                c => assert_eq!(valid, vec![format!("{}{c}", to_str(&d))]),
            }
        }
        assert!(found_ten);
    }

    #[test]
    fn dni_nie() {
        check_all(
            es_dni,
            &[
                "12345678Z",
                "12345678-Z",
                "12.345.678-Z",
                "00000000T",
                "12345678z",
            ],
            &[
                "12345678A",
                "1234567Z",
                "123456789Z",
                "X1234567L",
                "12345678",
            ],
        );
        check_all(
            es_nie,
            &["X1234567L", "X-1234567-L", "Y1234567X", "Z1234567R"],
            &["X1234567A", "A1234567L", "X123456L", "12345678Z"],
        );
        for seed in 0..100 {
            let d = pseudo_digits(seed, 8);
            let letter = char::from(DNI_LETTERS[(number(&d) % 23) as usize]);
            assert!(es_dni(&format!("{}{letter}", to_str(&d))));
            let other = if letter == 'T' { 'R' } else { 'T' };
            assert!(!es_dni(&format!("{}{other}", to_str(&d))));
        }
    }

    /// Independent implementation of the codice fiscale check char from the published tables.
    fn cf_check(body: &str) -> char {
        let odd = "BAKPLCQDREVOSFTGUHMINJWZYX";
        let sum: usize = body
            .chars()
            .enumerate()
            .map(|(i, c)| {
                let v = c.to_digit(36).expect("alnum") as usize;
                let v = if c.is_ascii_digit() { v } else { v - 10 };
                if i % 2 == 0 {
                    // Odd-table position of the letter with the same ordinal value.
                    let letter = char::from(b'A' + v as u8);
                    odd.find(letter).expect("letter")
                } else {
                    v
                }
            })
            .sum();
        char::from(b'A' + (sum % 26) as u8)
    }

    #[test]
    fn codice_fiscale() {
        check_all(
            it_codice_fiscale,
            // Mario Rossi, the usual published example; omocodic variants are generated below.
            &["RSSMRA85T10A562S", "rssmra85t10a562s", "RSSMRA 85T10 A562S"],
            &[
                "RSSMRA85T10A562T",
                "RSSMRA85T10A562",
                "RSSMRA85Z10A562S",
                "RSSMRA85T32A562S",
                "1SSMRA85T10A562S",
            ],
        );
        assert_eq!(cf_check("RSSMRA85T10A562"), 'S');
        for body in [
            "RSSMRA85T10A56N",
            "RSSMRAURT1LA5QN",
            "BNCLRA90A41H501",
            "VRDGPP13R10B293",
        ] {
            let good = format!("{body}{}", cf_check(body));
            assert!(it_codice_fiscale(&good), "{good}");
        }
    }

    fn nir_key(thirteen: &str) -> u64 {
        let n: u64 = thirteen
            .replace("2A", "19")
            .replace("2B", "18")
            .parse()
            .expect("digits");
        97 - n % 97
    }

    #[test]
    fn nir() {
        // Commonly cited examples (keys 38 and 46).
        check_all(
            fr_nir,
            &[
                "2 55 08 14 168 025 38",
                "255081416802538",
                "1 84 12 76 451 089 46",
            ],
            &[
                "2 55 08 14 168 025 39",
                "5 55 08 14 168 025 38",
                "25508141680253",
                "2550814168025380",
            ],
        );
        for body in ["185022A123456", "299072B543210", "1850275123456"] {
            let good = format!("{body}{:02}", nir_key(body));
            assert!(fr_nir(&good), "{good}");
        }
        // A key computed as if 2A were department 20 must fail.
        let corsica = "185022A123456";
        let wrong = format!("{corsica}{:02}", nir_key(&corsica.replace("2A", "20")));
        assert!(!fr_nir(&wrong));
    }

    #[test]
    fn bsn() {
        check_all(
            nl_bsn,
            &["111222333", "123456782", "1112.22.333"],
            &[
                "111222334",
                "123456789",
                "000000000",
                "11122233",
                "1112223333",
            ],
        );
    }

    fn be_check(first9: u64, after_2000: bool) -> u64 {
        97 - (if after_2000 {
            2_000_000_000 + first9
        } else {
            first9
        }) % 97
    }

    #[test]
    fn belgium() {
        let good = format!("85.07.30-033.{:02}", be_check(850_730_033, false));
        assert!(be_national_number(&good), "{good}");
        let good2 = format!("010203456{:02}", be_check(10_203_456, true));
        assert!(be_national_number(&good2), "{good2}");
        for seed in 0..50 {
            let mut d = pseudo_digits(seed, 9);
            (d[2], d[3], d[4]) = (0, 1 + d[3] % 9, d[4] % 3);
            let n = number(&d);
            let valid: Vec<u64> = (0..100)
                .filter(|c| be_national_number(&format!("{}{c:02}", to_str(&d))))
                .collect();
            let mut expected = vec![be_check(n, false), be_check(n, true)];
            expected.sort_unstable();
            expected.dedup();
            assert_eq!(valid, expected);
        }
        // The example number used on Wikipedia (93.05.18-223.61).
        check_all(
            be_national_number,
            &["93051822361"],
            &["93051822362", "93151822361", "9305182236"],
        );
    }

    #[test]
    fn pesel() {
        check_all(
            pl_pesel,
            &["44051401359", "02070803628", "02270803624"],
            &[
                "44051401358",
                "44053201359",
                "4405140135",
                "44051401359 0",
                "44150101350",
            ],
        );
        for (yy, mm, dd) in [(0u32, 22u32, 29u32), (99, 12, 31), (50, 82, 1), (1, 41, 15)] {
            let mut d: Vec<u8> = format!("{yy:02}{mm:02}{dd:02}1234")
                .bytes()
                .map(|b| b - b'0')
                .collect();
            let sum = weighted_sum(&d, &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]);
            d.push(((10 - sum % 10) % 10) as u8);
            assert!(pl_pesel(&to_str(&d)), "{}", to_str(&d));
        }
        // 1900-02-29 is not a date; 2000-02-29 is.
        let mut d: Vec<u8> = "0002291234".bytes().map(|b| b - b'0').collect();
        let sum = weighted_sum(&d, &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]);
        d.push(((10 - sum % 10) % 10) as u8);
        assert!(!pl_pesel(&to_str(&d)));
    }

    #[test]
    fn personnummer() {
        check_all(
            se_personnummer,
            &[
                "811228-9874",
                "8112289874",
                "19811228-9874",
                "198112289874",
                "811228+9874",
                "701063-2391",
            ],
            &[
                "811228-9875",
                "811328-9874",
                "811232-9874",
                "81122898",
                "1811228-9874",
                "19811328-9874",
            ],
        );
        for seed in 0..50 {
            let serial = pseudo_digits(seed, 3);
            let mut d: Vec<u8> = vec![0, 0, 0, 2, 2, 9];
            d.extend_from_slice(&serial);
            d.push(luhn_check_digit(&d));
            let s = to_str(&d);
            assert!(se_personnummer(&s), "{s}");
            assert!(se_personnummer(&format!("20{s}")), "{s}");
            assert!(!se_personnummer(&format!("19{s}")), "1900-02-29 {s}");
        }
    }

    #[test]
    fn hetu() {
        check_all(
            fi_hetu,
            &[
                "131052-308T",
                "131052-308t",
                "131052Y308T",
                "010594Y9021",
                "020502E902X",
            ],
            &[
                "131052-308U",
                "131052Z308T",
                "311152-308T",
                "131052-001T",
                "131052-308",
                "131052 -308T",
                "13105A-308T",
            ],
        );
        for (date, sign) in [("290200", 'A'), ("010190", '-'), ("311299", '+')] {
            let n: u64 = format!("{date}123").parse().expect("digits");
            let c = char::from(HETU_CHECK[(n % 31) as usize]);
            let s = format!("{date}{sign}123{c}");
            assert!(fi_hetu(&s), "{s}");
        }
        // 1900-02-29 does not exist.
        let n: u64 = "290200123".parse().expect("digits");
        let c = char::from(HETU_CHECK[(n % 31) as usize]);
        assert!(!fi_hetu(&format!("290200-123{c}")));
    }

    #[test]
    fn nif() {
        check_all(
            pt_nif,
            &["123456789", "501964843", "123 456 789", "999999990"],
            &["123456780", "401964843", "12345678", "1234567890"],
        );
        let allowed = [45u8, 70, 71, 72, 74, 75, 77, 79];
        for prefix in [40u8, 43, 45, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79] {
            let mut d = vec![prefix / 10, prefix % 10, 1, 2, 3, 4, 5, 6];
            let r = weighted_sum(&d, &[9, 8, 7, 6, 5, 4, 3, 2]) % 11;
            d.push(if r < 2 { 0 } else { (11 - r) as u8 });
            assert_eq!(
                pt_nif(&to_str(&d)),
                allowed.contains(&prefix),
                "{}",
                to_str(&d)
            );
        }
    }

    #[test]
    fn steuer_id() {
        check_all(
            de_tax_id,
            &[
                "65929970489",
                "86095742719",
                "65 929 970 489",
                "26954371827",
            ],
            &[
                "65929970488",
                "05929970489",
                "12345678903",
                "11145678901",
                "6592997048",
                "659299704890",
            ],
        );
        // One digit three times but not in a row: allowed; in a row, or two repeated digits: not.
        for (body, ok) in [
            ("1231456789", true),
            ("1113456789", false),
            ("1231456788", false),
        ] {
            let mut d: Vec<u8> = body.bytes().map(|b| b - b'0').collect();
            d.push(iso7064_mod11_10(&d));
            assert_eq!(de_tax_id(&to_str(&d)), ok, "{body}");
        }
    }

    #[test]
    fn ppsn() {
        check_all(
            ie_ppsn,
            &["1234567T", "1234567TW", "1234567 T", "1234567t"],
            &["1234567A", "1234567TX", "123456T", "12345678T", "1234567"],
        );
        for second in ['A', 'B', 'H'] {
            let v = PPSN_LETTERS
                .iter()
                .position(|&l| l == second as u8)
                .expect("letter") as u32;
            let sum = weighted_sum(&[1, 2, 3, 4, 5, 6, 7], &[8, 7, 6, 5, 4, 3, 2]) + 9 * v;
            let c = char::from(PPSN_LETTERS[(sum % 23) as usize]);
            assert!(ie_ppsn(&format!("1234567{c}{second}")), "{c}{second}");
            assert!(!ie_ppsn(&format!("1234567T{second}")) || c == 'T');
        }
    }

    #[test]
    fn sin() {
        check_all(
            ca_sin,
            &["130 692 544", "130-692-544", "193456787"],
            &["130692545", "046454286", "812345678", "13069254"],
        );
        let mut d = vec![8, 1, 2, 3, 4, 5, 6, 7];
        d.push(luhn_check_digit(&d));
        assert!(!ca_sin(&to_str(&d)));
        d[0] = 7;
        d[8] = luhn_check_digit(&d[..8]);
        assert!(ca_sin(&to_str(&d)));
    }

    #[test]
    fn tfn() {
        check_all(
            au_tfn,
            &["123 456 782", "123456782"],
            &["123456783", "000000000", "1234567", "1234567890"],
        );
        // Generate an 8-digit TFN: choose the last digit to make the sum divisible by 11.
        let w8 = [10u32, 7, 8, 4, 6, 3, 5, 1];
        let mut found = 0;
        for seed in 0..100 {
            let mut d = pseudo_digits(seed, 8);
            for last in 0..10 {
                d[7] = last;
                if weighted_sum(&d, &w8).is_multiple_of(11) {
                    assert!(au_tfn(&to_str(&d)), "{}", to_str(&d));
                    found += 1;
                }
            }
        }
        assert!(found > 50);
    }

    #[test]
    fn medicare() {
        check_all(
            au_medicare,
            &["2123 45670 1", "2123456701", "21234567011", "2123-45670-1"],
            &[
                "2123456711",
                "1123456701",
                "7123456701",
                "212345670",
                "212345670112",
            ],
        );
    }

    #[test]
    fn aadhaar() {
        check_all(
            in_aadhaar,
            &["2345 6789 0124"],
            &["2345 6789 0125", "1345 6789 0124", "23456789012"],
        );
        for seed in 0..100 {
            let mut d = pseudo_digits(seed, 11);
            d[0] = 2 + d[0] % 8;
            d.push(verhoeff_check_digit(&d));
            assert!(in_aadhaar(&to_str(&d)), "{}", to_str(&d));
            d[11] = (d[11] + 1) % 10;
            assert!(!in_aadhaar(&to_str(&d)));
        }
    }

    #[test]
    fn nric() {
        check_all(
            sg_nric,
            &[
                "S1234567D",
                "T1234567J",
                "F1234567N",
                "G1234567X",
                "M1234567K",
                "s1234567d",
            ],
            &[
                "S1234567A",
                "T1234567D",
                "F1234567X",
                "G1234567N",
                "M1234567X",
                "A1234567D",
                "S123456D",
                "S12345678D",
            ],
        );
        // Exactly one letter is valid for every number in every series.
        for seed in 0..50 {
            let body = to_str(&pseudo_digits(seed, 7));
            for p in ['S', 'T', 'F', 'G', 'M'] {
                let n = (b'A'..=b'Z')
                    .filter(|&c| sg_nric(&format!("{p}{body}{}", char::from(c))))
                    .count();
                assert_eq!(n, 1, "{p}{body}");
            }
        }
    }

    #[test]
    fn cpf() {
        check_all(
            br_cpf,
            &["529.982.247-25", "52998224725", "111.444.777-35"],
            &[
                "529.982.247-26",
                "111.111.111-11",
                "000.000.000-00",
                "5299822472",
            ],
        );
    }

    #[test]
    fn npi() {
        check_all(
            us_npi,
            &["1234567893", "1245319599"],
            &["1234567894", "3234567893", "123456789"],
        );
        for seed in 0..50 {
            let mut d = pseudo_digits(seed, 9);
            d[0] = 1;
            let mut full = vec![8, 0, 8, 4, 0];
            full.extend_from_slice(&d);
            d.push(luhn_check_digit(&full));
            assert!(us_npi(&to_str(&d)));
        }
    }
    #[test]
    fn es_dni_short_and_klm_forms() {
        // 1234567 mod 23 = 19 -> L; K/L/M NIFs use the same letter on their 7 digits.
        assert!(es_dni("1234567L"));
        assert!(es_dni("01234567L"));
        assert!(es_dni("K1234567L"));
        assert!(es_dni("M-1234567-L"));
        assert!(!es_dni("K1234567K"));
        assert!(!es_dni("K01234567L"));
        assert!(!es_dni("123456L"));
    }

    #[test]
    fn ssn_with_dots() {
        assert!(us_ssn("536.22.8726"));
        assert!(!us_ssn("078.05.1120"));
    }

    #[test]
    fn german_health_and_social_numbers() {
        // § 290 SGB V Anlage 1 example and the DRV documentation example.
        assert!(de_kvnr("A000500015"));
        assert!(!de_kvnr("A000500016"));
        assert!(!de_kvnr("0000500015"));
        assert!(de_rvnr("15070649C103"));
        assert!(de_rvnr("15 070649 C 103"));
        assert!(!de_rvnr("15070649C104"));
        assert!(!de_rvnr("15320649C103"));
        // LANR: 123456 -> 4+18+12+36+20+54 = 144 -> check 6.
        assert!(de_lanr("123456601"));
        assert!(!de_lanr("123456701"));
        assert!(!de_lanr("000000001"));
    }

    #[test]
    fn german_vat_id() {
        assert!(de_vat_id("DE136695976"));
        assert!(de_vat_id("DE 136 695 976"));
        assert!(!de_vat_id("DE136695977"));
        assert!(!de_vat_id("AT136695976"));
        assert!(!de_vat_id("DE13669597"));
    }

    #[test]
    fn italian_vat() {
        // Office 001 .. 100; Luhn over all 11 digits.
        let body = [0u8, 7, 6, 4, 3, 5, 2, 0, 5, 6];
        let check = crate::checksum::luhn_check_digit(&body);
        let v: String = body
            .iter()
            .chain([&check])
            .map(|d| char::from(b'0' + d))
            .collect();
        assert!(it_vat(&v), "{v}");
        assert!(it_vat(&format!("IT{v}")));
        let wrong: String = body
            .iter()
            .chain([&((check + 1) % 10)])
            .map(|d| char::from(b'0' + d))
            .collect();
        assert!(!it_vat(&wrong));
        assert!(!it_vat("00000000000"));
        // Office 500 does not exist.
        assert!(!it_vat("12345675000"));
    }

    #[test]
    fn dea_numbers() {
        // BJ613542: 6+3+4 + 2*(1+5+2) = 13+16 = 29 -> 9.
        assert!(us_dea("BJ6135429"));
        assert!(us_dea("B96135429"));
        assert!(!us_dea("BJ6135428"));
        assert!(!us_dea("IJ6135429"));
        assert!(!us_dea("BJ0000000"));
    }

    #[test]
    fn swedish_organisation_numbers() {
        // 556036-079x: Luhn over 556036079 gives 3.
        assert!(se_organisationsnummer("556036-0793"));
        assert!(se_organisationsnummer("16556036-0793"));
        assert!(!se_organisationsnummer("556036-0794"));
        // Third digit below 2: a personnummer's month, not an organisation.
        assert!(!se_organisationsnummer("811228-9874"));
    }
}
