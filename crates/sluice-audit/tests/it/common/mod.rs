//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::Path;

use rand::Rng;
use sluice_audit::{
    AuditConfig, AuditLog, AuditSigningKey, Decision, FindingSummary, RecordDraft, RequestRecord,
};

pub const PRINCIPALS: &[&str] = &["alice", "bob", "carol", "dave", "eve", "svc-batch"];
pub const COLLECTIONS: &[&str] = &["hr", "finance", "legal", "eng", "public"];
pub const ENTITIES: &[&str] = &["email", "iban", "phone", "ssn", "name"];
pub const RULES: &[&str] = &[
    "pii.email",
    "pii.iban",
    "pii.phone",
    "secret.key",
    "pii.name",
];
pub const ENDPOINTS: &[&str] = &["/v1/ask", "/v1/search", "/v1/chat"];

pub fn key() -> AuditSigningKey {
    AuditSigningKey::parse(&"42".repeat(32)).expect("key")
}

pub fn config(dir: &Path) -> AuditConfig {
    let mut c = AuditConfig::new(dir, key());
    c.index = false;
    c
}

pub fn random_draft(rng: &mut impl Rng) -> RecordDraft {
    let pick =
        |rng: &mut dyn rand::RngCore, xs: &[&str]| xs[rng.gen_range(0..xs.len())].to_string();
    let decision = match rng.gen_range(0..10) {
        0..=3 => Decision::Allowed,
        4..=6 => Decision::Redacted,
        7 => Decision::Blocked {
            rule: pick(rng, RULES),
        },
        8 => Decision::Denied {
            reason: "unauthenticated".into(),
        },
        _ => Decision::Error {
            code: "model_timeout".into(),
        },
    };
    let nf = rng.gen_range(0..3);
    let findings = (0..nf)
        .map(|_| FindingSummary {
            boundary: pick(rng, &["prompt", "retrieved", "answer"]),
            entity: pick(rng, ENTITIES),
            rule: pick(rng, RULES),
            action: "redact".into(),
            count: rng.gen_range(1..4),
            value_hmacs: vec![format!("{:032x}", rng.r#gen::<u128>())],
        })
        .collect();
    let principal = if matches!(decision, Decision::Denied { .. }) {
        None
    } else {
        Some(pick(rng, PRINCIPALS))
    };
    RecordDraft::new(RequestRecord {
        principal,
        client_addr: Some(format!("10.0.0.{}", rng.gen_range(1..255))),
        endpoint: pick(rng, ENDPOINTS),
        collections_requested: vec![pick(rng, COLLECTIONS)],
        collections_granted: vec![pick(rng, COLLECTIONS)],
        collections_rejected: 0,
        findings,
        decision,
        chunk_ids: vec![format!("c{}", rng.gen_range(0..1000))],
        doc_ids: vec![format!("d{}", rng.gen_range(0..100))],
        model: Some("smollm2-135m".into()),
        tokens_in: Some(rng.gen_range(10..500)),
        tokens_out: Some(rng.gen_range(10..500)),
        latency_us: rng.gen_range(1000..900_000),
        status: *[200u16, 200, 200, 403, 429, 503]
            .get(rng.gen_range(0..6))
            .unwrap_or(&200),
        policy_version: Some("p1".into()),
        gateway_version: "test".into(),
        redacted_prompt: None,
        redacted_answer: None,
    })
}

/// Write `n` records in batches of `batch` (one group commit each).
pub fn fill(log: &AuditLog, n: usize, batch: usize, rng: &mut impl Rng) {
    let mut left = n;
    while left > 0 {
        let k = left.min(batch);
        let drafts = (0..k).map(|_| random_draft(rng)).collect();
        log.append_many(drafts).expect("append");
        left -= k;
    }
}
