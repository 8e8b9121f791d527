//! Test helpers: a deterministic bag-of-words "embedder" and document builders.
#![allow(dead_code, missing_docs)]

use sluice_index::{ChunkIndex, ChunkInput, CollectionName, DocumentMeta, IndexConfig};

pub const DIM: usize = 384;

const STOP: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "how", "in", "is", "it", "of",
    "on", "or", "our", "the", "to", "was", "we", "what", "when", "which", "who", "with",
];

fn fnv(s: &str, seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Crude stemming so "invoices" and "invoice" share a dimension.
fn stem(w: &str) -> &str {
    w.strip_suffix("es")
        .filter(|s| s.len() > 3)
        .or_else(|| w.strip_suffix('s').filter(|s| s.len() > 3))
        .unwrap_or(w)
}

/// Hash content words into a signed 384-d bag of words, L2-normalised: texts sharing
/// words have a high cosine, texts sharing none have cosine 0 (up to hash collisions).
pub fn embed(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; DIM];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && !STOP.contains(&w.as_str()))
    {
        let w = stem(&word);
        let h = fnv(w, 0);
        let sign = if fnv(w, 1) & 1 == 0 { 1.0 } else { -1.0 };
        v[(h % DIM as u64) as usize] += sign;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        v[0] = 1.0;
        return v;
    }
    v.iter().map(|x| x / norm).collect()
}

pub fn meta(doc_id: &str, collection: &str, hash: &str) -> DocumentMeta {
    DocumentMeta {
        doc_id: doc_id.to_owned(),
        collection: name(collection),
        source_path: format!("{collection}/{doc_id}.md"),
        content_hash: hash.to_owned(),
        policy_version: "p1".to_owned(),
        ingested_at_ms: 1_790_000_000_000,
    }
}

pub fn chunks(texts: &[&str]) -> Vec<ChunkInput> {
    let mut start = 0u64;
    texts
        .iter()
        .map(|t| {
            let end = start + t.len() as u64;
            let c = ChunkInput {
                span: start..end,
                heading_path: "Doc > Section".to_owned(),
                text: (*t).to_owned(),
                vector: embed(t),
            };
            start = end + 1;
            c
        })
        .collect()
}

pub async fn open(dir: &std::path::Path) -> ChunkIndex {
    ChunkIndex::open(IndexConfig::new(dir.to_str().expect("utf-8 path"), DIM))
        .await
        .expect("open index")
}

pub async fn open_with(cfg: IndexConfig) -> ChunkIndex {
    ChunkIndex::open(cfg).await.expect("open index")
}

/// A small business corpus in three collections.
pub const CORPUS: &[(&str, &str, &[&str])] = &[
    (
        "fin-1",
        "finance",
        &[
            "Quarterly revenue grew twelve percent driven by enterprise subscriptions.",
            "Operating expenses rose because of new hiring in sales and marketing.",
            "The board approved the annual budget for the next fiscal year.",
        ],
    ),
    (
        "fin-2",
        "finance",
        &[
            "Invoices must be approved by a cost center manager before payment.",
            "Vendor payments are processed every Friday by accounts payable.",
            "Late invoices incur a penalty fee under most supplier contracts.",
        ],
    ),
    (
        "hr-1",
        "hr",
        &[
            "Employees receive twenty five days of paid vacation per year.",
            "Parental leave is sixteen weeks at full salary for all employees.",
            "Salary bands are reviewed annually by the compensation committee.",
        ],
    ),
    (
        "eng-1",
        "engineering",
        &[
            "The deploy pipeline runs integration tests before every production release.",
            "Kubernetes cluster upgrades happen during the Tuesday maintenance window.",
            "Every incident gets a blameless postmortem within five business days.",
        ],
    ),
];

pub async fn load_corpus(index: &ChunkIndex) {
    use sluice_index::ChunkStore;
    for (id, coll, texts) in CORPUS {
        index
            .upsert_document(&meta(id, coll, &format!("hash-{id}")), &chunks(texts))
            .await
            .expect("upsert");
    }
}

pub fn all_collections() -> Vec<CollectionName> {
    ["finance", "hr", "engineering"]
        .iter()
        .map(|s| name(s))
        .collect()
}

/// A collection name the tests know to be valid.
pub fn name(s: &str) -> CollectionName {
    CollectionName::new(s).expect("valid collection name")
}
