//! Errors of the policy engine.

use std::fmt;

/// One problem in one policy file, located as `file:line:col`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Path of the file as given to the loader (relative to the policy folder).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// The detector id the problem belongs to, when there is one.
    pub rule: Option<String>,
    /// What is wrong, in words. Never contains input text, only policy text.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.col)?;
        if let Some(rule) = &self.rule {
            write!(f, "rule {rule}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Errors from loading or using a policy set.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy set is invalid; every problem found is listed (nothing was loaded).
    #[error("invalid policy set ({} problem{}):\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, DisplayList(.0))]
    Invalid(Vec<Diagnostic>),
}

impl PolicyError {
    /// The individual problems.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            PolicyError::Invalid(d) => d,
        }
    }
}

struct DisplayList<'a>(&'a [Diagnostic]);

impl fmt::Display for DisplayList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "  {d}")?;
        }
        Ok(())
    }
}

/// Turns a byte offset in `text` into a 1-based (line, column).
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
