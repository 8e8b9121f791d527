//! Embedding throughput of sluice-embed in sentences/s, printed as one JSON line.
//!
//! `"$(bench/bin.sh throughput)" --bench [--backend candle|onnx|onnx-int8] [--input FILE] [--threads 2]
//! [--batch 32] [--rounds 3] [--count 512]`
//!
//! Without `--input` it embeds `--count` generated ~60-token sentences, the same ones
//! `bench/embed_reference.py sentences` writes. `--varied` makes them 5–220 words long,
//! shortest first, so each batch has a new sequence length as in ingest's length-sorted
//! batches; `rss_mb` (resident memory after each round) then shows whether memory stays
//! flat. `bench/embed_peers.sh` runs this (both backends) beside sentence-transformers on
//! the same sentences, model and thread count.

use std::time::Instant;

use std::path::PathBuf;

use sluice_embed::{BertEmbedder, EmbedConfig, OrtEmbedder, Precision, Timings};

const WORDS: &str = "the privacy gateway stores documents in a local index and answers questions about \
    contracts invoices patients employees servers networks policies audits retention keys \
    customer account payment transfer schedule report quarterly revenue incident response \
    backup region cluster deployment configuration secret token password address phone \
    email meeting decision approval budget forecast supplier warehouse shipment delivery \
    hospital clinic treatment diagnosis insurance claim number reference manager engineer";

/// Same generator as `make_sentences` in bench/embed_reference.py (`words` = 45), or with
/// lengths drawn from 5..=220 words, sorted shortest first (`words` = 0).
fn make_sentences(count: usize, words_each: usize) -> Vec<String> {
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut state: u64 = 12345;
    let mut next = move || {
        state = (state * 1_103_515_245 + 12345) % (1 << 31);
        state
    };
    let mut out: Vec<String> = (0..count)
        .map(|i| {
            let n = match words_each {
                0 => 5 + (next() % 216) as usize,
                n => n,
            };
            let picked: Vec<&str> = (0..n)
                .map(|_| {
                    let r = next();
                    words[(r % words.len() as u64) as usize]
                })
                .collect();
            format!("Record {i}: {}.", picked.join(" "))
        })
        .collect();
    if words_each == 0 {
        out.sort_by_key(String::len);
    }
    out
}

/// This process's resident memory in MB (Linux; `None` elsewhere).
fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((kb / 1024.0).round())
}

struct Args {
    backend: String,
    input: Option<String>,
    threads: usize,
    batch: usize,
    rounds: usize,
    count: usize,
    varied: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        backend: "candle".to_owned(),
        input: None,
        threads: 2,
        batch: 32,
        rounds: 3,
        count: 512,
        varied: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> usize {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match a.as_str() {
            "--threads" => args.threads = num("--threads"),
            "--batch" => args.batch = num("--batch"),
            "--rounds" => args.rounds = num("--rounds"),
            "--count" => args.count = num("--count"),
            "--input" => args.input = it.next(),
            "--varied" => args.varied = true,
            "--backend" => args.backend = it.next().unwrap_or_default(),
            _ => {} // `cargo bench` passes `--bench`; ignore what we don't know.
        }
    }
    args
}

/// `$SLUICE_MODELS`, else the workspace's `models/` (`cargo bench` runs in the crate folder).
fn models_root() -> PathBuf {
    match std::env::var_os("SLUICE_MODELS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"),
    }
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}

fn main() {
    let args = parse_args();
    let texts: Vec<String> = match &args.input {
        Some(path) => std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        None => make_sentences(args.count, if args.varied { 0 } else { 45 }),
    };
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let config = EmbedConfig {
        threads: Some(args.threads),
        batch_size: Some(args.batch),
        ..EmbedConfig::default()
    };
    let loaded = Instant::now();
    type EmbedTimed = Box<dyn Fn(&[&str]) -> (Vec<Vec<f32>>, Timings)>;
    let (engine, embed_timed): (String, EmbedTimed) = match args.backend.as_str() {
        "candle" => {
            let e = BertEmbedder::load_default(&models_root(), &config)
                .unwrap_or_else(|e| panic!("{e}"));
            let run = move |t: &[&str]| e.embed_timed(t).unwrap_or_else(|e| panic!("{e}"));
            ("sluice-embed (candle 0.10)".to_owned(), Box::new(run))
        }
        "onnx" | "onnx-int8" => {
            let int8 = args.backend == "onnx-int8";
            let config = EmbedConfig {
                precision: if int8 {
                    Precision::Int8
                } else {
                    Precision::F32
                },
                ..config
            };
            let e = OrtEmbedder::load_default(&models_root(), &config)
                .unwrap_or_else(|e| panic!("{e}"));
            let version = e.runtime_version().unwrap_or_else(|| "?".to_owned());
            let run = move |t: &[&str]| e.embed_timed(t).unwrap_or_else(|e| panic!("{e}"));
            let suffix = if int8 { ", int8" } else { "" };
            (
                format!("sluice-embed (ONNX Runtime {version}{suffix})"),
                Box::new(run),
            )
        }
        other => panic!("--backend {other:?}: expected candle, onnx or onnx-int8"),
    };
    let load_ms = ms(loaded.elapsed());
    // Warm-up: one batch.
    let warm = &refs[..refs.len().min(args.batch)];
    embed_timed(warm);

    let mut rates = Vec::new();
    let mut rss = Vec::new();
    let mut last = Timings::default();
    for _ in 0..args.rounds.max(1) {
        let start = Instant::now();
        let (_, timings) = embed_timed(&refs);
        let secs = start.elapsed().as_secs_f64();
        rates.push((refs.len() as f64 / secs * 10.0).round() / 10.0);
        rss.push(rss_mb());
        last = timings;
    }
    let out = serde_json::json!({
        "engine": engine,
        "threads": args.threads,
        "batch": args.batch,
        "sentences": refs.len(),
        "mean_tokens": (last.real_tokens as f64 / refs.len() as f64 * 10.0).round() / 10.0,
        "padded_tokens": last.padded_tokens,
        "sentences_per_s": rates,
        "load_ms": load_ms,
        "rss_mb": rss,
        "last_round_ms": {
            "tokenize": ms(last.tokenize),
            "tensors": ms(last.tensors),
            "forward": ms(last.forward),
            "pool": ms(last.pool),
        },
    });
    println!("{out}");
}
