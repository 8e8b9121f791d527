//! The crate's error type.

use std::fmt;
use std::path::PathBuf;

/// A place in an input file: its name and, when known, a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name (or another label for the input, e.g. `<stdin>`).
    pub origin: String,
    /// 1-based line and column, when the parser could tell.
    pub line_col: Option<(usize, usize)>,
}

impl Location {
    /// The location of byte `offset` in `text`, a file called `origin`.
    pub fn at(origin: &str, text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Self {
            origin: origin.to_owned(),
            line_col: Some((line, column)),
        }
    }

    /// A location without a line (the whole file).
    pub fn file(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            line_col: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_col {
            Some((line, col)) => write!(f, "{}:{line}:{col}", self.origin),
            None => f.write_str(&self.origin),
        }
    }
}

/// Everything that can go wrong while loading, scoring or reporting an evaluation.
///
/// Messages name the position in the input (file, line, column) and the entry id, never the
/// question text or an answer.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// An input file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The Q&A file is not valid TOML, or a field has the wrong shape or is unknown.
    #[error("{at}: {message}")]
    Syntax {
        /// Where.
        at: Location,
        /// What the parser expected (string values are not repeated).
        message: String,
    },
    /// The Q&A file parsed but breaks a rule (duplicate id, bad regex, no gold source, …).
    #[error("{at}: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// Which rule, naming the entry id.
        message: String,
    },
    /// A line of a policy-case JSONL file is not valid.
    #[error("{at}: {message}")]
    PolicyCase {
        /// Where (the line; the column is 1).
        at: Location,
        /// What is wrong.
        message: String,
    },
    /// A recorded run does not fit the Q&A set it is scored against.
    #[error("run `{id}`: {message}")]
    Run {
        /// The run's id.
        id: String,
        /// What is wrong (unknown id, wrong kind, duplicate).
        message: String,
    },
    /// Writing or reading a JSON report failed.
    #[error("report JSON: {0}")]
    Json(#[from] serde_json::Error),
}
