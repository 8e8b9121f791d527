//! Fixture builders shared by the integration tests: PDF and DOCX files made in memory.

#![allow(dead_code)]

use std::io::Write;

/// A PDF of the given objects (object `i + 1` is `objects[i]`) with a valid cross-reference
/// table; the trailer's `/Root` is object 1.
pub fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
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

/// A stream object: `<< /Length n extra >> stream … endstream`.
pub fn stream(extra: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< /Length {} {extra} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

/// zlib-compressed bytes, for `/Filter /FlateDecode`.
pub fn flate(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(data).expect("compress");
    z.finish().expect("compress")
}

/// A one-page PDF: catalog (1), pages (2), page (3, with `page_extra` in its dictionary and
/// `resources_extra` in its resources), content stream (4, `content` with `content_extra` in
/// its dictionary), Helvetica as /F1 (5, with `font_extra`), then `extra` as objects 6, 7, ….
pub struct PagePdf<'a> {
    pub content: &'a [u8],
    pub content_extra: &'a str,
    pub page_extra: &'a str,
    pub resources_extra: &'a str,
    pub font_extra: &'a str,
    pub media_box: bool,
    pub extra: Vec<Vec<u8>>,
}

impl Default for PagePdf<'_> {
    fn default() -> Self {
        Self {
            content: b"BT /F1 12 Tf 72 720 Td (Hello world) Tj ET",
            content_extra: "",
            page_extra: "",
            resources_extra: "",
            font_extra: "",
            media_box: true,
            extra: Vec::new(),
        }
    }
}

impl PagePdf<'_> {
    pub fn build(&self) -> Vec<u8> {
        let media = if self.media_box {
            "/MediaBox [0 0 612 792]"
        } else {
            ""
        };
        let mut objects = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            format!(
                "<< /Type /Page /Parent 2 0 R {media} /Contents 4 0 R \
                 /Resources << /Font << /F1 5 0 R >> {} >> {} >>",
                self.resources_extra, self.page_extra
            )
            .into_bytes(),
            stream(self.content_extra, self.content),
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica \
                 /Encoding /WinAnsiEncoding {} >>",
                self.font_extra
            )
            .into_bytes(),
        ];
        objects.extend(self.extra.iter().cloned());
        pdf(&objects)
    }
}

/// A DOCX (zip) whose `word/document.xml` is `xml`.
pub fn docx(xml: &str) -> Vec<u8> {
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
    buf.into_inner()
}

/// A `word/document.xml` around `body` (paragraphs).
pub fn document_xml(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    )
}
