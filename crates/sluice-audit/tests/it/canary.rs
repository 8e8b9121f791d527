//! Canary suite at the audit boundary: every planted value of `corpora/MANIFEST.toml` goes
//! through the real policy engine at every boundary (as the gateway will send it), the
//! resulting records — findings with keyed HMACs, blocked decisions, and the operator's opt-in
//! redacted prompt/answer — are appended, indexed and queried, and then every byte under the
//! audit directory (segments, checkpoints, tantivy index) is scanned: no value may appear.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_audit::{
    AuditLog, Decision, FindingSummary, HmacKey, RecordDraft, RequestRecord, value_hmac,
};
use sluice_policy::{Boundary, Policy, PolicySource, PseudonymKey, Redactor};

use crate::common;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn policy() -> Redactor {
    let root = repo().join("policies");
    let mut sources = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PolicySource>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("policies")
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
                    .into_owned();
                out.push(PolicySource {
                    path: rel,
                    text: std::fs::read_to_string(&p).expect("read"),
                });
            }
        }
    }
    walk(&root, &root, &mut sources);
    Redactor::new(
        Arc::new(Policy::compile(&sources).expect("default policy")),
        PseudonymKey::new(b"k".to_vec()),
    )
}

#[derive(serde::Deserialize)]
struct Manifest {
    planted: Vec<Planted>,
}

#[derive(serde::Deserialize)]
struct Planted {
    file: String,
    value: String,
}

fn summaries(findings: &[sluice_policy::Finding], key: &HmacKey) -> Vec<FindingSummary> {
    let mut by: BTreeMap<(String, String, String, String), Vec<String>> = BTreeMap::new();
    for f in findings {
        by.entry((
            f.boundary.to_string(),
            f.entity.to_string(),
            f.rule.to_string(),
            f.action.to_string(),
        ))
        .or_default()
        .push(value_hmac(key, &f.entity, f.value.expose()));
    }
    by.into_iter()
        .map(
            |((boundary, entity, rule, action), value_hmacs)| FindingSummary {
                boundary,
                entity,
                rule,
                action,
                count: value_hmacs.len() as u64,
                value_hmacs,
            },
        )
        .collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn no_planted_value_reaches_any_audit_file() {
    let r = policy();
    let manifest: Manifest = toml::from_str(
        &std::fs::read_to_string(repo().join("corpora/MANIFEST.toml")).expect("manifest"),
    )
    .expect("parse");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = common::config(dir.path());
    cfg.index = true;
    let log = AuditLog::open(cfg).expect("open");
    let key = HmacKey::new(b"audit hmac key".to_vec());

    let mut files: Vec<&str> = manifest.planted.iter().map(|p| p.file.as_str()).collect();
    files.dedup();
    let mut drafts = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(repo().join("corpora").join(file)).expect("corpus file");
        // The question a user pastes (prompt), the retrieved context, and the answer.
        let prompt = r.redact(&text, Boundary::Prompt);
        let context = r.redact(&text, Boundary::Context);
        let response = r.redact(&text, Boundary::Response);
        let mut findings = summaries(&prompt.findings, &key);
        findings.extend(summaries(&context.findings, &key));
        findings.extend(summaries(&response.findings, &key));
        let decision = match &prompt.blocked {
            Some(b) => Decision::Blocked {
                rule: b.rule.clone(),
            },
            None => Decision::Redacted,
        };
        drafts.push(RecordDraft::new(RequestRecord {
            principal: Some("alice".into()),
            client_addr: Some("127.0.0.1".into()),
            endpoint: "/v1/ask".into(),
            collections_requested: vec!["corpora".into()],
            collections_granted: vec!["corpora".into()],
            collections_rejected: 0,
            findings,
            status: if prompt.blocked.is_some() { 403 } else { 200 },
            decision,
            chunk_ids: vec![format!("{file}:0")],
            doc_ids: vec![file.to_string()],
            model: Some("smollm2-135m".into()),
            tokens_in: Some(100),
            tokens_out: Some(50),
            latency_us: 1000,
            policy_version: Some(r.policy().version().to_owned()),
            gateway_version: "test".into(),
            // Operator opt-in: only the redacted forms may be kept.
            redacted_prompt: prompt.blocked.is_none().then(|| prompt.text.clone()),
            redacted_answer: Some(response.text.clone()),
        }));
    }
    let n = drafts.len();
    log.append_many(drafts).expect("append");
    log.sync_index().expect("index");
    let page = log
        .query(&Default::default(), &Default::default())
        .expect("query");
    assert!(!page.records.is_empty(), "records are queryable");
    assert!(
        page.records
            .iter()
            .any(|rec| rec.request.as_ref().is_some_and(|q| !q.findings.is_empty())),
        "records carry findings"
    );
    assert!(n >= 20);
    drop(log);

    let mut all = Vec::new();
    files_under(dir.path(), &mut all);
    assert!(all.len() > 3, "segments, checkpoints and index files exist");
    let mut leaks = Vec::new();
    for f in &all {
        let bytes = std::fs::read(f).expect("read audit file");
        for (i, p) in manifest.planted.iter().enumerate() {
            if bytes
                .windows(p.value.len())
                .any(|w| w == p.value.as_bytes())
            {
                // Index and file only: the value stays out of the test output.
                leaks.push(format!(
                    "manifest entry {i} ({}) in {}",
                    p.file,
                    f.display()
                ));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
}
