//! The ingestion pipeline end to end with the real policy, the real embedding model and real
//! LanceDB files: canaries never reach the table files, re-ingest is incremental, deletes
//! remove everything, bad files are reported without stopping the run.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use crate::common::*;
use sluice_embed::Embedder;
use sluice_index::{ChunkStore, Query, Retriever, scan_files_for};
use sluice_rag::{FileOutcome, IngestError, IngestOptions, IngestSummary, discover};

fn summary(reports: &[sluice_rag::FileReport]) -> IngestSummary {
    let mut s = IngestSummary::default();
    for r in reports {
        s.add(r);
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpora_ingest_leaves_no_planted_value_in_the_lancedb_files() {
    let tmp = tempfile::tempdir().unwrap();
    let index = index(tmp.path()).await;
    let ing = ingestor(index.clone(), IngestOptions::default());
    let (files, failures, skipped) = discover(&[repo().join("corpora")]);
    assert!(failures.is_empty(), "walk failures: {failures:?}");
    assert!(
        skipped >= 1,
        "MANIFEST.toml and tools/ are skipped, not failed"
    );
    assert_eq!(files.len(), 24, "the 24 corpus documents");
    let reports = ing.ingest_files(&coll("demo"), &files, &()).await;
    let s = summary(&reports);
    assert_eq!((s.added, s.failed), (24, 0), "{reports:#?}");
    assert!(s.chunks >= 48, "chunks: {}", s.chunks);
    let findings: usize = reports.iter().flat_map(|r| r.findings.values()).sum();
    assert!(findings >= 300, "ingest boundary findings: {findings}");

    // The table files are written uncompressed for strings, so a byte scan is meaningful:
    // prove it by finding ordinary corpus words first.
    let db = tmp.path().join("lancedb");
    assert!(
        scan_files_for(&db, b"replica").unwrap(),
        "scan sees stored text"
    );
    let m = manifest();
    let mut leaked = Vec::new();
    for p in &m.planted {
        if scan_files_for(&db, p.value.as_bytes()).unwrap() {
            leaked.push(format!("{} from {}", p.entity, p.file));
        }
    }
    assert!(
        leaked.is_empty(),
        "planted values in LanceDB files: {leaked:?}"
    );

    // Search finds the right document; an off-topic question finds nothing.
    let e = embedder();
    let q = "How do we fail over the primary database?";
    let v = e.embed(&[q]).unwrap().pop().unwrap();
    let hits = index
        .search(&Query::new(q, v, vec![coll("demo")]))
        .await
        .unwrap();
    assert!(!hits.is_empty());
    assert!(
        hits.iter()
            .take(3)
            .any(|h| h.source_path == "runbooks/database-failover.md"),
        "top hits: {:?}",
        hits.iter().map(|h| &h.source_path).collect::<Vec<_>>()
    );
    let q = "What is a good recipe for banana bread with walnuts?";
    let v = e.embed(&[q]).unwrap().pop().unwrap();
    let hits = index
        .search(&Query::new(q, v.clone(), vec![coll("demo")]))
        .await
        .unwrap();
    assert!(
        hits.is_empty(),
        "off-topic question retrieved {} chunks",
        hits.len()
    );

    // Grants are a prefilter: another collection sees nothing.
    let q = "database failover";
    let v = e.embed(&[q]).unwrap().pop().unwrap();
    let hits = index
        .search(&Query::new(q, v, vec![coll("other")]))
        .await
        .unwrap();
    assert!(hits.is_empty());

    // Every stored span points into its source file and the stored text is the redacted
    // slice: byte spans are citations, so they must be right.
    let hits = index
        .search(
            &Query::new(
                "backup",
                e.embed(&["backup"]).unwrap().pop().unwrap(),
                vec![coll("demo")],
            )
            .with_score_floor(None)
            .with_k(20),
        )
        .await
        .unwrap();
    for h in hits.iter().filter(|h| h.source_path.ends_with(".md")) {
        let src = std::fs::read(repo().join("corpora").join(&h.source_path)).unwrap();
        assert!(
            h.span.end as usize <= src.len(),
            "{}: span past the end",
            h.source_path
        );
        assert!(h.span.start < h.span.end);
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reingest_skips_unchanged_replaces_changed_and_delete_removes_all() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    copy_dir(&repo().join("corpora/runbooks"), &docs);
    let index = index(tmp.path()).await;
    let ing = ingestor(index.clone(), IngestOptions::default());
    let (files, _, _) = discover(std::slice::from_ref(&docs));
    let first = summary(&ing.ingest_files(&coll("ops"), &files, &()).await);
    assert_eq!(first.added, files.len());

    let again = summary(&ing.ingest_files(&coll("ops"), &files, &()).await);
    assert_eq!(
        (again.unchanged, again.added, again.updated, again.chunks),
        (files.len(), 0, 0, 0)
    );

    // Change one file: only it is re-embedded, and its old chunks are gone.
    let target = docs.join("database-failover.md");
    let mut text = std::fs::read_to_string(&target).unwrap();
    text.push_str("\n\n## Aftercare\n\nFile a zebracorn ticket after every failover drill.\n");
    std::fs::write(&target, text).unwrap();
    let (files, _, _) = discover(std::slice::from_ref(&docs));
    let third = summary(&ing.ingest_files(&coll("ops"), &files, &()).await);
    assert_eq!((third.updated, third.unchanged), (1, files.len() - 1));
    let e = embedder();
    let q = "zebracorn ticket";
    let v = e.embed(&[q]).unwrap().pop().unwrap();
    let hits = index
        .search(&Query::new(q, v.clone(), vec![coll("ops")]).with_score_floor(None))
        .await
        .unwrap();
    assert!(
        hits.iter().any(|h| h.text.contains("zebracorn")),
        "new text is searchable"
    );
    let stats = index.list_collections().await.unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].documents, files.len());

    // Delete: every chunk of the document goes.
    let id = sluice_rag::doc_id("ops", "database-failover.md");
    let removed = index.delete_document(&id).await.unwrap();
    assert!(removed >= 1);
    let hits = index
        .search(
            &Query::new(q, v, vec![coll("ops")])
                .with_score_floor(None)
                .with_k(50),
        )
        .await
        .unwrap();
    assert!(
        hits.iter().all(|h| h.doc_id != id),
        "deleted document still retrieved"
    );
    assert_eq!(index.stored(&id).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_are_reported_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("in");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("good.md"),
        "# Leave\n\nStaff get 28 days of annual leave.\n",
    )
    .unwrap();
    std::fs::write(
        root.join("corrupt.pdf"),
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage",
    )
    .unwrap();
    let mut binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    binary[10] = 0xff;
    std::fs::write(root.join("blob.txt"), &binary).unwrap();
    std::fs::write(root.join("broken.docx"), b"PK\x03\x04 not really a zip").unwrap();
    // A 200 MB file costs nothing on disk when sparse; it must be refused without a read.
    let big = std::fs::File::create(root.join("huge.txt")).unwrap();
    big.set_len(200 * 1024 * 1024).unwrap();
    drop(big);
    let outside = tmp.path().join("outside.md");
    std::fs::write(&outside, "# Secret\n\nnot for this collection\n").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("escape.md")).unwrap();
    std::os::unix::fs::symlink(root.join("missing.md"), root.join("dangling.md")).unwrap();
    std::fs::write(root.join("notes.xyz"), "skipped: unknown type").unwrap();

    let index = index(tmp.path()).await;
    let ing = ingestor(index.clone(), IngestOptions::default());
    let (files, walk_failures, skipped) = discover(std::slice::from_ref(&root));
    assert_eq!(skipped, 1, "notes.xyz");
    let walk: Vec<_> = walk_failures.iter().map(|(p, e)| (p.as_str(), e)).collect();
    assert!(
        walk.iter()
            .any(|(p, e)| *p == "escape.md" && matches!(e, IngestError::SymlinkOutsideRoot { .. })),
        "{walk:?}"
    );
    assert!(
        walk.iter()
            .any(|(p, e)| *p == "dangling.md" && matches!(e, IngestError::Unreadable(_))),
        "{walk:?}"
    );
    let reports = ing.ingest_files(&coll("t"), &files, &()).await;
    let by_name = |n: &str| reports.iter().find(|r| r.source_path == n).unwrap();
    assert_eq!(
        by_name("good.md").outcome.as_ref().ok(),
        Some(&FileOutcome::Added)
    );
    for (name, expect) in [
        ("corrupt.pdf", "unreadable PDF"),
        ("blob.txt", "not UTF-8"),
        ("broken.docx", "unreadable DOCX"),
        ("huge.txt", "over the"),
    ] {
        let r = by_name(name);
        let err = r
            .outcome
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("{name} should fail"));
        assert!(err.to_string().contains(expect), "{name}: {err}");
    }
    assert_eq!(by_name("huge.txt").bytes, 0, "the big file was not read");
    assert_eq!(index.list_collections().await.unwrap()[0].documents, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_split_across_chunks_is_stored_in_neither() {
    // A long paragraph forces the chunker to split inside it; the PEM block straddles the cut.
    let tmp = tempfile::tempdir().unwrap();
    let index = index(tmp.path()).await;
    let opts = IngestOptions {
        chunk: sluice_ingest::ChunkConfig {
            max_tokens: 40,
            overlap_tokens: 5,
        },
        ..IngestOptions::default()
    };
    let ing = ingestor(index.clone(), opts);
    let key_body: String = (0..12)
        .map(|i| format!("MIIEv{i:02}QIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7{i:02}x\n"))
        .collect();
    let doc = format!(
        "# Deploy keys\n\nThe deploy host uses this key, rotate it yearly and keep it out of tickets and chat.\n-----BEGIN PRIVATE KEY-----\n{key_body}-----END PRIVATE KEY-----\nAfter rotation, update the vault entry and notify the platform team.\n"
    );
    let r = ing
        .ingest_bytes(
            &coll("k"),
            "keys.md",
            doc.into_bytes(),
            sluice_ingest::Format::Markdown,
        )
        .await;
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    assert!(
        r.chunks >= 2,
        "the document must be split, got {} chunks",
        r.chunks
    );
    let db = tmp.path().join("lancedb");
    assert!(scan_files_for(&db, b"rotation").unwrap());
    for probe in ["QIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7", "MIIEv05"] {
        assert!(
            !scan_files_for(&db, probe.as_bytes()).unwrap(),
            "key material stored"
        );
    }
    let _ = PathBuf::new();
}
