//! What the chunk index reports (sluice-index is its engine).
//!
//! No variant carries chunk text: messages name URIs, document ids, column names and
//! counts only, so an error can be logged without leaking document content.

/// What went wrong in the chunk index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// LanceDB refused or failed an operation on the database at `uri`.
    #[error("LanceDB at URI {uri}: {op}: {source}")]
    Lance {
        /// The database URI (local directory or object-store URI).
        uri: String,
        /// What the index was doing (`"open"`, `"upsert"`, `"hybrid search"`, ...).
        op: &'static str,
        /// The underlying LanceDB error.
        #[source]
        source: crate::BoxError,
    },

    /// The existing table's schema does not match what this crate writes (for example a
    /// vector column of another dimension).
    #[error("LanceDB at URI {uri}: table {table} has an incompatible schema: {detail}")]
    Schema {
        /// The database URI.
        uri: String,
        /// The table name.
        table: String,
        /// Which column differs and how.
        detail: String,
    },

    /// The table's vectors were made by another embedding model than the configured one
    /// (sluice-index's `IndexConfig::embedding_model`); their similarities would be meaningless.
    #[error(
        "LanceDB at URI {uri}: table {table} holds vectors of embedding model {stored}, \
         but this run embeds with {configured}: re-index (delete the index, e.g. the \
         data folder's lancedb/, and run `sluice ingest` again) or use {stored}"
    )]
    EmbeddingModel {
        /// The database URI.
        uri: String,
        /// The table name.
        table: String,
        /// The model id recorded in the table.
        stored: String,
        /// The model id this process embeds with.
        configured: String,
    },

    /// A vector has the wrong number of dimensions.
    #[error("vector for {what} has {got} dimensions, the index expects {expected}")]
    Dimension {
        /// Which vector (`"query"` or `"chunk <doc_id>:<n>"`).
        what: String,
        /// The dimension the index was configured with.
        expected: usize,
        /// The dimension that was passed.
        got: usize,
    },

    /// A vector contains NaN or an infinity, or is all zeros (no direction, so no cosine).
    #[error("vector for {what} is not usable (NaN, infinite or all zeros)")]
    BadVector {
        /// Which vector.
        what: String,
    },

    /// The caller passed something this crate cannot store or search with.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// A query mode needs a field the query does not have (vector search without a query
    /// vector, full-text search without text).
    #[error("{mode} search needs a query {missing}")]
    MissingQueryPart {
        /// The search mode.
        mode: &'static str,
        /// `"vector"` or `"text"`.
        missing: &'static str,
    },

    /// A result batch from LanceDB did not have the expected column or type.
    #[error("LanceDB at URI {uri}: result column {column} is missing or has an unexpected type")]
    ResultShape {
        /// The database URI.
        uri: String,
        /// The column name.
        column: &'static str,
    },

    /// Building an Arrow batch failed (a bug in this crate, or inconsistent lengths).
    #[error("building an Arrow batch: {0}")]
    Arrow(#[source] crate::BoxError),

    /// Reading the table's files for sluice-index's `scan_files_for` failed.
    #[error("scanning {path}: {source}")]
    Io {
        /// The file or directory being read.
        path: String,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with [`IndexError`].
pub type Result<T, E = IndexError> = std::result::Result<T, E>;
