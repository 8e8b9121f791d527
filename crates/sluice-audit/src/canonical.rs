//! Canonical JSON used for hashing and signing: object keys sorted bytewise, no whitespace,
//! serde_json's string escaping and integer formatting. The `hash` (records) or `signature`
//! (checkpoints) field is excluded from the hashed form.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::Result;

/// Write `v` canonically into `out`.
pub fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                if let Some(val) = map.get(k) {
                    write_canonical(val, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::String(s) => write_str(s, out),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Null => out.extend_from_slice(b"null"),
    }
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    // serde_json's string escaping is deterministic; writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Canonical bytes of `v` with the top-level field `exclude` left out.
pub fn canonical_without(v: &Value, exclude: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    match v {
        Value::Object(map) if map.contains_key(exclude) => {
            let mut m = map.clone();
            m.remove(exclude);
            write_canonical(&Value::Object(m), &mut out);
        }
        _ => write_canonical(v, &mut out),
    }
    out
}

/// SHA-256 (hex) of the canonical form of `v` without its `hash` field.
pub fn record_hash_of_value(v: &Value) -> String {
    hex::encode(Sha256::digest(canonical_without(v, "hash")))
}

/// Serialise a record-like value and return `(line, hash)`: the line is the canonical JSON
/// with `"hash"` first, without a trailing newline.
pub fn hashed_line<T: Serialize>(rec: &T) -> Result<(Vec<u8>, String)> {
    let v = serde_json::to_value(rec)?;
    let body = canonical_without(&v, "hash");
    let hash = hex::encode(Sha256::digest(&body));
    let mut line = Vec::with_capacity(body.len() + 80);
    line.extend_from_slice(b"{\"hash\":\"");
    line.extend_from_slice(hash.as_bytes());
    line.extend_from_slice(b"\"");
    if body.len() > 2 {
        line.push(b',');
        line.extend_from_slice(&body[1..]);
    } else {
        line.push(b'}');
    }
    Ok((line, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sorted_and_hash_excluded() {
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":{"z":[1,"x"],"c":null},"hash":"h"}"#).expect("json");
        let c = canonical_without(&v, "hash");
        assert_eq!(
            std::str::from_utf8(&c).expect("utf8"),
            r#"{"a":{"c":null,"z":[1,"x"]},"b":1}"#
        );
    }

    #[test]
    fn hashed_line_roundtrips() {
        let v: Value = serde_json::from_str(r#"{"b":"é\n","a":2}"#).expect("json");
        let (line, hash) = hashed_line(&v).expect("line");
        let back: Value = serde_json::from_slice(&line).expect("parse");
        assert_eq!(back["hash"], Value::String(hash.clone()));
        assert_eq!(record_hash_of_value(&back), hash);
    }
}
