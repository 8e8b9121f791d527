//! Extraction errors. Messages name the format and the problem, never the content: no text,
//! names or values from the document are ever part of an error.

/// Why a file could not be turned into text.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The bytes are not UTF-8 text (for text formats): probably a binary file.
    #[error("not UTF-8 text (invalid byte at offset {offset}); binary file?")]
    NotText {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// A PDF whose text layer could not be read (corrupt, encrypted, scanned images only, or
    /// built in a way the extractor refuses to parse). The message is a fixed description.
    #[error("unreadable PDF: {0}")]
    Pdf(String),
    /// A DOCX that is not a valid zip with a well-formed `word/document.xml`. The message is a
    /// fixed description, with at most a byte offset.
    #[error("unreadable DOCX: {0}")]
    Docx(String),
    /// The file extension is not one Sluice ingests.
    #[error(
        "unsupported file type `{0}` (supported: md, markdown, txt, text, html, htm, pdf, docx)"
    )]
    Unsupported(String),
    /// The input is larger than [`ExtractLimits::max_bytes`](crate::ExtractLimits::max_bytes).
    #[error("input of {size} bytes is over the limit of {limit} bytes")]
    InputTooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The extracted text would be larger than
    /// [`ExtractLimits::max_text_bytes`](crate::ExtractLimits::max_text_bytes).
    #[error("extracted text is over the limit of {limit} bytes")]
    TextTooLarge {
        /// The limit.
        limit: usize,
    },
    /// Compressed content inflates past
    /// [`ExtractLimits::max_decoded_bytes`](crate::ExtractLimits::max_decoded_bytes).
    #[error("decompressed content is over the limit of {limit} bytes")]
    DecodedTooLarge {
        /// The limit.
        limit: usize,
    },
    /// Structure nested deeper than [`ExtractLimits::max_depth`](crate::ExtractLimits::max_depth)
    /// (or a reference cycle that would recurse forever).
    #[error("{format} structure nested deeper than {limit} levels, or cyclic")]
    TooDeep {
        /// The format ("PDF").
        format: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The [`ExtractLimits::deadline`](crate::ExtractLimits::deadline) passed.
    #[error("extraction took longer than its deadline")]
    DeadlineExceeded,
}
