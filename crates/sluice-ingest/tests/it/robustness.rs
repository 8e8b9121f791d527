//! Property tests: any bytes, and randomly nested structure, in every format, give `Ok` or
//! `Err` (never a panic or an abort), and whatever is extracted chunks without panicking.
//! Case counts are fixed so the suite stays within a few seconds in CI.

use crate::common::{PagePdf, document_xml, docx, stream};
use proptest::prelude::*;
use sluice_ingest::{ChunkConfig, ExtractLimits, Format, chunk, extract, extract_with_limits};

const FORMATS: [Format; 5] = [
    Format::Markdown,
    Format::Text,
    Format::Html,
    Format::Pdf,
    Format::Docx,
];

/// Extracts and chunks; the property is that this returns at all.
fn run(bytes: &[u8], format: Format) {
    if let Ok(doc) = extract(bytes, format) {
        let chunks = chunk(&doc, &ChunkConfig::default());
        for c in chunks {
            assert!(c.span.end <= doc.text.len());
        }
    }
}

/// Tokens that open, close or hide structure in the formats' grammars.
fn tokens() -> impl Strategy<Value = String> {
    let t = prop_oneof![
        Just("["),
        Just("]"),
        Just("<<"),
        Just(">>"),
        Just("<"),
        Just(">"),
        Just("("),
        Just(")"),
        Just("\\"),
        Just("{"),
        Just("}"),
        Just("%"),
        Just("\n"),
        Just(" "),
        Just("/Name"),
        Just("1 0 R"),
        Just("12"),
        Just("BI /W 1 /H 1 /BPC 8 /CS /DeviceGray ID x EI"),
        Just("/X0 Do"),
        Just("(text) Tj"),
        Just("<div>"),
        Just("</div>"),
        Just("<p>"),
        Just("<h2>"),
        Just("<script>"),
        Just("<w:p>"),
        Just("</w:p>"),
        Just("<w:t>"),
        Just("</w:t>"),
        Just("&amp;"),
        Just("&#64;"),
        Just("&bogus;"),
        Just("# "),
        Just("```"),
        Just("é"),
    ];
    prop::collection::vec(t, 0..400).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        for format in FORMATS {
            run(&bytes, format);
        }
    }

    #[test]
    fn arbitrary_token_soup_never_panics(soup in tokens()) {
        for format in FORMATS {
            run(soup.as_bytes(), format);
        }
        // The soup inside a well-formed file, where each parser really reads it.
        let xml = document_xml(&format!("<w:p><w:r><w:t>{soup}</w:t></w:r></w:p>{soup}"));
        run(&docx(&xml), Format::Docx);
        let html = format!("<html><body><div>{soup}</div></body></html>");
        run(html.as_bytes(), Format::Html);
    }
}

proptest! {
    // pdf-extract is slow in debug builds (~0.1 s a case here).
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn pdf_with_arbitrary_objects_and_content_never_panics(
        content in tokens(),
        object in tokens(),
        depth in 0usize..400,
    ) {
        let deep = format!("<< /A {}{} >>", "[".repeat(depth), "]".repeat(depth));
        let file = PagePdf {
            content: content.as_bytes(),
            resources_extra: "/XObject << /X0 6 0 R >>",
            font_extra: "/ToUnicode 7 0 R",
            extra: vec![
                stream("/Subtype /Form /Resources << /XObject << /X0 6 0 R >> >>", object.as_bytes()),
                stream("", object.as_bytes()),
                object.clone().into_bytes(),
                deep.into_bytes(),
            ],
            ..PagePdf::default()
        }
        .build();
        run(&file, Format::Pdf);
        // Truncated anywhere.
        let cut = file.len() * depth / 400;
        run(&file[..cut], Format::Pdf);
        // And under tight limits.
        let tight = ExtractLimits {
            max_depth: 8,
            max_decoded_bytes: 1024,
            max_text_bytes: 64,
            ..ExtractLimits::default()
        };
        let _ = extract_with_limits(&file, Format::Pdf, &tight);
    }
}
