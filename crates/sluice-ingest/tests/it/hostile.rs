//! Hostile input: files built to crash, hang or exhaust the extractor, and the limits that
//! stop them. Each test here aborted, hung or leaked content before its fix.

use std::time::{Duration, Instant};

use crate::common::{PagePdf, document_xml, docx, flate, stream};
use sluice_ingest::{ExtractError, ExtractLimits, Format, extract, extract_with_limits};

fn nested(open: &str, close: &str, n: usize) -> String {
    format!("{}{}", open.repeat(n), close.repeat(n))
}

fn too_deep<T: std::fmt::Debug>(r: Result<T, ExtractError>) -> bool {
    matches!(r, Err(ExtractError::TooDeep { .. }))
}

// --- 1. Nesting -----------------------------------------------------------------------------

#[test]
fn pdf_deeply_nested_arrays_are_refused_not_a_stack_overflow() {
    // ~400 KB: 200,000 levels of arrays inside an object's dictionary.
    let file = PagePdf {
        extra: vec![format!("<< /Deep {} >>", nested("[", "]", 200_000)).into_bytes()],
        ..PagePdf::default()
    }
    .build();
    assert!(file.len() > 400_000);
    assert!(too_deep(extract(&file, Format::Pdf)));
    // Dictionaries too, and closers hidden in strings do not close anything.
    for deep in [
        nested("<< /A ", ">>", 50_000),
        "[(])".repeat(50_000),
        format!("[{}]", "[ %]\n".repeat(50_000)),
    ] {
        let file = PagePdf {
            extra: vec![deep.into_bytes()],
            ..PagePdf::default()
        }
        .build();
        assert!(too_deep(extract(&file, Format::Pdf)));
    }
}

#[test]
fn pdf_nesting_at_the_limit_is_read() {
    let limit = ExtractLimits::default().max_depth;
    // The dictionary is one level; arrays make up the rest.
    let file = PagePdf {
        extra: vec![format!("<< /Deep {} >>", nested("[", "]", limit - 1)).into_bytes()],
        ..PagePdf::default()
    }
    .build();
    let doc = extract(&file, Format::Pdf).expect("at the limit");
    assert!(doc.text.contains("Hello world"), "{:?}", doc.text);
    let file = PagePdf {
        extra: vec![format!("<< /Deep {} >>", nested("[", "]", limit)).into_bytes()],
        ..PagePdf::default()
    }
    .build();
    assert!(too_deep(extract(&file, Format::Pdf)));
}

#[test]
fn pdf_nesting_in_compressed_streams_is_refused() {
    // In a page's content stream (pdf-extract parses it with lopdf's recursive parser).
    let content = flate(nested("[", "]", 100_000).as_bytes());
    let file = PagePdf {
        content: &content,
        content_extra: "/Filter /FlateDecode",
        ..PagePdf::default()
    }
    .build();
    assert!(too_deep(extract(&file, Format::Pdf)));

    // In an object stream (lopdf parses it while loading).
    let body = format!("7 0 {}", nested("[", "]", 100_000));
    let objstm = stream(
        "/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode",
        &flate(body.as_bytes()),
    );
    let file = PagePdf {
        extra: vec![objstm],
        ..PagePdf::default()
    }
    .build();
    assert!(too_deep(extract(&file, Format::Pdf)));

    // In a font's ToUnicode CMap (pdf-extract's CMap parser nests on parentheses).
    let cmap = format!(
        "/CIDInit /ProcSet findresource begin {}",
        nested("(", ")", 100_000)
    );
    let file = PagePdf {
        font_extra: "/ToUnicode 6 0 R",
        extra: vec![stream("", cmap.as_bytes())],
        ..PagePdf::default()
    }
    .build();
    assert!(too_deep(extract(&file, Format::Pdf)));
}

#[test]
fn pdf_form_xobject_cycle_is_refused() {
    // A form that draws itself: pdf-extract recursed until the stack overflowed.
    let form = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 10 10] \
         /Resources << /XObject << /X0 6 0 R >> >>",
        b"/X0 Do",
    );
    let file = PagePdf {
        content: b"/X0 Do",
        resources_extra: "/XObject << /X0 6 0 R >>",
        extra: vec![form],
        ..PagePdf::default()
    }
    .build();
    assert!(too_deep(extract(&file, Format::Pdf)));
}

#[test]
fn pdf_page_parent_cycle_is_refused() {
    // No MediaBox, and the page is its own parent: pdf-extract climbed forever.
    let file = PagePdf {
        media_box: false,
        page_extra: "/Parent 3 0 R",
        ..PagePdf::default()
    }
    .build();
    assert!(too_deep(extract(&file, Format::Pdf)));
}

