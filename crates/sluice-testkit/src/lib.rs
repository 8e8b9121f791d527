//! In-memory fakes of Sluice's ports, for tests of the guarded paths and the gateway that
//! should not load a model, open LanceDB or start mistral.rs.
//!
//! - [`HashEmbedder`]: deterministic bag-of-words vectors (texts sharing words are similar),
//!   so retrieval behaves plausibly without all-MiniLM-L6-v2;
//! - [`MemoryIndex`]: a [`ChunkStore`](sluice_ports::ChunkStore) and
//!   [`Retriever`](sluice_ports::Retriever) over a `Vec`, with the real index's contract
//!   (grants as a prefilter, unchanged documents skipped, the score floor's off-topic rule);
//!   [`FixedHits`] returns given chunks whatever the question;
//! - generators that try to leak: [`Spelling`] emits a fixed text in 1–3 byte pieces,
//!   [`Counting`] counts calls before delegating.
//!
//! The end-to-end suites keep using the real engines; these stand in where the engine is
//! not what a test is about. Dev-only: no crate lists this one in `[dependencies]`.

mod embed;
mod index;
mod llm;

pub use embed::HashEmbedder;
pub use index::{FixedHits, MemoryIndex, hit};
pub use llm::{Counting, Spelling};
