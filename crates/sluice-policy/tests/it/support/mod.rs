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

pub const PROSE: &[&str] = &[
    "The quarterly business review covered revenue growth in the EMEA region, where the sales team closed 14 new accounts. ",
    "Engineering reported that the migration to the new billing platform is on track for the end of the third quarter. ",
    "Action items from the meeting include updating the onboarding checklist and scheduling a follow-up with finance. ",
    "Customer satisfaction scores improved to 4.6 out of 5 after the support team reduced first-response times by 30 percent. ",
    "Please review the attached draft of the vendor agreement before Friday; legal has flagged two clauses for discussion. ",
    "The incident on 14 March was caused by an expired certificate on the load balancer and lasted 47 minutes. ",
    "Our hiring plan for 2027 includes three backend engineers, one data scientist and a product designer in Berlin. ",
    "Budget variance for marketing was within 2%, mostly due to the postponed trade show in Madrid. ",
    "The runbook now documents how to fail over the primary database and who must approve the change. ",
    "Remember that expense reports above EUR 500 need a second approval from the cost-centre owner. ",
];

pub const PLANTED: &[&str] = &[
    "Contact maria.lopez@northwind-analytics.com for details. ",
    "Call +49 30 901820 44 if the pager is silent. ",
    "The card on file is 4539 1488 0343 6467. ",
    "Refund to DE89 3704 0044 0532 0130 00 was approved. ",
    "aws_access_key_id = AKIAQYLPMN5HFIQR7XOB ",
    "export GITHUB_TOKEN=ghp_R2d9xK7mQp4Lw8sT1vYz3bN6cF0hJ5gA2eUi ",
    "Her SSN is 536-22-8817 per the payroll form. ",
    "Server 10.24.7.19 answered on port 443. ",
];

/// Deterministic prose with one planted value per ~2 KB.
pub fn corpus(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 4096);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut since = 0;
    while out.len() < bytes {
        let p = PROSE[(next() % PROSE.len() as u64) as usize];
        out.push_str(p);
        since += p.len();
        if since >= 2048 {
            out.push_str(PLANTED[(next() % PLANTED.len() as u64) as usize]);
            since = 0;
        }
        if next() % 6 == 0 {
            out.push('\n');
        }
    }
    out
}
