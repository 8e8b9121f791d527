//! Insert throughput and search latency on 100k synthetic chunks.
//!
//! `cargo bench -p sluice-index --bench search` (env `SLUICE_BENCH_CHUNKS`, `SLUICE_BENCH_QUERIES`
//! override the sizes). Vectors are given (hashed bag-of-words, 384-d): embedding time is
//! measured by the embed crate, not here.
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/it/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{DIM, embed, meta};
use sluice_index::{
    ChunkIndex, ChunkInput, ChunkStore, CollectionName, IndexConfig, Query, Retriever, SearchMode,
};

const CHUNKS_PER_DOC: usize = 10;
const DOCS_PER_BATCH: usize = 1_000;
const COLLECTIONS: &[&str] = &["finance", "hr", "engineering", "legal", "sales"];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Skewed pick in 0..n (small indices frequent, like word frequencies).
    fn zipfish(&mut self, n: usize) -> usize {
        let a = (self.next() % n as u64) as usize;
        let b = (self.next() % n as u64) as usize;
        a.min(b)
    }
}

fn vocabulary() -> Vec<String> {
    const SYL: &[&str] = &[
        "ka", "lo", "mi", "ter", "van", "dor", "sel", "pra", "qui", "nu", "bel", "tos", "ran",
        "gor", "fi", "le", "mon", "zu", "ast", "ril",
    ];
    let mut v = Vec::new();
    for a in SYL {
        for b in SYL {
            for c in ["", "x", "en", "ia", "or"] {
                v.push(format!("{a}{b}{c}"));
            }
        }
    }
    v
}

