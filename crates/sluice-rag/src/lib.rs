//! The two paths that move document text, shared by the CLI and the HTTP gateway:
//!
//! - [`ingest`]: files → text → chunks → **ingest boundary** → embeddings → LanceDB, one
//!   atomic upsert per document, per-file errors that never stop the run.
//! - [`answer`]: question → **prompt boundary** → hybrid retrieval with the caller's grants as
//!   a prefilter → **context boundary** → fenced prompt → model → **response boundary**
//!   (streaming-safe) → answer with citations.
//!
//! Policy folders are read by [`policy_files`]; the policy engine itself stays IO-free.

pub mod answer;
pub mod citations;
mod error;
pub mod ingest;
pub mod passages;
pub mod policy_files;
mod prompt;
pub mod screen;
pub mod search;
pub mod views;

pub use answer::{
    AnswerEvent, AnswerMode, AnswerSettings, AnswerSummary, Answerer, AskRequest, Citation,
    DEFAULT_CONTEXT_SENTENCES, NO_CONTEXT_ANSWER, OnBusy, Prepared, Timings,
};
pub use error::{AnswerError, IngestError};
pub use ingest::{
    FileOutcome, FileReport, IngestOptions, IngestSummary, Ingestor, Progress, SourceFile,
    discover, doc_id,
};
pub use passages::Passage;
pub use prompt::SYSTEM_PROMPT;
pub use screen::{FindingCounts, Screen};
pub use search::{Embedded, SearchHit, SearchOutcome, SearchRequest, Searcher};
pub use views::{AnswerView, BoundaryCounts, ErrorView, FindingView, SearchView, UsageView};
