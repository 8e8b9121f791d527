//! Extraction and chunking on the sample corpus and on generated PDF/DOCX files.

use std::io::Write;
use std::path::{Path, PathBuf};

use sluice_ingest::{
    BlockKind, ChunkConfig, ExtractError, Format, chunk, estimate_tokens, extract,
};

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora")
}

#[test]
fn markdown_chunks_keep_source_spans_and_heading_paths() {
    let path = corpora().join("runbooks/database-failover.md");
    let bytes = std::fs::read(&path).expect("corpus file");
    let doc = extract(&bytes, Format::Markdown).expect("extract");
    assert!(doc.spans_are_source);
    let chunks = chunk(&doc, &ChunkConfig::default());
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    for c in &chunks {
        // The span is the chunk's text in the source file: citations can point into the file.
        assert_eq!(&bytes[c.span.clone()], c.text.as_bytes());
        assert!(
            estimate_tokens(&c.text) <= 200 + 30,
            "chunk of {} tokens",
            estimate_tokens(&c.text)
        );
        assert!(
            !c.heading_path.is_empty(),
            "every chunk of this runbook is under a heading"
        );
        assert!(!c.text.starts_with('#'), "headings are not chunk text");
    }
    // Together the chunks cover every paragraph byte of the document.
    let covered: usize = doc
        .blocks
        .iter()
        .filter(|b| b.kind == BlockKind::Paragraph)
        .map(|b| b.span.len())
        .sum();
    let in_chunks: usize = chunks.iter().map(|c| c.text.len()).sum();
    assert!(in_chunks >= covered);
}

#[test]
fn every_corpus_document_extracts_and_chunks() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&corpora(), &mut files);
    let mut n = 0;
    for f in files {
        let Some(ext) = f.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        let Ok(format) = Format::from_extension(ext) else {
            continue;
        };
        let doc = extract(&std::fs::read(&f).expect("read"), format).expect("extract");
        let chunks = chunk(&doc, &ChunkConfig::default());
        assert!(!chunks.is_empty(), "{}", f.display());
        n += 1;
    }
    assert!(n >= 22, "{n} documents");
}

#[test]
fn html_drops_scripts_and_styles_and_keeps_headings() {
    let html = br#"<html><head><title>T</title><style>.x{color:red}</style></head>
        <body><script>var apiKey = "not text";</script>
        <h1>Benefits</h1><h2>Dental</h2><p>Covered up to <b>EUR 1,500</b> a year.</p>
        <table><tr><td>Plan</td><td>Gold</td></tr></table><noscript>enable js</noscript></body></html>"#;
    let doc = extract(html, Format::Html).expect("html");
    assert!(
        !doc.text.contains("apiKey")
            && !doc.text.contains("color:red")
            && !doc.text.contains("enable js")
    );
    let chunks = chunk(&doc, &ChunkConfig::default());
    assert_eq!(chunks[0].heading_path, "Benefits > Dental");
    assert!(chunks[0].text.contains("Covered up to EUR 1,500 a year."));
    assert!(chunks[0].text.contains("Plan Gold"));
}

#[test]
fn long_paragraphs_split_at_sentences_with_overlap() {
    let sentence = "The replica is promoted after the health check fails three times in a row. ";
    let md = format!("# Ops\n\n{}\n", sentence.repeat(60));
    let doc = extract(md.as_bytes(), Format::Markdown).expect("md");
    let chunks = chunk(&doc, &ChunkConfig::default());
    assert!(chunks.len() >= 4, "{}", chunks.len());
    for w in chunks.windows(2) {
        assert!(
            w[1].span.start < w[0].span.end,
            "consecutive chunks of a section overlap"
        );
        assert!(w[0].text.trim_end().ends_with('.'), "cut at a sentence end");
    }
}

#[test]
fn docx_paragraphs_and_heading_styles() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Travel policy</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Hotels are capped at </w:t></w:r><w:r><w:t>EUR 180 per night.</w:t></w:r></w:p>
</w:body></w:document>"#;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file(
            "word/document.xml",
            zip::write::SimpleFileOptions::default(),
        )
        .expect("start");
        z.write_all(xml.as_bytes()).expect("write");
        z.finish().expect("finish");
    }
    let doc = extract(buf.get_ref(), Format::Docx).expect("docx");
    let chunks = chunk(&doc, &ChunkConfig::default());
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].heading_path, "Travel policy");
    assert_eq!(chunks[0].text, "Hotels are capped at EUR 180 per night.");
}

/// A one-page PDF with a text layer, offsets computed so the xref table is valid.
fn tiny_pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[test]
fn pdf_text_layer() {
    let doc = extract(
        &tiny_pdf("The RTO for the primary database is 15 minutes."),
        Format::Pdf,
    )
    .expect("pdf");
    assert!(
        doc.text
            .contains("RTO for the primary database is 15 minutes"),
        "{:?}",
        doc.text
    );
    assert_eq!(chunk(&doc, &ChunkConfig::default()).len(), 1);
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    assert!(matches!(
        extract(b"%PDF-1.4\ngarbage", Format::Pdf),
        Err(ExtractError::Pdf(_))
    ));
    assert!(matches!(
        extract(b"PK\x03\x04 not a zip", Format::Docx),
        Err(ExtractError::Docx(_))
    ));
    assert!(matches!(
        extract(&[0x7f, 0x45, 0x4c, 0x46, 0xff, 0x00], Format::Text),
        Err(ExtractError::NotText { offset: 4 })
    ));
    assert!(matches!(
        Format::from_extension("exe"),
        Err(ExtractError::Unsupported(_))
    ));
    let msg = extract(b"PK\x03\x04 not a zip", Format::Docx)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.starts_with("unreadable DOCX"), "{msg}");
    // Empty input is an empty document, not an error.
    assert!(
        chunk(
            &extract(b"", Format::Markdown).expect("empty"),
            &ChunkConfig::default()
        )
        .is_empty()
    );
}
