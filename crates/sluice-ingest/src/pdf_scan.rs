//! Byte-level nesting checks for PDF syntax, run before the recursive-descent parsers (lopdf's
//! object and content parsers, pdf-extract's Type 1 and CMap parsers) see the bytes. Each of
//! those parsers uses one stack frame (or several) per `[`, `<<` or `{` it opens, so a file of
//! `[[[[…` overflows the stack and aborts the process; these scanners find the depth first,
//! iteratively, and refuse anything deeper than [`ExtractLimits::max_depth`].
//!
//! The scanners lex the way the parsers do (literal strings with balanced parentheses and
//! backslash escapes, hex strings, comments, names) and only ever err towards a higher depth:
//! where a parser would stop with a syntax error the scanner may stop too (the parser goes no
//! deeper), and where unsure they keep going.

use crate::{ExtractError, ExtractLimits};

/// Which grammar the bytes are parsed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// PDF objects (lopdf): the file, object streams.
    Object,
    /// Content streams (lopdf): operands, operators and inline images.
    Content,
    /// PostScript-like syntax (pdf-extract's Type 1 font and CMap parsers): procedures `{}`,
    /// and literal strings whose parentheses nest without a limit.
    PostScript,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    /// `[`, `<<` or `{` (the byte says which).
    Open(u8),
    /// `]`, `>>` or `}`.
    Close,
    Name,
    Num(&'a [u8]),
    Word(&'a [u8]),
    Str,
    Hex,
    /// A byte that starts no token.
    Junk,
    /// A byte every parser fails on here (a stray `)` or `>`, or a brace outside PostScript).
    Stop,
    Eof,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0 | 0x0c)
}

fn is_delim(c: u8) -> bool {
    b"()<>[]{}/%".contains(&c)
}

fn is_num(c: u8) -> bool {
    c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.')
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphabetic() || matches!(c, b'*' | b'\'' | b'"')
}

/// The scan budget shared by every scan of one file: bytes lexed (overlapping scans of a
/// hostile file could otherwise be quadratic) and the deadline.
pub(crate) struct Work<'a> {
    pub(crate) limits: &'a ExtractLimits,
    used: usize,
    cap: usize,
    ticks: u32,
}

impl<'a> Work<'a> {
    /// A budget of `cap` lexed bytes.
    pub(crate) fn new(limits: &'a ExtractLimits, cap: usize) -> Self {
        Self {
            limits,
            used: 0,
            cap,
            ticks: 0,
        }
    }

    /// Bytes lexed so far.
    pub(crate) fn used(&self) -> usize {
        self.used
    }

    fn spend(&mut self, bytes: usize) -> Result<(), ExtractError> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.cap {
            return Err(ExtractError::Pdf(
                "too complex to check safely (overlapping objects)".into(),
            ));
        }
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(4096) {
            self.limits.check_deadline()?;
        }
        Ok(())
    }

    fn too_deep(&self) -> ExtractError {
        ExtractError::TooDeep {
            format: "PDF",
            limit: self.limits.max_depth,
        }
    }
}

#[derive(Clone)]
struct Lexer<'a> {
    b: &'a [u8],
    pos: usize,
    mode: Mode,
    /// Decoded bytes of the last name.
    name: Vec<u8>,
}

impl<'a> Lexer<'a> {
    fn new(b: &'a [u8], pos: usize, mode: Mode) -> Self {
        Self {
            b,
            pos: pos.min(b.len()),
            mode,
            name: Vec::new(),
        }
    }

