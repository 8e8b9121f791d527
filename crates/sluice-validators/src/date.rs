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

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Whether `w` is an English weekday name or its 3-letter abbreviation.
fn is_weekday(w: &str) -> bool {
    let w = w.strip_suffix('.').unwrap_or(w).to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .any(|d| *d == w || (w.len() == 3 && d.starts_with(w.as_str())))
}

/// A day-of-month token, with an optional English ordinal suffix ("3rd", "21st").
fn day_token(t: &str) -> Option<u32> {
    let lower = t.to_ascii_lowercase();
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suf| lower.strip_suffix(suf))
        .unwrap_or(&lower);
    num(digits, 2).filter(|d| (1..=31).contains(d))
}

/// A 4-digit year in 1800..=2199, or a 2-digit year (read as 20yy for the leap-year check).
fn year_token(t: &str) -> Option<u32> {
    match t.len() {
        4 => num(t, 4).filter(|y| (1800..=2199).contains(y)),
        2 => num(t, 2).map(|y| 2000 + y),
        _ => None,
    }
}

/// `HH:MM[:SS[.fff]]` with an optional `am`/`pm` and an optional `Z` or `±HH[:]MM` offset.
fn time_ok(t: &str) -> bool {
    let mut t = t.trim();
    let lower = t.to_ascii_lowercase();
    let twelve = lower.ends_with("am") || lower.ends_with("pm");
    if twelve {
        t = t[..t.len() - 2].trim_end();
    }
    if let Some(rest) = t.strip_suffix('Z') {
        t = rest;
    } else if let Some(i) = t.rfind(['+', '-']) {
        // ±HH, ±HHMM or ±HH:MM.
        let off: String = t[i + 1..].chars().filter(|c| *c != ':').collect();
        let valid = match off.len() {
            2 => num(&off, 2).is_some_and(|h| h <= 23),
            4 => num(&off, 4).is_some_and(|o| o / 100 <= 23 && o % 100 <= 59),
            _ => false,
        };
        if !valid {
            return false;
        }
        t = &t[..i];
    }
    let parts: Vec<&str> = t.split(':').collect();
    let (h, m) = match parts.as_slice() {
        [h, m] | [h, m, _] => (num(h, 2), num(m, 2).filter(|_| m.len() == 2)),
        _ => return false,
    };
    let sec_ok = match parts.get(2) {
        None => true,
        Some(s) => {
            let whole = s.split('.').next().unwrap_or("");
            whole.len() == 2
                && num(whole, 2).is_some_and(|x| x <= 60)
                && s.split('.').nth(1).is_none_or(|f| {
                    (1..=9).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit())
                })
        }
    };
    let hour_ok = |h: u32| {
        if twelve {
            (1..=12).contains(&h)
        } else {
            h <= 23
        }
    };
    matches!((h, m), (Some(h), Some(m)) if hour_ok(h) && m <= 59) && sec_ok
}

/// Splits `2024-03-15T10:22:31Z` or `15 March 2024 10:22` into date and time.
fn split_time(s: &str) -> (&str, Option<&str>) {
    let b = s.as_bytes();
    for i in 1..b.len().saturating_sub(1) {
        if b[i] == b'T' && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit() {
            return (&s[..i], Some(&s[i + 1..]));
        }
    }
    match s.find(':') {
        Some(colon) => match s[..colon].rfind([' ', ',']) {
            Some(sp) => (s[..sp].trim_end_matches([' ', ',']), Some(&s[sp + 1..])),
            None => (s, Some("")),
        },
        None => (s, None),
    }
}

