//! DOCX: the paragraphs of `word/document.xml`; `Heading<n>` paragraph styles become headings.
//! The XML is read as a flat event stream (no recursion), within the decompression budget.

use std::io::Read;

use quick_xml::events::Event;

use crate::extract::{BlockKind, Document, push_block};
use crate::limits::Ticker;
use crate::{ExtractError, ExtractLimits};

fn docx_err(msg: impl Into<String>) -> ExtractError {
    ExtractError::Docx(msg.into())
}

/// The name of an error's variant (from its `Debug` form), which never carries content.
fn variant<E: std::fmt::Debug>(e: &E) -> String {
    format!("{e:?}")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

pub(crate) fn docx(bytes: &[u8], limits: &ExtractLimits) -> Result<Document, ExtractError> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| docx_err(format!("not a readable zip archive ({})", variant(&e))))?;
    let part = zip.by_name("word/document.xml").map_err(|e| match e {
        zip::result::ZipError::FileNotFound => docx_err("no word/document.xml"),
        e => docx_err(format!("cannot open word/document.xml ({})", variant(&e))),
    })?;
    let mut xml = Vec::new();
    let cap = limits.max_decoded_bytes;
    part.take(u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut xml)
        .map_err(|e| docx_err(format!("cannot inflate word/document.xml ({:?})", e.kind())))?;
    if xml.len() > cap {
        return Err(ExtractError::DecodedTooLarge { limit: cap });
    }
    let xml = String::from_utf8(xml).map_err(|e| {
        docx_err(format!(
            "word/document.xml is not UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut ticker = Ticker::new(limits);
    let (mut text, mut blocks) = (String::new(), Vec::new());
    let (mut para, mut heading, mut in_t) = (String::new(), None::<u8>, false);
    loop {
        ticker.tick()?;
        let event = reader.read_event().map_err(|e| {
            docx_err(format!(
                "malformed word/document.xml at byte {} ({})",
                reader.buffer_position(),
                variant(&e)
            ))
        })?;
        match event {
            Event::Start(e) if e.name().as_ref() == b"w:t" => in_t = true,
            Event::End(e) if e.name().as_ref() == b"w:t" => in_t = false,
            Event::Empty(e) | Event::Start(e) if e.name().as_ref() == b"w:pStyle" => {
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
            Event::Empty(e) if e.name().as_ref() == b"w:tab" || e.name().as_ref() == b"w:br" => {
                para.push(' ')
            }
            Event::Text(t) if in_t => para.push_str(&String::from_utf8_lossy(t.as_ref())),
            Event::CData(t) if in_t => para.push_str(&String::from_utf8_lossy(t.as_ref())),
            // quick-xml reports `&amp;`, `&#64;` … as events of their own, between the texts.
            Event::GeneralRef(r) if in_t => {
                let raw = String::from_utf8_lossy(r.as_ref());
                match r.resolve_char_ref() {
                    Ok(Some(c)) => para.push(c),
                    _ => match quick_xml::escape::resolve_predefined_entity(&raw) {
                        Some(s) => para.push_str(s),
                        // An entity this reader cannot resolve (a DTD's): kept as written.
                        None => {
                            para.push('&');
                            para.push_str(&raw);
                            para.push(';');
                        }
                    },
                }
            }
            Event::End(e) if e.name().as_ref() == b"w:p" => {
                let kind = heading
                    .take()
                    .map_or(BlockKind::Paragraph, BlockKind::Heading);
                push_block(
                    &mut text,
                    &mut blocks,
                    kind,
                    &std::mem::take(&mut para),
                    limits,
                )?;
            }
            Event::Eof => break,
            _ => {}
        }
        limits.check_text(text.len() + para.len())?;
    }
    Ok(Document {
        text,
        blocks,
        spans_are_source: false,
    })
}
