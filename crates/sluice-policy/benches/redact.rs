//! Engine benchmarks with the shipped default policy (`policies/`):
//! - batch redaction throughput over a generated 10 MB corpus of business prose with about one
//!   finding per 2 KB (target ≥ 100 MB/s on one thread);
//! - policy compile time (target ≤ 100 ms);
//! - streaming cost per token (target ≤ 10 µs).
//!
//! Run: `cargo bench -p sluice-policy` (or `make bench`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use sluice_policy::{Boundary, Policy, PseudonymKey, Redactor};

#[path = "../tests/support/mod.rs"]
mod support;

fn sources() -> Vec<sluice_policy::PolicySource> {
    support::sources(&support::repo().join("policies"))
}

const PROSE: &[&str] = &[
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

const PLANTED: &[&str] = &[
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
fn corpus(bytes: usize) -> String {
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

/// A typical grounded answer: prose with a number and a path, no secrets.
const ANSWER: &str = "To fail over the primary database, first confirm that the replica in the \
second region is healthy and that replication lag is below five seconds [1]. Then promote the \
replica with the promote command from runbooks/database-failover.md, point the connection \
pool at the new primary, and watch the error rate for 10 minutes [2]. If anything looks \
wrong, page the on-call engineer and keep the old primary fenced until the review.\n\n";

fn bench(c: &mut Criterion) {
    let srcs = sources();
    let mut g = c.benchmark_group("policy");
    g.bench_function("compile_default_policy", |b| {
        b.iter(|| Policy::compile(black_box(&srcs)).expect("compiles"))
    });
    g.finish();

    let policy = Arc::new(Policy::compile(&srcs).expect("default policy compiles"));
    let r = Redactor::new(policy, PseudonymKey::new(b"bench".to_vec()));
    let text = corpus(10 << 20);
    let found = r.redact(&text, Boundary::Ingest).findings.len();
    eprintln!(
        "corpus: {} bytes, {found} findings (1 per {} bytes)",
        text.len(),
        text.len() / found.max(1)
    );

    let mut g = c.benchmark_group("redact");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("batch_10MB_ingest", |b| {
        b.iter(|| r.redact(black_box(&text), Boundary::Ingest))
    });
    g.finish();

    // Streaming: a 4 KB answer arriving as 4-byte tokens, as a model would emit it.
    let answer = corpus(4096);
    let tokens: Vec<&str> = {
        let mut v = Vec::new();
        let mut i = 0;
        while i < answer.len() {
            let mut j = (i + 4).min(answer.len());
            while !answer.is_char_boundary(j) {
                j += 1;
            }
            v.push(&answer[i..j]);
            i = j;
        }
        v
    };
    // Prose as a model writes it (word tokens with a leading space): how many content events
    // a streamed answer arrives in, and what each token costs.
    let prose = ANSWER.repeat(4);
    let words: Vec<&str> = {
        let mut v = Vec::new();
        let mut start = 0;
        for (i, ch) in prose.char_indices() {
            if i > start && (ch == ' ' || ch == '\n') {
                v.push(&prose[start..i]);
                start = i;
            }
        }
        v.push(&prose[start..]);
        v
    };
    {
        let mut s = r.stream(Boundary::Response);
        let events = words
            .iter()
            .filter(|w| s.push(w).is_ok_and(|o| !o.is_empty()))
            .count();
        eprintln!(
            "prose answer: {} tokens, {events} content events ({:.2} per token)",
            words.len(),
            events as f64 / words.len() as f64
        );
    }
    let mut g = c.benchmark_group("stream");
    g.throughput(Throughput::Elements(words.len() as u64));
    g.bench_function("per_token_prose_answer", |b| {
        b.iter(|| {
            let mut s = r.stream(Boundary::Response);
            let mut n = 0;
            for t in &words {
                n += s.push(t).map(|o| o.len()).unwrap_or(0);
            }
            n + s.finish().map(|o| o.len()).unwrap_or(0)
        })
    });
    g.throughput(Throughput::Elements(tokens.len() as u64));
    g.bench_function("per_token_4KB_answer", |b| {
        b.iter(|| {
            let mut s = r.stream(Boundary::Response);
            let mut n = 0;
            for t in &tokens {
                n += s.push(t).map(|o| o.len()).unwrap_or(0);
            }
            n + s.finish().map(|o| o.len()).unwrap_or(0)
        })
    });
    g.finish();
}

// criterion_group! generates an undocumented fn.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
