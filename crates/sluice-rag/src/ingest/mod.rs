//! The ingestion pipeline: files → text → chunks → ingest boundary → embeddings → index.
//!
//! Order matters for privacy: the ingest policy runs over the **whole document** before
//! anything is embedded or stored, and each chunk is cut out of that redacted text with
//! [`sluice_policy::Redaction::slice_for`], so a value that straddles a chunk boundary (a
//! PEM block split across chunks) is replaced in both chunks, never half-stored.
//!
//! Documents are written in groups, each group one atomic commit in the index; an interrupted
//! run leaves every document either in its old or its new version, and running it again
//! skips what is unchanged (same content hash and policy version) and finishes the rest.
//! [`discover`] finds the files; [`pipeline`] overlaps preparing, embedding and writing for
//! a run over many files.

mod discover;
mod pipeline;

pub use discover::discover;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sluice_ingest::{ChunkConfig, Format};
use sluice_policy::{Boundary, Finding, Redactor};
use sluice_ports::Embedder;
use sluice_ports::{ChunkStore, CollectionName, DocumentMeta};

use crate::error::IngestError;

/// Settings of an ingestion run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Files larger than this are refused without being read.
    pub max_file_bytes: u64,
    /// Chunking budget.
    pub chunk: ChunkConfig,
    /// Chunks per embedding call.
    pub embed_batch: usize,
    /// Wall-clock budget for extracting, redacting and chunking one document; past it the
    /// file fails alone (a hostile PDF must not hold the run).
    pub prepare_timeout: Duration,
    /// Documents read, extracted, redacted and chunked at the same time while the embedder
    /// works (each on a blocking thread).
    pub prepare_workers: usize,
    /// A group — embedded together in length-sorted batches and written in one commit —
    /// closes at this many documents…
    pub group_docs: usize,
    /// …or this many chunks…
    pub group_chunks: usize,
    /// …or when its first document has waited this long (a slow folder still commits).
    pub group_wait: Duration,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 * 1024 * 1024,
            chunk: ChunkConfig::default(),
            embed_batch: 32,
            prepare_timeout: Duration::from_secs(120),
            prepare_workers: std::thread::available_parallelism().map_or(2, |n| n.get().min(8)),
            group_docs: 64,
            group_chunks: 512,
            group_wait: Duration::from_secs(10),
        }
    }
}

/// A file found under an input path.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Where it is on disk.
    pub path: PathBuf,
    /// The path stored in the index and shown in citations: relative to the folder given
    /// on the command line (or the file name, for a file given directly).
    pub source_path: String,
    /// Size in bytes, when known.
    pub size: u64,
}

/// What ingesting one file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileOutcome {
    /// A new document.
    Added,
    /// A changed document (or a new policy version): its old chunks were replaced.
    Updated,
    /// Same content and policy version as stored: nothing done.
    Unchanged,
}

/// The report for one file.
#[derive(Debug, Serialize)]
pub struct FileReport {
    /// The source path as stored: after the ingest boundary (it is shown in citations).
    pub source_path: String,
    /// The document id.
    pub doc_id: String,
    /// Bytes read.
    pub bytes: u64,
    /// Chunks written (0 when unchanged or failed).
    pub chunks: usize,
    /// Entity type → count of findings at the ingest boundary (never values).
    pub findings: BTreeMap<String, usize>,
    /// What happened, or why it failed.
    #[serde(serialize_with = "ser_outcome")]
    pub outcome: Result<FileOutcome, IngestError>,
    /// The ingest-boundary findings themselves (path and text; values never print), for
    /// audit records — also when the ingest policy blocked the document.
    #[serde(skip)]
    pub details: Vec<Finding>,
}

fn ser_outcome<S: serde::Serializer>(
    o: &Result<FileOutcome, IngestError>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match o {
        Ok(v) => v.serialize(s),
        Err(e) => s.serialize_str(&format!("failed: {e}")),
    }
}

