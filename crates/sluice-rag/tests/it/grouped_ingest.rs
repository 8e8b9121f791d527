//! The bulk ingest path commits documents in groups, embeds across documents in
//! length-sorted batches and still gives every document its own outcome. Over the testkit
//! fakes (no model, no LanceDB); `Recording` below wraps the in-memory index to see the
//! commits. The kill-and-rerun guarantee over real LanceDB files is in the CLI suite
//! (`docs_cli.rs::killed_ingest_leaves_a_consistent_index_and_a_rerun_finishes`).
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use crate::common::{coll, redactor};
use async_trait::async_trait;
use sluice_ingest::Format;
use sluice_ports::{
    ChunkInput, ChunkStore, CollectionStats, DocumentMeta, Embedder, IndexError, StoredDocument,
    UpsertOutcome,
};
use sluice_rag::{FileOutcome, IngestError, IngestOptions, Ingestor, SourceFile};
use sluice_testkit::{HashEmbedder, MemoryIndex};

/// The documents of one commit, with their chunks.
type Commit = Vec<(DocumentMeta, Vec<ChunkInput>)>;

/// The in-memory index, recording each commit; a commit that holds a document whose path
/// contains "bad" fails (alone or in a group).
struct Recording {
    inner: MemoryIndex,
    commits: Mutex<Vec<Commit>>,
}

#[async_trait]
impl ChunkStore for Recording {
    async fn upsert_document(
        &self,
        doc: &DocumentMeta,
        chunks: &[ChunkInput],
    ) -> sluice_ports::Result<UpsertOutcome> {
        let mut out = self
            .upsert_documents(&[(doc.clone(), chunks.to_vec())])
            .await?;
        Ok(out.pop().unwrap())
    }

    async fn upsert_documents(
        &self,
        docs: &[(DocumentMeta, Vec<ChunkInput>)],
    ) -> sluice_ports::Result<Vec<UpsertOutcome>> {
        self.commits.lock().unwrap().push(docs.to_vec());
        if docs.iter().any(|(m, _)| m.source_path.contains("bad")) {
            return Err(IndexError::InvalidInput("refused by the test store".into()));
        }
        let mut out = Vec::new();
        for (meta, chunks) in docs {
            out.push(self.inner.upsert_document(meta, chunks).await?);
        }
        Ok(out)
    }

    async fn delete_document(&self, doc_id: &str) -> sluice_ports::Result<u64> {
        self.inner.delete_document(doc_id).await
    }

    async fn document_hash(&self, doc_id: &str) -> sluice_ports::Result<Option<String>> {
        self.inner.document_hash(doc_id).await
    }

    async fn stored(&self, doc_id: &str) -> sluice_ports::Result<Option<StoredDocument>> {
        self.inner.stored(doc_id).await
    }

    async fn list_collections(&self) -> sluice_ports::Result<Vec<CollectionStats>> {
        self.inner.list_collections().await
    }
}

/// `n` Markdown files of different lengths (so the length sort has something to reorder).
fn write_docs(dir: &std::path::Path, names: &[String]) -> Vec<SourceFile> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let body: String = (0..(3 + i * 7 % 23))
                .map(|j| format!("Paragraph {j} of {name}: rota {i} changes on day {j}.\n\n"))
                .collect();
            let text = format!("# Note {i}\n\n{body}");
            let path = dir.join(name);
            std::fs::write(&path, &text).unwrap();
            SourceFile {
                path,
                source_path: name.clone(),
                size: text.len() as u64,
            }
        })
        .collect()
}

