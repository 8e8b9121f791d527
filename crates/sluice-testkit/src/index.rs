//! Chunk stores and retrievers over memory: [`MemoryIndex`] (the real index's contract on
//! a `Vec`) and [`FixedHits`] (given chunks for any question).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use sluice_ports::{
    ChunkInput, ChunkStore, CollectionStats, DocumentMeta, Hit, IndexError, Query, RRF_K, Result,
    Retriever, SearchMode, StoredDocument, UpsertOutcome, cosine,
};

struct Row {
    doc: DocumentMeta,
    n: usize,
    chunk: ChunkInput,
}

/// An in-memory chunk index with the contract of sluice-index's LanceDB one: grants are a
/// prefilter (an empty grant list finds nothing), an upsert with the same content hash and
/// policy version is skipped, and when the query has a vector and a floor, a question
/// whose best similarity is under the floor finds nothing. The full-text leg counts shared
/// words (of three letters or more) of the question and the chunk's text and heading path.
#[derive(Default)]
pub struct MemoryIndex {
    rows: Mutex<Vec<Row>>,
}

impl MemoryIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored chunk's text, in insertion order (what a test checks for leaks).
    pub fn texts(&self) -> Vec<String> {
        self.lock().iter().map(|r| r.chunk.text.clone()).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Row>> {
        // A test that panicked while holding the lock has failed already; keep serving.
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// 1-based ranks of the entries that have a score, best first.
fn ranks(scores: &[Option<f32>]) -> HashMap<usize, usize> {
    let mut order: Vec<usize> = (0..scores.len()).filter(|&i| scores[i].is_some()).collect();
    order.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap_or(Ordering::Equal));
    order
        .into_iter()
        .enumerate()
        .map(|(rank, i)| (i, rank + 1))
        .collect()
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .collect()
}

#[async_trait]
impl ChunkStore for MemoryIndex {
    async fn upsert_document(
        &self,
        doc: &DocumentMeta,
        chunks: &[ChunkInput],
    ) -> Result<UpsertOutcome> {
        let mut rows = self.lock();
        let old: Vec<&Row> = rows.iter().filter(|r| r.doc.doc_id == doc.doc_id).collect();
        if old.first().is_some_and(|r| {
            r.doc.content_hash == doc.content_hash && r.doc.policy_version == doc.policy_version
        }) {
            return Ok(UpsertOutcome::Unchanged);
        }
        let removed = old.len() as u64;
        rows.retain(|r| r.doc.doc_id != doc.doc_id);
        rows.extend(chunks.iter().enumerate().map(|(n, c)| Row {
            doc: doc.clone(),
            n,
            chunk: c.clone(),
        }));
        Ok(UpsertOutcome::Written {
            chunks: chunks.len(),
            removed,
        })
    }

    async fn delete_document(&self, doc_id: &str) -> Result<u64> {
        let mut rows = self.lock();
        let before = rows.len();
        rows.retain(|r| r.doc.doc_id != doc_id);
        Ok((before - rows.len()) as u64)
    }

    async fn document_hash(&self, doc_id: &str) -> Result<Option<String>> {
        Ok(self.stored(doc_id).await?.map(|s| s.content_hash))
    }

    async fn stored(&self, doc_id: &str) -> Result<Option<StoredDocument>> {
        Ok(self
            .lock()
            .iter()
            .find(|r| r.doc.doc_id == doc_id)
            .map(|r| StoredDocument {
                collection: r.doc.collection.to_string(),
                content_hash: r.doc.content_hash.clone(),
                policy_version: r.doc.policy_version.clone(),
            }))
    }

    async fn list_collections(&self) -> Result<Vec<CollectionStats>> {
        let mut by_name: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
        for r in self.lock().iter() {
            let e = by_name.entry(r.doc.collection.to_string()).or_default();
            if !e.0.contains(&r.doc.doc_id) {
                e.0.push(r.doc.doc_id.clone());
            }
            e.1 += 1;
        }
        Ok(by_name
            .into_iter()
            .map(|(name, (docs, chunks))| CollectionStats {
                name,
                documents: docs.len(),
                chunks,
            })
            .collect())
    }
}

#[async_trait]
impl Retriever for MemoryIndex {
    async fn search(&self, q: &Query) -> Result<Vec<Hit>> {
        let rows = self.lock();
        let granted: Vec<&Row> = rows
            .iter()
            .filter(|r| q.collections.contains(&r.doc.collection))
            .collect();
        let needs_vector = q.mode != SearchMode::Fts;
        let vector = match (&q.vector, needs_vector) {
            (None, true) => {
                return Err(IndexError::MissingQueryPart {
                    mode: q.mode.as_str(),
                    missing: "vector",
                });
            }
            (v, _) => v.as_deref(),
        };
        let sims: Vec<Option<f32>> = granted
            .iter()
            .map(|r| vector.map(|v| cosine(v, &r.chunk.vector)))
            .collect();
        if let Some(floor) = q.score_floor.filter(|_| vector.is_some()) {
            let best = sims.iter().flatten().fold(f32::MIN, |a, &b| a.max(b));
            if granted.is_empty() || best < floor {
                return Ok(Vec::new());
            }
        }
        let terms = words(&q.text);
        let lexical: Vec<f32> = granted
            .iter()
            .map(|r| {
                let have = words(&format!("{} {}", r.chunk.heading_path, r.chunk.text));
                terms.iter().filter(|t| have.contains(t)).count() as f32
            })
            .collect();
        let vector_ranks = if needs_vector {
            ranks(&sims)
        } else {
            HashMap::new()
        };
        let fts_scores: Vec<Option<f32>> =
            lexical.iter().map(|&s| (s > 0.0).then_some(s)).collect();
        let fts_ranks = if q.mode == SearchMode::Vector {
            HashMap::new()
        } else {
            ranks(&fts_scores)
        };
        let mut hits: Vec<Hit> = granted
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let vector_rank = vector_ranks.get(&i).copied();
                let fts_rank = fts_ranks.get(&i).copied();
                let kept = match q.score_floor.zip(sims[i]) {
                    Some((floor, sim)) => sim >= floor || fts_rank.is_some(),
                    None => vector_rank.is_some() || fts_rank.is_some(),
                };
                let score = match q.mode {
                    SearchMode::Vector => sims[i]?,
                    SearchMode::Fts => fts_scores[i]?,
                    SearchMode::Hybrid => [vector_rank, fts_rank]
                        .iter()
                        .flatten()
                        .map(|&r| 1.0 / (RRF_K + r as f32))
                        .sum(),
                };
                kept.then(|| Hit {
                    chunk_id: format!("{}:{}", r.doc.doc_id, r.n),
                    doc_id: r.doc.doc_id.clone(),
                    collection: r.doc.collection.to_string(),
                    source_path: r.doc.source_path.clone(),
                    span: r.chunk.span.clone(),
                    heading_path: r.chunk.heading_path.clone(),
                    text: r.chunk.text.clone(),
                    score,
                    similarity: sims[i],
                    bm25: fts_scores[i].filter(|_| fts_rank.is_some()),
                    vector_rank,
                    fts_rank,
                })
            })
            .collect();
        hits.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal));
        hits.truncate(q.k);
        Ok(hits)
    }
}

/// Returns fixed chunks of the granted collections, at most `k`, whatever the question:
/// stands for an index filled under a weaker ingest policy, so the context boundary is what
/// has to catch a value.
pub struct FixedHits(pub Vec<Hit>);

#[async_trait]
impl Retriever for FixedHits {
    async fn search(&self, q: &Query) -> Result<Vec<Hit>> {
        Ok(self
            .0
            .iter()
            .filter(|h| q.collections.iter().any(|c| c.as_str() == h.collection))
            .take(q.k)
            .cloned()
            .collect())
    }
}

/// A retrieved chunk of collection `ops` with this path, heading and text.
pub fn hit(path: &str, heading: &str, text: &str) -> Hit {
    Hit {
        chunk_id: "d1:0".into(),
        doc_id: "d1".into(),
        collection: "ops".into(),
        source_path: path.into(),
        span: 0..text.len() as u64,
        heading_path: heading.into(),
        text: text.into(),
        score: 7.5,
        similarity: Some(0.9),
        bm25: Some(7.5),
        vector_rank: Some(1),
        fts_rank: Some(1),
    }
}
