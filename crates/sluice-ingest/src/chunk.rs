//! Structure-aware chunking: a chunk never crosses a heading, fills up to a token budget from
//! whole paragraphs, splits an oversized paragraph at sentence (then word) boundaries, and
//! repeats a small overlap from the previous chunk of the same section.

use crate::extract::{BlockKind, Document};

/// Chunking settings.
#[derive(Debug, Clone)]
pub struct ChunkConfig {
    /// Target size in (estimated) tokens.
    pub max_tokens: usize,
    /// Tokens of the previous chunk repeated at the start of the next one in a section.
    pub overlap_tokens: usize,
}

impl Default for ChunkConfig {
    fn default() -> Self {
        // ~200 tokens fits all-MiniLM-L6-v2's 256-token window with room for the heading path.
        Self {
            max_tokens: 200,
            overlap_tokens: 30,
        }
    }
}

/// One chunk of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Byte span in [`Document::text`] (for Markdown and text, in the source file).
    pub span: std::ops::Range<usize>,
    /// Headings above the chunk, outermost first, joined with ` > `.
    pub heading_path: String,
    /// The chunk's text (the span's text).
    pub text: String,
}

/// Tokens of all-MiniLM-L6-v2's WordPiece vocabulary, estimated without the tokenizer: about
/// 1.3 per English word, and one per punctuation mark or digit group.
pub fn estimate_tokens(s: &str) -> usize {
    s.split_whitespace()
        .map(|w| {
            let punct = w.chars().filter(|c| c.is_ascii_punctuation()).count();
            let letters = w.len().saturating_sub(punct);
            punct + letters.div_ceil(6).max(usize::from(letters > 0))
        })
        .sum()
}

/// Splits a document into chunks.
pub fn chunk(doc: &Document, cfg: &ChunkConfig) -> Vec<Chunk> {
    let text = doc.text.as_str();
    let mut out = Vec::new();
    let mut headings: Vec<(u8, String)> = Vec::new();
    // Pieces of the current chunk: spans of whole paragraphs or of paragraph parts.
    let mut cur: Option<(usize, usize, usize)> = None; // (start, end, tokens)
    let path = |h: &[(u8, String)]| {
        h.iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(" > ")
    };

    let emit =
        |cur: &mut Option<(usize, usize, usize)>, out: &mut Vec<Chunk>, heading_path: String| {
            if let Some((s, e, _)) = cur.take() {
                out.push(Chunk {
                    span: s..e,
                    heading_path,
                    text: text[s..e].to_owned(),
                });
            }
        };

    for block in &doc.blocks {
        match block.kind {
            BlockKind::Heading(level) => {
                emit(&mut cur, &mut out, path(&headings));
                headings.retain(|(l, _)| *l < level);
                headings.push((level, text[block.span.clone()].to_owned()));
            }
            BlockKind::Paragraph => {
                for (s, e) in pieces(text, block.span.start, block.span.end, cfg.max_tokens) {
                    let t = estimate_tokens(&text[s..e]);
                    match cur {
                        Some((cs, _, ct)) if ct + t <= cfg.max_tokens => {
                            cur = Some((cs, e, ct + t))
                        }
                        Some((_, ce, _)) => {
                            emit(&mut cur, &mut out, path(&headings));
                            let os = overlap_start(text, s.min(ce), ce, cfg.overlap_tokens);
                            let start = os.unwrap_or(s);
                            cur = Some((start, e, estimate_tokens(&text[start..e])));
                        }
                        None => cur = Some((s, e, t)),
                    }
                }
            }
        }
    }
    emit(&mut cur, &mut out, path(&headings));
    out
}

/// Splits `[s, e)` into pieces of at most `max` tokens, at sentence ends where possible,
/// else at whitespace.
fn pieces(text: &str, s: usize, e: usize, max: usize) -> Vec<(usize, usize)> {
    if estimate_tokens(&text[s..e]) <= max {
        return vec![(s, e)];
    }
    let mut out = Vec::new();
    let mut start = s;
    while start < e {
        // Grow to the last boundary that keeps the piece within budget.
        let mut best_sentence = None;
        let mut best_space = None;
        let mut tokens = 0;
        let mut word_start = start;
        for (i, c) in text[start..e].char_indices() {
            let at = start + i;
            if c.is_whitespace() {
                tokens += estimate_tokens(&text[word_start..at]);
                word_start = at + c.len_utf8();
                if tokens > max {
                    break;
                }
                best_space = Some(at);
                if matches!(
                    text[..at].chars().next_back(),
                    Some('.' | '!' | '?' | ';' | ':')
                ) {
                    best_sentence = Some(at);
                }
            }
        }
        if tokens + estimate_tokens(&text[word_start..e]) <= max {
            out.push((start, e));
            break;
        }
        let cut = best_sentence
            .or(best_space)
            .filter(|&c| c > start)
            .unwrap_or_else(|| {
                // One giant "word" (a URL, a base64 blob): cut at a char boundary near the budget.
                let mut c = (start + max * 4).min(e);
                while !text.is_char_boundary(c) {
                    c += 1;
                }
                c
            });
        out.push((start, cut));
        start = cut;
        while start < e && text[start..].starts_with(char::is_whitespace) {
            start += text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

/// Where to start the overlap: the last ~`tokens` tokens before `end`, at a word boundary,
/// not before `floor`.
fn overlap_start(text: &str, floor: usize, end: usize, tokens: usize) -> Option<usize> {
    if tokens == 0 {
        return None;
    }
    let lo = end
        .saturating_sub(tokens * 8)
        .max(floor.saturating_sub(tokens * 8));
    let mut lo = lo;
    while !text.is_char_boundary(lo) {
        lo += 1;
    }
    let window = &text[lo..end];
    let mut start = None;
    for (i, _) in window
        .match_indices(char::is_whitespace)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        if estimate_tokens(&window[i..]) > tokens {
            break;
        }
        start = Some(lo + i + 1);
    }
    start.filter(|&s| s < end)
}
