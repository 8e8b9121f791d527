//! `sluice redact` (stdin → stdout) and `sluice scan` (entity counts per file).

use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use sluice_policy::{Boundary, Finding, Redactor};

use crate::policy_cmd::{DEFAULT_POLICY_DIR, load_policy, pseudonym_key};

/// Input up to this size is read whole before anything is written, so that bad input
/// (invalid UTF-8) or a block leaves stdout empty. Larger input streams in bounded memory.
const WHOLE_INPUT: usize = 8 << 20;
const READ_CHUNK: usize = 64 << 10;

#[derive(Args)]
pub struct RedactArgs {
    /// Policy folder.
    #[arg(long, env = "SLUICE_POLICY", default_value = DEFAULT_POLICY_DIR)]
    policy: PathBuf,
    /// Boundary whose actions apply.
    #[arg(long, default_value = "prompt", value_parser = parse_boundary)]
    boundary: Boundary,
    /// Each input line is a JSON object with a `text` field; one JSON result per line.
    #[arg(long, conflicts_with = "json")]
    jsonl: bool,
    /// Read one document and print its redacted text and findings as JSON.
    #[arg(long)]
    json: bool,
    /// Worker threads for --jsonl (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args)]
pub struct ScanArgs {
    /// Files or folders to scan.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Policy folder.
    #[arg(long, env = "SLUICE_POLICY", default_value = DEFAULT_POLICY_DIR)]
    policy: PathBuf,
}

fn parse_boundary(s: &str) -> Result<Boundary, String> {
    s.parse()
}

#[derive(Serialize)]
struct FindingOut<'a> {
    entity: &'a str,
    rule: &'a str,
    start: usize,
    end: usize,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
}

impl<'a> From<&'a Finding> for FindingOut<'a> {
    fn from(f: &'a Finding) -> Self {
        FindingOut {
            entity: &f.entity,
            rule: &f.rule,
            start: f.start,
            end: f.end,
            action: f.action.name(),
            encoding: f.encoding.map(|e| e.as_str()),
        }
    }
}

#[derive(Serialize)]
struct BlockedOut<'a> {
    rule: &'a str,
    entity: &'a str,
}

#[derive(Serialize)]
struct DocOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a serde_json::Value>,
    text: Option<&'a str>,
    findings: Vec<FindingOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blocked: Option<BlockedOut<'a>>,
}

pub fn run(args: RedactArgs) -> Result<ExitCode> {
    let redactor = Redactor::new(Arc::new(load_policy(&args.policy)?), pseudonym_key());
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    if args.jsonl {
        let threads = args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        jsonl(&redactor, args.boundary, threads, stdin, stdout)
    } else if args.json {
        json(&redactor, args.boundary, stdin, stdout)
    } else {
        plain(&redactor, args.boundary, stdin, stdout)
    }
}

fn plain(
    redactor: &Redactor,
    boundary: Boundary,
    mut input: impl Read,
    out: impl Write,
) -> Result<ExitCode> {
    let mut out = BufWriter::new(out);
    let mut stream = redactor.stream(boundary);
    let mut carry: Vec<u8> = Vec::new();
    let mut held = String::new();
    let mut read_total = 0usize;
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading stdin"),
        };
        carry.extend_from_slice(&chunk[..n]);
        let valid = match std::str::from_utf8(&carry) {
            Ok(_) => carry.len(),
            // An incomplete sequence at the end of a read is fine: the rest comes next.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => bail!(
                "stdin is not valid UTF-8 (byte offset {}); nothing more was written",
                read_total + e.valid_up_to()
            ),
        };
        let text = std::str::from_utf8(&carry[..valid]).unwrap_or_default();
        read_total += valid;
        match stream.push(text) {
            Ok(s) => held.push_str(&s),
            Err(b) => return Ok(blocked(&b)),
        }
        carry.drain(..valid);
        if read_total > WHOLE_INPUT && !held.is_empty() {
            out.write_all(held.as_bytes())?;
            held.clear();
        }
    }
    if !carry.is_empty() {
        bail!(
            "stdin is not valid UTF-8 (truncated sequence at byte offset {read_total}); nothing more was written"
        );
    }
    match stream.finish() {
        Ok(s) => held.push_str(&s),
        Err(b) => return Ok(blocked(&b)),
    }
    out.write_all(held.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn blocked(b: &sluice_policy::Blocked) -> ExitCode {
    eprintln!("sluice: {b}; nothing more was written");
    ExitCode::from(1)
}

fn json(
    redactor: &Redactor,
    boundary: Boundary,
    mut input: impl Read,
    mut out: impl Write,
) -> Result<ExitCode> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).context("reading stdin")?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => bail!(
            "stdin is not valid UTF-8 (byte offset {})",
            e.utf8_error().valid_up_to()
        ),
    };
    let r = redactor.redact(&text, boundary);
    let doc = DocOut {
        id: None,
        text: r.blocked.is_none().then_some(r.text.as_str()),
        findings: r.findings.iter().map(FindingOut::from).collect(),
        blocked: r.blocked.as_ref().map(|b| BlockedOut {
            rule: &b.rule,
            entity: &b.entity,
        }),
    };
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    Ok(if r.blocked.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(serde::Deserialize)]
struct LineIn {
    text: String,
    #[serde(default)]
    id: Option<serde_json::Value>,
}

