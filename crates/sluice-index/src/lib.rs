//! Sluice's chunk index: redacted document chunks in a LanceDB table, retrieved by
//! vector similarity, BM25, or both fused with reciprocal rank fusion — always with the
//! caller's collection grants applied as a prefilter inside the query.
//!
//! - [`ChunkIndex`] is the LanceDB implementation of both traits the server wires:
//!   [`ChunkStore`] (upsert/delete documents; each upsert is one atomic commit) and
//!   [`Retriever`] (search).
//! - This crate does not embed and does not redact: the caller passes redacted text and
//!   its vectors. [`scan_files_for`] lets tests prove that what must not be stored is not.
//!
//! ```no_run
//! use sluice_index::{
//!     ChunkIndex, ChunkInput, ChunkStore, CollectionName, DocumentMeta, IndexConfig, Query,
//!     Retriever,
//! };
//!
//! # async fn demo(v: Vec<f32>, q: Vec<f32>) -> sluice_index::Result<()> {
//! let index = ChunkIndex::open(IndexConfig::new("/var/lib/sluice/lancedb", 384)).await?;
//! let finance = CollectionName::new("finance").expect("a valid name");
//! let doc = DocumentMeta {
//!     doc_id: "3f9a…".into(),
//!     collection: finance.clone(),
//!     source_path: "reports/q3.md".into(),
//!     content_hash: "a1b2…".into(),
//!     policy_version: "2026-11-01".into(),
//!     ingested_at_ms: 1_790_000_000_000,
//! };
//! let chunk = ChunkInput {
//!     span: 0..120,
//!     heading_path: "Q3 > Revenue".into(),
//!     text: "Revenue grew 12% to [AMOUNT] …".into(),
//!     vector: v,
//! };
//! index.upsert_document(&doc, &[chunk]).await?;
//! let hits = index
//!     .search(&Query::new("How did revenue develop?", q, vec![finance]))
//!     .await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod index;
mod scan;
pub mod schema;
mod search;

pub use index::{
    ChunkIndex, DEFAULT_ANN_EF, DEFAULT_INDEX_CACHE_BYTES, DEFAULT_METADATA_CACHE_BYTES,
    DEFAULT_REFRESH_MIN_UNINDEXED_ROWS, DEFAULT_VECTOR_INDEX_MIN_ROWS, EMBEDDING_MODEL_KEY,
    IndexConfig, IndexStatus, RecordedModel,
};
pub use scan::scan_files_for;
// The port this crate implements, re-exported so callers of the engine need one import.
pub use sluice_ports::{
    ChunkInput, ChunkStore, CollectionName, CollectionStats, DEFAULT_K, DEFAULT_SCORE_FLOOR,
    DocumentMeta, Hit, IndexError, InvalidCollectionName, Query, RRF_K, Result, Retriever,
    SearchMode, StoredDocument, UpsertOutcome, cosine,
};
