//! Issue-3 figures in one run, real model and real LanceDB files throughout:
//!
//! 1. ingest of `corpora/` end to end (extract → ingest policy → embed → LanceDB): MB/s, chunks/s;
//! 2. retrieval quality on `bench/qa/corpora_qa.toml`: recall@5 for vector, BM25 and hybrid
//!    (right document, and right chunk = the stored text holds the answer), off-topic refusals;
//! 3. ingest of a generated corpus (`SLUICE_BENCH_INGEST_MB`, default 4): MB/s, chunks/s;
//! 4. hybrid search latency over `SLUICE_BENCH_CHUNKS` (default 100,000) chunks with the
//!    query embedding included: p50/p99 (`SLUICE_BENCH_CHUNKS=0` skips it, and
//!    `SLUICE_BENCH_INGEST_MB=0` part 3).
//!
//! `"$(bench/bin.sh retrieval)"` (after `make models`). With `SLUICE_BENCH_SEARCH_INDEX=URI`
//! (and `SLUICE_BENCH_SEARCH_COLLECTION`, default `bench`) it only times hybrid search over
//! that existing index, with the Q&A questions (bench/ingest_scale.sh uses this).
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::Instant;

use common::*;
use sluice_embed::Embedder;
use sluice_index::{
    ChunkIndex, ChunkInput, DocumentMeta, IndexConfig, Query, Retriever, SearchMode,
};
use sluice_rag::{IngestOptions, IngestSummary, Ingestor, SourceFile, discover};

#[derive(serde::Deserialize)]
struct QaFile {
    question: Vec<Qa>,
    off_topic: Vec<OffTopic>,
}

#[derive(serde::Deserialize)]
struct Qa {
    question: String,
    source: String,
    answer: String,
}

#[derive(serde::Deserialize)]
struct OffTopic {
    question: String,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a>(&mut self, v: &'a [&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

const WORDS: &[&str] = &[
    "invoice",
    "vendor",
    "payment",
    "approval",
    "budget",
    "quarter",
    "deploy",
    "cluster",
    "replica",
    "backup",
    "retention",
    "policy",
    "employee",
    "benefit",
    "travel",
    "expense",
    "contract",
    "renewal",
    "customer",
    "escalation",
    "incident",
    "outage",
    "rollback",
    "migration",
    "schema",
    "latency",
    "capacity",
    "roadmap",
    "milestone",
    "review",
    "audit",
    "access",
    "credential",
    "rotation",
    "onboarding",
    "payroll",
    "relocation",
    "visa",
    "laptop",
    "the",
    "and",
    "for",
    "with",
    "after",
    "before",
    "each",
    "team",
    "owner",
    "must",
    "should",
    "within",
    "days",
    "weeks",
    "report",
    "ticket",
    "manager",
    "finance",
    "legal",
    "support",
];

fn paragraph(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(WORDS));
        if i % 14 == 13 {
            s.push('.');
        }
    }
    s.push('.');
    s
}

fn generated_doc(rng: &mut Rng, target: usize) -> String {
    let mut s = String::new();
    let mut n = 0;
    while s.len() < target {
        n += 1;
        s.push_str(&format!(
            "## Section {n}: {} {}\n\n",
            rng.pick(WORDS),
            rng.pick(WORDS)
        ));
        for _ in 0..3 {
            let words = 60 + (rng.next() % 60) as usize;
            s.push_str(&paragraph(rng, words));
            s.push_str("\n\n");
        }
    }
    s
}

