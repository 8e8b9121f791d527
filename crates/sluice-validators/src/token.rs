//! Bearer tokens.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

/// base64url that tolerates '=' padding and non-canonical trailing bits, as real tokens vary.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Tokens larger than this are not plausible JWTs and are not decoded.
const MAX_JWT_LEN: usize = 64 * 1024;

fn decode_object(segment: &str) -> Option<serde_json::Map<String, Value>> {
    let bytes = B64URL.decode(segment).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// JSON Web Token (JWS compact form): three base64url segments; the header is a JSON object
/// with a string "alg", the payload a JSON object. The signature may be empty (`alg: none`).
pub fn jwt(s: &str) -> bool {
    if s.len() > MAX_JWT_LEN {
        return false;
    }
    let mut parts = s.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let sig_ok = signature
        .trim_end_matches('=')
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    sig_ok
        && decode_object(header).is_some_and(|h| h.get("alg").is_some_and(Value::is_string))
        && decode_object(payload).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{URL_SAFE as PADDED, URL_SAFE_NO_PAD};

    const JWT_IO: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    fn make(header: &str, payload: &str, sig: &str) -> String {
        format!(
            "{}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn known_token() {
        assert!(jwt(JWT_IO));
        assert!(!jwt(&JWT_IO.replace("eyJhbGci", "eyJhbGcj")));
        assert!(!jwt(&format!("{JWT_IO}.x")));
        assert!(!jwt(JWT_IO
            .rsplit_once('.')
            .map(|(a, _)| a)
            .unwrap_or_default()));
    }

    #[test]
    fn generated_tokens() {
        assert!(jwt(&make(
            r#"{"alg":"RS256","kid":"k1"}"#,
            r#"{"sub":"x","n":[1,2]}"#,
            "c2ln"
        )));
        assert!(jwt(&make(r#"{"alg":"none"}"#, "{}", "")));
        // Padded segments are tolerated.
        let padded = format!(
            "{}.{}.c2ln",
            PADDED.encode(r#"{"alg":"ES256"}"#),
            PADDED.encode(r#"{"a":1}"#)
        );
        assert!(padded.contains('='));
        assert!(jwt(&padded));
        for (h, p, sig) in [
            (r#"{"typ":"JWT"}"#, "{}", "c2ln"),
            (r#"{"alg":256}"#, "{}", "c2ln"),
            (r#"["alg"]"#, "{}", "c2ln"),
            (r#"{"alg":"HS256"}"#, "[1]", "c2ln"),
            (r#"{"alg":"HS256"}"#, "not json", "c2ln"),
            (r#"{"alg":"HS256"}"#, "{}", "c2l+"),
            (r#"{"alg":"HS256"}"#, "{}", "c2l/"),
        ] {
            let s = make(h, p, sig);
            assert!(!jwt(&s), "{s}");
        }
    }

    #[test]
    fn garbage() {
        for bad in ["", "..", "a.b.c", "eyJ.eyJ.", "é.é.é", "1.2.3.4"] {
            assert!(!jwt(bad), "{bad}");
        }
        assert!(!jwt(&"a".repeat(MAX_JWT_LEN + 1)));
    }
}