    fn peek(&self, at: usize) -> Option<u8> {
        self.b.get(self.pos + at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.peek(0) {
            if is_ws(c) {
                self.pos += 1;
            } else if c == b'%' {
                while let Some(c) = self.peek(0) {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn run(&mut self, f: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek(0).is_some_and(&f) {
            self.pos += 1;
        }
        &self.b[start..self.pos]
    }

    /// The next token; `Err` only for a PostScript string nested deeper than `max_depth`.
    fn next(&mut self, work: &mut Work<'_>) -> Result<Tok<'a>, ExtractError> {
        let start = self.pos;
        let tok = self.lex(work.limits.max_depth);
        work.spend(self.pos - start + 1)?;
        match tok {
            Some(t) => Ok(t),
            None => Err(work.too_deep()),
        }
    }

    fn lex(&mut self, max_depth: usize) -> Option<Tok<'a>> {
        self.skip_space();
        let Some(c) = self.peek(0) else {
            return Some(Tok::Eof);
        };
        let ps = self.mode == Mode::PostScript;
        Some(match c {
            b'[' => {
                self.pos += 1;
                Tok::Open(b'[')
            }
            b']' => {
                self.pos += 1;
                Tok::Close
            }
            b'<' if self.peek(1) == Some(b'<') => {
                self.pos += 2;
                Tok::Open(b'<')
            }
            b'<' => {
                self.pos += 1;
                while let Some(c) = self.peek(0) {
                    self.pos += 1;
                    if c == b'>' {
                        break;
                    }
                }
                Tok::Hex
            }
            b'>' if self.peek(1) == Some(b'>') => {
                self.pos += 2;
                Tok::Close
            }
            b'{' if ps => {
                self.pos += 1;
                Tok::Open(b'{')
            }
            b'}' if ps => {
                self.pos += 1;
                Tok::Close
            }
            b'>' | b'{' | b'}' | b')' => Tok::Stop,
            b'(' => {
                self.string(ps.then_some(max_depth))?;
                Tok::Str
            }
            b'/' => {
                self.pos += 1;
                self.name.clear();
                while let Some(c) = self.peek(0) {
                    if c == b'#' {
                        let hex = self
                            .b
                            .get(self.pos + 1..self.pos + 3)
                            .and_then(|h| std::str::from_utf8(h).ok())
                            .and_then(|h| u8::from_str_radix(h, 16).ok());
                        match hex {
                            Some(v) => {
                                self.name.push(v);
                                self.pos += 3;
                            }
                            None => break,
                        }
                    } else if !is_ws(c) && !is_delim(c) {
                        self.name.push(c);
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                Tok::Name
            }
            c if is_num(c) => Tok::Num(self.run(is_num)),
            c if is_word(c) => Tok::Word(self.run(is_word)),
            _ => {
                self.pos += 1;
                Tok::Junk
            }
        })
    }

    /// Skips a literal string starting at `(`; `None` when its parentheses nest deeper than
    /// `limit` (checked only where given: lopdf itself stops at 100).
    fn string(&mut self, limit: Option<usize>) -> Option<()> {
        let mut depth = 0usize;
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            match c {
                b'\\' => self.pos = (self.pos + 1).min(self.b.len()),
                b'(' => {
                    depth += 1;
                    if limit.is_some_and(|l| depth > l) {
                        return None;
                    }
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(());
                    }
                }
                _ => {}
            }
        }
        Some(())
    }
}

/// A value of a dictionary entry, kept for the few keys the checks need.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Int(i64),
    Ref(u32, u16),
    Name(Vec<u8>),
    /// An array's first items (`true` in the flag when there were more).
    Arr(Vec<Val>, bool),
    Dict(Vec<(Vec<u8>, Val)>),
    Other,
}

impl Val {
    /// The entry `key` of a dictionary value (the last one, as lopdf keeps).
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Val> {
        match self {
            Val::Dict(entries) => entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// Keys whose values the checks read.
const KEPT: &[&[u8]] = &[
    b"Length",
    b"Filter",
    b"DecodeParms",
    b"W",
    b"Type",
    b"Predictor",
    b"Columns",
    b"Colors",
    b"BitsPerComponent",
    b"EarlyChange",
];
const ARRAY_KEEP: usize = 16;

/// One value as tokens, before `N G R` is recognised.
#[derive(Debug, Clone)]
enum Flat {
    Int(i64, bool),
    Name(Vec<u8>),
    R,
    Val(Val),
    Other,
}

fn flats_to_vals(items: Vec<Flat>) -> Vec<Val> {
    let mut out = Vec::new();
    let mut buf: Vec<Flat> = Vec::new();
    // Collapse `N G R` into a reference, as lopdf's `reference` parser (tried first) does.
    for f in items {
        buf.push(f);
        if buf.len() >= 3
            && let [.., Flat::Int(n, true), Flat::Int(g, true), Flat::R] = buf.as_slice()
            && let (Ok(n), Ok(g)) = (u32::try_from(*n), u16::try_from(*g))
        {
            buf.truncate(buf.len() - 3);
            buf.push(Flat::Val(Val::Ref(n, g)));
        }
    }
    for f in buf {
        out.push(match f {
            Flat::Int(i, _) => Val::Int(i),
            Flat::Name(n) => Val::Name(n),
            Flat::Val(v) => v,
            Flat::R | Flat::Other => Val::Other,
        });
    }
    out
}

/// A container being read at depth 1 (the object's own dictionary) or 2 (its values).
struct Frame {
    dict: bool,
    items: Vec<Flat>,
    /// Dictionaries: the key being read (`None` before the first key).
    key: Option<Vec<u8>>,
    /// Dictionaries: tokens of the current value.
    val: Vec<Flat>,
    entries: Vec<(Vec<u8>, Val)>,
    truncated: bool,
}

impl Frame {
    fn new(dict: bool) -> Self {
        Self {
            dict,
            items: Vec::new(),
            key: None,
            val: Vec::new(),
            entries: Vec::new(),
            truncated: false,
        }
    }

    fn push(&mut self, f: Flat) {
        if !self.dict {
            if self.items.len() < ARRAY_KEEP + 2 {
                self.items.push(f);
            } else {
                self.truncated = true;
            }
            return;
        }
        match (f, &self.key) {
            (Flat::Name(n), None) => self.key = Some(n),
            (Flat::Name(n), Some(_)) if !self.val.is_empty() => {
                self.finish_entry();
                self.key = Some(n);
            }
            (f, Some(_)) => {
                // A value is one token or `N G R`; more is a syntax error lopdf stops at.
                if self.val.len() < 3 {
                    self.val.push(f);
                } else {
                    self.val = vec![Flat::Other];
                }
            }
            (_, None) => {}
        }
    }

    fn finish_entry(&mut self) {
        if let Some(k) = self.key.take() {
            let vals = flats_to_vals(std::mem::take(&mut self.val));
            let v = match <[Val; 1]>::try_from(vals) {
                Ok([v]) => v,
                Err(_) => Val::Other,
            };
            if KEPT.contains(&k.as_slice()) {
                self.entries.push((k, v));
            }
        }
    }

    fn finish(mut self) -> Val {
        if self.dict {
            self.finish_entry();
            Val::Dict(self.entries)
        } else {
            let mut vals = flats_to_vals(self.items);
            let more = self.truncated || vals.len() > ARRAY_KEEP;
            vals.truncate(ARRAY_KEEP);
            Val::Arr(vals, more)
        }
    }
}

/// What an object scan found.
#[derive(Debug, Default)]
pub(crate) struct ObjScan {
    /// The object's dictionary (the kept keys), when it is one.
    pub(crate) dict: Option<Val>,
    /// Where its stream data starts, when `stream` follows the dictionary.
    pub(crate) stream_data: Option<usize>,
}

/// Scans the object that starts at `start` (after `obj`, `trailer` or at an object-stream
/// offset): the nesting of its arrays and dictionaries, and its dictionary's kept keys.
pub(crate) fn scan_object(
    b: &[u8],
    start: usize,
    work: &mut Work<'_>,
) -> Result<ObjScan, ExtractError> {
    let max = work.limits.max_depth;
    let mut lx = Lexer::new(b, start, Mode::Object);
    let mut out = ObjScan::default();
    let first = lx.next(work)?;
    let Tok::Open(kind) = first else {
        return Ok(out);
    };
    if max == 0 {
        return Err(work.too_deep());
    }
    let mut frames = vec![Frame::new(kind == b'<')];
    let mut depth = 1usize;
    let top = loop {
        let tok = lx.next(work)?;
        let captured = depth == frames.len();
        match tok {
            Tok::Open(k) => {
                depth += 1;
                if depth > max {
                    return Err(work.too_deep());
                }
                if captured && frames.len() < 2 {
                    frames.push(Frame::new(k == b'<'));
                }
            }
            Tok::Close => {
                if captured {
                    let Some(f) = frames.pop() else {
                        return Ok(out);
                    };
                    let v = f.finish();
                    match frames.last_mut() {
                        Some(parent) => parent.push(Flat::Val(v)),
                        None => break v,
                    }
                } else if depth == frames.len() + 1
                    && let Some(parent) = frames.last_mut()
                {
                    parent.push(Flat::Other);
                }
                depth -= 1;
            }
            Tok::Eof | Tok::Stop => return Ok(out),
            _ if !captured => {}
            Tok::Name => {
                let n = lx.name.clone();
                if let Some(f) = frames.last_mut() {
                    f.push(Flat::Name(n));
                }
            }
            Tok::Num(s) => {
                let unsigned = s.iter().all(u8::is_ascii_digit);
                let f = std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                    .map_or(Flat::Other, |i| Flat::Int(i, unsigned));
                if let Some(fr) = frames.last_mut() {
                    fr.push(f);
                }
            }
            Tok::Word(w) => {
                if let Some(fr) = frames.last_mut() {
                    fr.push(if w == b"R" { Flat::R } else { Flat::Other });
                }
            }
            Tok::Str | Tok::Hex | Tok::Junk => {
                if let Some(fr) = frames.last_mut() {
                    fr.push(Flat::Other);
                }
            }
        }
    };
    if kind == b'<' {
        out.dict = Some(top);
        // lopdf: `dictionary space "stream" space0 eol`, then the data.
        lx.skip_space();
        if b[lx.pos..].starts_with(b"stream") {
            let mut p = lx.pos + 6;
            while matches!(b.get(p), Some(b' ' | b'\t')) {
                p += 1;
            }
            let data = match (b.get(p), b.get(p + 1)) {
                (Some(b'\r'), Some(b'\n')) => Some(p + 2),
                (Some(b'\n' | b'\r'), _) => Some(p + 1),
                _ => None,
            };
            out.stream_data = data;
        }
    }
    Ok(out)
}

/// What a content-stream scan found.
#[derive(Debug, Default, Clone)]
pub(crate) struct ContentScan {
    /// Names given to `Do` (as its first operand), in order.
    pub(crate) do_names: Vec<Vec<u8>>,
}

/// Scans a content stream: nesting of array and dictionary operands, inline-image data
/// skipped exactly as lopdf skips it, and the XObjects drawn with `Do`.
pub(crate) fn scan_content(b: &[u8], work: &mut Work<'_>) -> Result<ContentScan, ExtractError> {
    let max = work.limits.max_depth;
    let mut lx = Lexer::new(b, 0, Mode::Content);
    let mut out = ContentScan::default();
    let mut depth = 0usize;
    // At depth 0: operands since the last operator, and whether the first was a name.
    let mut operands = 0usize;
    let mut first_name: Option<Vec<u8>> = None;
    loop {
        let tok = lx.next(work)?;
        match tok {
            Tok::Eof | Tok::Stop => return Ok(out),
            Tok::Open(_) => {
                if depth == 0 {
                    operands += 1;
                }
                depth += 1;
                if depth > max {
                    return Err(work.too_deep());
                }
            }
            Tok::Close => {
                if depth == 0 {
                    return Ok(out);
                }
                depth -= 1;
            }
            _ if depth > 0 => {}
            Tok::Word(w) if !matches!(w, b"true" | b"false" | b"null") => {
                if w == b"Do"
                    && let Some(n) = first_name.take()
                {
                    out.do_names.push(n);
                }
                if w == b"BI" && operands == 0 && !inline_image(&mut lx, work)? {
                    return Ok(out);
                }
                operands = 0;
                first_name = None;
            }
            Tok::Name => {
                if operands == 0 {
                    first_name = Some(lx.name.clone());
                }
                operands += 1;
            }
            _ => operands += 1,
        }
    }
}

/// After `BI`: reads the image dictionary up to `ID` and skips the data as lopdf does
/// (`H * ceil(W * colours * BPC / 8)` bytes, unfiltered images only). `false` where lopdf
/// fails, which ends its parse of the stream.
fn inline_image(lx: &mut Lexer<'_>, work: &mut Work<'_>) -> Result<bool, ExtractError> {
    let max = work.limits.max_depth;
    let mut entries: Vec<(Vec<u8>, Val)> = Vec::new();
    loop {
        match lx.next(work)? {
            Tok::Word(b"ID") => break,
            Tok::Name => {
                let key = lx.name.clone();
                let val = match lx.next(work)? {
                    Tok::Name => Val::Name(lx.name.clone()),
                    Tok::Num(s) => {
                        let int = std::str::from_utf8(s)
                            .ok()
                            .and_then(|s| s.parse::<i64>().ok());
                        // `N G R` is a reference (not an integer).
                        let mut ahead = lx.clone();
                        let is_ref = matches!(ahead.next(work)?, Tok::Num(_))
                            && matches!(ahead.next(work)?, Tok::Word(b"R"));
                        if is_ref {
                            *lx = ahead;
                            Val::Other
                        } else {
                            int.map_or(Val::Other, Val::Int)
                        }
                    }
                    Tok::Open(_) => {
                        let mut depth = 1usize;
                        while depth > 0 {
                            match lx.next(work)? {
                                Tok::Open(_) => {
                                    depth += 1;
                                    if depth > max {
                                        return Err(work.too_deep());
                                    }
                                }
                                Tok::Close => depth -= 1,
                                Tok::Eof | Tok::Stop => return Ok(false),
                                _ => {}
                            }
                        }
                        Val::Other
                    }
                    Tok::Eof | Tok::Stop | Tok::Close => return Ok(false),
                    _ => Val::Other,
                };
                entries.push((key, val));
            }
            _ => return Ok(false),
        }
    }
    let dict = Val::Dict(entries);
    let get = |abbr: &[u8], key: &[u8]| dict.get(abbr).or_else(|| dict.get(key));
    let int = |abbr: &[u8], key: &[u8]| get(abbr, key).and_then(Val::int);
    let (Some(w), Some(h), Some(bpc)) = (
        int(b"W", b"Width"),
        int(b"H", b"Height"),
        int(b"BPC", b"BitsPerComponent"),
    ) else {
        return Ok(false);
    };
    let colors: usize = match get(b"CS", b"ColorSpace") {
        Some(Val::Name(n)) => match n.as_slice() {
            b"DeviceGray" | b"Gray" => 1,
            b"DeviceRGB" | b"RGB" => 3,
            b"DeviceRGBA" | b"RGBA" | b"DeviceCMYK" | b"CMYK" => 4,
            _ => return Ok(false),
        },
        _ => return Ok(false),
    };
    if get(b"F", b"Filter").is_some() {
        return Ok(false);
    }
    // lopdf's arithmetic, as a release build does it (`as usize`, wrapping).
    let stride = (w as usize)
        .wrapping_mul(colors.wrapping_mul(bpc as usize))
        .wrapping_add(7)
        / 8;
    let len = (h as usize).wrapping_mul(stride);
    while matches!(lx.peek(0), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        lx.pos += 1;
    }
    if len > lx.b.len() - lx.pos {
        return Ok(false);
    }
    lx.pos += len;
    Ok(true)
}

/// Scans PostScript-like syntax (an embedded Type 1 font's clear text, a CMap) for nesting
/// of arrays, dictionaries, procedures and string parentheses.
pub(crate) fn scan_postscript(b: &[u8], work: &mut Work<'_>) -> Result<(), ExtractError> {
    let max = work.limits.max_depth;
    let mut lx = Lexer::new(b, 0, Mode::PostScript);
    let mut depth = 0usize;
    loop {
        match lx.next(work)? {
            Tok::Eof | Tok::Stop | Tok::Junk => return Ok(()),
            Tok::Open(_) => {
                depth += 1;
                if depth > max {
                    return Err(work.too_deep());
                }
            }
            Tok::Close => {
                if depth == 0 {
                    return Ok(());
                }
                depth -= 1;
            }
            _ => {}
        }
    }
}

/// Positions of `needle` in `hay`.
pub(crate) fn find_all<'h>(hay: &'h [u8], needle: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
    let first = needle[0];
    (0..hay.len()).filter(move |&i| hay[i] == first && hay[i..].starts_with(needle))
}

/// An object in the file, found at an `obj` keyword.
#[derive(Debug)]
pub(crate) struct FileObject {
    /// Where `obj` is.
    pub(crate) at: usize,
    /// The ids `N G` before `obj` could mean (a cross-reference offset may point into `N`'s
    /// digits); empty where they could not be read back.
    pub(crate) ids: Vec<(u32, u16)>,
    pub(crate) scan: ObjScan,
}

/// The ids the bytes before an `obj` at `at` can be read as: `N space G space obj`.
fn ids_before(b: &[u8], at: usize) -> Vec<(u32, u16)> {
    let mut p = at;
    let skip_ws = |p: &mut usize| {
        while *p > 0 && is_ws(b[*p - 1]) {
            *p -= 1;
        }
    };
    let digits = |p: &mut usize| {
        let end = *p;
        while *p > 0 && b[*p - 1].is_ascii_digit() {
            *p -= 1;
        }
        (*p, end)
    };
    skip_ws(&mut p);
    let (gs, ge) = digits(&mut p);
    let sep = p;
    skip_ws(&mut p);
    let (ns, ne) = digits(&mut p);
    if gs == ge || ns == ne || sep == p {
        return Vec::new();
    }
    let Some(g) = std::str::from_utf8(&b[gs..ge])
        .ok()
        .and_then(|s| s.parse::<u16>().ok())
    else {
        return Vec::new();
    };
    (ns..ne)
        .filter_map(|s| std::str::from_utf8(&b[s..ne]).ok()?.parse::<u32>().ok())
        .map(|n| (n, g))
        .collect()
}

/// Scans the whole file: from every `obj` and `trailer` keyword, the object that follows.
/// (lopdf only parses objects at cross-reference offsets, each of which starts `N G obj`, and
/// trailers after `trailer`; scanning from every such keyword covers all of them, whatever
/// the offsets say.)
pub(crate) fn scan_file(b: &[u8], work: &mut Work<'_>) -> Result<Vec<FileObject>, ExtractError> {
    let mut objects = Vec::new();
    for at in find_all(b, b"obj") {
        let scan = scan_object(b, at + 3, work)?;
        if scan.dict.is_some() {
            objects.push(FileObject {
                at,
                ids: ids_before(b, at),
                scan,
            });
        }
    }
    for at in find_all(b, b"trailer") {
        scan_object(b, at + 7, work)?;
    }
    Ok(objects)
}

/// Every integer after `startxref`, `/Prev` or `/XRefStm`: the offsets where lopdf may parse
/// (and decompress) a cross-reference stream.
pub(crate) fn xref_offsets(b: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    for key in [&b"startxref"[..], b"/Prev", b"/XRefStm"] {
        for at in find_all(b, key) {
            let mut p = at + key.len();
            while b.get(p).is_some_and(|&c| is_ws(c)) {
                p += 1;
            }
            let start = p;
            while b.get(p).is_some_and(u8::is_ascii_digit) {
                p += 1;
            }
            if let Some(v) = std::str::from_utf8(&b[start..p])
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
            {
                out.push(v);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_err(r: Result<impl std::fmt::Debug, ExtractError>) -> bool {
        matches!(r, Err(ExtractError::TooDeep { .. }))
    }

    fn limits(depth: usize) -> ExtractLimits {
        ExtractLimits {
            max_depth: depth,
            ..ExtractLimits::default()
        }
    }

    #[test]
    fn object_depth_counts_arrays_and_dicts_but_not_strings() {
        let l = limits(3);
        let mut w = Work::new(&l, usize::MAX);
        assert!(scan_object(b" [ << /A [ 1 ] >> ]", 0, &mut w).is_ok());
        assert!(depth_err(scan_object(
            b" [ << /A [ [ 1 ] ] >> ]",
            0,
            &mut w
        )));
        // Brackets inside strings, hex strings and comments are not structure.
        assert!(scan_object(b"[ ([[[[\\)[[[) <5b5b> %[[[[\n ]", 0, &mut w).is_ok());
        // A closer hidden in a string does not close: `[(])` nests.
        assert!(depth_err(scan_object(b"[(])[(])[(])[(])", 0, &mut w)));
    }

    #[test]
    fn object_dict_keeps_stream_keys() {
        let l = limits(8);
        let mut w = Work::new(&l, usize::MAX);
        let b = b"<< /Type /XRef /Length 7 0 R /W [1 2 1] /Filter /FlateDecode \
                  /DecodeParms << /Predictor 12 /Columns 4 >> /Junk [[[1]]] >>\nstream\r\nDATA";
        let s = scan_object(b, 0, &mut w).expect("scan");
        let d = s.dict.expect("dict");
        assert_eq!(d.get(b"Length"), Some(&Val::Ref(7, 0)));
        assert_eq!(d.get(b"Type"), Some(&Val::Name(b"XRef".to_vec())));
        assert_eq!(
            d.get(b"W"),
            Some(&Val::Arr(
                vec![Val::Int(1), Val::Int(2), Val::Int(1)],
                false
            ))
        );
        assert_eq!(
            d.get(b"DecodeParms").and_then(|p| p.get(b"Columns")),
            Some(&Val::Int(4))
        );
        assert_eq!(s.stream_data.map(|p| &b[p..]), Some(&b"DATA"[..]));
    }

    #[test]
    fn content_scan_finds_do_and_skips_inline_images() {
        let l = limits(4);
        let mut w = Work::new(&l, usize::MAX);
        let c = scan_content(b"q /Fm1 Do Q [(a) 1 (b)] TJ /Im0 Do", &mut w).expect("scan");
        assert_eq!(c.do_names, vec![b"Fm1".to_vec(), b"Im0".to_vec()]);
        // 2x2 gray, 8 bits: 4 data bytes that look like deep nesting are skipped.
        let img = b"BI /W 2 /H 2 /BPC 8 /CS /G ID [[[[ EI /X Do";
        // `/G` is not a colour space lopdf knows: it stops there.
        assert!(scan_content(img, &mut w).expect("scan").do_names.is_empty());
        // After the data, scanning goes on.
        let img = b"BI /W 2 /H 2 /BPC 8 /CS /DeviceGray ID xxxx[[[[[ EI";
        assert!(depth_err(scan_content(img, &mut w)));
        let img = b"BI /W 2 /H 3 /BPC 8 /CS /DeviceGray ID [[[[[[ EI /X Do";
        assert_eq!(
            scan_content(img, &mut w).expect("scan").do_names,
            vec![b"X".to_vec()]
        );
    }

    #[test]
    fn postscript_counts_procedures_and_string_parentheses() {
        let l = limits(3);
        let mut w = Work::new(&l, usize::MAX);
        assert!(scan_postscript(b"{ { (a(b)c) } }", &mut w).is_ok());
        assert!(depth_err(scan_postscript(b"{{{{}}}}", &mut w)));
        assert!(depth_err(scan_postscript(b"(((((x)))))", &mut w)));
        // Binary data ends the parse (and the scan) at once.
        assert!(scan_postscript(b"/x \x80[[[[[[[[", &mut w).is_ok());
    }

    #[test]
    fn ids_are_read_back_from_obj() {
        assert_eq!(ids_before(b"12 0 obj", 5), vec![(12, 0), (2, 0)]);
        assert_eq!(ids_before(b"\n7 3obj", 4), vec![(7, 3)]);
        assert!(ids_before(b"x obj", 2).is_empty());
        assert!(ids_before(b"120 obj", 4).is_empty());
    }

    #[test]
    fn work_is_capped() {
        let l = limits(256);
        let mut w = Work::new(&l, 10);
        assert!(matches!(
            scan_object(b"[ 1 2 3 4 5 6 7 8 9 10 11 12 ]", 0, &mut w),
            Err(ExtractError::Pdf(_))
        ));
    }
}
