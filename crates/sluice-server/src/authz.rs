//! Who may do what: the [`Role`]s a principal holds, the collections it is [`Grants`]ed, and
//! the [`Principal`] that carries both. The config file is where these are written down
//! (`[[principal]]` blocks, built in `config`); the request layer is where they are enforced.
//! Keeping them out of the config module means the authorisation rules can be read without
//! the file parsing around them.

use sluice_index::CollectionName;

/// What a principal may do. Roles do not imply each other: give a principal every role it
/// needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Ask, search, chat, embeddings, redact, list models and collections.
    Reader,
    /// Upload and delete documents in granted collections.
    Ingester,
    /// Read and verify the audit log.
    Auditor,
    /// Reload and inspect policies.
    Admin,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 4] = [Role::Reader, Role::Ingester, Role::Auditor, Role::Admin];

    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Ingester => "ingester",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The role named `s` (`reader`, `ingester`, `auditor`, `admin`).
    pub fn parse(s: &str) -> Option<Role> {
        // Matching on names (not positions in ALL) so reordering ALL cannot change which
        // role a name means.
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Collections a principal may read or write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grants {
    /// `"*"`: every collection, present and future.
    All,
    /// Only these (sorted, no duplicates).
    Only(Vec<CollectionName>),
}

impl Grants {
    /// Whether `collection` is granted.
    pub fn allows(&self, collection: &str) -> bool {
        match self {
            Grants::All => true,
            Grants::Only(v) => v.iter().any(|c| c.as_str() == collection),
        }
    }
}

/// One API client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable id, recorded in audit records (never the key).
    pub id: String,
    /// SHA-256 of the API key, lower-case hex.
    pub key_sha256: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Collection grants.
    pub grants: Grants,
}

impl Principal {
    /// Whether the principal holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("Reader"), None, "names are case-sensitive");
    }

    #[test]
    fn grants_allow_only_what_they_list() {
        let only = Grants::Only(vec![CollectionName::new("handbook").expect("valid")]);
        assert!(only.allows("handbook"));
        assert!(!only.allows("hr"));
        assert!(Grants::All.allows("hr"));
        assert!(!Grants::Only(Vec::new()).allows("handbook"));
    }
}
