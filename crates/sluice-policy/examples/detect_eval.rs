//! Per-entity precision / recall / F1 of a policy folder on labelled JSON-lines cases, with the
//! light crate alone (no CLI build needed). Same case format and the same matching rule as
//! `sluice eval policy` (docs/eval.md §5): a finding matches a gold span of the same entity when
//! it overlaps at least half of it; matching is one-to-one, largest overlap first.
//!
//! On top of that table it prints the false-positive rate: the share of *negative* cases (no gold
//! span: near misses, placeholders, example keys) on which the policy reports anything.
//!
//! `--category NAME` scores the files after it on findings of that detector-file category only
//! (`pii`, `secret`, `custom`): a secrets set is not charged for the URL in a `curl` line.
//!
//! ```sh
//! cargo run -p sluice-policy --example detect_eval -- \
//!     [--policy policies] [--boundary context] [--verbose] [--category secret] FILE.jsonl ...
//! ```
//!
//! `--throughput` instead times batch redaction (ingest boundary, one thread) of the 10 MB
//! corpus `benches/redact.rs` generates — business prose with one planted value per ~2 KB — and
//! the policy compile; build with `--release` for meaningful numbers.
//!
//! Output names entities, counts and case line numbers only, never a case's text or a value.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sluice_policy::{Boundary, Policy, PseudonymKey, Redactor};

// The policy-folder reader and the bench corpus, shared with the tests and the bench.
#[path = "../tests/it/support/mod.rs"]
mod support;
use support::{corpus, sources};

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    #[serde(default)]
    spans: Vec<Span>,
}

#[derive(serde::Deserialize, Clone)]
struct Span {
    start: usize,
    end: usize,
    entity: String,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

/// `(gold index, finding index)` pairs: same entity, overlap ≥ half the gold span, largest
/// overlap first, each side used once.
fn match_spans(gold: &[Span], found: &[Span]) -> Vec<(usize, usize)> {
    let mut cand = Vec::new();
    for (gi, g) in gold.iter().enumerate() {
        for (fi, f) in found.iter().enumerate() {
            let ov = g.end.min(f.end).saturating_sub(g.start.max(f.start));
            if f.entity == g.entity && ov > 0 && 2 * ov >= g.end - g.start {
                cand.push((ov, gi, fi));
            }
        }
    }
    cand.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut gu, mut fu) = (vec![false; gold.len()], vec![false; found.len()]);
    let mut pairs = Vec::new();
    for (_, gi, fi) in cand {
        if !gu[gi] && !fu[fi] {
            gu[gi] = true;
            fu[fi] = true;
            pairs.push((gi, fi));
        }
    }
    pairs
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn row(name: &str, c: Counts, width: usize) {
    let p = ratio(c.tp, c.tp + c.fp);
    let r = ratio(c.tp, c.tp + c.fn_);
    let f1 = if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    };
    println!(
        "{name:<width$}  {:>5}  {:>5}  {:>5}  {p:>9.3}  {r:>6.3}  {f1:>5.3}",
        c.tp, c.fp, c.fn_
    );
}

/// CPU seconds this thread has used (Linux `/proc/thread-self/stat`, 100 Hz ticks), so a busy
/// machine's preemption does not count; `None` elsewhere.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let (utime, stime): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    Some((utime + stime) / 100.0)
}

fn throughput(policy_dir: &std::path::Path) {
    let srcs = sources(policy_dir);
    let mut compile = f64::MAX;
    let mut policy = None;
    for _ in 0..5 {
        let t = Instant::now();
        let p = Policy::compile(&srcs).unwrap_or_else(|e| panic!("{e}"));
        compile = compile.min(t.elapsed().as_secs_f64() * 1e3);
        // Dropping the previous policy is not part of compiling this one.
        policy = Some(p);
    }
    let policy = Arc::new(policy.expect("compiled"));
    let (holdback, rule) = policy.holdback();
    let (holdback, rule) = (holdback, rule.to_owned());
    let r = Redactor::new(policy, PseudonymKey::new(b"bench".to_vec()));
    let text = corpus(10 << 20);
    let found = r.redact(&text, Boundary::Ingest).findings.len();
    // Ten runs: the best wall time, and the mean CPU time (the tick is 10 ms, so one run's
    // CPU time is too coarse on its own).
    let mut best = f64::MAX;
    let c0 = thread_cpu_secs();
    for _ in 0..10 {
        let t = Instant::now();
        std::hint::black_box(r.redact(std::hint::black_box(&text), Boundary::Ingest));
        best = best.min(t.elapsed().as_secs_f64());
    }
    let cpu = match (c0, thread_cpu_secs()) {
        (Some(a), Some(b)) => (b - a) / 10.0,
        _ => f64::NAN,
    };
    let mb = text.len() as f64 / 1e6;
    println!(
        "corpus {} bytes, {found} findings; batch ingest (one thread): {:.1} MB/s wall (best of 10), {:.1} MB/s per CPU second (mean of 10); compile best of 5: {compile:.1} ms; hold-back {holdback} bytes ({rule})",
        text.len(),
        mb / best,
        mb / cpu
    );
}