fn jsonl(
    redactor: &Redactor,
    boundary: Boundary,
    threads: usize,
    mut input: impl BufRead,
    out: impl Write,
) -> Result<ExitCode> {
    let mut out = BufWriter::with_capacity(256 << 10, out);
    let (mut any_blocked, mut any_error) = (false, false);
    let mut lineno = 0usize;
    // Records are read in batches, redacted by `threads` workers (each takes a contiguous
    // slice), and written back in input order: one output line per input line.
    const BATCH: usize = 512;
    loop {
        let mut batch: Vec<(usize, Vec<u8>)> = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            let mut line = Vec::new();
            if input
                .read_until(b'\n', &mut line)
                .context("reading stdin")?
                == 0
            {
                break;
            }
            lineno += 1;
            if !line.trim_ascii().is_empty() {
                batch.push((lineno, line));
            }
        }
        if batch.is_empty() {
            break;
        }
        let per = batch.len().div_ceil(threads.max(1));
        let results: Vec<Vec<LineOut>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(per)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|(n, l)| redact_line(redactor, boundary, *n, l))
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for r in results.into_iter().flatten() {
            any_blocked |= r.blocked;
            any_error |= r.error;
            out.write_all(&r.json)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(if any_error {
        ExitCode::from(2)
    } else if any_blocked {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[derive(Default)]
struct LineOut {
    json: Vec<u8>,
    blocked: bool,
    error: bool,
}

fn redact_line(redactor: &Redactor, boundary: Boundary, lineno: usize, line: &[u8]) -> LineOut {
    // serde_json's messages name a position and what was expected, never the content.
    let parsed = std::str::from_utf8(line.trim_ascii_end())
        .map_err(|e| format!("not valid UTF-8 at byte {}", e.valid_up_to()))
        .and_then(|s| serde_json::from_str::<LineIn>(s).map_err(|e| e.to_string()));
    let rec = match parsed {
        Ok(r) => r,
        Err(msg) => {
            let json = serde_json::to_vec(
                &serde_json::json!({ "error": format!("line {lineno}: {msg}") }),
            )
            .unwrap_or_default();
            return LineOut {
                json,
                blocked: false,
                error: true,
            };
        }
    };
    let r = redactor.redact(&rec.text, boundary);
    let doc = DocOut {
        id: rec.id.as_ref(),
        text: r.blocked.is_none().then_some(r.text.as_str()),
        findings: r.findings.iter().map(FindingOut::from).collect(),
        blocked: r.blocked.as_ref().map(|b| BlockedOut {
            rule: &b.rule,
            entity: &b.entity,
        }),
    };
    match serde_json::to_vec(&doc) {
        Ok(json) => LineOut {
            json,
            blocked: r.blocked.is_some(),
            error: false,
        },
        Err(e) => LineOut {
            json: serde_json::to_vec(
                &serde_json::json!({ "error": format!("line {lineno}: {e}") }),
            )
            .unwrap_or_default(),
            blocked: false,
            error: true,
        },
    }
}

pub fn scan(args: ScanArgs) -> Result<ExitCode> {
    let redactor = Redactor::new(Arc::new(load_policy(&args.policy)?), pseudonym_key());
    let mut files = Vec::new();
    for p in &args.paths {
        walk(p, &mut files)?;
    }
    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    let mut failed = 0;
    for f in &files {
        let text = match std::fs::read(f).map(String::from_utf8) {
            Ok(Ok(t)) => t,
            Ok(Err(_)) => {
                eprintln!("{}: skipped (not UTF-8 text)", f.display());
                failed += 1;
                continue;
            }
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                failed += 1;
                continue;
            }
        };
        let findings = redactor.findings(&text, Boundary::Ingest);
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for x in &findings {
            *counts.entry(&x.entity).or_default() += 1;
            *totals.entry(x.entity.to_string()).or_default() += 1;
        }
        let summary: Vec<String> = counts.iter().map(|(e, n)| format!("{e}×{n}")).collect();
        println!(
            "{:<56} {:>4} findings  {}",
            f.display(),
            findings.len(),
            summary.join(" ")
        );
    }
    let total: usize = totals.values().sum();
    println!(
        "{} files, {total} findings, {} entity types",
        files.len(),
        totals.len()
    );
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn walk(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if p.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(p)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            walk(&e.path(), out)?;
        }
    } else if p.extension().is_some_and(|e| {
        [
            "md", "txt", "html", "htm", "json", "yaml", "yml", "csv", "log",
        ]
        .iter()
        .any(|x| e == *x)
    }) {
        out.push(p.to_path_buf());
    }
    Ok(())
}
