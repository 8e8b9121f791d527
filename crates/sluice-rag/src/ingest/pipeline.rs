//! The bulk path of [`Ingestor::ingest_files`]: several documents are prepared (read,
//! extracted, passed through the ingest boundary, chunked) at once on blocking threads while
//! the embedder works; prepared documents gather into groups whose chunks are embedded in
//! length-sorted batches and written in **one commit per group**.
//!
//! Why this shape: on a CPU host the embedding model is nearly all of the cost, and the
//! one-document-at-a-time loop wasted it — a batch is as long as its longest chunk (padding),
//! a three-chunk document was a batch of three, every document paid a commit and the index
//! upkeep after it, and the model sat idle while the next file was extracted.
//!
//! Guarantees kept: a group is one atomic commit, so a killed run leaves every document in
//! its old or its new version and a re-run finishes the job; unchanged documents are skipped
//! before anything is embedded; a failed file is reported and the run goes on (a group whose
//! batch or commit fails is retried document by document, so one bad document fails alone).
//! Memory stays flat: at most `prepare_workers` documents are being prepared, a few more wait
//! in a bounded channel, and a group holds at most `group_docs` documents or `group_chunks`
//! chunks (one document larger than that is a group of its own).

use std::time::Instant;

use futures::StreamExt;
use sluice_ports::{ChunkInput, CollectionName, DocumentMeta, UpsertOutcome};

use super::{FileOutcome, FileReport, Ingestor, Progress, ReadyDoc, SourceFile, Staged};
use crate::error::IngestError;

/// Prepared documents waiting to be written, with their positions in the input.
#[derive(Default)]
struct Group {
    docs: Vec<ReadyDoc>,
    positions: Vec<usize>,
    chunks: usize,
    opened: Option<Instant>,
}

impl Group {
    fn push(&mut self, position: usize, doc: ReadyDoc) {
        self.opened.get_or_insert_with(Instant::now);
        self.chunks += doc.chunks.len();
        self.docs.push(doc);
        self.positions.push(position);
    }

    fn take(&mut self) -> (Vec<usize>, Vec<ReadyDoc>) {
        self.chunks = 0;
        self.opened = None;
        (
            std::mem::take(&mut self.positions),
            std::mem::take(&mut self.docs),
        )
    }
}