#[test]
fn pdf_stream_length_chain_is_refused() {
    // Each stream's /Length is the next stream: lopdf recursed once per link.
    let n = 20_000;
    let mut extra: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("<< /Length {} 0 R >>\nstream\nx\nendstream", 7 + i).into_bytes())
        .collect();
    extra.push(b"1".to_vec());
    let file = PagePdf {
        extra,
        ..PagePdf::default()
    }
    .build();
    assert!(too_deep(extract(&file, Format::Pdf)));
}

#[test]
fn pdf_worst_structure_within_the_limits_is_read() {
    // Both recursions lopdf has, each just inside the limit, stacked: a chain of streams
    // whose /Length is the next stream, the last one's dictionary nested to the limit.
    let limit = ExtractLimits::default().max_depth;
    let links = limit - 2;
    let mut extra: Vec<Vec<u8>> = (0..links)
        .map(|i| {
            // The dictionary and `/D`'s array are two levels.
            let deep = if i + 1 == links {
                nested("[", "]", limit - 2)
            } else {
                String::new()
            };
            format!(
                "<< /Length {} 0 R /D [{deep}] >>\nstream\nx\nendstream",
                7 + i
            )
            .into_bytes()
        })
        .collect();
    extra.push(b"1".to_vec());
    let file = PagePdf {
        extra,
        ..PagePdf::default()
    }
    .build();
    let doc = extract(&file, Format::Pdf).expect("within the limits");
    assert!(doc.text.contains("Hello world"), "{:?}", doc.text);
}

// --- 2. Bounds ------------------------------------------------------------------------------

/// A file whose only cross-reference section is a stream with dictionary `dict`.
fn xref_stream_pdf(dict: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n".to_vec();
    let at = out.len();
    out.extend_from_slice(
        format!("1 0 obj\n<< {dict} /Length 0 >>\nstream\n\nendstream\nendobj\n").as_bytes(),
    );
    out.extend_from_slice(format!("startxref\n{at}\n%%EOF\n").as_bytes());
    out
}

#[test]
fn pdf_cross_reference_stream_field_widths_are_checked() {
    // lopdf allocated `W[0]` bytes (an abort), or looped `Index` times on zero widths.
    for dict in [
        "/Type /XRef /Size 2 /W [1099511627776 1 1]",
        "/Type /XRef /Size 2 /W [0 0 0] /Index [0 9223372036854775807]",
    ] {
        let r = extract(&xref_stream_pdf(dict), Format::Pdf);
        assert!(matches!(r, Err(ExtractError::Pdf(_))), "{r:?}");
    }
}

#[test]
fn pdf_decompression_is_bounded() {
    let limits = ExtractLimits {
        max_decoded_bytes: 1 << 20,
        ..ExtractLimits::default()
    };
    let content = flate(&vec![b' '; 4 << 20]);
    let file = PagePdf {
        content: &content,
        content_extra: "/Filter /FlateDecode",
        ..PagePdf::default()
    }
    .build();
    assert!(matches!(
        extract_with_limits(&file, Format::Pdf, &limits),
        Err(ExtractError::DecodedTooLarge { .. })
    ));
    // A predictor row of 2^40 bytes, which lopdf would allocate.
    let file = PagePdf {
        content: &flate(b"BT ET"),
        content_extra: "/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 1099511627776 >>",
        ..PagePdf::default()
    }
    .build();
    assert!(matches!(
        extract(&file, Format::Pdf),
        Err(ExtractError::Pdf(_))
    ));
}

#[test]
fn pdf_extractor_panics_become_errors() {
    // No MediaBox anywhere: pdf-extract `expect`s one.
    let file = PagePdf {
        media_box: false,
        ..PagePdf::default()
    }
    .build();
    assert!(matches!(
        extract(&file, Format::Pdf),
        Err(ExtractError::Pdf(_))
    ));
}