fn main() {
    let mut policy_dir = PathBuf::from("policies");
    let mut boundary = Boundary::Context;
    let mut files: Vec<(PathBuf, Option<String>)> = Vec::new();
    let mut category: Option<String> = None;
    let mut verbose = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--policy" => policy_dir = args.next().expect("--policy DIR").into(),
            "--boundary" => {
                boundary = args
                    .next()
                    .expect("--boundary NAME")
                    .parse()
                    .expect("ingest|prompt|context|response")
            }
            // Lists the line numbers of missed and false-positive cases (never their text).
            "--verbose" => verbose = true,
            "--category" => category = Some(args.next().expect("--category NAME")),
            "--throughput" => {
                throughput(&policy_dir);
                return;
            }
            _ => files.push((PathBuf::from(a), category.clone())),
        }
    }
    assert!(!files.is_empty(), "give at least one JSONL file");

    let t = Instant::now();
    let policy = Policy::compile(&sources(&policy_dir)).unwrap_or_else(|e| panic!("{e}"));
    let compile_ms = t.elapsed().as_secs_f64() * 1e3;
    let (holdback, holdback_rule) = policy.holdback();
    let holdback_rule = holdback_rule.to_owned();
    let redactor = Redactor::new(Arc::new(policy), PseudonymKey::new(b"detect eval".to_vec()));

    let mut grand = Counts::default();
    let (mut grand_neg, mut grand_neg_hit) = (0usize, 0usize);
    for (file, category) in &files {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut per: BTreeMap<String, Counts> = BTreeMap::new();
        let (mut cases, mut neg, mut neg_hit) = (0usize, 0usize, 0usize);
        let mut missed_lines = Vec::new();
        let mut fp_lines = Vec::new();
        for (ln, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            // JSON is YAML: the crate's YAML parser reads the JSON lines, so the example needs
            // no extra dependency. Errors name the line only, never its text.
            let case: Case = serde_yaml_ng::from_str(line)
                .unwrap_or_else(|_| panic!("{}:{}: not a case", file.display(), ln + 1));
            for s in &case.spans {
                assert!(
                    s.start < s.end
                        && s.end <= case.text.len()
                        && case.text.is_char_boundary(s.start)
                        && case.text.is_char_boundary(s.end),
                    "{}:{}: span {}..{} is not a byte range of the text",
                    file.display(),
                    ln + 1,
                    s.start,
                    s.end
                );
            }
            cases += 1;
            let found: Vec<Span> = redactor
                .findings(&case.text, boundary)
                .iter()
                .filter(|f| category.as_deref().is_none_or(|c| &*f.category == c))
                .map(|f| Span {
                    start: f.start,
                    end: f.end,
                    entity: f.entity.to_string(),
                })
                .collect();
            let pairs = match_spans(&case.spans, &found);
            let mut gh = vec![false; case.spans.len()];
            let mut fh = vec![false; found.len()];
            for &(g, f) in &pairs {
                gh[g] = true;
                fh[f] = true;
                per.entry(case.spans[g].entity.clone()).or_default().tp += 1;
            }
            for (f, _) in found.iter().zip(&fh).filter(|(_, h)| !**h) {
                per.entry(f.entity.clone()).or_default().fp += 1;
                fp_lines.push(format!("{}:{} {}", file.display(), ln + 1, f.entity));
            }
            for (g, _) in case.spans.iter().zip(&gh).filter(|(_, h)| !**h) {
                per.entry(g.entity.clone()).or_default().fn_ += 1;
                missed_lines.push(format!("{}:{} {}", file.display(), ln + 1, g.entity));
            }
            if case.spans.is_empty() {
                neg += 1;
                if !found.is_empty() {
                    neg_hit += 1;
                }
            }
        }
        let width = per.keys().map(|k| k.len()).chain([6]).max().unwrap_or(6);
        let scope = category
            .as_deref()
            .map_or(String::new(), |c| format!(", {c} findings only"));
        println!(
            "== {} ({cases} cases, boundary {boundary}{scope})",
            file.display()
        );
        println!(
            "{:<width$}  {:>5}  {:>5}  {:>5}  {:>9}  {:>6}  {:>5}",
            "entity", "tp", "fp", "fn", "precision", "recall", "F1"
        );
        let mut total = Counts::default();
        for (e, c) in &per {
            row(e, *c, width);
            total.tp += c.tp;
            total.fp += c.fp;
            total.fn_ += c.fn_;
        }
        println!("{}", "-".repeat(width + 48));
        row("TOTAL", total, width);
        println!(
            "negative cases: {neg}, with any finding: {neg_hit} (false-positive rate {:.3})\n",
            ratio(neg_hit, neg)
        );
        if verbose {
            for l in &missed_lines {
                println!("  missed   {l}");
            }
            for l in &fp_lines {
                println!("  false+   {l}");
            }
        }
        grand.tp += total.tp;
        grand.fp += total.fp;
        grand.fn_ += total.fn_;
        grand_neg += neg;
        grand_neg_hit += neg_hit;
    }
    if files.len() > 1 {
        row("ALL FILES", grand, 10);
        println!(
            "negative cases: {grand_neg}, with any finding: {grand_neg_hit} (false-positive rate {:.3})",
            ratio(grand_neg_hit, grand_neg)
        );
    }
    println!(
        "policy compile {compile_ms:.1} ms (debug builds are slower), hold-back {holdback} bytes ({holdback_rule})"
    );
}
