//! Calendar dates written the ways people write them.

use crate::checksum::is_valid_date;

const YEARS: std::ops::RangeInclusive<u32> = 1900..=2030;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Month number for an English month name or its 3-letter abbreviation ("Sept" too).
fn month_from_name(word: &str) -> Option<u32> {
    let w = word.strip_suffix('.').unwrap_or(word).to_ascii_lowercase();
    if w == "sept" {
        return Some(9);
    }
    MONTHS
        .iter()
        .position(|m| *m == w || (w.len() == 3 && m.starts_with(w.as_str())))
        .map(|i| i as u32 + 1)
}

/// Parses 1..=`max_len` ASCII digits.
fn num(s: &str, max_len: usize) -> Option<u32> {
    ((1..=max_len).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn real(year: u32, month: u32, day: u32) -> bool {
    YEARS.contains(&year) && is_valid_date(year, month, day)
}

fn numeric(s: &str) -> bool {
    let Some(sep) = s.chars().find(|c| matches!(c, '-' | '/' | '.')) else {
        return false;
    };
    let parts: Vec<&str> = s.split(sep).collect();
    let [a, b, c] = parts.as_slice() else {
        return false;
    };
    if a.len() == 4 {
        // Year first: ISO-style, always year-month-day with two-digit fields.
        return sep != '.'
            && b.len() == 2
            && c.len() == 2
            && matches!((num(a, 4), num(b, 2), num(c, 2)), (Some(y), Some(m), Some(d)) if real(y, m, d));
    }
    let (Some(x), Some(y), Some(year)) = (num(a, 2), num(b, 2), num(c, 4).filter(|_| c.len() == 4))
    else {
        return false;
    };
    match sep {
        // Slashes are ambiguous between day-first and month-first.
        '/' => real(year, y, x) || real(year, x, y),
        _ => real(year, y, x),
    }
}

fn named(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    let [w1, w2, w3] = words.as_slice() else {
        return false;
    };
    let Some(year) = num(w3, 4).filter(|_| w3.len() == 4) else {
        return false;
    };
    // "12 March 1985" or "March 12, 1985" (comma optional).
    let (day, month) = match (num(w1, 2), month_from_name(w2)) {
        (Some(d), Some(m)) => (d, m),
        _ => match (
            month_from_name(w1),
            num(w2.strip_suffix(',').unwrap_or(w2), 2),
        ) {
            (Some(m), Some(d)) => (d, m),
            _ => return false,
        },
    };
    real(year, month, day)
}

/// A real calendar date between 1900 and 2030 written as YYYY-MM-DD, YYYY/MM/DD, DD/MM/YYYY
/// or MM/DD/YYYY (either reading), DD.MM.YYYY, DD-MM-YYYY, "12 March 1985", "12 Mar 1985" or
/// "March 12, 1985" (English month names, any case).
pub fn date(s: &str) -> bool {
    let s = s.trim();
    s.len() <= 40 && (numeric(s) || named(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_forms() {
        for ok in [
            "1985-03-12",
            "1985/03/12",
            "12/03/1985",
            "03/12/1985",
            "12/31/1985",
            "31/12/1985",
            "12.03.1985",
            "12-03-1985",
            "1/2/1985",
            "2000-02-29",
            "29.02.2000",
            "1900-01-01",
            "2030-12-31",
            "29/02/2024",
        ] {
            assert!(date(ok), "{ok}");
        }
        for bad in [
            "1900-02-29",
            "2023-02-29",
            "29.02.1900",
            "1985-13-01",
            "1985-04-31",
            "31/31/1985",
            "13.13.1985",
            "1899-12-31",
            "2031-01-01",
            "1985-3-12",
            "1985.03.12",
            "12-03/1985",
            "12/03/85",
            "1985-03-12-01",
            "",
            "12031985",
            "1985-0a-12",
            "+1985-03-12",
            "12.03.+985",
        ] {
            assert!(!date(bad), "{bad}");
        }
    }

    #[test]
    fn named_forms() {
        for ok in [
            "12 March 1985",
            "March 12, 1985",
            "March 12 1985",
            "12 Mar 1985",
            "12 mar 1985",
            "MARCH 12, 1985",
            "29 February 2000",
            "Sep 30, 2001",
            "30 Sept 2001",
            "1 May 1990",
            "  12 Dec. 1999 ",
        ] {
            assert!(date(ok), "{ok}");
        }
        for bad in [
            "29 February 1900",
            "31 April 1985",
            "12 Marc 1985",
            "12 Mars 1985",
            "March 32, 1985",
            "12 March 85",
            "12 March 1985 extra",
            "March, 12 1985",
            "12, March 1985",
            "0 March 1985",
            "12 March 2031",
        ] {
            assert!(!date(bad), "{bad}");
        }
    }

    #[test]
    fn every_day_of_a_leap_cycle() {
        let mut count = 0;
        for year in 2020..2024 {
            for month in 1..=12 {
                for day in 1..=31 {
                    if date(&format!("{year}-{month:02}-{day:02}")) {
                        count += 1;
                        assert!(date(&format!("{day:02}.{month:02}.{year}")));
                    }
                }
            }
        }
        assert_eq!(count, 366 + 365 * 3);
    }
}