#[test]
fn limits_bound_input_output_and_time() {
    let small = ExtractLimits {
        max_bytes: 10,
        ..ExtractLimits::default()
    };
    for format in [Format::Markdown, Format::Html, Format::Pdf, Format::Docx] {
        assert!(matches!(
            extract_with_limits(&[b'a'; 11], format, &small),
            Err(ExtractError::InputTooLarge {
                size: 11,
                limit: 10
            })
        ));
    }
    let short = ExtractLimits {
        max_text_bytes: 100,
        ..ExtractLimits::default()
    };
    let long = "word ".repeat(100);
    assert!(matches!(
        extract_with_limits(long.as_bytes(), Format::Text, &short),
        Err(ExtractError::TextTooLarge { limit: 100 })
    ));
    let html = format!("<p>{long}</p>");
    assert!(matches!(
        extract_with_limits(html.as_bytes(), Format::Html, &short),
        Err(ExtractError::TextTooLarge { .. })
    ));
    let xml = document_xml(&format!("<w:p><w:r><w:t>{long}</w:t></w:r></w:p>"));
    assert!(matches!(
        extract_with_limits(&docx(&xml), Format::Docx, &short),
        Err(ExtractError::TextTooLarge { .. })
    ));
    let late = ExtractLimits {
        deadline: Some(Instant::now() - Duration::from_secs(1)),
        ..ExtractLimits::default()
    };
    assert!(matches!(
        extract_with_limits(b"# hi", Format::Markdown, &late),
        Err(ExtractError::DeadlineExceeded)
    ));
    // A deadline that passes during a long walk stops it.
    let html = "<p>x</p>".repeat(200_000);
    let soon = ExtractLimits {
        deadline: Some(Instant::now() + Duration::from_millis(1)),
        ..ExtractLimits::default()
    };
    std::thread::sleep(Duration::from_millis(2));
    assert!(matches!(
        extract_with_limits(html.as_bytes(), Format::Html, &soon),
        Err(ExtractError::DeadlineExceeded)
    ));
}

#[test]
fn docx_inflation_is_bounded() {
    let limits = ExtractLimits {
        max_decoded_bytes: 1 << 20,
        ..ExtractLimits::default()
    };
    let xml = document_xml(&" ".repeat(2 << 20));
    assert!(matches!(
        extract_with_limits(&docx(&xml), Format::Docx, &limits),
        Err(ExtractError::DecodedTooLarge { .. })
    ));
}

// --- 3. Content ------------------------------------------------------------------------------

#[test]
fn html_deeply_nested_elements_do_not_overflow_the_stack() {
    // 20,000 nested containers, text at every level. (`<div>` alternates with `<object>`: for
    // nested `<div>`s alone html5ever's own parse time grows with the square of the depth,
    // about 20 s in a debug build; the walk after it is what used to overflow.)
    let n = 10_000;
    let html = format!(
        "<html><body>{}<p>deep text</p>{}</body></html>",
        "<div>a<object>b".repeat(n),
        "</object></div>".repeat(n)
    );
    let doc = extract(html.as_bytes(), Format::Html).expect("html");
    assert_eq!(doc.blocks.len(), 2 * n + 1);
    assert_eq!(&doc.text[doc.blocks[2 * n].span.clone()], "deep text");
    let html = format!(
        "<p>{}x{}</p>",
        "<span>".repeat(50_000),
        "</span>".repeat(50_000)
    );
    let doc = extract(html.as_bytes(), Format::Html).expect("html");
    assert_eq!(doc.text, "x");
    let html = format!(
        "<div>{}deep{}</div>",
        "<span>".repeat(50_000),
        "</span>".repeat(50_000)
    );
    assert_eq!(
        extract(html.as_bytes(), Format::Html).expect("html").text,
        "deep"
    );
}

#[test]
fn docx_entity_and_character_references_are_decoded() {
    let xml = document_xml(
        "<w:p><w:r><w:t>name&#64;example.com</w:t></w:r></w:p>\
         <w:p><w:r><w:t>a &amp; b</w:t></w:r></w:p>\
         <w:p><w:r><w:t>&lt;x&gt; &quot;q&quot; &apos;s&apos; &#x40;&#169;</w:t></w:r></w:p>",
    );
    let doc = extract(&docx(&xml), Format::Docx).expect("docx");
    let paras: Vec<&str> = doc
        .blocks
        .iter()
        .map(|b| &doc.text[b.span.clone()])
        .collect();
    assert_eq!(
        paras,
        ["name@example.com", "a & b", "<x> \"q\" 's' @\u{a9}"]
    );
}

#[test]
fn errors_carry_no_document_content() {
    let secret = "alice.secret@example.com";
    let xml = document_xml(&format!("<w:p><w:t>{secret}</w:t></{secret}></w:p>"));
    let pdf_file = format!("%PDF-1.4\n1 0 obj << /S ({secret}) /T /{secret} >> endobj trailer");
    let secret_content = format!("BT /F1 12 Tf ({secret}) Tj ET");
    for (bytes, format) in [
        (docx(&xml), Format::Docx),
        (pdf_file.clone().into_bytes(), Format::Pdf),
        (
            PagePdf {
                media_box: false,
                content: secret_content.as_bytes(),
                ..PagePdf::default()
            }
            .build(),
            Format::Pdf,
        ),
        (format!("PK\x03\x04{secret}").into_bytes(), Format::Docx),
    ] {
        let msg = extract(&bytes, format)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!msg.is_empty(), "{format:?} should fail");
        assert!(!msg.contains("alice"), "{msg}");
        assert!(!msg.contains("secret"), "{msg}");
    }
}
