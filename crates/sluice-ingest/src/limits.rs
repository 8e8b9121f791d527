//! The budget one extraction may spend: input size, nesting depth, decompressed bytes, output
//! text and (optionally) a deadline.

use std::time::Instant;

use crate::ExtractError;

/// Bounds on one extraction. [`Default`] gives limits that every ordinary document fits in;
/// anything over them is an [`ExtractError`], never a crash or an unbounded allocation.
///
/// ```
/// use std::time::{Duration, Instant};
/// use sluice_ingest::{extract_with_limits, ExtractLimits, Format};
///
/// let limits = ExtractLimits {
///     max_bytes: 1 << 20,
///     deadline: Some(Instant::now() + Duration::from_secs(10)),
///     ..ExtractLimits::default()
/// };
/// let doc = extract_with_limits(b"# Title\n\nBody.\n", Format::Markdown, &limits)?;
/// assert_eq!(doc.blocks.len(), 2);
/// # Ok::<(), sluice_ingest::ExtractError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractLimits {
    /// Largest input file, in bytes (default 64 MiB). Checked before anything is parsed.
    pub max_bytes: usize,
    /// Deepest nesting accepted (default 256): PDF arrays and dictionaries (in the file, in
    /// object streams, content streams, fonts and CMaps), PDF literal-string parentheses in
    /// fonts and CMaps, the page tree's `Parent` chain, form XObjects drawing form XObjects,
    /// and chains of streams whose `/Length` is another stream's object. HTML and DOCX are
    /// walked without recursion and need no depth limit.
    pub max_depth: usize,
    /// Most decompressed bytes one file may inflate to (default 256 MiB): the sum over the PDF
    /// streams that are decoded to find text (cross-reference and object streams, page
    /// contents, form XObjects, embedded Type 1 and CFF fonts, CMaps), or DOCX's
    /// `word/document.xml`. Image data is never decoded.
    pub max_decoded_bytes: usize,
    /// Most extracted text, in bytes (default 16 MiB).
    pub max_text_bytes: usize,
    /// When to give up (default none). Checked cooperatively: while scanning and walking the
    /// input, and between the characters the PDF text layer produces; a single HTML parse,
    /// PDF cross-reference load or content-stream parse is not interrupted, so enforce a hard
    /// wall-clock bound in the caller as well.
    pub deadline: Option<Instant>,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_depth: 256,
            max_decoded_bytes: 256 << 20,
            max_text_bytes: 16 << 20,
            deadline: None,
        }
    }
}

impl ExtractLimits {
    /// `Err(DeadlineExceeded)` once the deadline has passed.
    pub(crate) fn check_deadline(&self) -> Result<(), ExtractError> {
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(ExtractError::DeadlineExceeded),
            _ => Ok(()),
        }
    }

    /// `Err(InputTooLarge)` when the input is over [`ExtractLimits::max_bytes`].
    pub(crate) fn check_input(&self, len: usize) -> Result<(), ExtractError> {
        if len > self.max_bytes {
            return Err(ExtractError::InputTooLarge {
                size: len,
                limit: self.max_bytes,
            });
        }
        Ok(())
    }

    /// `Err(TextTooLarge)` when `len` bytes of text are over [`ExtractLimits::max_text_bytes`].
    pub(crate) fn check_text(&self, len: usize) -> Result<(), ExtractError> {
        if len > self.max_text_bytes {
            return Err(ExtractError::TextTooLarge {
                limit: self.max_text_bytes,
            });
        }
        Ok(())
    }
}

/// Counts work in a loop and checks the deadline every so often, so a check costs nothing.
pub(crate) struct Ticker<'a> {
    limits: &'a ExtractLimits,
    n: u32,
}

impl<'a> Ticker<'a> {
    pub(crate) fn new(limits: &'a ExtractLimits) -> Self {
        Self { limits, n: 0 }
    }

    /// One unit of work; every 4096th checks the deadline.
    pub(crate) fn tick(&mut self) -> Result<(), ExtractError> {
        self.n = self.n.wrapping_add(1);
        if self.n.is_multiple_of(4096) {
            self.limits.check_deadline()?;
        }
        Ok(())
    }
}
