//! Another engine's regex (Go RE2 for gitleaks, Python `re` for Presidio) rewritten as a
//! Sluice pattern: Rust `regex` syntax, ASCII classes, every repetition bounded, the secret
//! in a group named `secret`.
//!
//! Three steps: a lexical pass fixes what the dialects spell differently (a `{` that starts
//! no repetition is a literal there and an error here; `[` inside a class is a literal there
//! and a nested class here; `&&`, `--` and `~~` in a class are set operations here; `\<` is a
//! word boundary here), the result is parsed into `regex-syntax`'s AST, and the AST is edited
//! (repetitions bounded, groups renamed) and printed back. What Rust's engine cannot do at all
//! (look-around, back-references, Unicode classes with Unicode off) fails to parse, and the
//! caller reports the rule as skipped with the parser's message, never with the pattern.

use std::collections::BTreeSet;

use regex_syntax::ast::{self, Ast, GroupKind, RepetitionKind, RepetitionRange};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Longest match a Sluice pattern may have (`policy::MAX_PATTERN_LEN`).
const MAX_PATTERN_LEN: usize = 4096;

/// Name of the capture group whose span is the finding.
pub(crate) const SECRET_GROUP: &str = "secret";

/// The regex dialect of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Go's `regexp` (RE2 syntax): gitleaks.
    Go,
    /// Python's `re`: Presidio.
    Python,
}

/// Which capture group is the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupChoice {
    /// The whole match (Presidio).
    WholeMatch,
    /// This group (gitleaks `secretGroup`).
    Index(u32),
    /// gitleaks without `secretGroup`: the first non-empty group, or the whole match when the
    /// pattern has none.
    FirstNonEmpty,
}

/// What became of the capture groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupOutcome {
    /// The finding is the whole match, as in the source.
    WholeMatch,
    /// The chosen group is now named `secret`.
    Secret,
    /// "First non-empty of several groups" cannot be said in Sluice: the whole match is the
    /// finding (a superset of the group, so nothing is missed).
    Widened,
}

/// A pattern Sluice can compile.
#[derive(Debug, Clone)]
pub(crate) struct Translated {
    pub pattern: String,
    /// The upper bound given to unbounded repetitions beyond their minimum, when there were any.
    pub capped: Option<u32>,
    pub group: GroupOutcome,
    hir: Hir,
}

/// Why a pattern cannot be translated. Holds parser messages only, never pattern text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported(pub String);

impl Translated {
    /// Whether every match contains one of `literals` (ASCII case-insensitively): only then
    /// may they be the detector's prefilter.
    pub fn always_contains(&self, literals: &[String]) -> bool {
        let lits: Vec<Vec<u8>> = literals
            .iter()
            .map(|l| l.to_ascii_lowercase().into_bytes())
            .collect();
        !lits.is_empty() && lits.iter().all(|l| !l.is_empty()) && contains(&self.hir, &lits)
    }
}

/// Translates a detector pattern: `max_repeat` bounds each unbounded repetition at its minimum
/// plus `max_repeat`, lowered when needed so the whole pattern stays under Sluice's limit.
pub(crate) fn translate(
    src: &str,
    dialect: Dialect,
    choice: GroupChoice,
    max_repeat: u32,
) -> Result<Translated, Unsupported> {
    let mut ast = parse(src, dialect)?;
    let captures = count_captures(&ast);
    let (target, group) = match choice {
        GroupChoice::WholeMatch => (None, GroupOutcome::WholeMatch),
        GroupChoice::Index(0) => (None, GroupOutcome::WholeMatch),
        GroupChoice::Index(i) if i > captures => {
            return Err(Unsupported(format!(
                "secretGroup {i} but the pattern has {captures} capture group(s)"
            )));
        }
        GroupChoice::Index(i) => (Some(i), GroupOutcome::Secret),
        GroupChoice::FirstNonEmpty => match captures {
            0 => (None, GroupOutcome::WholeMatch),
            _ if captures == 1 || first_group_always_set(&ast) => (Some(1), GroupOutcome::Secret),
            _ => (None, GroupOutcome::Widened),
        },
    };
    name_secret_group(&mut ast, target);
    if !has_unbounded(&ast) {
        let pattern = print(&ast);
        let hir = to_hir(&pattern)?;
        return Ok(Translated {
            pattern,
            capped: None,
            group,
            hir,
        });
    }
    let attempt = |cap: u32| -> Result<(String, Hir), Unsupported> {
        let mut a = ast.clone();
        bound(&mut a, cap);
        let pattern = print(&a);
        let hir = to_hir(&pattern)?;
        Ok((pattern, hir))
    };
    let fits = |h: &Hir| {
        h.properties()
            .maximum_len()
            .is_some_and(|n| n <= MAX_PATTERN_LEN)
    };
    let (mut pattern, mut hir) = attempt(max_repeat)?;
    let mut cap = max_repeat;
    if !fits(&hir) {
        // The longest match grows with the cap: the largest cap that fits, by bisection.
        let (mut lo, mut hi) = (0u32, max_repeat);
        let (p0, h0) = attempt(0)?;
        if fits(&h0) {
            (pattern, hir, cap) = (p0, h0, 0);
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                let (p, h) = attempt(mid)?;
                if fits(&h) {
                    (pattern, hir, cap, lo) = (p, h, mid, mid);
                } else {
                    hi = mid - 1;
                }
            }
        }
        // Otherwise even the minimum is too long: the engine's check reports it.
    }
    Ok(Translated {
        pattern,
        capped: Some(cap),
        group,
        hir,
    })
}

