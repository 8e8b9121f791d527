//! `sluice ingest` and `sluice search`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use sluice_index::{CollectionName, SearchMode};
use sluice_rag::{
    AnswerError, FileReport, IngestOptions, IngestSummary, Ingestor, Progress, SearchRequest,
    SearchView, Searcher,
};

use crate::stack::{StackArgs, runtime};

/// `sluice ingest`.
#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Files or folders to ingest (folders recursively; hidden entries skipped).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Collection the documents go into (the unit of access grants).
    #[arg(long, short)]
    collection: CollectionName,
    /// Largest file accepted, in bytes (suffixes k, M, G allowed).
    #[arg(long, default_value = "64M", value_parser = parse_size)]
    max_file_size: u64,
    /// Print one JSON report per file and a JSON summary instead of the progress bar.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    stack: StackArgs,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| n * mult)
        .map_err(|_| format!("`{s}` is not a size like 500k, 64M or 1G"))
}

/// The progress bar: files done of all, chunks written, MB/s and an ETA from the bytes left.
struct Bar {
    bar: ProgressBar,
    started: Instant,
    total_bytes: u64,
    chunks: std::sync::atomic::AtomicUsize,
    bytes: std::sync::atomic::AtomicU64,
}

impl Progress for Bar {
    fn file_done(&self, r: &FileReport) {
        use std::sync::atomic::Ordering::Relaxed;
        let chunks = self.chunks.fetch_add(r.chunks, Relaxed) + r.chunks;
        let bytes = self.bytes.fetch_add(r.bytes, Relaxed) + r.bytes;
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        if let Err(e) = &r.outcome {
            // Not bar.println: a hidden bar (stderr not a terminal, as in CI) drops it.
            self.bar
                .suspend(|| eprintln!("failed  {}: {e}", r.source_path));
        }
        self.bar.inc(1);
        let rate = bytes as f64 / secs;
        let eta = if bytes > 0 {
            let left = self.total_bytes.saturating_sub(bytes) as f64 / rate;
            format!(
                "ETA {}",
                indicatif::HumanDuration(Duration::from_secs_f64(left))
            )
        } else {
            "ETA –".to_owned()
        };
        self.bar
            .set_message(format!("{chunks} chunks, {:.2} MB/s, {eta}", rate / 1e6));
    }
}

/// Runs `sluice ingest`.
pub fn ingest(args: IngestArgs, data_dir: &Path) -> Result<ExitCode> {
    let redactor = args.stack.redactor(data_dir)?;
    let rt = runtime()?;
    let embedder = args.stack.embedder(data_dir, &rt)?;
    rt.block_on(async {
        let index = args.stack.index(data_dir, embedder.as_ref()).await?;
        let started = Instant::now();
        let (files, walk_failures, skipped) = sluice_rag::discover(&args.paths);
        let opts = IngestOptions {
            max_file_bytes: args.max_file_size,
            ..IngestOptions::default()
        };
        let embedding_model = embedder.model_id().to_owned();
        let ingestor = Ingestor::new(redactor, embedder, index.clone(), opts);
        let mut summary = IngestSummary {
            skipped,
            ..IngestSummary::default()
        };
        let mut stderr = std::io::stderr();
        for (path, e) in &walk_failures {
            summary.failed += 1;
            if args.json {
                let line = serde_json::json!({"source_path": path, "outcome": format!("failed: {e}")});
                println!("{line}");
            } else {
                writeln!(stderr, "failed  {path}: {e}")?;
            }
        }
        let bar = Bar {
            bar: if args.json {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(files.len() as u64)
            },
            started,
            total_bytes: files.iter().map(|f| f.size).sum(),
            chunks: 0.into(),
            bytes: 0.into(),
        };
        bar.bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} files  {msg}  [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.bar.enable_steady_tick(Duration::from_millis(200));
        let reports = ingestor
            .ingest_files(&args.collection, &files, &bar)
            .await;
        bar.bar.finish_and_clear();
        for r in &reports {
            summary.add(r);
            if args.json {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        // Bring every index up to date now (a bulk load commits in groups and leaves new rows
        // for the indexes to take in), so the first search after the run is fast.
        let refresh_started = Instant::now();
        let status = index.refresh_indexes().await?;
        let refresh = IndexReport {
            embedding_model,
            refresh_seconds: refresh_started.elapsed().as_secs_f64(),
            chunks: status.rows,
            vector_index: status.vector,
            unindexed_chunks: status.max_unindexed_rows,
            index_segments: status.max_segments,
        };
        summary.seconds = started.elapsed().as_secs_f64();
        if args.json {
            println!("{}", serde_json::json!({ "summary": summary, "index": refresh }));
        } else {
            let mb = summary.bytes as f64 / 1e6;
            println!(
                "{}: {} added, {} updated, {} unchanged, {} failed, {} skipped (type) — {} chunks, {:.2} MB in {:.1} s ({:.2} MB/s, {:.1} chunks/s)",
                args.collection,
                summary.added,
                summary.updated,
                summary.unchanged,
                summary.failed,
                summary.skipped,
                summary.chunks,
                mb,
                summary.seconds,
                mb / summary.seconds.max(1e-9),
                summary.chunks as f64 / summary.seconds.max(1e-9),
            );
            println!("{refresh}");
        }
        Ok(if summary.failed > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}

/// What the index looks like after the run's refresh (`--json`: the `index` object).
#[derive(serde::Serialize)]
struct IndexReport {
    /// The model id of the vectors (`…-int8` for int8 precision), so the choice is never silent.
    embedding_model: String,
    refresh_seconds: f64,
    chunks: usize,
    vector_index: bool,
    unindexed_chunks: usize,
    /// The most segments one index is made of (search reads each).
    index_segments: usize,
}

impl std::fmt::Display for IndexReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "index: refreshed in {:.1} s; {} chunks in the table ({} vectors); ",
            self.refresh_seconds, self.chunks, self.embedding_model
        )?;
        if self.vector_index {
            write!(f, "vector index (IVF-HNSW)")?;
        } else {
            write!(
                f,
                "exact vector search (the ANN index is built from {} chunks)",
                sluice_index::DEFAULT_VECTOR_INDEX_MIN_ROWS
            )?;
        }
        match (self.unindexed_chunks, self.vector_index) {
            (0, true) => write!(f, "; full-text and vector indexes up to date")?,
            (0, false) => write!(f, "; full-text index up to date")?,
            (n, _) => write!(f, "; {n} chunks not yet indexed")?,
        }
        if self.index_segments > 1 {
            write!(f, " (at most {} segments per index)", self.index_segments)?;
        }
        Ok(())
    }
}

/// Retrieval legs, as the CLI spells them.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Mode {
    /// Vector + BM25, fused with RRF.
    Hybrid,
    /// Vector similarity only.
    Vector,
    /// BM25 only.
    Fts,
}

impl From<Mode> for SearchMode {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Hybrid => SearchMode::Hybrid,
            Mode::Vector => SearchMode::Vector,
            Mode::Fts => SearchMode::Fts,
        }
    }
}

