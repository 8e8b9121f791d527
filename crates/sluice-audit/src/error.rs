//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the audit log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation failed (open, read, write, fsync, rename, ...).
    #[error("audit log I/O error at {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying OS error.
        #[source]
        source: std::io::Error,
    },
    /// The log cannot accept records (a write or fsync failed earlier, the disk is full,
    /// or the log was closed). Requests must be refused: the gateway maps this to 503.
    #[error("audit log unavailable, requests must be refused: {0}")]
    Unavailable(String),
    /// Another process holds the audit directory's lock.
    #[error("audit directory {0} is locked by another process")]
    Locked(PathBuf),
    /// The on-disk log is damaged in a way recovery must not repair silently
    /// (anything other than a torn last line). Run `sluice audit verify`.
    #[error("audit log corrupt in {segment} line {line}: {detail}")]
    Corrupt {
        /// Segment file name.
        segment: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        detail: String,
    },
    /// A key file could not be parsed.
    #[error("invalid key: {0}")]
    Key(String),
    /// JSON (de)serialisation failed.
    #[error("JSON error: {0}")]
    Json(#[from] serde_json::Error),
    /// The tantivy search index failed.
    #[error("audit index error: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// A query was malformed (bad cursor, bad time, bad decision name).
    #[error("invalid audit query: {0}")]
    Query(String),
}

impl Error {
    /// Wrap an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the gateway should answer 503 (fail closed) for this error.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::Unavailable(_) | Error::Io { .. } | Error::Locked(_)
        )
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