/// Translates an allow-list pattern: tested against a finding's text, so its length need not
/// be bounded and its groups do not matter.
pub(crate) fn translate_allow(src: &str, dialect: Dialect) -> Result<String, Unsupported> {
    let mut ast = parse(src, dialect)?;
    name_secret_group(&mut ast, None);
    let pattern = print(&ast);
    to_hir(&pattern)?;
    Ok(pattern)
}

/// A regex matching any of `words` (case-insensitively, anywhere in the text).
pub(crate) fn any_of(words: &[String]) -> String {
    let alts: Vec<String> = words
        .iter()
        .filter(|w| !w.is_empty())
        .map(|w| regex_syntax::escape(w))
        .collect();
    format!("(?i:{})", alts.join("|"))
}

fn parse(src: &str, dialect: Dialect) -> Result<Ast, Unsupported> {
    let fixed = lexical(src, dialect)?;
    ast::parse::ParserBuilder::new()
        .build()
        .parse(&fixed)
        .map_err(|e| Unsupported(e.kind().to_string()))
}

fn to_hir(pattern: &str) -> Result<Hir, Unsupported> {
    // The engine's own settings (`policy::parse_hir`): ASCII classes, byte-oriented.
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| Unsupported(hir_message(&e)))
}

fn hir_message(e: &regex_syntax::Error) -> String {
    match e {
        regex_syntax::Error::Parse(e) => e.kind().to_string(),
        regex_syntax::Error::Translate(e) => match e.kind() {
            regex_syntax::hir::ErrorKind::UnicodeNotAllowed => {
                "Unicode classes are not supported (Sluice patterns are ASCII)".into()
            }
            k => k.to_string(),
        },
        _ => "invalid pattern".into(),
    }
}

