//! HTML: headings and block elements become blocks; walked with an explicit stack, so nesting
//! depth costs heap, never call stack.

use std::collections::HashMap;

use crate::extract::{BlockKind, Document, push_block};
use crate::limits::Ticker;
use crate::{ExtractError, ExtractLimits};

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

/// Bytes handed to the HTML parser at a time, with a deadline check in between.
const PARSE_CHUNK: usize = 16 << 10;

/// Parses a document as `scraper::Html::parse_document` does, in chunks, so that a deadline
/// can stop a slow parse (html5ever's work per tag grows with nesting depth).
fn parse(src: &str, limits: &ExtractLimits) -> Result<scraper::Html, ExtractError> {
    use html5ever::tendril::TendrilSink;
    let mut parser = html5ever::driver::parse_document(
        scraper::HtmlTreeSink::new(scraper::Html::new_document()),
        Default::default(),
    );
    let mut rest = src;
    while !rest.is_empty() {
        let mut cut = rest.len().min(PARSE_CHUNK);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (chunk, tail) = rest.split_at(cut);
        parser.process(chunk.into());
        limits.check_deadline()?;
        rest = tail;
    }
    Ok(parser.finish())
}

pub(crate) fn html(src: &str, limits: &ExtractLimits) -> Result<Document, ExtractError> {
    let dom = parse(src, limits)?;
    let mut text = String::new();
    let mut blocks = Vec::new();
    let mut ticker = Ticker::new(limits);
    let mut skipped = HashMap::new();
    // Children still to visit, innermost element last: the recursion of a tree walk, on the heap.
    let mut stack = vec![dom.root_element().children()];
    while let Some(children) = stack.last_mut() {
        ticker.tick()?;
        let Some(child) = children.next() else {
            stack.pop();
            continue;
        };
        let Some(child_el) = scraper::ElementRef::wrap(child) else {
            if let Some(t) = child.value().as_text() {
                // Loose text directly inside a container (e.g. a div) is a paragraph of its own.
                push_block(&mut text, &mut blocks, BlockKind::Paragraph, t, limits)?;
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
            let t = element_text(child_el, &mut skipped, &mut ticker, limits)?;
            push_block(
                &mut text,
                &mut blocks,
                BlockKind::Heading(level),
                &t,
                limits,
            )?;
        } else if HTML_BLOCKS.contains(&name) {
            let t = element_text(child_el, &mut skipped, &mut ticker, limits)?;
            push_block(&mut text, &mut blocks, BlockKind::Paragraph, &t, limits)?;
        } else {
            stack.push(child_el.children());
        }
    }
    Ok(Document {
        text,
        blocks,
        spans_are_source: false,
    })
}

/// Text of an element without its script/style descendants, in document order, each text
/// node followed by a space (whitespace is collapsed by `push_block`).
///
/// A text node is left out when any node up its parent chain is a script, style, … element.
/// (html5ever's tree can be inconsistent after it repairs misnested tags, so the parent chain
/// is what decides, as it always has; `skipped` memoises it per node, keyed by address,
/// which keeps the whole walk linear.)
fn element_text(
    el: scraper::ElementRef<'_>,
    skipped: &mut HashMap<usize, bool>,
    ticker: &mut Ticker<'_>,
    limits: &ExtractLimits,
) -> Result<String, ExtractError> {
    let key = |n: &scraper::Node| std::ptr::from_ref(n) as usize;
    let mut out = String::new();
    let mut chain = Vec::new();
    for node in el.descendants() {
        ticker.tick()?;
        let Some(t) = node.value().as_text() else {
            continue;
        };
        chain.clear();
        let mut up = node.parent();
        let skip = loop {
            ticker.tick()?;
            let Some(p) = up else { break false };
            if let Some(&known) = skipped.get(&key(p.value())) {
                break known;
            }
            chain.push(key(p.value()));
            if p.value()
                .as_element()
                .is_some_and(|e| HTML_SKIP.contains(&e.name()))
            {
                break true;
            }
            up = p.parent();
        };
        for &k in &chain {
            skipped.insert(k, skip);
        }
        if !skip {
            out.push_str(t);
            out.push(' ');
            limits.check_text(out.len())?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::extract::Block;

    /// The recursive walk this module replaced, kept as the oracle for the iterative one.
    fn recursive(src: &str) -> (String, Vec<Block>) {
        fn walk(el: scraper::ElementRef<'_>, text: &mut String, blocks: &mut Vec<Block>) {
            let limits = ExtractLimits::default();
            for child in el.children() {
                let Some(child_el) = scraper::ElementRef::wrap(child) else {
                    if let Some(t) = child.value().as_text() {
                        let _ = push_block(text, blocks, BlockKind::Paragraph, t, &limits);
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
                    let t = old_text(child_el);
                    let _ = push_block(text, blocks, BlockKind::Heading(level), &t, &limits);
                } else if HTML_BLOCKS.contains(&name) {
                    let t = old_text(child_el);
                    let _ = push_block(text, blocks, BlockKind::Paragraph, &t, &limits);
                } else {
                    walk(child_el, text, blocks);
                }
            }
        }
        fn old_text(el: scraper::ElementRef<'_>) -> String {
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
        let dom = scraper::Html::parse_document(src);
        let (mut text, mut blocks) = (String::new(), Vec::new());
        walk(dom.root_element(), &mut text, &mut blocks);
        (text, blocks)
    }

    fn same_as_recursive(src: &str) {
        let doc = html(src, &ExtractLimits::default()).expect("html");
        let (text, blocks) = recursive(src);
        assert_eq!(doc.text, text, "{src:?}");
        assert_eq!(doc.blocks, blocks, "{src:?}");
    }

    #[test]
    fn iterative_walk_gives_the_recursive_walks_blocks() {
        same_as_recursive(
            "<html><head><title>T</title></head><body>loose<div>in div<h2>Head <b>bold</b>\
             <script>x</script></h2><ul><li>one<ul><li>two</li></ul></li></ul>\
             <noscript>n</noscript><section><p>para <i>it</i></p>tail</section>\
             <table><tr><td>a</td><td>b</td></tr></table><pre>  keep\n  lines</pre></div>\
             <template><p>t</p></template><h7>not a heading</h7>end</body></html>",
        );
        // Misnested formatting: html5ever's repair leaves parent links and child lists
        // disagreeing; the parent chain still decides what is skipped.
        same_as_recursive("<b><pre><script></script>a<p></b>a");
    }

    fn fragment() -> impl Strategy<Value = String> {
        let tag = prop_oneof![
            Just("div"),
            Just("span"),
            Just("p"),
            Just("li"),
            Just("ul"),
            Just("h1"),
            Just("h3"),
            Just("script"),
            Just("style"),
            Just("template"),
            Just("table"),
            Just("tr"),
            Just("td"),
            Just("b"),
            Just("pre"),
        ];
        let piece = prop_oneof![
            tag.clone().prop_map(|t| format!("<{t}>")),
            tag.prop_map(|t| format!("</{t}>")),
            "[a-z ]{0,6}",
        ];
        prop::collection::vec(piece, 0..80).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn iterative_walk_matches_on_random_html(src in fragment()) {
            same_as_recursive(&src);
        }
    }
}
