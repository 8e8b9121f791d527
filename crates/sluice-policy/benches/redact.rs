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

#[path = "../tests/it/support/mod.rs"]
mod support;

fn sources() -> Vec<sluice_policy::PolicySource> {
    support::sources(&support::repo().join("policies"))
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
        // The drop of the compiled policy is not part of compiling it.
        b.iter_with_large_drop(|| Policy::compile(black_box(&srcs)).expect("compiles"))
    });
    g.finish();

    let policy = Arc::new(Policy::compile(&srcs).expect("default policy compiles"));
    let r = Redactor::new(policy, PseudonymKey::new(b"bench".to_vec()));
    let text = support::corpus(10 << 20);
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
    let answer = support::corpus(4096);
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