/// Rewrites what the source dialect writes differently from Rust's `regex`.
fn lexical(src: &str, dialect: Dialect) -> Result<String, Unsupported> {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 8);
    let mut i = 0;
    // Inside a bracketed class. Rust nests classes, Go and Python do not: never deeper.
    let mut in_class = false;
    // Whether what came last can be repeated (so a `{n}` here is a repetition).
    let mut can_repeat = false;
    while i < c.len() {
        let ch = c[i];
        if ch == '\\' {
            let Some(&next) = c.get(i + 1) else {
                return Err(Unsupported("trailing backslash".into()));
            };
            match next {
                // `\<` and `\>` are literals in Go and Python, word boundaries in Rust.
                '<' | '>' => out.push(next),
                'Q' if dialect == Dialect::Go && !in_class => {
                    // `\Q...\E`: everything between is literal.
                    let mut j = i + 2;
                    while j < c.len() && !(c[j] == '\\' && c.get(j + 1) == Some(&'E')) {
                        out.push_str(&regex_syntax::escape(&c[j].to_string()));
                        j += 1;
                    }
                    i = (j + 2).min(c.len());
                    can_repeat = true;
                    continue;
                }
                'Z' if dialect == Dialect::Python => out.push_str("\\z"),
                _ => {
                    out.push('\\');
                    out.push(next);
                }
            }
            i += 2;
            can_repeat = true;
            continue;
        }
        if in_class {
            match ch {
                ']' => {
                    in_class = false;
                    can_repeat = true;
                    out.push(']');
                }
                '[' if c.get(i + 1) == Some(&':') => {
                    // A POSIX class `[:alpha:]`: copied whole.
                    let end = (i + 2..c.len().saturating_sub(1))
                        .find(|&j| c[j] == ':' && c[j + 1] == ']');
                    match end {
                        Some(end) => {
                            out.extend(&c[i..end + 2]);
                            i = end + 2;
                            continue;
                        }
                        None => out.push_str("\\["),
                    }
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(ch);
                }
                '-' if c.get(i + 1) == Some(&'-') => {
                    // `--` is a difference in Rust; in Go and Python a range ending at `-`.
                    out.push_str("-\\-");
                    i += 1;
                }
                _ => out.push(ch),
            }
            i += 1;
            continue;
        }
        match ch {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if c.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // `]` right after `[` or `[^` is a literal in all three dialects.
                if c.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            '{' => {
                match repetition_at(&c, i, dialect).filter(|_| can_repeat) {
                    Some((text, len)) => {
                        out.push_str(&text);
                        i += len;
                    }
                    None => {
                        out.push_str("\\{");
                        i += 1;
                        can_repeat = true;
                    }
                }
                continue;
            }
            '}' => {
                out.push_str("\\}");
                i += 1;
                can_repeat = true;
                continue;
            }
            '(' if c.get(i + 1) == Some(&'?') => {
                can_repeat = false;
                if dialect == Dialect::Python && c.get(i + 2) == Some(&'#') {
                    // A comment group.
                    let end = (i..c.len()).find(|&j| c[j] == ')').unwrap_or(c.len());
                    i = end + 1;
                    continue;
                }
                let mut j = i + 2;
                let mut flags = String::new();
                while j < c.len() && (c[j].is_ascii_alphabetic() || c[j] == '-') {
                    flags.push(c[j]);
                    j += 1;
                }
                if matches!(c.get(j), Some(':' | ')')) {
                    if dialect == Dialect::Python && flags.contains('L') {
                        return Err(Unsupported("the locale flag (?L) is not supported".into()));
                    }
                    // Python's `a` (ASCII: Sluice is ASCII already) and `u` (Unicode, its
                    // default for text patterns) have no Rust equivalent worth keeping.
                    let kept: String = if dialect == Dialect::Python {
                        flags.chars().filter(|f| !"au".contains(*f)).collect()
                    } else {
                        flags
                    };
                    let kept = kept.trim_end_matches('-');
                    if c[j] == ')' && kept.is_empty() {
                        i = j + 1;
                        continue;
                    }
                    out.push_str("(?");
                    out.push_str(kept);
                    out.push(c[j]);
                    i = j + 1;
                    continue;
                }
                out.push_str("(?");
                i += 2;
                continue;
            }
            '(' | '|' | '^' => can_repeat = false,
            _ => can_repeat = true,
        }
        out.push(ch);
        i += 1;
    }
    Ok(out)
}

