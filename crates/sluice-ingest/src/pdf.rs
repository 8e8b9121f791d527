//! PDF text extraction, made safe for hostile files.
//!
//! lopdf and pdf-extract parse by recursive descent, `unwrap` freely, decompress without bound
//! and follow references without cycle checks, so they are only let at a file after:
//!
//! 1. a byte-level scan ([`crate::pdf_scan`]) of every object in the file has shown nesting
//!    within [`ExtractLimits::max_depth`], no deep chain of stream `/Length` references, and
//!    cross-reference streams that decompress within budget and have sane field widths;
//! 2. object streams, checked the same way as lopdf loads them (a load filter);
//! 3. after the load: image, embedded-file, TrueType-font and PostScript-function streams are
//!    emptied (they hold no text; pdf-extract would otherwise inflate or log them), every other
//!    stream's inflated size is checked, page contents and the form XObjects they draw are
//!    scanned as content streams, fonts and CMaps as PostScript, and the page tree's `Parent`
//!    chains and the XObject graph are checked for cycles and depth.
//!
//! All of it runs on a worker thread with a large stack (defence in depth), and a panic in
//! either library becomes an [`ExtractError::Pdf`]. Errors carry fixed messages only.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};

use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use crate::limits::Ticker;
use crate::pdf_scan::{self, Val, Work};
use crate::{ExtractError, ExtractLimits};

/// Stack of the worker thread (only touched pages are committed). With the default limits the
/// worst accepted file (a 254-link `/Length` chain ending in 254-deep nesting) fits in 16 MiB
/// in a debug build; the rest is margin, for larger `max_depth` settings too.
const STACK_BYTES: usize = 64 << 20;
/// Largest PNG-predictor row accepted (lopdf allocates two rows up front).
const MAX_PREDICTOR_ROW: usize = 16 << 20;
/// Most form-XObject invocations followed when checking the XObject graph.
const MAX_XOBJECT_VISITS: usize = 100_000;

fn pdf_err(msg: &str) -> ExtractError {
    ExtractError::Pdf(msg.to_owned())
}

/// The name of an error's variant (from its `Debug` form), which never carries content.
fn variant<E: std::fmt::Debug>(e: &E) -> String {
    let dbg = format!("{e:?}");
    dbg.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Extracts the text layer of a PDF within `limits`.
pub(crate) fn extract_pdf(bytes: &[u8], limits: &ExtractLimits) -> Result<String, ExtractError> {
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name("sluice-pdf".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(s, || pdf_text(bytes, limits))
            .map_err(|_| pdf_err("could not start the PDF worker thread"))?;
        worker
            .join()
            .unwrap_or_else(|_| Err(pdf_err("the PDF parser failed on this file")))
    })
}

fn pdf_text(bytes: &[u8], limits: &ExtractLimits) -> Result<String, ExtractError> {
    // lopdf reads from the first `%PDF-`; offsets in the file are relative to it.
    let start = bytes.windows(5).position(|w| w == b"%PDF-").unwrap_or(0);
    let buf = &bytes[start..];
    let mut budget = Budget {
        limits,
        decoded: 0,
        counted: HashSet::new(),
    };
    // Lexing budgets: each byte is scanned about once; hostile overlaps are cut off.
    let mut work = Work::new(limits, buf.len().saturating_mul(16).saturating_add(1 << 20));
    check_file(buf, &mut work, &mut budget)?;
    let decoded_work = limits
        .max_decoded_bytes
        .saturating_mul(4)
        .saturating_add(1 << 20);
    let mut doc = load(buf, &mut budget, decoded_work)?;
    if doc.is_encrypted() {
        return Err(pdf_err("encrypted; a password is required"));
    }
    neutralise(&mut doc, limits)?;
    let mut work = Work::new(limits, decoded_work.saturating_add(buf.len()));
    check_document(&doc, &mut work, &mut budget)?;
    output(&doc, limits)
}

/// Bytes inflated so far, against [`ExtractLimits::max_decoded_bytes`].
struct Budget<'a> {
    limits: &'a ExtractLimits,
    decoded: usize,
    /// Streams already counted.
    counted: HashSet<ObjectId>,
}

