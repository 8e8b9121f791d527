//! Text extraction per format, into blocks (headings and paragraphs) with byte spans.

use crate::{ExtractError, ExtractLimits};

/// A supported source format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown: ATX headings (`#`), paragraphs separated by blank lines.
    Markdown,
    /// Plain text: paragraphs separated by blank lines.
    Text,
    /// HTML: text only; `script`, `style`, `noscript` and `template` are dropped.
    Html,
    /// PDF: the text layer.
    Pdf,
    /// Word (OOXML): paragraphs of `word/document.xml`, heading styles become headings.
    Docx,
}

impl Format {
    /// The format for a file extension (case-insensitive).
    pub fn from_extension(ext: &str) -> Result<Format, ExtractError> {
        Ok(match ext.to_ascii_lowercase().as_str() {
            "md" | "markdown" => Format::Markdown,
            "txt" | "text" => Format::Text,
            "html" | "htm" => Format::Html,
            "pdf" => Format::Pdf,
            "docx" => Format::Docx,
            other => return Err(ExtractError::Unsupported(other.to_owned())),
        })
    }

    /// Whether chunk spans are byte spans of the source file itself (text formats), or of the
    /// extracted text (HTML, PDF, DOCX: their source bytes are markup or compressed).
    pub fn spans_are_source(self) -> bool {
        matches!(self, Format::Markdown | Format::Text)
    }
}

/// What a block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// A heading of the given level (1 = top).
    Heading(u8),
    /// A paragraph, list item, table row or code block.
    Paragraph,
}

/// A block of text with its span in [`Document::text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Heading or paragraph.
    pub kind: BlockKind,
    /// Byte span in [`Document::text`].
    pub span: std::ops::Range<usize>,
}

/// Extracted text and its structure.
#[derive(Debug, Clone)]
pub struct Document {
    /// The text; for Markdown and plain text, the source itself.
    pub text: String,
    /// Blocks in order.
    pub blocks: Vec<Block>,
    /// Whether block spans are spans of the source bytes.
    pub spans_are_source: bool,
}

/// Extracts text and blocks from a file's bytes, within [`ExtractLimits::default`].
pub fn extract(bytes: &[u8], format: Format) -> Result<Document, ExtractError> {
    extract_with_limits(bytes, format, &ExtractLimits::default())
}

/// Extracts text and blocks from a file's bytes, within `limits`: input, nesting, inflated
/// bytes, output text and (cooperatively) time. Any input gives `Ok` or `Err`, never an abort:
/// PDF parsing runs on a worker thread where a panic inside lopdf or pdf-extract becomes
/// [`ExtractError::Pdf`] (this needs `panic = "unwind"`, the default). Errors name the
/// problem, never the content.
pub fn extract_with_limits(
    bytes: &[u8],
    format: Format,
    limits: &ExtractLimits,
) -> Result<Document, ExtractError> {
    limits.check_input(bytes.len())?;
    limits.check_deadline()?;
    match format {
        Format::Markdown | Format::Text => {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| ExtractError::NotText {
                    offset: e.valid_up_to(),
                })?
                .to_owned();
            if let Some(offset) = text.find('\0') {
                return Err(ExtractError::NotText { offset });
            }
            limits.check_text(text.len())?;
            let blocks = text_blocks(&text, format == Format::Markdown);
            Ok(Document {
                text,
                blocks,
                spans_are_source: true,
            })
        }
        Format::Html => crate::html::html(&String::from_utf8_lossy(bytes), limits),
        Format::Pdf => {
            let text = crate::pdf::extract_pdf(bytes, limits)?;
            limits.check_text(text.len())?;
            let blocks = text_blocks(&text, false);
            Ok(Document {
                text,
                blocks,
                spans_are_source: false,
            })
        }
        Format::Docx => crate::docx::docx(bytes, limits),
    }
}

/// Blocks of Markdown or plain text: paragraphs split on blank lines; in Markdown, lines
/// starting with 1–6 `#` and a space are headings, and fenced code stays one block.
fn text_blocks(text: &str, markdown: bool) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut para: Option<(usize, usize)> = None;
    let mut in_fence = false;
    let mut pos = 0;
    let flush = |para: &mut Option<(usize, usize)>, blocks: &mut Vec<Block>| {
        if let Some((s, e)) = para.take() {
            blocks.push(Block {
                kind: BlockKind::Paragraph,
                span: s..e,
            });
        }
    };
    for line in text.split_inclusive('\n') {
        let start = pos;
        pos += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim();
        let end = start + body.trim_end().len();
        let lead = body.len() - body.trim_start().len();
        if markdown && trimmed.starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence || (markdown && trimmed.starts_with("```")) {
            para = Some(para.map_or((start + lead, end), |(s, _)| (s, end)));
            continue;
        }
        if trimmed.is_empty() {
            flush(&mut para, &mut blocks);
            continue;
        }
        if markdown {
            let hashes = trimmed.bytes().take_while(|&b| b == b'#').count();
            if (1..=6).contains(&hashes) && trimmed.as_bytes().get(hashes) == Some(&b' ') {
                flush(&mut para, &mut blocks);
                let h_start = start + lead + hashes + 1;
                let h_text = trimmed[hashes + 1..]
                    .trim()
                    .trim_end_matches('#')
                    .trim_end();
                let h_start = h_start
                    + (trimmed[hashes + 1..].len() - trimmed[hashes + 1..].trim_start().len());
                blocks.push(Block {
                    kind: BlockKind::Heading(hashes as u8),
                    span: h_start..h_start + h_text.len(),
                });
                continue;
            }
        }
        para = Some(para.map_or((start + lead, end), |(s, _)| (s, end)));
    }
    flush(&mut para, &mut blocks);
    blocks
}

/// Appends a block of `raw` text (whitespace collapsed) to `text`, separated by a blank line.
pub(crate) fn push_block(
    text: &mut String,
    blocks: &mut Vec<Block>,
    kind: BlockKind,
    raw: &str,
    limits: &ExtractLimits,
) -> Result<(), ExtractError> {
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return Ok(());
    }
    limits.check_text(text.len() + 2 + collapsed.len())?;
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    let start = text.len();
    text.push_str(&collapsed);
    blocks.push(Block {
        kind,
        span: start..text.len(),
    });
    Ok(())
}