/// A counted repetition starting at `c[i] == '{'`, as Rust writes it, and its length in the
/// source; `None` when the braces are a literal in the source dialect.
fn repetition_at(c: &[char], i: usize, dialect: Dialect) -> Option<(String, usize)> {
    let close = (i + 1..c.len()).find(|&j| c[j] == '}')?;
    let inner: String = c[i + 1..close].iter().collect();
    let (lo, hi) = match inner.split_once(',') {
        None => (inner.as_str(), None),
        Some((lo, hi)) => (lo, Some(hi)),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match (lo, hi) {
        (lo, None) => digits(lo),
        (lo, Some(hi)) if digits(lo) => hi.is_empty() || digits(hi),
        // Python reads `{,n}` as `{0,n}`; Go reads it as a literal.
        ("", Some(hi)) => dialect == Dialect::Python && digits(hi),
        _ => false,
    };
    if !ok {
        return None;
    }
    let text = if lo.is_empty() {
        format!("{{0,{}}}", hi.unwrap_or_default())
    } else {
        format!("{{{inner}}}")
    };
    Some((text, close + 1 - i))
}

fn print(ast: &Ast) -> String {
    let mut s = String::new();
    // Printing into a String cannot fail.
    let _ = ast::print::Printer::new().print(ast, &mut s);
    s
}

fn children_mut(ast: &mut Ast) -> Vec<&mut Ast> {
    match ast {
        Ast::Repetition(r) => vec![&mut r.ast],
        Ast::Group(g) => vec![&mut g.ast],
        Ast::Alternation(a) => a.asts.iter_mut().collect(),
        Ast::Concat(c) => c.asts.iter_mut().collect(),
        _ => Vec::new(),
    }
}

fn count_captures(ast: &Ast) -> u32 {
    let mut a = ast.clone();
    let mut n = 0;
    visit(&mut a, &mut |node| {
        if let Ast::Group(g) = node
            && g.capture_index().is_some()
        {
            n += 1;
        }
    });
    n
}

fn visit(ast: &mut Ast, f: &mut impl FnMut(&mut Ast)) {
    f(ast);
    for c in children_mut(ast) {
        visit(c, f);
    }
}

/// Names capture group `target` `secret` and un-names any other group called `secret`.
fn name_secret_group(ast: &mut Ast, target: Option<u32>) {
    visit(ast, &mut |node| {
        let Ast::Group(g) = node else {
            return;
        };
        let Some(index) = g.capture_index() else {
            return;
        };
        if Some(index) == target {
            g.kind = GroupKind::CaptureName {
                starts_with_p: true,
                name: ast::CaptureName {
                    span: g.span,
                    name: SECRET_GROUP.into(),
                    index,
                },
            };
        } else if let GroupKind::CaptureName { name, .. } = &g.kind
            && name.name == SECRET_GROUP
        {
            g.kind = GroupKind::CaptureIndex(index);
        }
    });
}

/// Whether group 1 takes part in every match, once, and never empty: then it is always "the
/// first non-empty group". Only concatenations and groups lead to it, not an alternation
/// branch or a repetition (a repeated group keeps its last round only).
fn first_group_always_set(ast: &Ast) -> bool {
    match ast {
        Ast::Concat(c) => c.asts.iter().any(first_group_always_set),
        Ast::Group(g) if g.capture_index() == Some(1) => {
            to_hir(&print(&g.ast)).is_ok_and(|h| h.properties().minimum_len().unwrap_or(0) > 0)
        }
        Ast::Group(g) => first_group_always_set(&g.ast),
        Ast::Repetition(r)
            if matches!(
                r.op.kind,
                RepetitionKind::Range(RepetitionRange::Exactly(1) | RepetitionRange::Bounded(1, 1))
            ) =>
        {
            first_group_always_set(&r.ast)
        }
        _ => false,
    }
}

fn has_unbounded(ast: &Ast) -> bool {
    let mut a = ast.clone();
    let mut found = false;
    visit(&mut a, &mut |node| {
        if let Ast::Repetition(r) = node {
            found |= unbounded_min(&r.op.kind).is_some();
        }
    });
    found
}

fn unbounded_min(k: &RepetitionKind) -> Option<u32> {
    match k {
        RepetitionKind::ZeroOrMore => Some(0),
        RepetitionKind::OneOrMore => Some(1),
        RepetitionKind::Range(RepetitionRange::AtLeast(n)) => Some(*n),
        _ => None,
    }
}

fn bound(ast: &mut Ast, cap: u32) {
    visit(ast, &mut |node| {
        if let Ast::Repetition(r) = node
            && let Some(min) = unbounded_min(&r.op.kind)
        {
            let max = min.saturating_add(cap);
            r.op.kind = RepetitionKind::Range(if max == min {
                RepetitionRange::Exactly(min)
            } else {
                RepetitionRange::Bounded(min, max)
            });
        }
    });
}

/// Whether every match of `hir` contains one of `lits` (lower-case), as far as the
/// structure shows: in every branch of an alternation, in something repeated at least once,
/// in every string a run of a concatenation can be (`passw(?:or)?d`, `xox[bp]-`).
fn contains(hir: &Hir, lits: &[Vec<u8>]) -> bool {
    let has = |s: &[u8]| {
        lits.iter()
            .any(|l| s.windows(l.len()).any(|w| w == l.as_slice()))
    };
    if let Some(set) = strings(hir) {
        return set.iter().all(|s| has(s));
    }
    match hir.kind() {
        HirKind::Alternation(alts) => alts.iter().all(|h| contains(h, lits)),
        HirKind::Capture(c) => contains(&c.sub, lits),
        HirKind::Repetition(r) if r.min >= 1 => contains(&r.sub, lits),
        HirKind::Concat(subs) => {
            if subs.iter().any(|h| contains(h, lits)) {
                return true;
            }
            // Each stretch of spelled-out pieces, with the suffixes of the piece before it
            // and the prefixes of the piece after it (`xox[pe](?:-[0-9]{10,13}){3}`).
            let sets: Vec<Option<BTreeSet<Vec<u8>>>> = subs.iter().map(strings).collect();
            let open: Vec<usize> = (0..subs.len()).filter(|&i| sets[i].is_none()).collect();
            let mut bounds = vec![None];
            bounds.extend(open.iter().map(|&i| Some(i)));
            bounds.push(None);
            bounds.windows(2).enumerate().any(|(k, w)| {
                let start = if k == 0 { 0 } else { w[0].map_or(0, |i| i + 1) };
                let end = w[1].unwrap_or(subs.len());
                let left = w[0].map(|i| affixes(&subs[i], ExtractKind::Suffix));
                let right = w[1].map(|i| affixes(&subs[i], ExtractKind::Prefix));
                let parts = left
                    .into_iter()
                    .chain(sets[start..end].iter().cloned())
                    .chain(right);
                product(parts).is_some_and(|set| set.iter().all(|s| has(s)))
            })
        }
        _ => false,
    }
}

/// Strings one of which starts (or ends) every match of `hir`, lower-case; the empty string
/// when nothing is known.
fn affixes(hir: &Hir, kind: ExtractKind) -> Option<BTreeSet<Vec<u8>>> {
    let mut ex = Extractor::new();
    ex.kind(kind);
    let seq = ex.extract(hir);
    Some(match seq.literals() {
        Some(lits) if !lits.is_empty() => lits
            .iter()
            .map(|l| l.as_bytes().to_ascii_lowercase())
            .collect(),
        _ => BTreeSet::from([Vec::new()]),
    })
}

/// Most strings a piece of a pattern is worth spelling out.
const MAX_STRINGS: usize = 256;

/// Every string `hir` can match (lower-case), when there are few.
fn strings(hir: &Hir) -> Option<BTreeSet<Vec<u8>>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(BTreeSet::from([Vec::new()])),
        HirKind::Literal(l) => Some(BTreeSet::from([l.0.to_ascii_lowercase()])),
        HirKind::Class(Class::Bytes(c)) => {
            let set: BTreeSet<Vec<u8>> = c
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .map(|b| vec![b.to_ascii_lowercase()])
                .collect();
            (set.len() <= 8).then_some(set)
        }
        HirKind::Class(Class::Unicode(_)) => None,
        HirKind::Capture(c) => strings(&c.sub),
        HirKind::Concat(subs) => product(subs.iter().map(strings)),
        HirKind::Alternation(alts) => {
            let mut set = BTreeSet::new();
            for a in alts {
                set.extend(strings(a)?);
                if set.len() > MAX_STRINGS {
                    return None;
                }
            }
            Some(set)
        }
        HirKind::Repetition(r) => {
            let max = r.max.filter(|&m| m <= 3)?;
            let sub = strings(&r.sub)?;
            let mut set = BTreeSet::new();
            for k in r.min..=max {
                set.extend(product((0..k).map(|_| Some(sub.clone())))?);
                if set.len() > MAX_STRINGS {
                    return None;
                }
            }
            Some(set)
        }
    }
}