/// Ingests `files` into `collection` and prints the end-to-end rates.
async fn timed_ingest(ing: &Ingestor, collection: &str, files: &[SourceFile], label: &str) {
    let t = Instant::now();
    let reports = ing.ingest_files(&coll(collection), files, &()).await;
    let secs = t.elapsed().as_secs_f64();
    let mut s = IngestSummary::default();
    reports.iter().for_each(|r| s.add(r));
    println!(
        "ingest {label}: {} files, {:.3} MB, {} chunks in {:.2} s = {:.3} MB/s, {:.1} chunks/s (failed {})",
        files.len(),
        s.bytes as f64 / 1e6,
        s.chunks,
        secs,
        s.bytes as f64 / 1e6 / secs,
        s.chunks as f64 / secs,
        s.failed
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let embedder = embedder();
    println!(
        "== machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    let qa: QaFile =
        toml::from_str(&std::fs::read_to_string(repo().join("bench/qa/corpora_qa.toml")).unwrap())
            .unwrap();
    if let Ok(uri) = std::env::var("SLUICE_BENCH_SEARCH_INDEX") {
        return existing_index_latency(uri, &qa).await;
    }

    // 1. corpora ingest.
    let tmp = tempfile::tempdir().unwrap();
    let index = index(tmp.path()).await;
    let ing = ingestor(index.clone(), IngestOptions::default());
    let (files, _, _) = discover(&[repo().join("corpora")]);
    timed_ingest(&ing, "demo", &files, "corpora/").await;

    // 2. retrieval quality.
    let r = redactor();
    for mode in [SearchMode::Vector, SearchMode::Fts, SearchMode::Hybrid] {
        let (mut doc_hits, mut chunk_hits, mut mrr) = (0, 0, 0.0);
        for q in &qa.question {
            let text = r.redact(&q.question, sluice_policy::Boundary::Prompt).text;
            let v = embedder.embed(&[text.as_str()]).unwrap().pop().unwrap();
            let query = Query::new(text, v, vec![coll("demo")])
                .with_k(5)
                .with_mode(mode)
                .with_score_floor(None);
            let hits = index.search(&query).await.unwrap();
            let answer = squash(&q.answer);
            if hits.iter().any(|h| h.source_path == q.source) {
                doc_hits += 1;
            }
            if let Some(pos) = hits
                .iter()
                .position(|h| h.source_path == q.source && squash(&h.text).contains(&answer))
            {
                chunk_hits += 1;
                mrr += 1.0 / (pos + 1) as f64;
            }
        }
        let n = qa.question.len() as f64;
        println!(
            "recall@5 {:<6} ({} questions): chunk {:.3}, document {:.3}, MRR@5 {:.3}",
            mode.as_str(),
            qa.question.len(),
            chunk_hits as f64 / n,
            doc_hits as f64 / n,
            mrr / n
        );
    }
    let mut refused = 0;
    for q in &qa.off_topic {
        let v = embedder
            .embed(&[q.question.as_str()])
            .unwrap()
            .pop()
            .unwrap();
        let hits = index
            .search(&Query::new(q.question.clone(), v, vec![coll("demo")]))
            .await
            .unwrap();
        refused += usize::from(hits.is_empty());
    }
    let mut answered = 0;
    for q in &qa.question {
        let v = embedder
            .embed(&[q.question.as_str()])
            .unwrap()
            .pop()
            .unwrap();
        let hits = index
            .search(&Query::new(q.question.clone(), v, vec![coll("demo")]))
            .await
            .unwrap();
        answered += usize::from(!hits.is_empty());
    }
    println!(
        "score floor {}: off-topic refused {}/{}, on-topic kept {}/{}",
        sluice_index::DEFAULT_SCORE_FLOOR,
        refused,
        qa.off_topic.len(),
        answered,
        qa.question.len()
    );

    // 3. generated corpus ingest.
    let mb = env_usize("SLUICE_BENCH_INGEST_MB", 4);
    let gen_dir = tmp.path().join("generated");
    std::fs::create_dir_all(&gen_dir).unwrap();
    let mut rng = Rng(0x5eed);
    let mut total = 0;
    let mut i = 0;
    while total < mb * 1_000_000 {
        let size = 20_000 + (rng.next() % 40_000) as usize;
        let d = generated_doc(&mut rng, size);
        total += d.len();
        std::fs::write(gen_dir.join(format!("doc{i:05}.md")), d).unwrap();
        i += 1;
    }
    let (files, _, _) = discover(std::slice::from_ref(&gen_dir));
    timed_ingest(&ing, "generated", &files, "generated").await;

    // 4. hybrid search over N chunks, query embedding included. Embedding 100k chunks would
    // take ~15 minutes here, so rows get real embeddings of 2,000 generated chunks, each
    // reused with small noise; texts are all distinct. Latency depends on row count and
    // index, not on where the vectors came from.
    let n = env_usize("SLUICE_BENCH_CHUNKS", 100_000);
    if n == 0 {
        return; // SLUICE_BENCH_CHUNKS=0: quality and ingest only
    }
    let big = ChunkIndex::open(IndexConfig::new(
        tmp.path().join("big").display().to_string(),
        embedder.dim(),
    ))
    .await
    .unwrap();
    let base_texts: Vec<String> = (0..2_000).map(|_| paragraph(&mut rng, 80)).collect();
    let t = Instant::now();
    let mut base = Vec::with_capacity(base_texts.len());
    for batch in base_texts.chunks(64) {
        let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
        base.extend(embedder.embed(&refs).unwrap());
    }
    println!(
        "embedded {} base chunks in {:.1} s",
        base.len(),
        t.elapsed().as_secs_f64()
    );
    let collections = ["finance", "hr", "engineering", "legal", "sales"];
    let per_doc = 10;
    let t = Instant::now();
    let mut docs = Vec::new();
    for d in 0..n / per_doc {
        let chunks = (0..per_doc)
            .map(|c| {
                let k = (rng.next() % base.len() as u64) as usize;
                let mut v: Vec<f32> = base[k].iter().map(|x| x + 0.02 * rng.unit()).collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                ChunkInput {
                    span: (c as u64 * 1000)..(c as u64 * 1000 + 900),
                    heading_path: format!("Section {c}"),
                    text: format!("{} {} doc{d}", base_texts[k], rng.pick(WORDS)),
                    vector: v,
                }
            })
            .collect();
        docs.push((
            DocumentMeta {
                doc_id: format!("d{d:06}"),
                collection: coll(collections[d % collections.len()]),
                source_path: format!("gen/{d}.md"),
                content_hash: format!("{d}"),
                policy_version: "bench".into(),
                ingested_at_ms: 0,
            },
            chunks,
        ));
        if docs.len() == 1_000 {
            big.upsert_documents(&docs).await.unwrap();
            docs.clear();
        }
    }
    if !docs.is_empty() {
        big.upsert_documents(&docs).await.unwrap();
    }
    let load = t.elapsed().as_secs_f64();
    let t = Instant::now();
    big.refresh_indexes().await.unwrap();
    println!(
        "{n} chunks written in {load:.1} s; indexes (FTS + IVF_HNSW_SQ) built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let grants = vec![coll("finance"), coll("hr"), coll("engineering")];
    let label = format!("{n} chunks, 3 of 5 collections granted");
    search_latency(embedder.as_ref(), &big, &grants, &qa, &label).await;
}

/// Hybrid top-5 latency with the query embedding included, over the Q&A questions.
async fn search_latency(
    embedder: &dyn Embedder,
    index: &ChunkIndex,
    grants: &[sluice_index::CollectionName],
    qa: &QaFile,
    label: &str,
) {
    let mut total_ms = Vec::new();
    let mut search_ms = Vec::new();
    let rounds = env_usize("SLUICE_BENCH_QUERIES", 200);
    for i in 0..rounds {
        let q = &qa.question[i % qa.question.len()].question;
        let t = Instant::now();
        let v = embedder.embed(&[q.as_str()]).unwrap().pop().unwrap();
        let t2 = Instant::now();
        let hits = index
            .search(
                &Query::new(q.clone(), v, grants.to_vec())
                    .with_k(5)
                    .with_score_floor(None),
            )
            .await
            .unwrap();
        assert!(
            hits.iter()
                .all(|h| grants.iter().any(|g| g.as_str() == h.collection))
        );
        search_ms.push(t2.elapsed().as_secs_f64() * 1e3);
        total_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "hybrid top-5 over {label}, {rounds} queries: \
         embed+search p50 {:.1} ms p99 {:.1} ms; search only p50 {:.1} ms p99 {:.1} ms",
        pct(&mut total_ms, 0.5),
        pct(&mut total_ms, 0.99),
        pct(&mut search_ms, 0.5),
        pct(&mut search_ms, 0.99)
    );
}

/// `SLUICE_BENCH_SEARCH_INDEX`: time search over an index someone else built.
/// The default embedding backend (ONNX Runtime) in the precision the index records, as
/// `sluice ingest` used to build it.
async fn existing_index_latency(uri: String, qa: &QaFile) {
    let recorded = ChunkIndex::recorded_embedding_model(&IndexConfig::new(uri.clone(), 1))
        .await
        .unwrap();
    let precision = match recorded {
        sluice_index::RecordedModel::Model(id) => sluice_embed::Precision::of_model_id(&id),
        _ => sluice_embed::Precision::F32,
    };
    let config = sluice_embed::EmbedConfig {
        precision,
        ..sluice_embed::EmbedConfig::default()
    };
    let embedder = sluice_embed::load_default(&models_root(), &config).unwrap();
    println!("== query embedding: {} ({precision})", embedder.model_id());
    let collection = std::env::var("SLUICE_BENCH_SEARCH_COLLECTION").unwrap_or("bench".into());
    let index = ChunkIndex::open(IndexConfig::new(uri, embedder.dim()))
        .await
        .unwrap();
    let status = index.index_status().await.unwrap();
    let label = format!(
        "an existing index of {} chunks (vector index: {}, unindexed: {}, segments: {})",
        status.rows, status.vector, status.max_unindexed_rows, status.max_segments
    );
    let grants = [coll(&collection)];
    search_latency(embedder.as_ref(), &index, &grants, qa, &label).await;
    leg_latency(embedder.as_ref(), &index, &grants, qa).await;
}

/// Search-only latency of each leg alone (vector, full-text), so a slow hybrid figure
/// can be traced to the leg that makes it.
async fn leg_latency(
    embedder: &dyn Embedder,
    index: &ChunkIndex,
    grants: &[sluice_index::CollectionName],
    qa: &QaFile,
) {
    let rounds = env_usize("SLUICE_BENCH_QUERIES", 200);
    let questions: Vec<(String, Vec<f32>)> = (0..rounds.min(qa.question.len()))
        .map(|i| {
            let q = qa.question[i].question.clone();
            let v = embedder.embed(&[q.as_str()]).unwrap().pop().unwrap();
            (q, v)
        })
        .collect();
    for mode in [SearchMode::Vector, SearchMode::Fts] {
        let mut ms = Vec::new();
        for i in 0..rounds {
            let (q, v) = &questions[i % questions.len()];
            let query = Query::new(q.clone(), v.clone(), grants.to_vec())
                .with_k(5)
                .with_score_floor(None)
                .with_mode(mode);
            let t = Instant::now();
            index.search(&query).await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "  {mode:?} leg alone, {rounds} queries: search p50 {:.1} ms p99 {:.1} ms",
            pct(&mut ms, 0.5),
            pct(&mut ms, 0.99)
        );
    }
}
