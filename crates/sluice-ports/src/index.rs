//! The chunk index's port: the two traits an index engine implements, [`ChunkStore`]
//! (writes) and [`Retriever`] (reads), and the values that cross them.

use std::ops::Range;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::index_error::Result;

/// Default cosine-similarity floor, see [`Query::score_floor`].
///
/// all-MiniLM-L6-v2 gives unrelated sentence pairs a cosine typically below 0.2 and
/// related ones above 0.35; 0.3 sits between the two with margin on both sides.
pub const DEFAULT_SCORE_FLOOR: f32 = 0.3;

/// Default number of hits.
pub const DEFAULT_K: usize = 5;

/// The RRF constant `k` in `1 / (k + rank)` (Cormack et al. 2009; LanceDB's default).
pub const RRF_K: f32 = 60.0;

/// A collection's name, the unit of access grants: 1–64 of `A-Z a-z 0-9 . _ -`, not
/// starting with `.`. Checked where a name enters (CLI arguments, the gateway's requests and
/// config, index writes) so that a name is never arbitrary request text: names are written
/// to audit records and used in LanceDB filters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CollectionName(String);

/// A string that is not a valid [`CollectionName`] (the string itself is not kept: it may
/// be request text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("collection names are 1-64 of A-Z a-z 0-9 . _ - and do not start with '.'")]
pub struct InvalidCollectionName;

impl CollectionName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> std::result::Result<Self, InvalidCollectionName> {
        let name = name.into();
        if Self::is_valid(&name) {
            Ok(Self(name))
        } else {
            Err(InvalidCollectionName)
        }
    }

    /// Whether `name` is a valid collection name.
    pub fn is_valid(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 64
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::str::FromStr for CollectionName {
    type Err = InvalidCollectionName;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl std::fmt::Display for CollectionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for CollectionName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for CollectionName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

/// Everything the index stores about a source document (shared by all its chunks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentMeta {
    /// Stable id of the document, e.g. a hash of collection + source path.
    pub doc_id: String,
    /// The collection (unit of access grants) the document belongs to.
    pub collection: CollectionName,
    /// Path of the document in its source.
    pub source_path: String,
    /// Hex hash of the whole source document; an upsert with the same hash (and the same
    /// policy version) is skipped.
    pub content_hash: String,
    /// Version of the ingest policy that redacted the chunk text.
    pub policy_version: String,
    /// When the document was ingested, in milliseconds since the Unix epoch.
    pub ingested_at_ms: i64,
}

/// One chunk of a document, as the caller produced it. Its id is assigned by the index:
/// `<doc_id>:<n>` for the `n`th chunk passed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkInput {
    /// Byte span of the chunk in the source document.
    pub span: Range<u64>,
    /// Heading path, `" > "`-joined (empty when the chunk is above any heading).
    pub heading_path: String,
    /// Chunk text **after** the ingest policy. The index stores it as given.
    pub text: String,
    /// Embedding of the text, of the index's dimension.
    pub vector: Vec<f32>,
}

/// What an upsert did to one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UpsertOutcome {
    /// The document's chunks were written; `removed` old chunks were deleted in the same
    /// commit (0 for a new document).
    Written {
        /// Chunks written.
        chunks: usize,
        /// Chunks of the previous version of the document that were removed.
        removed: u64,
    },
    /// The stored document has the same content hash and policy version: nothing written.
    Unchanged,
}

/// What the index holds for one stored document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredDocument {
    /// The collection the document is in.
    pub collection: String,
    /// The content hash stored with the document's chunks.
    pub content_hash: String,
    /// The policy version stored with the document's chunks.
    pub policy_version: String,
}

/// Counts for one collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionStats {
    /// Collection name.
    pub name: String,
    /// Number of documents.
    pub documents: usize,
    /// Number of chunks.
    pub chunks: usize,
}

/// Which retrieval legs a search runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Nearest neighbours by cosine similarity only.
    Vector,
    /// BM25 over Lance's inverted index only.
    Fts,
    /// Both, fused with reciprocal rank fusion.
    #[default]
    Hybrid,
}

impl SearchMode {
    /// Lower-case name (`"vector"`, `"fts"`, `"hybrid"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vector => "vector",
            Self::Fts => "fts",
            Self::Hybrid => "hybrid",
        }
    }
}