fn chunk_text(rng: &mut Rng, vocab: &[String]) -> String {
    let n = 60 + (rng.next() % 60) as usize;
    (0..n)
        .map(|_| vocab[rng.zipfish(vocab.len())].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn latencies(index: &ChunkIndex, queries: &[Query]) -> (Duration, Duration, usize) {
    // One warm-up pass over a few queries (index/page caches).
    for q in queries.iter().take(10) {
        index.search(q).await.unwrap();
    }
    let mut times = Vec::with_capacity(queries.len());
    let mut empty = 0;
    for q in queries {
        let t = Instant::now();
        let hits = index.search(q).await.unwrap();
        times.push(t.elapsed());
        empty += usize::from(hits.is_empty());
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99), empty)
}

fn main() {
    let total = env_usize("SLUICE_BENCH_CHUNKS", 100_000);
    let nq = env_usize("SLUICE_BENCH_QUERIES", 200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(total, nq));
}

async fn run(total: usize, nq: usize) {
    let dir = tempfile::tempdir().unwrap();
    let uri = dir.path().to_str().unwrap().to_owned();
    let mut cfg = IndexConfig::new(uri.clone(), DIM);
    cfg.vector_index_min_rows = usize::MAX; // load and measure without the ANN index first
    let index = ChunkIndex::open(cfg).await.unwrap();
    let vocab = vocabulary();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);

    println!("sluice-index search bench: {total} chunks, {DIM}-d, {nq} queries, k=10");
    println!("(2 cores shared with other builds: treat as upper bounds)\n");

    // Generate the corpus up front so the insert timing covers only the index.
    let docs_total = total / CHUNKS_PER_DOC;
    let mut docs: Vec<(sluice_index::DocumentMeta, Vec<ChunkInput>)> = Vec::new();
    let mut sample_texts = Vec::new();
    for d in 0..docs_total {
        let coll = COLLECTIONS[d % COLLECTIONS.len()];
        let chunks: Vec<ChunkInput> = (0..CHUNKS_PER_DOC)
            .map(|n| {
                let text = chunk_text(&mut rng, &vocab);
                ChunkInput {
                    span: (n as u64 * 1000)..(n as u64 * 1000 + text.len() as u64),
                    heading_path: format!("Doc {d} > Part {n}"),
                    vector: embed(&text),
                    text,
                }
            })
            .collect();
        if d % (docs_total / nq.max(1)).max(1) == 0 {
            sample_texts.push(chunks[0].text.clone());
        }
        docs.push((meta(&format!("doc{d}"), coll, &format!("h{d}")), chunks));
    }

    let t = Instant::now();
    for batch in docs.chunks(DOCS_PER_BATCH) {
        index.upsert_documents(batch).await.unwrap();
    }
    let load = t.elapsed();
    let t = Instant::now();
    index.refresh_indexes().await.unwrap();
    let refresh = t.elapsed();
    println!("| step | time | rate |");
    println!("|---|---|---|");
    println!(
        "| bulk upsert, {DOCS_PER_BATCH} docs ({} chunks) per commit, FTS/scalar index upkeep included | {:.1} s | {:.0} rows/s |",
        DOCS_PER_BATCH * CHUNKS_PER_DOC,
        load.as_secs_f64(),
        total as f64 / load.as_secs_f64()
    );
    println!("| final index refresh | {:.2} s | |", refresh.as_secs_f64());

    // Single-document re-ingest into the full table (changed hash: replace 10 chunks).
    let mut single = Vec::new();
    for (i, (m, c)) in docs.iter().take(20).enumerate() {
        let mut m = m.clone();
        m.content_hash = format!("changed{i}");
        let t = Instant::now();
        index.upsert_document(&m, c).await.unwrap();
        single.push(t.elapsed());
    }
    single.sort();
    println!(
        "| re-upsert one document (10 chunks) into {total} rows, p50 of 20 | {:.0} ms | |",
        ms(percentile(&single, 0.5))
    );
    let mut unchanged = Vec::new();
    for (m, c) in docs.iter().skip(100).take(20) {
        let t = Instant::now();
        index.upsert_document(m, c).await.unwrap();
        unchanged.push(t.elapsed());
    }
    unchanged.sort();
    println!(
        "| unchanged-document check (skip), p50 of 20 | {:.1} ms | |",
        ms(percentile(&unchanged, 0.5))
    );

    // Queries: a few words from a stored chunk (so there is a right answer), granted
    // three of the five collections.
    let grants: Vec<CollectionName> = COLLECTIONS[..3]
        .iter()
        .map(|s| CollectionName::new(*s).expect("valid name"))
        .collect();
    let queries: Vec<Query> = sample_texts
        .iter()
        .take(nq)
        .map(|t| {
            let words: Vec<&str> = t.split(' ').skip(5).take(8).collect();
            let text = words.join(" ");
            Query::new(text.clone(), embed(&text), grants.clone())
                .with_k(10)
                .with_score_floor(None)
        })
        .collect();

    println!("\n| mode | vector index | p50 | p99 | empty results |");
    println!("|---|---|---|---|---|");
    let mut exact_top = Vec::new();
    for mode in [SearchMode::Hybrid, SearchMode::Vector, SearchMode::Fts] {
        let qs: Vec<Query> = queries.iter().map(|q| q.clone().with_mode(mode)).collect();
        let (p50, p99, empty) = latencies(&index, &qs).await;
        println!(
            "| {} | none (exact) | {:.1} ms | {:.1} ms | {empty} |",
            mode.as_str(),
            ms(p50),
            ms(p99)
        );
        if mode == SearchMode::Vector {
            for q in &qs {
                let ids: Vec<String> = index
                    .search(q)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|h| h.chunk_id)
                    .collect();
                exact_top.push(ids);
            }
        }
    }

    // Build the IVF_HNSW_SQ index through the normal path (threshold reached).
    drop(index);
    let mut cfg = IndexConfig::new(uri.clone(), DIM);
    cfg.vector_index_min_rows = 10_000;
    let index = ChunkIndex::open(cfg.clone()).await.unwrap();
    let t = Instant::now();
    index.refresh_indexes().await.unwrap();
    let build = t.elapsed();
    assert!(index.index_status().await.unwrap().vector);
    drop(index);

    // ef = 0 stands for LanceDB's default (1.5 x limit): `ef.max(limit)` = limit.
    let mut recalls = Vec::new();
    for ef in [0usize, 100, sluice_index::DEFAULT_ANN_EF, 400] {
        let mut cfg = cfg.clone();
        cfg.ann_ef = ef;
        let index = ChunkIndex::open(cfg).await.unwrap();
        for mode in [SearchMode::Hybrid, SearchMode::Vector] {
            let qs: Vec<Query> = queries.iter().map(|q| q.clone().with_mode(mode)).collect();
            let (p50, p99, empty) = latencies(&index, &qs).await;
            println!(
                "| {} | IVF_HNSW_SQ, ef {} | {:.1} ms | {:.1} ms | {empty} |",
                mode.as_str(),
                if ef == 0 {
                    "default".to_owned()
                } else {
                    ef.to_string()
                },
                ms(p50),
                ms(p99)
            );
            if mode == SearchMode::Vector {
                let mut overlap = 0usize;
                let mut n = 0usize;
                for (q, exact) in qs.iter().zip(&exact_top) {
                    let ann: Vec<String> = index
                        .search(q)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|h| h.chunk_id)
                        .collect();
                    overlap += exact.iter().filter(|id| ann.contains(id)).count();
                    n += exact.len();
                }
                recalls.push((ef, overlap as f64 / n.max(1) as f64));
            }
        }
    }
    println!("\nIVF_HNSW_SQ build: {:.1} s", build.as_secs_f64());
    for (ef, r) in recalls {
        println!("vector top-10 recall against exact search, ef {ef}: {r:.3}");
    }
}
