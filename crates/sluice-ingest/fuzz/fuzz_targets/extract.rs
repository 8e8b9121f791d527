//! Any bytes, as any format: extraction returns `Ok` or `Err`, never panics or aborts, and
//! whatever it extracts chunks. The first byte picks the format.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_ingest::{ChunkConfig, ExtractLimits, Format, chunk, extract_with_limits};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let format = match pick % 5 {
        0 => Format::Markdown,
        1 => Format::Text,
        2 => Format::Html,
        3 => Format::Pdf,
        _ => Format::Docx,
    };
    // Small budgets keep each run fast; the limits themselves are under test too.
    let limits = ExtractLimits {
        max_decoded_bytes: 16 << 20,
        max_text_bytes: 4 << 20,
        ..ExtractLimits::default()
    };
    if let Ok(doc) = extract_with_limits(bytes, format, &limits) {
        let _ = chunk(&doc, &ChunkConfig::default());
    }
});