impl Ingestor {
    /// Ingests files into `collection`: preparing, embedding and writing overlap, and
    /// documents are committed in groups (see the module docs). A failure is reported and
    /// the run goes on; `progress` hears of each file as it finishes. Reports come back in
    /// input order.
    pub async fn ingest_files(
        &self,
        collection: &CollectionName,
        files: &[SourceFile],
        progress: &dyn Progress,
    ) -> Vec<FileReport> {
        let workers = self.opts.prepare_workers.max(1);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, Staged)>(workers);
        // Both halves run in this task (join!), so they may borrow; the heavy work inside
        // each is on blocking threads, so they really overlap.
        let produce = async move {
            let mut staged = futures::stream::iter(files.iter().enumerate())
                .map(|(i, f)| async move { (i, self.stage_file(collection, f).await) })
                .buffered(workers);
            while let Some(item) = staged.next().await {
                if tx.send(item).await.is_err() {
                    break;
                }
            }
        };
        let consume = async {
            let mut out: Vec<(usize, FileReport)> = Vec::with_capacity(files.len());
            let mut group = Group::default();
            loop {
                let next = match group.opened {
                    Some(t) => {
                        let wait = self.opts.group_wait.saturating_sub(t.elapsed());
                        match tokio::time::timeout(wait, rx.recv()).await {
                            Ok(next) => next,
                            Err(_) => {
                                self.flush(&mut group, &mut out, progress).await;
                                continue;
                            }
                        }
                    }
                    None => rx.recv().await,
                };
                match next {
                    None => break,
                    Some((i, Staged::Done(report))) => {
                        progress.file_done(&report);
                        out.push((i, report));
                    }
                    Some((i, Staged::Ready(doc))) => {
                        group.push(i, doc);
                        if group.docs.len() >= self.opts.group_docs.max(1)
                            || group.chunks >= self.opts.group_chunks.max(1)
                        {
                            self.flush(&mut group, &mut out, progress).await;
                        }
                    }
                }
            }
            self.flush(&mut group, &mut out, progress).await;
            out.sort_by_key(|(i, _)| *i);
            out.into_iter().map(|(_, r)| r).collect::<Vec<_>>()
        };
        let ((), reports) = tokio::join!(produce, consume);
        reports
    }

    async fn flush(
        &self,
        group: &mut Group,
        out: &mut Vec<(usize, FileReport)>,
        progress: &dyn Progress,
    ) {
        let (positions, mut docs) = group.take();
        if docs.is_empty() {
            return;
        }
        self.write_group(&mut docs).await;
        for (i, doc) in positions.into_iter().zip(docs) {
            progress.file_done(&doc.report);
            out.push((i, doc.report));
        }
    }

    /// Embeds and writes prepared documents in one commit, setting each one's outcome. If
    /// that fails, each document is tried alone, so the error lands on the one it is about.
    pub(super) async fn write_group(&self, docs: &mut [ReadyDoc]) {
        let vectors = match self.embed_group(docs).await {
            Ok(v) => v,
            Err(_) if docs.len() > 1 => return self.write_one_by_one(docs).await,
            Err(e) => {
                if let Some(doc) = docs.first_mut() {
                    doc.report.outcome = Err(e);
                }
                return;
            }
        };
        let batch: Vec<(DocumentMeta, Vec<ChunkInput>)> = docs
            .iter()
            .zip(vectors)
            .map(|(doc, vectors)| {
                let inputs = doc
                    .chunks
                    .iter()
                    .zip(vectors)
                    .map(|(c, vector)| ChunkInput {
                        span: c.span.clone(),
                        heading_path: c.heading.clone(),
                        text: c.text.clone(),
                        vector,
                    })
                    .collect();
                (doc.meta.clone(), inputs)
            })
            .collect();
        match self.store.upsert_documents(&batch).await {
            Ok(outcomes) if outcomes.len() == docs.len() => {
                for (doc, outcome) in docs.iter_mut().zip(outcomes) {
                    doc.report.outcome = Ok(match outcome {
                        UpsertOutcome::Unchanged => FileOutcome::Unchanged,
                        UpsertOutcome::Written { .. } if doc.existed => FileOutcome::Updated,
                        UpsertOutcome::Written { .. } => FileOutcome::Added,
                    });
                    doc.report.chunks = match outcome {
                        UpsertOutcome::Unchanged => 0,
                        UpsertOutcome::Written { chunks, .. } => chunks,
                    };
                }
            }
            Ok(_) => {
                let msg = "index answered a different number of documents than it was given";
                for doc in docs.iter_mut() {
                    doc.report.outcome = Err(IngestError::Internal(msg.into()));
                }
            }
            Err(_) if docs.len() > 1 => self.write_one_by_one(docs).await,
            Err(e) => {
                if let Some(doc) = docs.first_mut() {
                    doc.report.outcome = Err(e.into());
                }
            }
        }
    }

    async fn write_one_by_one(&self, docs: &mut [ReadyDoc]) {
        for doc in docs.iter_mut() {
            Box::pin(self.write_group(std::slice::from_mut(doc))).await;
        }
    }

    /// The vectors of every chunk of `docs`, per document in chunk order. Chunks are
    /// embedded shortest first across the documents, so each batch pads to a similar length.
    async fn embed_group(&self, docs: &[ReadyDoc]) -> Result<Vec<Vec<Vec<f32>>>, IngestError> {
        let mut order: Vec<(usize, usize, String)> = Vec::new();
        for (d, doc) in docs.iter().enumerate() {
            for (c, chunk) in doc.chunks.iter().enumerate() {
                order.push((d, c, super::embed_text(&chunk.heading, &chunk.text)));
            }
        }
        order.sort_by_key(|(_, _, text)| text.len());
        let mut vectors: Vec<Vec<Vec<f32>>> = docs
            .iter()
            .map(|d| vec![Vec::new(); d.chunks.len()])
            .collect();
        let mut rest = order;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(self.opts.embed_batch.max(1)));
            let batch = std::mem::replace(&mut rest, tail);
            let embedder = self.embedder.clone();
            let (slots, texts): (Vec<(usize, usize)>, Vec<String>) =
                batch.into_iter().map(|(d, c, t)| ((d, c), t)).unzip();
            let embedded = tokio::task::spawn_blocking(move || {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                embedder.embed(&refs)
            })
            .await
            .map_err(|e| IngestError::Internal(e.to_string()))??;
            if embedded.len() != slots.len() {
                return Err(IngestError::Internal(
                    "embedder returned a different number of vectors than texts".into(),
                ));
            }
            for ((d, c), v) in slots.into_iter().zip(embedded) {
                vectors[d][c] = v;
            }
        }
        Ok(vectors)
    }
}
