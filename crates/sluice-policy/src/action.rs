//! Boundaries, actions, and how an action renders a finding into replacement text.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::sensitive::PseudonymKey;

/// Where text crosses into or out of Sluice; each boundary has its own actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Boundary {
    /// Documents on their way into the index.
    Ingest,
    /// A user's question on its way to retrieval and the model.
    Prompt,
    /// Retrieved chunks on their way into the model's context.
    Context,
    /// The model's answer on its way to the user.
    Response,
}

impl Boundary {
    /// All boundaries, in request order.
    pub const ALL: [Boundary; 4] = [
        Boundary::Ingest,
        Boundary::Prompt,
        Boundary::Context,
        Boundary::Response,
    ];

    /// The lower-case name used in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Boundary::Ingest => "ingest",
            Boundary::Prompt => "prompt",
            Boundary::Context => "context",
            Boundary::Response => "response",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Boundary {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Boundary::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| {
                format!("unknown boundary `{s}` (expected ingest, prompt, context or response)")
            })
    }
}

/// What happens to a finding at a boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Replace with `[ENTITY]`.
    Redact,
    /// Replace with a stable keyed token `<ENTITY_1a2b3c4d5e6f7a8b>` (64 bits: collisions stay
    /// negligible at millions of values, and a token is no short dictionary key).
    Pseudonymize,
    /// Replace all but the last `keep` characters with `*`.
    Mask {
        /// Characters kept at the end.
        keep: usize,
    },
    /// Replace with `[ENTITY:<16 hex of a keyed HMAC>]`.
    Hash,
    /// Refuse the whole request.
    Block,
    /// Report only; leave the text as it is.
    Shadow,
    /// Ignore: neither reported nor changed.
    Allow,
}

impl Action {
    /// The name used in policy files.
    pub fn name(self) -> &'static str {
        match self {
            Action::Redact => "redact",
            Action::Pseudonymize => "pseudonymize",
            Action::Mask { .. } => "mask",
            Action::Hash => "hash",
            Action::Block => "block",
            Action::Shadow => "shadow",
            Action::Allow => "allow",
        }
    }

    pub(crate) fn parse(name: &str, keep: Option<usize>) -> Result<Action, String> {
        let action = match name {
            "redact" => Action::Redact,
            "pseudonymize" => Action::Pseudonymize,
            "mask" => Action::Mask {
                keep: keep.unwrap_or(4),
            },
            "hash" => Action::Hash,
            "block" => Action::Block,
            "shadow" => Action::Shadow,
            "allow" => Action::Allow,
            other => {
                return Err(format!(
                    "unknown action `{other}` (expected redact, pseudonymize, mask, hash, block, shadow or allow)"
                ));
            }
        };
        if keep.is_some() && !matches!(action, Action::Mask { .. }) {
            return Err(format!("`keep` only applies to `mask`, not `{name}`"));
        }
        Ok(action)
    }

    /// Whether the action changes the text.
    pub fn replaces(self) -> bool {
        !matches!(self, Action::Shadow | Action::Allow)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The resolved actions of one boundary: entity → category → default.
#[derive(Debug, Clone)]
pub(crate) struct BoundaryActions {
    pub default: Action,
    pub categories: HashMap<String, Action>,
    pub entities: HashMap<String, Action>,
}

impl Default for BoundaryActions {
    fn default() -> Self {
        Self {
            default: Action::Redact,
            categories: HashMap::new(),
            entities: HashMap::new(),
        }
    }
}

impl BoundaryActions {
    pub fn resolve(&self, entity: &str, category: &str) -> Action {
        self.entities
            .get(entity)
            .or_else(|| self.categories.get(category))
            .copied()
            .unwrap_or(self.default)
    }
}

/// Renders the replacement text for a value.
pub(crate) fn render(
    action: Action,
    entity: &str,
    value: &str,
    key: &PseudonymKey,
    out: &mut String,
) {
    match action {
        Action::Redact | Action::Block => {
            out.push('[');
            out.push_str(entity);
            out.push(']');
        }
        Action::Pseudonymize => {
            let mac = keyed(key, b"sluice/pseudonym/v1", entity, value);
            out.push('<');
            out.push_str(entity);
            out.push('_');
            out.push_str(&hex::encode(&mac[..8]));
            out.push('>');
        }
        Action::Hash => {
            let mac = keyed(key, b"sluice/hash/v1", entity, value);
            out.push('[');
            out.push_str(entity);
            out.push(':');
            out.push_str(&hex::encode(&mac[..8]));
            out.push(']');
        }
        Action::Mask { keep } => {
            let n = value.chars().count();
            let keep = keep.min(n / 2);
            out.extend(std::iter::repeat_n('*', n - keep));
            out.extend(value.chars().skip(n - keep));
        }
        Action::Shadow | Action::Allow => out.push_str(value),
    }
}

fn keyed(key: &PseudonymKey, label: &[u8], entity: &str, value: &str) -> [u8; 32] {
    // Domain separation: a token for one entity or action never equals one for another.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.bytes()).unwrap_or_else(|_| {
        // HMAC accepts keys of any length; this branch cannot be taken.
        unreachable!("HMAC key of any length is valid")
    });
    mac.update(label);
    mac.update(&[0]);
    mac.update(entity.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(action: Action, v: &str) -> String {
        let mut s = String::new();
        render(
            action,
            "EMAIL_ADDRESS",
            v,
            &PseudonymKey::new(b"k".to_vec()),
            &mut s,
        );
        s
    }

    #[test]
    fn renders() {
        assert_eq!(r(Action::Redact, "a@b.io"), "[EMAIL_ADDRESS]");
        assert_eq!(r(Action::Mask { keep: 4 }, "jane@acme.io"), "********e.io");
        let p = r(Action::Pseudonymize, "a@b.io");
        assert!(p.starts_with("<EMAIL_ADDRESS_") && p.len() == "<EMAIL_ADDRESS_>".len() + 16);
        assert_eq!(
            p,
            r(Action::Pseudonymize, "a@b.io"),
            "stable under the same key"
        );
        assert_ne!(p, r(Action::Pseudonymize, "c@d.io"));
        assert!(r(Action::Hash, "a@b.io").starts_with("[EMAIL_ADDRESS:"));
        // Masking never reveals more than half of a short value.
        assert_eq!(r(Action::Mask { keep: 4 }, "abc"), "**c");
    }

    #[test]
    fn different_keys_give_different_tokens() {
        let mut a = String::new();
        let mut b = String::new();
        render(
            Action::Pseudonymize,
            "PERSON",
            "Jane",
            &PseudonymKey::new(b"1".to_vec()),
            &mut a,
        );
        render(
            Action::Pseudonymize,
            "PERSON",
            "Jane",
            &PseudonymKey::new(b"2".to_vec()),
            &mut b,
        );
        assert_ne!(a, b);
    }
}