/// Totals of a run.
#[derive(Debug, Default, Clone, Serialize)]
pub struct IngestSummary {
    /// New documents.
    pub added: usize,
    /// Replaced documents.
    pub updated: usize,
    /// Skipped, unchanged documents.
    pub unchanged: usize,
    /// Files that failed.
    pub failed: usize,
    /// Files in folders skipped for their type (not an error).
    pub skipped: usize,
    /// Chunks written.
    pub chunks: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl IngestSummary {
    /// Counts one report.
    pub fn add(&mut self, r: &FileReport) {
        self.bytes += r.bytes;
        self.chunks += r.chunks;
        match &r.outcome {
            Ok(FileOutcome::Added) => self.added += 1,
            Ok(FileOutcome::Updated) => self.updated += 1,
            Ok(FileOutcome::Unchanged) => self.unchanged += 1,
            Err(_) => self.failed += 1,
        }
    }
}

/// Progress callbacks of [`Ingestor::ingest_files`].
pub trait Progress: Send + Sync {
    /// A file is done (or failed).
    fn file_done(&self, report: &FileReport);
}

impl Progress for () {
    fn file_done(&self, _: &FileReport) {}
}

/// The stable id of a document: a hash of its collection and source path, so the same file
/// ingested again into the same collection replaces itself.
pub fn doc_id(collection: &str, source_path: &str) -> String {
    let mut h = Sha256::new();
    h.update(collection.as_bytes());
    h.update([0]);
    h.update(source_path.as_bytes());
    hex::encode(&h.finalize()[..16])
}

/// Runs documents through the ingest boundary into the index.
#[derive(Clone)]
pub struct Ingestor {
    redactor: Redactor,
    embedder: Arc<dyn Embedder>,
    store: Arc<dyn ChunkStore>,
    opts: IngestOptions,
}

/// A chunk after extraction, redaction and chunking: its span in the source, its redacted
/// heading path and its redacted text.
struct PreparedChunk {
    span: std::ops::Range<u64>,
    heading: String,
    text: String,
}

/// A document on its way through a run: finished already (failed, blocked or unchanged), or
/// prepared and waiting to be embedded and written.
enum Staged {
    Done(FileReport),
    Ready(ReadyDoc),
}

/// A prepared document: its report so far, what the index will store about it, whether an
/// older version is stored, and its chunks.
struct ReadyDoc {
    report: FileReport,
    meta: DocumentMeta,
    existed: bool,
    chunks: Vec<PreparedChunk>,
}

impl Ingestor {
    /// A pipeline with the given policy (its ingest boundary), embedder and store.
    pub fn new(
        redactor: Redactor,
        embedder: Arc<dyn Embedder>,
        store: Arc<dyn ChunkStore>,
        opts: IngestOptions,
    ) -> Self {
        Self {
            redactor,
            embedder,
            store,
            opts,
        }
    }

    /// The options in use.
    pub fn options(&self) -> &IngestOptions {
        &self.opts
    }

    /// Ingests one file from disk (one commit).
    pub async fn ingest_file(&self, collection: &CollectionName, f: &SourceFile) -> FileReport {
        let staged = self.stage_file(collection, f).await;
        self.finish_one(staged).await
    }

    /// Ingests one document given as bytes (uploads, tests). `source_path` is the caller's:
    /// it passes the ingest boundary here, like every path stored.
    pub async fn ingest_bytes(
        &self,
        collection: &CollectionName,
        source_path: &str,
        bytes: Vec<u8>,
        format: Format,
    ) -> FileReport {
        let report = self.screened_report(collection, source_path);
        let staged = if report.outcome.is_err() {
            Staged::Done(report)
        } else {
            self.stage_bytes(collection, report, bytes, format).await
        };
        self.finish_one(staged).await
    }

    async fn finish_one(&self, staged: Staged) -> FileReport {
        match staged {
            Staged::Done(report) => report,
            Staged::Ready(doc) => {
                let mut group = [doc];
                self.write_group(&mut group).await;
                let [doc] = group;
                doc.report
            }
        }
    }

    /// Reads and prepares one file from disk; see [`Self::stage_bytes`].
    async fn stage_file(&self, collection: &CollectionName, f: &SourceFile) -> Staged {
        let mut report = self.screened_report(collection, &f.source_path);
        if report.outcome.is_err() {
            return Staged::Done(report);
        }
        if f.size > self.opts.max_file_bytes {
            report.outcome = Err(IngestError::TooLarge {
                size: f.size,
                limit: self.opts.max_file_bytes,
            });
            return Staged::Done(report);
        }
        let format = match f
            .path
            .extension()
            .and_then(|e| e.to_str())
            .map(Format::from_extension)
        {
            Some(Ok(fmt)) => fmt,
            Some(Err(e)) => {
                report.outcome = Err(e.into());
                return Staged::Done(report);
            }
            None => {
                report.outcome =
                    Err(sluice_ingest::ExtractError::Unsupported(String::new()).into());
                return Staged::Done(report);
            }
        };
        // Read at most limit + 1 bytes: the file may have grown since it was listed.
        match read_bounded(&f.path, self.opts.max_file_bytes).await {
            Ok(bytes) => self.stage_bytes(collection, report, bytes, format).await,
            Err(e) => {
                report.outcome = Err(e);
                Staged::Done(report)
            }
        }
    }

    /// The report of a document whose path went through the ingest boundary: the path is
    /// stored and shown in citations, and the document id is derived from what is stored.
    fn screened_report(&self, collection: &CollectionName, raw_path: &str) -> FileReport {
        let sp = self.redactor.redact(raw_path, Boundary::Ingest);
        let mut report = FileReport {
            doc_id: doc_id(collection.as_str(), &sp.text),
            source_path: sp.text,
            bytes: 0,
            chunks: 0,
            findings: BTreeMap::new(),
            outcome: Ok(FileOutcome::Unchanged),
            details: sp.findings,
        };
        if let Some(b) = sp.blocked {
            report.outcome = Err(IngestError::Blocked {
                rule: b.rule,
                entity: b.entity,
            });
        }
        report
    }