/// Concatenations of one string from each set, when there are few.
fn product(sets: impl Iterator<Item = Option<BTreeSet<Vec<u8>>>>) -> Option<BTreeSet<Vec<u8>>> {
    let mut acc = BTreeSet::from([Vec::new()]);
    for set in sets {
        let set = set?;
        let mut next = BTreeSet::new();
        for a in &acc {
            for b in &set {
                next.insert([a.as_slice(), b.as_slice()].concat());
                if next.len() > MAX_STRINGS {
                    return None;
                }
            }
        }
        acc = next;
    }
    Some(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(p: &str) -> String {
        translate(p, Dialect::Go, GroupChoice::FirstNonEmpty, 256)
            .map(|t| t.pattern)
            .unwrap_or_else(|e| format!("ERR {}", e.0))
    }

    #[test]
    fn go_literals_become_rust_literals() {
        assert_eq!(go(r"^\$(?:\d{2}|{\d{1,3}})$"), r"^\$(?:\d{2}|\{\d{1,3}\})$");
        assert_eq!(go(r"a{,3}b"), r"a\{,3\}b");
        assert_eq!(go(r"[a[b]"), r"[a\[b]");
        assert_eq!(go(r"[a&&b]"), r"[a\&\&b]");
        assert_eq!(go(r"[!--]x"), r"[!-\-]x");
        assert_eq!(go(r"\<a\>"), r"<a>");
        assert_eq!(go(r"\Qa.b\E"), r"a\.b");
        assert_eq!(go(r"[]a]"), r"[\]a]");
        assert_eq!(go(r"[[:alpha:]]{2}"), r"[[:alpha:]]{2}");
    }

    #[test]
    fn python_specifics() {
        let py = |p: &str| {
            translate(p, Dialect::Python, GroupChoice::WholeMatch, 256)
                .map(|t| t.pattern)
                .unwrap_or_else(|e| format!("ERR {}", e.0))
        };
        assert_eq!(py(r"(?a)\d{,3}\Z"), r"\d{0,3}\z");
        assert_eq!(py(r"(?#zip)\d{5}"), r"\d{5}");
        assert!(py(r"(?<=x)\d{5}").starts_with("ERR look-around"));
        assert!(py(r"(\d)\1").starts_with("ERR backreferences"));
    }

    #[test]
    fn unbounded_repetitions_are_capped() {
        assert_eq!(go(r"ab+c*d{3,}"), r"ab{1,257}c{0,256}d{3,259}");
        let t = translate(
            r"x[a-z]+?y[a-z]+",
            Dialect::Go,
            GroupChoice::WholeMatch,
            4000,
        )
        .expect("translates");
        let cap = t.capped.expect("capped");
        assert!(cap < 4000 && cap > 1000, "{cap}");
        assert!(t.hir.properties().maximum_len().expect("bounded") <= MAX_PATTERN_LEN);
    }

    #[test]
    fn secret_group_is_named() {
        let t = |p: &str, c| translate(p, Dialect::Go, c, 8).expect("ok");
        assert_eq!(
            t(r"k=(a)(b)", GroupChoice::Index(2)).pattern,
            r"k=(a)(?P<secret>b)"
        );
        let one = t(r"k=(?:x)(a)", GroupChoice::FirstNonEmpty);
        assert_eq!(one.pattern, r"k=(?:x)(?P<secret>a)");
        assert_eq!(one.group, GroupOutcome::Secret);
        let two = t(r"(a)|(b)", GroupChoice::FirstNonEmpty);
        assert_eq!(two.group, GroupOutcome::Widened);
        let nested = t(r"k=((live|test)_[a-f]{4})", GroupChoice::FirstNonEmpty);
        assert_eq!(nested.pattern, r"k=(?P<secret>(live|test)_[a-f]{4})");
        let repeated = t(r"x([a-z]{4}-){3}([a-z]{4})", GroupChoice::FirstNonEmpty);
        assert_eq!(repeated.group, GroupOutcome::Widened);
        assert_eq!(
            t(r"(?P<secret>a)b", GroupChoice::WholeMatch).pattern,
            "(a)b"
        );
        assert!(translate("(a)", Dialect::Go, GroupChoice::Index(3), 8).is_err());
    }

    #[test]
    fn keyword_containment() {
        let t = |p: &str| translate(p, Dialect::Go, GroupChoice::WholeMatch, 8).expect("ok");
        let kws = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(
            t(r"\b((?:A3T[A-Z0-9]|AKIA|ASIA)[A-Z2-7]{16})\b")
                .always_contains(&kws(&["a3t", "akia", "asia"]))
        );
        assert!(
            !t(r"\b((?:A3T[A-Z0-9]|AKIA|ASIA)[A-Z2-7]{16})\b")
                .always_contains(&kws(&["akia", "asia"]))
        );
        assert!(
            t(r"(?i)[\w.-]{0,50}?(?:adafruit)(?:[ \t\w.-]{0,20})=([a-z]{32})")
                .always_contains(&kws(&["adafruit"]))
        );
        assert!(t(r"(?:xox[baprs]-)[0-9]{10}").always_contains(&kws(&["xoxb-", "xox"])));
        assert!(t(r"sk_(?:live|test)_[0-9]{10}").always_contains(&kws(&["sk_live", "sk_test"])));
        assert!(!t(r"sk_(?:live|test)_[0-9]{10}").always_contains(&kws(&["sk_live"])));
        assert!(
            t(r"(?i)(?:key|passw(?:or)?d)=[a-z]{8}")
                .always_contains(&kws(&["key", "passwd", "password"]))
        );
    }
}