/// A search request.
///
/// `collections` are the caller's grants: they become a `collection IN (...)` filter that
/// LanceDB applies *before* ranking (a prefilter), so chunks of other collections can
/// never appear nor push granted chunks out of the top `k`. An empty list returns nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The question text (used by the full-text leg).
    pub text: String,
    /// The question's embedding (used by the vector leg and the score floor).
    pub vector: Option<Vec<f32>>,
    /// Collections the caller may read.
    pub collections: Vec<CollectionName>,
    /// Maximum number of hits.
    pub k: usize,
    /// Which legs to run.
    pub mode: SearchMode,
    /// Cosine-similarity floor, applied when the query has a vector.
    ///
    /// Rule: if the best cosine similarity between the query vector and any chunk in the
    /// granted collections is below the floor, the question is off-topic and the search
    /// returns nothing, whatever the mode (a stray keyword match does not make it
    /// relevant). Otherwise a hit is kept when its own similarity reaches the floor or it
    /// matched the full-text leg (lexical evidence). `None` disables the floor.
    pub score_floor: Option<f32>,
}

impl Query {
    /// A hybrid query for the top [`DEFAULT_K`] hits with the default score floor.
    pub fn new(
        text: impl Into<String>,
        vector: Vec<f32>,
        collections: Vec<CollectionName>,
    ) -> Self {
        Self {
            text: text.into(),
            vector: Some(vector),
            collections,
            k: DEFAULT_K,
            mode: SearchMode::Hybrid,
            score_floor: Some(DEFAULT_SCORE_FLOOR),
        }
    }

    /// Set the number of hits.
    pub fn with_k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Set the mode.
    pub fn with_mode(mut self, mode: SearchMode) -> Self {
        self.mode = mode;
        self
    }

    /// Set (or, with `None`, disable) the score floor.
    pub fn with_score_floor(mut self, floor: Option<f32>) -> Self {
        self.score_floor = floor;
        self
    }
}

/// One retrieved chunk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// `<doc_id>:<n>`.
    pub chunk_id: String,
    /// The source document's id.
    pub doc_id: String,
    /// The collection.
    pub collection: String,
    /// The source path.
    pub source_path: String,
    /// Byte span in the source document.
    pub span: Range<u64>,
    /// Heading path, `" > "`-joined.
    pub heading_path: String,
    /// The stored (redacted) text.
    pub text: String,
    /// The ranking score of the mode: RRF score (hybrid), cosine similarity (vector) or
    /// BM25 (full text). Higher is better.
    pub score: f32,
    /// Cosine similarity to the query vector, when the query has one.
    pub similarity: Option<f32>,
    /// BM25 score, when the chunk matched the full-text leg.
    pub bm25: Option<f32>,
    /// 1-based rank in the vector leg, when it was there.
    pub vector_rank: Option<usize>,
    /// 1-based rank in the full-text leg, when it was there.
    pub fts_rank: Option<usize>,
}

/// Read side: retrieval over the chunk index.
#[async_trait]
pub trait Retriever: Send + Sync {
    /// The best hits for `query`, best first, at most `query.k`.
    async fn search(&self, query: &Query) -> Result<Vec<Hit>>;
}

/// Write side: documents in, documents out.
#[async_trait]
pub trait ChunkStore: Send + Sync {
    /// Replace a document's chunks in one commit, or skip it if unchanged.
    async fn upsert_document(
        &self,
        doc: &DocumentMeta,
        chunks: &[ChunkInput],
    ) -> Result<UpsertOutcome>;

    /// Upsert several documents (distinct ids), outcomes in input order, each as
    /// [`Self::upsert_document`] would. An engine that can commits them **together** — one
    /// commit, all of them or none visible — which is what makes bulk ingest cheap; this
    /// default writes them one by one (each still atomic on its own).
    async fn upsert_documents(
        &self,
        docs: &[(DocumentMeta, Vec<ChunkInput>)],
    ) -> Result<Vec<UpsertOutcome>> {
        let mut out = Vec::with_capacity(docs.len());
        for (meta, chunks) in docs {
            out.push(self.upsert_document(meta, chunks).await?);
        }
        Ok(out)
    }

    /// Remove every chunk of a document; returns how many were removed.
    async fn delete_document(&self, doc_id: &str) -> Result<u64>;

    /// The content hash stored for a document, if it is in the index.
    async fn document_hash(&self, doc_id: &str) -> Result<Option<String>>;

    /// The content hash and policy version stored for a document, if it is in the index.
    async fn stored(&self, doc_id: &str) -> Result<Option<StoredDocument>>;

    /// Collections with their document and chunk counts, sorted by name.
    async fn list_collections(&self) -> Result<Vec<CollectionStats>>;
}

/// Cosine similarity (0 when either vector has no length).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}