fn date_any(d: &str) -> bool {
    let mut d = d.trim();
    // A leading weekday ("Friday, 15 March 2024").
    if let Some(first) = d.split([' ', ',']).next()
        && first.bytes().all(|c| c.is_ascii_alphabetic() || c == b'.')
        && is_weekday(first)
    {
        d = d[first.len()..].trim_start_matches([',', ' ']);
    }
    let tokens: Vec<&str> = d
        .split([' ', ',', '/', '-', '.'])
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.iter().any(|t| t.len() > 9) {
        return false;
    }
    let month_at: Vec<usize> = (0..tokens.len())
        .filter(|&i| month_from_name(tokens[i]).is_some())
        .collect();
    if let [mi] = month_at.as_slice() {
        let Some(month) = month_from_name(tokens[*mi]) else {
            return false;
        };
        let others: Vec<&str> = tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| i != mi)
            .map(|(_, t)| *t)
            .collect();
        return match others.as_slice() {
            // "March 2024"
            [y] if y.len() == 4 => year_token(y).is_some(),
            // "15 March", "March 15th": any year, so 29 February counts.
            [dd] => day_token(dd).is_some_and(|day| is_valid_date(2000, month, day)),
            // "15 March 2024", "March 15, 2024", "2024 March 15", "15-Mar-24"
            [a, b] => {
                let (day, year) =
                    if a.len() == 4 && a.bytes().all(|c| c.is_ascii_digit()) && *mi == 1 {
                        (day_token(b), year_token(a))
                    } else {
                        (day_token(a), year_token(b))
                    };
                matches!((day, year), (Some(day), Some(year)) if is_valid_date(year, month, day))
            }
            _ => false,
        };
    }
    if !month_at.is_empty() {
        return false;
    }
    let [a, b, c] = tokens.as_slice() else {
        return false;
    };
    if a.len() == 4 {
        let (Some(y), Some(m), Some(dd)) = (year_token(a), num(b, 2), num(c, 2)) else {
            return false;
        };
        return is_valid_date(y, m, dd);
    }
    let (Some(x), Some(y), Some(year)) = (num(a, 2), num(b, 2), year_token(c)) else {
        return false;
    };
    is_valid_date(year, y, x) || is_valid_date(year, x, y)
}

/// A date, optionally with a time of day, in the forms people and systems write: ISO 8601
/// (`2024-03-15`, `2024-03-15T10:22:31.5+01:00`, `2024-03-15 10:22`), `YYYY/MM/DD`, day-first or
/// month-first numeric dates with `/`, `-` or `.` and a 2- or 4-digit year, and English written
/// forms (`15 March 2024`, `March 15th, 2024`, `Fri, 15 Mar 2024`, `15-Mar-24`, `March 2024`,
/// `15 March`). The calendar is checked (no 31 April); 4-digit years run 1800-2199. This is the
/// `DATE_TIME` validator; `date` (dates of birth) is stricter.
pub fn datetime(s: &str) -> bool {
    let s = s.trim();
    if s.is_empty() || s.len() > 48 {
        return false;
    }
    let (date_part, time_part) = split_time(s);
    time_part.is_none_or(time_ok) && date_any(date_part)
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
    #[test]
    fn datetime_forms() {
        for ok in [
            "2024-03-15",
            "2024-03-15T10:22:31Z",
            "2024-03-15T10:22:31.123+01:00",
            "2024-03-15T10:22",
            "2024-03-15 10:22",
            "2024-03-15 10:22:31",
            "2024/03/15",
            "15/03/2024",
            "03/15/2024",
            "15.03.2024",
            "15-03-2024",
            "15/03/24",
            "1/2/24",
            "15 March 2024",
            "15th March 2024",
            "March 15, 2024",
            "March 15th, 2024",
            "Mar 15 2024",
            "15-Mar-2024",
            "15-MAR-24",
            "Friday, 15 March 2024",
            "Fri, 15 Mar 2024",
            "March 2024",
            "15 March",
            "Feb 29",
            "15 March 2024 10:30 am",
        ] {
            assert!(datetime(ok), "{ok}");
        }
        for bad in [
            "31/02/2024",
            "2024-13-01",
            "00/00/0000",
            "99-99-9999",
            "1.2.2024.5",
            "2024-03-15T25:00",
            "2024-03-15T10:61",
            "15 Marc 2024",
            "March",
            "3/4",
            "12/45",
            "2024",
            "15 March 2024 extra",
            "Friday",
            "32 March",
            "1799-01-01",
            "15 March 2024 13:00 pm",
            "",
        ] {
            assert!(!datetime(bad), "{bad}");
        }
    }
}
