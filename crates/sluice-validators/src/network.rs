//! Network addresses and phone numbers.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Dotted-quad IPv4 address with octets 0-255 and no leading zeros; 0.0.0.0 and
/// 255.255.255.255 are rejected as they are placeholders far more often than real hosts.
pub fn ipv4(s: &str) -> bool {
    // Leading zeros are ambiguous (some parsers read them as octal).
    let canonical = s.split('.').all(|o| o.len() == 1 || !o.starts_with('0'));
    canonical
        && s.parse::<Ipv4Addr>()
            .is_ok_and(|a| !a.is_unspecified() && !a.is_broadcast())
}

/// IPv6 address in any textual form std accepts (optionally in brackets and with a `%zone`),
/// except the unspecified address `::`.
pub fn ipv6(s: &str) -> bool {
    let s = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    let addr = match s.split_once('%') {
        Some((a, zone)) if is_zone(zone) => a,
        Some(_) => return false,
        None => s,
    };
    addr.parse::<Ipv6Addr>().is_ok_and(|a| !a.is_unspecified())
}

fn is_zone(z: &str) -> bool {
    !z.is_empty()
        && z.len() <= 64
        && z.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// MAC-48 address: `aa:bb:cc:dd:ee:ff`, `aa-bb-cc-dd-ee-ff` or `aabb.ccdd.eeff`, one separator
/// throughout; the all-zero and broadcast addresses are rejected.
pub fn mac(s: &str) -> bool {
    let Some(sep) = s.chars().find(|c| matches!(c, ':' | '-' | '.')) else {
        return false;
    };
    // Any other separator left inside a group then fails the hex-digit test.
    let groups: Vec<&str> = s.split(sep).collect();
    let group_len = match (sep, groups.len()) {
        (':' | '-', 6) => 2,
        ('.', 3) => 4,
        _ => return false,
    };
    if !groups
        .iter()
        .all(|g| g.len() == group_len && g.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return false;
    }
    let hex: String = groups.concat().to_ascii_lowercase();
    hex != "000000000000" && hex != "ffffffffffff"
}

/// NANP (US, Canada, Caribbean) phone number: optional +1 / 1, then area code and exchange
/// each NXX (N = 2-9, not N11) and a 4-digit line. Spaces, '-', '.', and parentheses ignored.
pub fn nanp_phone(s: &str) -> bool {
    let (plus, rest) = match s.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let mut d = Vec::with_capacity(11);
    for c in rest.chars() {
        match c {
            ' ' | '-' | '.' | '(' | ')' => {}
            '0'..='9' if d.len() < 11 => d.push(c as u8 - b'0'),
            _ => return false,
        }
    }
    let d = match (plus, d.as_slice()) {
        (_, [1, n @ ..]) if n.len() == 10 => n,
        (false, n) if n.len() == 10 => n,
        _ => return false,
    };
    let nxx = |g: &[u8]| g[0] >= 2 && !(g[1] == 1 && g[2] == 1);
    nxx(&d[..3]) && nxx(&d[3..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4() {
        for ok in [
            "192.168.1.1",
            "8.8.8.8",
            "10.0.0.0",
            "255.255.255.254",
            "1.2.3.4",
        ] {
            assert!(ipv4(ok), "{ok}");
        }
        for bad in [
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4 ",
            "a.b.c.d",
            "1..3.4",
            "",
            "1.2.3.-4",
        ] {
            assert!(!ipv4(bad), "{bad}");
        }
    }

    #[test]
    fn v6() {
        for ok in [
            "2001:db8::1",
            "::1",
            "fe80::1%eth0",
            "[2001:db8::1]",
            "::ffff:192.0.2.1",
            "2001:0db8:0000:0000:0000:ff00:0042:8329",
        ] {
            assert!(ipv6(ok), "{ok}");
        }
        for bad in [
            "::",
            "[::]",
            "2001:db8::1::2",
            "12345::",
            "fe80::1%",
            "fe80::1%e th0",
            "1.2.3.4",
            "",
            "g::1",
            "[2001:db8::1",
        ] {
            assert!(!ipv6(bad), "{bad}");
        }
    }

    #[test]
    fn macs() {
        for ok in [
            "00:1A:2b:3C:4d:5E",
            "00-1a-2b-3c-4d-5e",
            "001a.2b3c.4d5e",
            "01:00:5e:00:00:fb",
        ] {
            assert!(mac(ok), "{ok}");
        }
        for bad in [
            "00:00:00:00:00:00",
            "ff:ff:ff:ff:ff:ff",
            "FF-FF-FF-FF-FF-FF",
            "00:1a-2b:3c:4d:5e",
            "00:1a:2b:3c:4d",
            "00:1a:2b:3c:4d:5e:6f",
            "0:1a:2b:3c:4d:5e",
            "00:1a:2b:3c:4d:5g",
            "001a2b3c4d5e",
            "001a.2b3c-4d5e",
            "001a:2b3c:4d5e",
            "00.1a.2b.3c.4d.5e",
            "",
        ] {
            assert!(!mac(bad), "{bad}");
        }
    }

    #[test]
    fn phones() {
        for ok in [
            "(415) 555-2671",
            "415-555-2671",
            "415.555.2671",
            "+1 415 555 2671",
            "1-415-555-2671",
            "4155552671",
            "+1(212)456-7890",
        ] {
            assert!(nanp_phone(ok), "{ok}");
        }
        for bad in [
            "(115) 555-2671",
            "(015) 555-2671",
            "(411) 555-2671",
            "(415) 155-2671",
            "(415) 911-2671",
            "415-555-267",
            "2-415-555-2671",
            "+2 415 555 2671",
            "+415 555 2671",
            "415-555-26711",
            "415_555_2671",
            "",
            "+",
            "1 415 555 2671 1",
        ] {
            assert!(!nanp_phone(bad), "{bad}");
        }
    }
}
