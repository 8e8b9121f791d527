//! Cryptocurrency addresses.

use sha2::{Digest, Sha256};
use sha3::Keccak256;

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Decodes base58 (Bitcoin alphabet); each leading '1' is a leading zero byte.
fn base58_decode(s: &str) -> Option<Vec<u8>> {
    // Big-endian base-256 accumulator, grown as needed.
    let mut out: Vec<u8> = Vec::with_capacity(s.len());
    for c in s.bytes() {
        let mut carry = BASE58.iter().position(|&b| b == c)? as u32;
        for byte in out.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|&c| c == b'1').count();
    let mut full = vec![0; zeros];
    full.extend(out);
    Some(full)
}

fn base58check_address(s: &str) -> bool {
    if !(26..=35).contains(&s.len()) {
        return false;
    }
    let Some(raw) = base58_decode(s) else {
        return false;
    };
    if raw.len() != 25 || !matches!(raw[0], 0x00 | 0x05) {
        return false;
    }
    let (payload, checksum) = raw.split_at(21);
    Sha256::digest(Sha256::digest(payload))[..4] == *checksum
}

const BECH32_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32_CONST: u32 = 1;
const BECH32M_CONST: u32 = 0x2bc8_30a3;

/// BIP-173 checksum polynomial over GF(32).
fn polymod(values: impl IntoIterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    values.into_iter().fold(1, |chk, v| {
        let top = chk >> 25;
        let chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        GEN.iter()
            .enumerate()
            .filter(|(i, _)| (top >> i) & 1 == 1)
            .fold(chk, |c, (_, g)| c ^ g)
    })
}

/// Regroups 5-bit values into bytes; `None` if the leftover padding is not all-zero and short.
fn five_to_eight(data: &[u8]) -> Option<Vec<u8>> {
    let (mut acc, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for &v in data {
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 5 && acc == 0).then_some(out)
}

fn segwit_address(s: &str) -> bool {
    if s.len() > 90
        || (s.bytes().any(|b| b.is_ascii_lowercase()) && s.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return false;
    }
    let s = s.to_ascii_lowercase();
    let Some(data) = s.strip_prefix("bc1") else {
        return false;
    };
    let values: Option<Vec<u8>> = data
        .bytes()
        .map(|c| BECH32_CHARSET.iter().position(|&b| b == c).map(|p| p as u8))
        .collect();
    let Some(values) = values else {
        return false;
    };
    // Witness version + at least 2 program bytes (4 values) + 6-value checksum.
    if values.len() < 1 + 4 + 6 {
        return false;
    }
    let hrp = [3, 3, 0, 2, 3]; // "bc" expanded: high bits, 0, low bits.
    let residue = polymod(hrp.into_iter().chain(values.iter().copied()));
    let version = values[0];
    let expected = if version == 0 {
        BECH32_CONST
    } else {
        BECH32M_CONST
    };
    let Some(program) = five_to_eight(&values[1..values.len() - 6]) else {
        return false;
    };
    residue == expected
        && version <= 16
        && (2..=40).contains(&program.len())
        && (version != 0 || matches!(program.len(), 20 | 32))
}

/// Bitcoin mainnet address: base58check P2PKH/P2SH (version 0x00/0x05, double-SHA-256
/// checksum) or a segwit address with hrp "bc" (bech32 for v0, bech32m for v1+).
pub fn btc_address(s: &str) -> bool {
    if s.len() > 90 {
        return false;
    }
    if s.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("bc1")) {
        segwit_address(s)
    } else {
        base58check_address(s)
    }
}

/// Ethereum address: `0x` + 40 hex digits; mixed-case addresses must carry a valid EIP-55
/// checksum, all-lower and all-upper ones carry none and pass.
pub fn eth_address(s: &str) -> bool {
    let Some(hex) = s.strip_prefix("0x") else {
        return false;
    };
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
    if !(has_lower && has_upper) {
        return true;
    }
    let hash = Keccak256::digest(hex.to_ascii_lowercase().as_bytes());
    hex.bytes().enumerate().all(|(i, c)| {
        let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0xf;
        !c.is_ascii_alphabetic() || c.is_ascii_uppercase() == (nibble >= 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base58_encode(data: &[u8]) -> String {
        let mut digits: Vec<u8> = Vec::new();
        for &byte in data {
            let mut carry = u32::from(byte);
            for d in digits.iter_mut() {
                carry += u32::from(*d) << 8;
                *d = (carry % 58) as u8;
                carry /= 58;
            }
            while carry > 0 {
                digits.push((carry % 58) as u8);
                carry /= 58;
            }
        }
        let zeros = data.iter().take_while(|&&b| b == 0).count();
        "1".repeat(zeros)
            + &digits
                .iter()
                .rev()
                .map(|&d| char::from(BASE58[usize::from(d)]))
                .collect::<String>()
    }

    fn p2pkh(version: u8, hash: [u8; 20]) -> String {
        let mut raw = vec![version];
        raw.extend_from_slice(&hash);
        let check = Sha256::digest(Sha256::digest(&raw));
        raw.extend_from_slice(&check[..4]);
        base58_encode(&raw)
    }

    #[test]
    fn base58_known() {
        for ok in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
            "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
            "1111111111111111111114oLvT2",
        ] {
            assert!(btc_address(ok), "{ok}");
        }
        for bad in [
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN",
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0",
            "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
            "",
        ] {
            assert!(!btc_address(bad), "{bad}");
        }
    }

    #[test]
    fn base58_generated() {
        for seed in 0..50u8 {
            let hash = [seed.wrapping_mul(37); 20].map(|b| b ^ seed);
            assert!(btc_address(&p2pkh(0x00, hash)));
            assert!(btc_address(&p2pkh(0x05, hash)));
            // Testnet version bytes are not mainnet addresses.
            assert!(!btc_address(&p2pkh(0x6f, hash)));
        }
        let mut leading = [0u8; 20];
        leading[19] = 1;
        let s = p2pkh(0x00, leading);
        assert!(s.starts_with("1111"), "{s}");
        assert!(btc_address(&s));
    }

    #[test]
    fn bech32_known() {
        for ok in [
            "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            "BC1SW50QGDZ25J",
            "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
            "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
        ] {
            assert!(btc_address(ok), "{ok}");
        }
        for bad in [
            // BIP-350 invalid vectors (mainnet): wrong constant, bad padding, bad lengths.
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
            "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
            "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
            "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
            "bc1pw5dgrnzv",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
            "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
            "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",
            "bc1gmk9yu",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
            "Bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
        ] {
            assert!(!btc_address(bad), "{bad}");
        }
    }

    #[test]
    fn eth() {
        for ok in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED",
            "0x0000000000000000000000000000000000000000",
        ] {
            assert!(eth_address(ok), "{ok}");
        }
        for bad in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",
            "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAedd",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",
            "0xé",
        ] {
            assert!(!eth_address(bad), "{bad}");
        }
    }
}
