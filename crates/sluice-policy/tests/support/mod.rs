//! Shared by the integration tests and the benchmark: reading a policy folder from disk (the
//! engine itself does no IO) and compiling it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_policy::{Policy, PolicySource, PseudonymKey, Redactor};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `*.toml` under `root`, with paths relative to it.
pub fn sources(root: &Path) -> Vec<PolicySource> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PolicySource>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("policy dir")
            .flatten()
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.extension().is_some_and(|x| x == "toml") {
                let rel = p
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push(PolicySource {
                    path: rel,
                    text: std::fs::read_to_string(&p).expect("read"),
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out
}

/// A redactor over the policy folder `dir` with a fixed pseudonym key.
pub fn redactor(dir: &Path, key: &[u8]) -> Redactor {
    let policy =
        Policy::compile(&sources(dir)).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    Redactor::new(Arc::new(policy), PseudonymKey::new(key.to_vec()))
}

/// The shipped default policy (`policies/`).
pub fn default_policy(key: &[u8]) -> Redactor {
    redactor(&repo().join("policies"), key)
}
