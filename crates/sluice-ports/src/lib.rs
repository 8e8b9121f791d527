//! The ports of Sluice's answer path, in a crate with no engine behind it.
//!
//! The guarded paths (sluice-rag) and the gateway are written against these traits, so they
//! can be built and tested without candle, ONNX Runtime, LanceDB or mistral.rs:
//!
//! - [`Embedder`]: text → vectors (engines: sluice-embed's ONNX Runtime and candle backends);
//! - [`ChunkStore`] and [`Retriever`]: the chunk index's write and read sides (engine:
//!   sluice-index on LanceDB);
//! - [`Generator`]: a chat model as a stream of deltas (engines: sluice-llm's mistral.rs,
//!   OpenAI-compatible upstream and echo backends).
//!
//! The values that cross them ([`Query`], [`Hit`], [`ChatRequest`], …) and their errors
//! live here too; the engine crates re-export them, so `sluice_index::Hit` and
//! `sluice_ports::Hit` are the same type. In-memory fakes of every port are in the dev-only
//! `sluice-testkit` crate. The concrete engines are built by the gateway's `state` module and
//! the CLI's `stack` module.
#![deny(missing_docs)]

mod embed_error;
mod index;
mod index_error;
mod llm;
mod llm_error;
mod stops;

pub use embed_error::EmbedError;
pub use index::{
    ChunkInput, ChunkStore, CollectionName, CollectionStats, DEFAULT_K, DEFAULT_SCORE_FLOOR,
    DocumentMeta, Hit, InvalidCollectionName, Query, RRF_K, Retriever, SearchMode, StoredDocument,
    UpsertOutcome, cosine,
};
pub use index_error::{IndexError, Result};
pub use llm::{
    ChatMessage, ChatRequest, FinishReason, GenEvent, GenStream, GenerationParams, Generator, Role,
    Usage, estimate_tokens,
};
pub use llm_error::LlmError;
pub use stops::StopFilter;

/// An engine's own error behind a port's error variant. Engine errors name files, URIs and
/// operations, never the text being processed.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Turns texts into fixed-size vectors. Implementations are shared across threads.
pub trait Embedder: Send + Sync {
    /// The length of every vector [`Embedder::embed`] returns.
    fn dim(&self) -> usize;

    /// A stable name of the model, stored beside vectors so an index knows what made them.
    /// Implementations that compute the same vectors (the candle and ONNX backends of
    /// all-MiniLM-L6-v2) share it; a model whose vectors differ must have its own.
    fn model_id(&self) -> &str;

    /// One vector per text, in input order. An empty list gives an empty list; an empty
    /// string gives a valid vector; over-long texts are truncated, never rejected.
    fn embed(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, EmbedError>;
}
