//! Errors of the ingestion and answer paths. Messages name files, rules and limits, never
//! document or question content.

use std::path::PathBuf;

/// Why one file was not ingested. The run goes on with the next file.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file is larger than the configured limit.
    #[error("file is {size} bytes, over the {limit}-byte limit (--max-file-size)")]
    TooLarge {
        /// Size of the file.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file or folder could not be read.
    #[error("cannot read: {0}")]
    Unreadable(#[source] std::io::Error),
    /// A symlink whose target is outside the folder being ingested.
    #[error("symlink points outside {root}; not followed")]
    SymlinkOutsideRoot {
        /// The folder being ingested.
        root: PathBuf,
    },
    /// Not a regular file (device, socket, fifo).
    #[error("not a regular file")]
    NotAFile,
    /// Text extraction failed (binary file, corrupt pdf, unsupported type).
    #[error(transparent)]
    Extract(#[from] sluice_ingest::ExtractError),
    /// The ingest policy blocks this document.
    #[error("blocked by ingest policy rule {rule} ({entity})")]
    Blocked {
        /// Rule id.
        rule: String,
        /// Entity type.
        entity: String,
    },
    /// Extraction, redaction and chunking took longer than the per-file budget.
    #[error("took longer than the {secs} s per-file budget; skipped")]
    TimedOut {
        /// The budget.
        secs: u64,
    },
    /// The embedding model failed.
    #[error("embedding failed: {0}")]
    Embed(#[from] sluice_ports::EmbedError),
    /// The index rejected the write.
    #[error("index: {0}")]
    Index(#[from] sluice_ports::IndexError),
    /// A worker task died (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why a question was not answered.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The question is empty or only whitespace.
    #[error("the question is empty")]
    EmptyQuestion,
    /// The question is longer than the limit.
    #[error("the question is {len} bytes, over the {max}-byte limit")]
    QuestionTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The request has no user message to answer.
    #[error("no user message to answer")]
    NoUserMessage,
    /// A policy `block` action refused the request or stopped the answer.
    #[error("blocked at the {boundary} boundary by policy rule {rule} ({entity})")]
    Blocked {
        /// Where: prompt, context or response.
        boundary: sluice_policy::Boundary,
        /// Rule id.
        rule: String,
        /// Entity type.
        entity: String,
        /// Everything found so far in the request (values are [`sluice_policy`]'s
        /// `SensitiveValue`, never printed), so an audit record of a refusal still says what
        /// was in it. Empty for a block in the streamed response.
        findings: Vec<sluice_policy::Finding>,
    },
    /// The question does not fit the model's context even with no sources.
    #[error("the question does not fit the model's context window ({tokens} > {limit} tokens)")]
    ContextOverflow {
        /// Estimated prompt tokens.
        tokens: usize,
        /// Tokens available for the prompt.
        limit: usize,
    },
    /// Embedding the question failed.
    #[error("embedding failed: {0}")]
    Embed(#[from] sluice_ports::EmbedError),
    /// Retrieval failed.
    #[error("retrieval failed: {0}")]
    Retrieval(#[from] sluice_ports::IndexError),
    /// The model failed or is busy.
    #[error(transparent)]
    Llm(#[from] sluice_ports::LlmError),
    /// A worker task died (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

impl AnswerError {
    /// A short machine-readable code for the error (used in JSON errors and audit records).
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyQuestion => "empty_question",
            Self::QuestionTooLong { .. } => "question_too_long",
            Self::NoUserMessage => "no_user_message",
            Self::Blocked { .. } => "policy_block",
            Self::ContextOverflow { .. } => "context_overflow",
            Self::Embed(_) => "embed_failed",
            Self::Retrieval(_) => "retrieval_failed",
            Self::Llm(sluice_ports::LlmError::Busy { .. }) => "model_busy",
            Self::Llm(_) => "model_failed",
            Self::Internal(_) => "internal",
        }
    }
}