impl Budget<'_> {
    fn remaining(&self) -> usize {
        self.limits.max_decoded_bytes.saturating_sub(self.decoded)
    }

    fn add(&mut self, n: usize) -> Result<(), ExtractError> {
        self.decoded = self.decoded.saturating_add(n);
        if self.decoded > self.limits.max_decoded_bytes {
            return Err(ExtractError::DecodedTooLarge {
                limit: self.limits.max_decoded_bytes,
            });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding, bounded, the way lopdf's `Stream::decompressed_content` decodes.

/// A `/DecodeParms` dictionary's integers.
#[derive(Debug, Default, Clone, Copy)]
struct Params {
    predictor: Option<i64>,
    columns: Option<i64>,
    colors: Option<i64>,
    bpc: Option<i64>,
    early_change: Option<i64>,
}

impl Params {
    fn from_val(v: &Val) -> Self {
        let int = |k: &[u8]| v.get(k).and_then(Val::int);
        Self {
            predictor: int(b"Predictor"),
            columns: int(b"Columns"),
            colors: int(b"Colors"),
            bpc: int(b"BitsPerComponent"),
            early_change: int(b"EarlyChange"),
        }
    }

    fn from_dict(d: &Dictionary) -> Self {
        let int = |k: &[u8]| d.get(k).and_then(Object::as_i64).ok();
        Self {
            predictor: int(b"Predictor"),
            columns: int(b"Columns"),
            colors: int(b"Colors"),
            bpc: int(b"BitsPerComponent"),
            early_change: int(b"EarlyChange"),
        }
    }

    /// `(bytes per pixel, pixels per row)` of a PNG predictor, as lopdf computes them;
    /// `Err` where lopdf would overflow or allocate a huge row.
    fn png(&self) -> Result<Option<(usize, usize)>, ExtractError> {
        if !(10..=15).contains(&self.predictor.unwrap_or(1)) {
            return Ok(None);
        }
        let pos = |v: Option<i64>, min: i64| usize::try_from(v.unwrap_or(min).max(min)).ok();
        let bad = || pdf_err("unsupported stream predictor parameters");
        let columns = pos(self.columns, 1).ok_or_else(bad)?;
        let colors = pos(self.colors, 1).ok_or_else(bad)?;
        let bits = pos(self.bpc, 8).ok_or_else(bad)?;
        let bpp = colors.checked_mul(bits).ok_or_else(bad)? / 8;
        let row = bpp.checked_mul(columns).ok_or_else(bad)?;
        if row > MAX_PREDICTOR_ROW {
            return Err(bad());
        }
        Ok(Some((bpp, columns)))
    }
}

/// Inflates `data` through `filters` (stopping at the first one lopdf does not decode) and
/// returns the bytes produced in all, or `Err(DecodedTooLarge)` past `cap`.
fn decoded_size(
    data: &[u8],
    filters: &[&[u8]],
    params: Option<Params>,
    cap: usize,
    limit: usize,
) -> Result<usize, ExtractError> {
    let over = || ExtractError::DecodedTooLarge { limit };
    let png = params.map(|p| p.png()).transpose()?.flatten();
    let mut total = 0usize;
    let mut cur: Option<Vec<u8>> = None;
    for f in filters {
        let input = cur.as_deref().unwrap_or(data);
        let room = cap.saturating_sub(total);
        let (out, predicted) = match *f {
            b"FlateDecode" => (inflate(input, room).ok_or_else(over)?, true),
            b"LZWDecode" => {
                let early = params.and_then(|p| p.early_change).is_none_or(|v| v != 0);
                (lzw(input, early, room).ok_or_else(over)?, true)
            }
            b"ASCII85Decode" => match ascii85(input, room) {
                Ok(v) => (v, false),
                Err(true) => return Err(over()),
                Err(false) => break,
            },
            _ => break,
        };
        total = total.saturating_add(out.len());
        if total > cap {
            return Err(over());
        }
        match png {
            Some((bpp, cols)) if predicted => {
                match lopdf::filters::png::decode_frame(&out, bpp, cols) {
                    Ok(v) => cur = Some(v),
                    Err(_) => break,
                }
            }
            _ => cur = Some(out),
        }
    }
    Ok(total)
}

/// zlib inflate of at most `cap` bytes (`None` past it); a corrupt tail ends the output, as
/// in lopdf.
fn inflate(input: &[u8], cap: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    if input.is_empty() {
        return Some(out);
    }
    let mut d = flate2::read::ZlibDecoder::new(input);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match d.read(&mut buf) {
            Ok(0) | Err(_) => return Some(out),
            Ok(n) => {
                if out.len() + n > cap {
                    return None;
                }
                out.extend_from_slice(&buf[..n]);
            }
        }
    }
}

/// A `Vec` writer that refuses to grow past a cap.
struct Capped {
    buf: Vec<u8>,
    cap: usize,
    over: bool,
}

impl Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + b.len() > self.cap {
            self.over = true;
            return Err(std::io::Error::other("over the cap"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// LZW decode (lopdf's settings) of at most `cap` bytes.
fn lzw(input: &[u8], early_change: bool, cap: usize) -> Option<Vec<u8>> {
    use weezl::{BitOrder, decode::Decoder};
    let mut d = if early_change {
        Decoder::with_tiff_size_switch(BitOrder::Msb, 8)
    } else {
        Decoder::new(BitOrder::Msb, 8)
    };
    let mut out = Capped {
        buf: Vec::new(),
        cap,
        over: false,
    };
    let _ = d.into_stream(&mut out).decode_all(input);
    (!out.over).then_some(out.buf)
}

/// lopdf's ASCII85 decode, capped: `Err(true)` past the cap, `Err(false)` where lopdf fails.
fn ascii85(input: &[u8], cap: usize) -> Result<Vec<u8>, bool> {
    let mut out = Vec::new();
    let (mut buffer, mut count) = (0u32, 0usize);
    let body = input.strip_suffix(b"~>").unwrap_or(input);
    let push = |out: &mut Vec<u8>, b: &[u8]| {
        if out.len() + b.len() > cap {
            return Err(true);
        }
        out.extend_from_slice(b);
        Ok(())
    };
    for &ch in body {
        if ch == b'z' {
            if count != 0 {
                return Err(false);
            }
            push(&mut out, &[0; 4])?;
            continue;
        }
        if ch.is_ascii_whitespace() {
            continue;
        }
        if !(b'!'..=b'u').contains(&ch) {
            break;
        }
        buffer = buffer
            .checked_mul(85)
            .ok_or(false)?
            .wrapping_add(u32::from(ch - b'!'));
        count += 1;
        if count == 5 {
            push(&mut out, &buffer.to_be_bytes())?;
            (buffer, count) = (0, 0);
        }
    }
    if count > 0 {
        for _ in count..5 {
            buffer = buffer.checked_mul(85).ok_or(false)?.wrapping_add(84);
        }
        push(&mut out, &buffer.to_be_bytes()[..count - 1])?;
    }
    Ok(out)
}

/// Checks that a stream inflates within the budget (once per stream).
fn check_stream(
    id: Option<ObjectId>,
    s: &Stream,
    budget: &mut Budget<'_>,
) -> Result<(), ExtractError> {
    if id.is_some_and(|id| budget.counted.contains(&id)) {
        return Ok(());
    }
    let Ok(filters) = s.filters() else {
        return Ok(());
    };
    let params = s
        .dict
        .get(b"DecodeParms")
        .and_then(Object::as_dict)
        .ok()
        .map(Params::from_dict);
    let size = decoded_size(
        &s.content,
        &filters,
        params,
        budget.remaining(),
        budget.limits.max_decoded_bytes,
    )?;
    if let Some(id) = id {
        budget.counted.insert(id);
    }
    budget.add(size)
}

/// The bytes pdf-extract will parse for a stream (inflated, or raw where lopdf cannot
/// inflate), after checking its size against the budget.
fn stream_bytes(
    id: Option<ObjectId>,
    s: &Stream,
    budget: &mut Budget<'_>,
) -> Result<Vec<u8>, ExtractError> {
    check_stream(id, s, budget)?;
    Ok(s.decompressed_content()
        .unwrap_or_else(|_| s.content.clone()))
}

// ---------------------------------------------------------------------------------------------
// 1. The file, before lopdf.

fn check_file(
    buf: &[u8],
    work: &mut Work<'_>,
    budget: &mut Budget<'_>,
) -> Result<(), ExtractError> {
    let objects = pdf_scan::scan_file(buf, work)?;
    let max_depth = budget.limits.max_depth;

    // Chains of streams whose /Length is a reference to another such stream: lopdf parses
    // the referenced object while parsing the stream, one level of recursion per link.
    let length_ref = |o: &pdf_scan::FileObject| match o.scan.dict.as_ref()?.get(b"Length")? {
        Val::Ref(n, g) if o.scan.stream_data.is_some() => Some((*n, *g)),
        _ => None,
    };
    let mut sources = HashSet::new();
    let mut wildcard = false;
    for o in &objects {
        if length_ref(o).is_some() {
            sources.extend(o.ids.iter().copied());
            wildcard |= o.ids.is_empty();
        }
    }
    let links = objects
        .iter()
        .filter_map(length_ref)
        .filter(|t| wildcard || sources.contains(t))
        .count();
    if links >= max_depth {
        return Err(ExtractError::TooDeep {
            format: "PDF",
            limit: max_depth,
        });
    }

    // Streams lopdf may load as cross-reference streams (at `startxref`, `/Prev` or
    // `/XRefStm` offsets): it inflates them without bound and sizes buffers from `/W`.
    let offsets = pdf_scan::xref_offsets(buf);
    for o in &objects {
        let (Some(dict), Some(data)) = (&o.scan.dict, o.scan.stream_data) else {
            continue;
        };
        let from = o.at.saturating_sub(64);
        let i = offsets.partition_point(|&x| x < from);
        if offsets.get(i).is_none_or(|&x| x > o.at) {
            continue;
        }
        if let Some(Val::Arr(w, _)) = dict.get(b"W")
            && let [Val::Int(a), Val::Int(b), Val::Int(c), ..] = w.as_slice()
        {
            let ok = [a, b, c].iter().all(|&&x| (0..=8).contains(&x)) && a + b + c > 0;
            if !ok {
                return Err(pdf_err("cross-reference stream with invalid field widths"));
            }
        }
        let end = match dict.get(b"Length") {
            Some(Val::Int(n)) => match usize::try_from(*n) {
                Ok(n) => data.saturating_add(n).min(buf.len()),
                Err(_) => continue,
            },
            Some(Val::Ref(..)) => buf.len(),
            _ => continue,
        };
        let filters: Vec<&[u8]> = match dict.get(b"Filter") {
            None => continue,
            Some(Val::Name(n)) => vec![n.as_slice()],
            Some(Val::Arr(items, more)) => {
                if *more {
                    return Err(pdf_err("too many stream filters"));
                }
                let names: Option<Vec<&[u8]>> = items
                    .iter()
                    .map(|v| match v {
                        Val::Name(n) => Some(n.as_slice()),
                        _ => None,
                    })
                    .collect();
                match names {
                    Some(n) => n,
                    None => continue,
                }
            }
            Some(_) => continue,
        };
        let params = match dict.get(b"DecodeParms") {
            Some(p @ Val::Dict(_)) => Some(Params::from_val(p)),
            _ => None,
        };
        let size = decoded_size(
            &buf[data.min(end)..end],
            &filters,
            params,
            budget.remaining(),
            budget.limits.max_decoded_bytes,
        )?;
        budget.add(size)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. The load, with object streams checked before lopdf expands them.

struct LoadGuard {
    limits: ExtractLimits,
    /// The file mentions `/Encrypt`: object streams cannot be checked before decryption.
    encrypted: bool,
    decoded: usize,
    /// Lexing left for all object streams together.
    work_left: usize,
    error: Option<ExtractError>,
}

thread_local! {
    static LOAD_GUARD: RefCell<Option<LoadGuard>> = const { RefCell::new(None) };
}

/// lopdf's load filter: called with every object before object streams are expanded (where
/// the result is ignored) and with every object inside an object stream (where the result
/// is kept). Refuses all objects when not armed on this thread.
fn load_filter(id: ObjectId, obj: &mut Object) -> Option<(ObjectId, Object)> {
    LOAD_GUARD.with(|g| {
        let mut g = g.borrow_mut();
        let guard = g.as_mut()?;
        if guard.error.is_some() {
            return None;
        }
        if let Object::Stream(s) = obj {
            if s.dict.has_type(b"ObjStm")
                && let Err(e) = check_object_stream(s, guard)
            {
                guard.error = Some(e);
                return None;
            }
            // Only reached from the first call site, which ignores the result.
            return Some((id, Object::Null));
        }
        Some((id, obj.clone()))
    })
}

fn check_object_stream(s: &Stream, guard: &mut LoadGuard) -> Result<(), ExtractError> {
    if guard.encrypted {
        return Err(pdf_err(
            "encrypted with compressed object streams (not supported)",
        ));
    }
    let limits = guard.limits.clone();
    let mut budget = Budget {
        limits: &limits,
        decoded: guard.decoded,
        counted: HashSet::new(),
    };
    let content = stream_bytes(None, s, &mut budget)?;
    guard.decoded = budget.decoded;
    // lopdf: the index before /First is "id offset" pairs; each object is parsed at
    // First + offset.
    let Ok(first) = s
        .dict
        .get(b"First")
        .and_then(Object::as_i64)
        .map(usize::try_from)
    else {
        return Ok(());
    };
    let Ok(first) = first else { return Ok(()) };
    let Some(index) = content.get(..first) else {
        return Ok(());
    };
    let Ok(index) = std::str::from_utf8(index) else {
        return Ok(());
    };
    let numbers: Vec<Option<u32>> = index.split_whitespace().map(|n| n.parse().ok()).collect();
    let mut work = Work::new(&limits, guard.work_left);
    let mut result = Ok(());
    for pair in numbers.chunks_exact(2) {
        let Some(off) = pair[1] else { continue };
        let at = first.saturating_add(off as usize);
        if at < content.len() {
            result = pdf_scan::scan_object(&content, at, &mut work).map(|_| ());
            if result.is_err() {
                break;
            }
        }
    }
    guard.work_left = guard.work_left.saturating_sub(work.used());
    result
}

fn load(buf: &[u8], budget: &mut Budget<'_>, work_cap: usize) -> Result<Document, ExtractError> {
    let encrypted = pdf_scan::find_all(buf, b"/Encrypt").next().is_some();
    LOAD_GUARD.with(|g| {
        *g.borrow_mut() = Some(LoadGuard {
            limits: budget.limits.clone(),
            encrypted,
            decoded: budget.decoded,
            work_left: work_cap,
            error: None,
        });
    });
    let reader = lopdf::Reader {
        buffer: buf,
        document: Document::new(),
    };
    let loaded = reader.read(Some(load_filter));
    let guard = LOAD_GUARD.with(|g| g.borrow_mut().take());
    if let Some(guard) = guard {
        if let Some(e) = guard.error {
            return Err(e);
        }
        budget.decoded = guard.decoded;
    }
    budget.add(0)?;
    loaded.map_err(|e| ExtractError::Pdf(format!("cannot parse the file ({})", variant(&e))))
}

// ---------------------------------------------------------------------------------------------
// 3. The loaded document, before pdf-extract.

/// Empties streams that carry no text but that pdf-extract would inflate (images, embedded
/// files, TrueType font programs, ICC profiles are kept) or log (PostScript functions).
fn neutralise(doc: &mut Document, limits: &ExtractLimits) -> Result<(), ExtractError> {
    let mut ticker = Ticker::new(limits);
    let mut empty: HashSet<ObjectId> = HashSet::new();
    let mut stack: Vec<&Object> = Vec::new();
    for (id, obj) in &doc.objects {
        ticker.tick()?;
        if let Object::Stream(s) = obj {
            let name = |k: &[u8]| s.dict.get(k).and_then(Object::as_name).ok();
            if name(b"Subtype") == Some(b"Image")
                || name(b"Type") == Some(b"EmbeddedFile")
                || s.dict.get(b"FunctionType").and_then(Object::as_i64).ok() == Some(4)
            {
                empty.insert(*id);
            }
        }
        stack.push(obj);
    }
    while let Some(o) = stack.pop() {
        ticker.tick()?;
        let dict = match o {
            Object::Array(a) => {
                stack.extend(a.iter());
                continue;
            }
            Object::Dictionary(d) => d,
            Object::Stream(s) => &s.dict,
            _ => continue,
        };
        for (k, v) in dict.iter() {
            if k == b"FontFile2"
                && let Ok((Some(id), Object::Stream(_))) = doc.dereference(v)
            {
                empty.insert(id);
            }
            stack.push(v);
        }
    }
    for id in empty {
        if let Some(Object::Stream(s)) = doc.objects.get_mut(&id) {
            s.set_plain_content(Vec::new());
        }
    }
    Ok(())
}

fn check_document(
    doc: &Document,
    work: &mut Work<'_>,
    budget: &mut Budget<'_>,
) -> Result<(), ExtractError> {
    let limits = budget.limits;
    let too_deep = || ExtractError::TooDeep {
        format: "PDF",
        limit: limits.max_depth,
    };
    let mut ticker = Ticker::new(limits);

    // Every stream pdf-extract may inflate fits the budget; fonts and CMaps it parses as
    // PostScript nest within the limit.
    let mut postscript: HashSet<ObjectId> = HashSet::new();
    let mut stack: Vec<&Object> = doc.objects.values().collect();
    while let Some(o) = stack.pop() {
        ticker.tick()?;
        let dict = match o {
            Object::Array(a) => {
                stack.extend(a.iter());
                continue;
            }
            Object::Dictionary(d) => d,
            Object::Stream(s) => &s.dict,
            _ => continue,
        };
        for (k, v) in dict.iter() {
            if matches!(k.as_slice(), b"FontFile" | b"ToUnicode" | b"Encoding")
                && let Ok((Some(id), Object::Stream(_))) = doc.dereference(v)
            {
                postscript.insert(id);
            }
            stack.push(v);
        }
    }
    for (id, obj) in &doc.objects {
        if let Object::Stream(s) = obj {
            if postscript.contains(id) {
                pdf_scan::scan_postscript(&stream_bytes(Some(*id), s, budget)?, work)?;
            } else {
                check_stream(Some(*id), s, budget)?;
            }
        }
    }

    // Pages: the Parent chain pdf-extract climbs for inherited Resources and MediaBox, the
    // page content, and every XObject drawn from it, recursively, as pdf-extract draws them.
    let mut xobjects: HashMap<ObjectId, Vec<Vec<u8>>> = HashMap::new();
    // Pages often share their content streams: scan each combination once.
    let mut contents: HashMap<Vec<ObjectId>, Vec<Vec<u8>>> = HashMap::new();
    let mut visits = 0usize;
    for page_id in doc.get_pages().into_values() {
        ticker.tick()?;
        let Ok(page) = doc.get_dictionary(page_id) else {
            continue;
        };
        let mut resources: Option<&Dictionary> = None;
        let mut node = page;
        let mut seen = HashSet::from([page_id]);
        loop {
            if resources.is_none() {
                resources = node
                    .get(b"Resources")
                    .ok()
                    .and_then(|r| doc.dereference(r).ok())
                    .and_then(|(_, r)| r.as_dict().ok());
            }
            let Ok(parent) = node.get(b"Parent").and_then(Object::as_reference) else {
                break;
            };
            if !seen.insert(parent) || seen.len() > limits.max_depth {
                return Err(too_deep());
            }
            match doc.get_dictionary(parent) {
                Ok(d) => node = d,
                Err(_) => break,
            }
        }
        let ids = doc.get_page_contents(page_id);
        let names = match contents.get(&ids) {
            Some(n) => n.clone(),
            None => {
                let mut content = Vec::new();
                for &id in &ids {
                    if let Ok(s) = doc.get_object(id).and_then(Object::as_stream) {
                        content.extend_from_slice(&stream_bytes(Some(id), s, budget)?);
                    }
                }
                let n = pdf_scan::scan_content(&content, work)?.do_names;
                contents.insert(ids, n.clone());
                n
            }
        };
        let Some(resources) = resources else { continue };

        // Depth-first over (XObject, resources it runs with); a repeat on the current path
        // is a cycle pdf-extract would recurse around forever.
        struct Frame<'d> {
            key: Option<(ObjectId, usize)>,
            resources: &'d Dictionary,
            names: Vec<Vec<u8>>,
            next: usize,
        }
        let mut path: Vec<Frame<'_>> = vec![Frame {
            key: None,
            resources,
            names,
            next: 0,
        }];
        let mut on_path: HashSet<(ObjectId, usize)> = HashSet::new();
        while let Some(top) = path.last_mut() {
            ticker.tick()?;
            let Some(name) = top.names.get(top.next).cloned() else {
                if let Some(k) = path.pop().and_then(|f| f.key) {
                    on_path.remove(&k);
                }
                continue;
            };
            top.next += 1;
            let res = top.resources;
            let xf = res
                .get(b"XObject")
                .ok()
                .and_then(|x| doc.dereference(x).ok())
                .and_then(|(_, x)| x.as_dict().ok())
                .and_then(|x| x.get(&name).ok())
                .and_then(|x| doc.dereference(x).ok());
            let Some((Some(id), Object::Stream(xf))) = xf else {
                continue;
            };
            let child_res = xf
                .dict
                .get(b"Resources")
                .ok()
                .and_then(|r| doc.dereference(r).ok())
                .and_then(|(_, r)| r.as_dict().ok())
                .unwrap_or(res);
            let key = (id, std::ptr::from_ref(child_res) as usize);
            if !on_path.insert(key) || path.len() > limits.max_depth {
                return Err(too_deep());
            }
            visits += 1;
            if visits > MAX_XOBJECT_VISITS {
                return Err(pdf_err("too many nested form XObjects"));
            }
            let names = match xobjects.get(&id) {
                Some(n) => n.clone(),
                None => {
                    let bytes = stream_bytes(Some(id), xf, budget)?;
                    let n = pdf_scan::scan_content(&bytes, work)?.do_names;
                    xobjects.insert(id, n.clone());
                    n
                }
            };
            path.push(Frame {
                key: Some(key),
                resources: child_res,
                names,
                next: 0,
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 4. The text, through pdf-extract, with the output and the deadline bounded.

/// pdf-extract's plain-text output, stopping at the text limit or the deadline.
struct Guarded<'a, 'w> {
    inner: pdf_extract::PlainTextOutput<&'w mut dyn Write>,
    ticker: Ticker<'a>,
    late: bool,
}

impl Guarded<'_, '_> {
    fn check(&mut self) -> Result<(), pdf_extract::OutputError> {
        if self.ticker.tick().is_err() {
            self.late = true;
            return Err(pdf_extract::OutputError::FormatError(std::fmt::Error));
        }
        Ok(())
    }
}

impl pdf_extract::OutputDev for Guarded<'_, '_> {
    fn begin_page(
        &mut self,
        page_num: u32,
        media_box: &pdf_extract::MediaBox,
        art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), pdf_extract::OutputError> {
        self.check()?;
        self.inner.begin_page(page_num, media_box, art_box)
    }

    fn end_page(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.inner.end_page()
    }

    fn output_character(
        &mut self,
        trm: &pdf_extract::Transform,
        width: f64,
        spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), pdf_extract::OutputError> {
        self.check()?;
        self.inner
            .output_character(trm, width, spacing, font_size, char)
    }

    fn begin_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.inner.begin_word()
    }

    fn end_word(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.inner.end_word()
    }

    fn end_line(&mut self) -> Result<(), pdf_extract::OutputError> {
        self.inner.end_line()
    }
}

fn output(doc: &Document, limits: &ExtractLimits) -> Result<String, ExtractError> {
    let mut sink = Capped {
        buf: Vec::new(),
        cap: limits.max_text_bytes,
        over: false,
    };
    let result = {
        let mut out = Guarded {
            inner: pdf_extract::PlainTextOutput::new(&mut sink as &mut dyn Write),
            ticker: Ticker::new(limits),
            late: false,
        };
        let r = pdf_extract::output_doc(doc, &mut out);
        (r, out.late)
    };
    match result {
        (Ok(()), _) => Ok(String::from_utf8_lossy(&sink.buf).into_owned()),
        (Err(_), _) if sink.over => Err(ExtractError::TextTooLarge {
            limit: limits.max_text_bytes,
        }),
        (Err(_), true) => Err(ExtractError::DeadlineExceeded),
        (Err(e), false) => Err(ExtractError::Pdf(format!(
            "cannot extract text ({})",
            match &e {
                pdf_extract::OutputError::PdfError(inner) => variant(inner),
                other => variant(other),
            }
        ))),
    }
}