fn setup(group_docs: usize) -> (Arc<dyn Embedder>, Arc<Recording>, Ingestor) {
    let embedder: Arc<dyn Embedder> = Arc::new(HashEmbedder::new(64));
    let store = Arc::new(Recording {
        inner: MemoryIndex::new(),
        commits: Mutex::new(Vec::new()),
    });
    let opts = IngestOptions {
        group_docs,
        embed_batch: 5,
        chunk: sluice_ingest::ChunkConfig {
            max_tokens: 40,
            overlap_tokens: 5,
        },
        ..IngestOptions::default()
    };
    let ing = Ingestor::new(redactor(), embedder.clone(), store.clone(), opts);
    (embedder, store, ing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_committed_in_groups_with_their_own_vectors_and_reports_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..20).map(|i| format!("note{i:02}.md")).collect();
    let files = write_docs(tmp.path(), &names);
    let (embedder, store, ing) = setup(8);

    let reports = ing.ingest_files(&coll("ops"), &files, &()).await;
    let paths: Vec<&str> = reports.iter().map(|r| r.source_path.as_str()).collect();
    assert_eq!(paths, names, "reports come back in input order");
    assert!(
        reports
            .iter()
            .all(|r| matches!(r.outcome, Ok(FileOutcome::Added)) && r.chunks > 0),
        "{reports:#?}"
    );
    let commits = store.commits.lock().unwrap().clone();
    let sizes: Vec<usize> = commits.iter().map(Vec::len).collect();
    assert_eq!(
        sizes.iter().sum::<usize>(),
        20,
        "every document once: {sizes:?}"
    );
    assert!(sizes.len() <= 4, "grouped, not one commit each: {sizes:?}");
    assert!(
        sizes.iter().all(|&n| n <= 8),
        "a group holds at most 8: {sizes:?}"
    );

    // Chunks were embedded shortest first across documents: each must still carry the vector
    // of its own text (what the embedder sees: heading path, newline, text).
    for (meta, chunks) in commits.iter().flatten() {
        let report = reports.iter().find(|r| r.doc_id == meta.doc_id).unwrap();
        assert_eq!(report.chunks, chunks.len());
        for c in chunks {
            let seen = if c.heading_path.is_empty() {
                c.text.clone()
            } else {
                format!("{}\n{}", c.heading_path, c.text)
            };
            let want = embedder.embed(&[seen.as_str()]).unwrap().pop().unwrap();
            assert_eq!(c.vector, want, "vector of a chunk of {}", meta.source_path);
        }
    }

    let again = ing.ingest_files(&coll("ops"), &files, &()).await;
    assert!(
        again
            .iter()
            .all(|r| matches!(r.outcome, Ok(FileOutcome::Unchanged))),
        "{again:#?}"
    );
    assert_eq!(
        store.commits.lock().unwrap().len(),
        commits.len(),
        "unchanged documents are skipped before embedding, nothing committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_group_commit_is_retried_one_by_one_so_only_the_bad_document_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let names: Vec<String> = ["a.md", "b.md", "bad.md", "c.md", "d.md"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let files = write_docs(tmp.path(), &names);
    let (_, store, ing) = setup(64);

    let reports = ing.ingest_files(&coll("ops"), &files, &()).await;
    for r in &reports {
        if r.source_path == "bad.md" {
            assert!(
                matches!(r.outcome, Err(IngestError::Index(_))),
                "{:?}",
                r.outcome
            );
        } else {
            assert!(
                matches!(r.outcome, Ok(FileOutcome::Added)),
                "{}: {:?}",
                r.source_path,
                r.outcome
            );
        }
    }
    let sizes: Vec<usize> = store.commits.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, [5, 1, 1, 1, 1, 1], "one group, then each alone");
    assert_eq!(
        store.inner.list_collections().await.unwrap()[0].documents,
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_upload_is_one_commit_of_one_document() {
    let (_, store, ing) = setup(64);
    let body = "# Upload\n\nThe rota changes weekly.\n".as_bytes().to_vec();
    let r = ing
        .ingest_bytes(&coll("ops"), "upload.md", body, Format::Markdown)
        .await;
    assert!(matches!(r.outcome, Ok(FileOutcome::Added)), "{r:?}");
    let sizes: Vec<usize> = store.commits.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, [1]);
}
