//! Extraction errors. Messages name the format and the problem, never the content.

/// Why a file could not be turned into text.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The bytes are not UTF-8 text (for text formats): probably a binary file.
    #[error("not UTF-8 text (invalid byte at offset {offset}); binary file?")]
    NotText {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// A PDF whose text layer could not be read (corrupt, encrypted, or scanned images only).
    #[error("unreadable PDF: {0}")]
    Pdf(String),
    /// A DOCX that is not a valid zip with `word/document.xml`.
    #[error("unreadable DOCX: {0}")]
    Docx(String),
    /// The file extension is not one Sluice ingests.
    #[error(
        "unsupported file type `{0}` (supported: md, markdown, txt, text, html, htm, pdf, docx)"
    )]
    Unsupported(String),
}