/// `sluice search`.
#[derive(Args, Debug)]
pub struct SearchArgs {
    /// What to look for.
    query: String,
    /// Collections to search (repeat or comma-separate).
    #[arg(long, short, required = true, value_delimiter = ',')]
    collection: Vec<CollectionName>,
    /// Number of results.
    #[arg(long, short, default_value_t = 10)]
    k: usize,
    /// Retrieval legs.
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
    mode: Mode,
    /// Cosine floor below which the query counts as off-topic (0 disables).
    #[arg(long, default_value_t = sluice_index::DEFAULT_SCORE_FLOOR)]
    min_score: f32,
    /// JSON output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    stack: StackArgs,
}

/// Runs `sluice search`: the guarded search path shared with `/v1/search`.
pub fn search(args: SearchArgs, data_dir: &Path) -> Result<ExitCode> {
    let redactor = args.stack.redactor(data_dir)?;
    let rt = runtime()?;
    let embedder = args.stack.embedder(data_dir, &rt)?;
    rt.block_on(async {
        let index = args.stack.index(data_dir, embedder.as_ref()).await?;
        let searcher = Searcher::new(embedder, index);
        let req = SearchRequest {
            query: args.query.clone(),
            collections: args.collection.clone(),
            k: args.k.max(1),
            mode: args.mode.into(),
            score_floor: (args.min_score > 0.0).then_some(args.min_score),
        };
        let res = match searcher.search(&redactor, req).await {
            Ok(r) => r,
            Err(e @ AnswerError::Blocked { .. }) => {
                // Nothing of a refused search is shown: not the hits, not the query.
                eprintln!("refused: {e}");
                return Ok(ExitCode::FAILURE);
            }
            Err(e) => return Err(e.into()),
        };
        let view = SearchView::new(res, redactor.policy().version());
        let (out, ms) = (&view.hits, view.took_ms);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&view)?);
        } else if out.is_empty() {
            println!("no results above the relevance floor ({ms:.0} ms)");
        } else {
            for (i, h) in out.iter().enumerate() {
                let heading = if h.heading_path.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", h.heading_path)
                };
                println!(
                    "{:>2}. {} [{}..{}] score {:.4}{}",
                    i + 1,
                    h.source_path,
                    h.span.start,
                    h.span.end,
                    h.score,
                    heading
                );
                for line in h.text.lines().take(6) {
                    println!("      {line}");
                }
            }
            println!("({} results, {ms:.0} ms)", out.len());
        }
        Ok(ExitCode::SUCCESS)
    })
}