    /// Skips a document stored unchanged; otherwise extracts it, runs the ingest boundary
    /// over it and chunks it, on a blocking thread within the per-file budget.
    async fn stage_bytes(
        &self,
        collection: &CollectionName,
        mut report: FileReport,
        bytes: Vec<u8>,
        format: Format,
    ) -> Staged {
        report.bytes = bytes.len() as u64;
        let staged = self
            .prepare_doc(collection, &mut report, bytes, format)
            .await;
        for f in &report.details {
            *report.findings.entry(f.entity.to_string()).or_insert(0) += 1;
        }
        match staged {
            Ok(Some((meta, existed, chunks))) => Staged::Ready(ReadyDoc {
                report,
                meta,
                existed,
                chunks,
            }),
            Ok(None) => {
                report.outcome = Ok(FileOutcome::Unchanged);
                Staged::Done(report)
            }
            Err(e) => {
                report.outcome = Err(e);
                Staged::Done(report)
            }
        }
    }

    /// `None` when the stored version has the same content hash and policy version.
    async fn prepare_doc(
        &self,
        collection: &CollectionName,
        report: &mut FileReport,
        bytes: Vec<u8>,
        format: Format,
    ) -> Result<Option<(DocumentMeta, bool, Vec<PreparedChunk>)>, IngestError> {
        if bytes.len() as u64 > self.opts.max_file_bytes {
            return Err(IngestError::TooLarge {
                size: bytes.len() as u64,
                limit: self.opts.max_file_bytes,
            });
        }
        let content_hash = hex::encode(Sha256::digest(&bytes));
        let policy_version = self.redactor.policy().version().to_owned();
        let stored = self.store.stored(&report.doc_id).await?;
        if stored
            .as_ref()
            .is_some_and(|s| s.content_hash == content_hash && s.policy_version == policy_version)
        {
            return Ok(None);
        }

        let redactor = self.redactor.clone();
        let chunk_cfg = self.opts.chunk.clone();
        // The extractor checks the deadline itself, so a job past its budget mostly stops on
        // its own; the timeout below answers the caller either way.
        let limits = sluice_ingest::ExtractLimits {
            deadline: Some(std::time::Instant::now() + self.opts.prepare_timeout),
            ..sluice_ingest::ExtractLimits::default()
        };
        let job = tokio::task::spawn_blocking(move || {
            prepare(&redactor, &bytes, format, &chunk_cfg, &limits)
        });
        // A job past its budget is abandoned (a blocking thread cannot be killed; the
        // extractor's own size and depth limits bound what it can still cost).
        let (chunks, found) = tokio::time::timeout(self.opts.prepare_timeout, job)
            .await
            .map_err(|_| IngestError::TimedOut {
                secs: self.opts.prepare_timeout.as_secs(),
            })?
            .map_err(|e| IngestError::Internal(e.to_string()))?;
        report.details.extend(found);
        let meta = DocumentMeta {
            doc_id: report.doc_id.clone(),
            collection: collection.clone(),
            source_path: report.source_path.clone(),
            content_hash,
            policy_version,
            ingested_at_ms: now_ms(),
        };
        Ok(Some((meta, stored.is_some(), chunks?)))
    }
}

/// What the embedder sees: the heading path gives a chunk its topic ("Backups > Retention").
fn embed_text(heading: &str, text: &str) -> String {
    if heading.is_empty() {
        text.to_owned()
    } else {
        format!("{heading}\n{text}")
    }
}

/// Extraction, the ingest boundary over the whole document, chunking. The findings come
/// back even when the policy blocks the document (the audit record needs them).
fn prepare(
    redactor: &Redactor,
    bytes: &[u8],
    format: Format,
    cfg: &ChunkConfig,
    limits: &sluice_ingest::ExtractLimits,
) -> (Result<Vec<PreparedChunk>, IngestError>, Vec<Finding>) {
    let doc = match sluice_ingest::extract_with_limits(bytes, format, limits) {
        Ok(d) => d,
        Err(e) => return (Err(e.into()), Vec::new()),
    };
    let chunks = sluice_ingest::chunk(&doc, cfg);
    let red = redactor.redact(&doc.text, Boundary::Ingest);
    if let Some(b) = &red.blocked {
        let err = IngestError::Blocked {
            rule: b.rule.clone(),
            entity: b.entity.clone(),
        };
        return (Err(err), red.findings);
    }
    // Heading paths are redacted on their own too: they are stored and shown in citations.
    let mut headings: BTreeMap<&str, String> = BTreeMap::new();
    let mut out = Vec::with_capacity(chunks.len());
    for c in &chunks {
        let text = red.slice_for(c.span.clone()).trim().to_owned();
        if text.is_empty() {
            continue;
        }
        let heading = headings
            .entry(c.heading_path.as_str())
            .or_insert_with(|| redactor.redact(&c.heading_path, Boundary::Ingest).text)
            .clone();
        out.push(PreparedChunk {
            span: c.span.start as u64..c.span.end as u64,
            heading,
            text,
        });
    }
    (Ok(out), red.findings)
}

async fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, IngestError> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path)
        .await
        .map_err(IngestError::Unreadable)?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .await
        .map_err(IngestError::Unreadable)?;
    if buf.len() as u64 > limit {
        return Err(IngestError::TooLarge {
            size: buf.len() as u64,
            limit,
        });
    }
    Ok(buf)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
