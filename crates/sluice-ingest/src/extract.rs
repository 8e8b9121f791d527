//! Text extraction per format, into blocks (headings and paragraphs) with byte spans.

use std::io::Read;

use crate::ExtractError;

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

/// Extracts text and blocks from a file's bytes.
pub fn extract(bytes: &[u8], format: Format) -> Result<Document, ExtractError> {
    match format {
        Format::Markdown | Format::Text => {
            let text = std::str::from_utf8(bytes)
                .map_err(|e| ExtractError::NotText {
                    offset: e.valid_up_to(),
                })?
                .to_owned();
            if text.contains('\0') {
                return Err(ExtractError::NotText {
                    offset: text.find('\0').unwrap_or(0),
                });
            }
            let blocks = text_blocks(&text, format == Format::Markdown);
            Ok(Document {
                text,
                blocks,
                spans_are_source: true,
            })
        }
        Format::Html => {
            let src = String::from_utf8_lossy(bytes);
            Ok(html(&src))
        }
        Format::Pdf => {
            let text = pdf_extract::extract_text_from_mem(bytes)
                .map_err(|e| ExtractError::Pdf(e.to_string()))?;
            let blocks = text_blocks(&text, false);
            Ok(Document {
                text,
                blocks,
                spans_are_source: false,
            })
        }
        Format::Docx => docx(bytes),
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

const HTML_BLOCKS: &[&str] = &[
    "p",
    "li",
    "tr",
    "pre",
    "blockquote",
    "dt",
    "dd",
    "figcaption",
    "caption",
];
const HTML_SKIP: &[&str] = &["script", "style", "noscript", "template", "head"];

fn html(src: &str) -> Document {
    let dom = scraper::Html::parse_document(src);
    let mut text = String::new();
    let mut blocks = Vec::new();
    walk_html(dom.root_element(), &mut text, &mut blocks);
    Document {
        text,
        blocks,
        spans_are_source: false,
    }
}

fn walk_html(el: scraper::ElementRef<'_>, text: &mut String, blocks: &mut Vec<Block>) {
    for child in el.children() {
        let Some(child_el) = scraper::ElementRef::wrap(child) else {
            if let Some(t) = child.value().as_text() {
                // Loose text directly inside a container (e.g. a div) is a paragraph of its own.
                push_block(text, blocks, BlockKind::Paragraph, t);
            }
            continue;
        };
        let name = child_el.value().name();
        if HTML_SKIP.contains(&name) {
            continue;
        }
        let heading = name
            .strip_prefix('h')
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=6).contains(n));
        if let Some(level) = heading {
            push_block(
                text,
                blocks,
                BlockKind::Heading(level),
                &element_text(child_el),
            );
        } else if HTML_BLOCKS.contains(&name) {
            push_block(text, blocks, BlockKind::Paragraph, &element_text(child_el));
        } else {
            walk_html(child_el, text, blocks);
        }
    }
}

/// Text of an element without its script/style descendants, whitespace collapsed.
fn element_text(el: scraper::ElementRef<'_>) -> String {
    let mut out = String::new();
    for node in el.descendants() {
        if let Some(t) = node.value().as_text() {
            let skipped = node
                .ancestors()
                .filter_map(scraper::ElementRef::wrap)
                .any(|a| HTML_SKIP.contains(&a.value().name()));
            if !skipped {
                out.push_str(t);
                out.push(' ');
            }
        }
    }
    out
}

fn push_block(text: &mut String, blocks: &mut Vec<Block>, kind: BlockKind, raw: &str) {
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return;
    }
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    let start = text.len();
    text.push_str(&collapsed);
    blocks.push(Block {
        kind,
        span: start..text.len(),
    });
}

fn docx(bytes: &[u8]) -> Result<Document, ExtractError> {
    use quick_xml::events::Event;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| ExtractError::Docx(e.to_string()))?;
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .map_err(|e| ExtractError::Docx(format!("word/document.xml: {e}")))?
        .take(64 << 20)
        .read_to_string(&mut xml)
        .map_err(|e| ExtractError::Docx(e.to_string()))?;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut text, mut blocks) = (String::new(), Vec::new());
    let (mut para, mut heading, mut in_t) = (String::new(), None::<u8>, false);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.name().as_ref() == b"w:t" => in_t = true,
            Ok(Event::End(e)) if e.name().as_ref() == b"w:t" => in_t = false,
            Ok(Event::Empty(e)) | Ok(Event::Start(e)) if e.name().as_ref() == b"w:pStyle" => {
                let style = e
                    .try_get_attribute("w:val")
                    .ok()
                    .flatten()
                    .map(|a| String::from_utf8_lossy(&a.value).into_owned());
                heading = style.and_then(|s| {
                    s.strip_prefix("Heading")
                        .and_then(|n| n.trim().parse().ok())
                });
            }
            Ok(Event::Empty(e))
                if e.name().as_ref() == b"w:tab" || e.name().as_ref() == b"w:br" =>
            {
                para.push(' ')
            }
            Ok(Event::Text(t)) if in_t => para.push_str(&String::from_utf8_lossy(t.as_ref())),
            Ok(Event::End(e)) if e.name().as_ref() == b"w:p" => {
                let kind = heading
                    .take()
                    .map_or(BlockKind::Paragraph, BlockKind::Heading);
                push_block(&mut text, &mut blocks, kind, &std::mem::take(&mut para));
            }
            Ok(Event::Eof) => break,
            Err(e) => {
                return Err(ExtractError::Docx(format!(
                    "word/document.xml at byte {}: {e}",
                    reader.buffer_position()
                )));
            }
            _ => {}
        }
    }
    Ok(Document {
        text,
        blocks,
        spans_are_source: false,
    })
}
