//! Integration tests against real LanceDB files in temporary directories.
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use crate::common::{DIM, all_collections, chunks, embed, load_corpus, meta, open, open_with};
use sluice_index::{
    ChunkIndex, ChunkStore, CollectionName, CollectionStats, IndexConfig, IndexError, Query,
    Retriever, SearchMode, UpsertOutcome, scan_files_for,
};

use crate::common;

fn q(text: &str, colls: &[&str]) -> Query {
    Query::new(
        text,
        embed(text),
        colls.iter().map(|s| common::name(s)).collect(),
    )
}

async fn doc_chunk_texts(index: &ChunkIndex, doc_id: &str, word: &str) -> Vec<String> {
    index
        .search(
            &q(word, &["finance", "hr", "engineering"])
                .with_mode(SearchMode::Fts)
                .with_k(50)
                .with_score_floor(None),
        )
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.doc_id == doc_id)
        .map(|h| h.text)
        .collect()
}

#[tokio::test]
async fn upsert_replace_unchanged_delete() {
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path()).await;
    assert_eq!(index.document_hash("d1").await.unwrap(), None);

    let v1 = chunks(&[
        "alpha invoices are approved monthly",
        "alpha budget planning starts in march",
        "alpha vendor onboarding checklist",
    ]);
    let m1 = meta("d1", "finance", "h1");
    assert_eq!(
        index.upsert_document(&m1, &v1).await.unwrap(),
        UpsertOutcome::Written {
            chunks: 3,
            removed: 0
        }
    );
    assert_eq!(
        index.document_hash("d1").await.unwrap().as_deref(),
        Some("h1")
    );
    assert_eq!(index.count_chunks().await.unwrap(), 3);

    // Same hash and policy: skipped, nothing written.
    assert_eq!(
        index.upsert_document(&m1, &v1).await.unwrap(),
        UpsertOutcome::Unchanged
    );
    assert_eq!(index.count_chunks().await.unwrap(), 3);

    // Changed document with fewer chunks: all old chunks replaced, the surplus one removed.
    let v2 = chunks(&["alpha invoices are approved weekly", "alpha travel policy"]);
    let m2 = meta("d1", "finance", "h2");
    assert_eq!(
        index.upsert_document(&m2, &v2).await.unwrap(),
        UpsertOutcome::Written {
            chunks: 2,
            removed: 3
        }
    );
    assert_eq!(index.count_chunks().await.unwrap(), 2);
    assert_eq!(
        index.document_hash("d1").await.unwrap().as_deref(),
        Some("h2")
    );
    let mut texts = doc_chunk_texts(&index, "d1", "alpha").await;
    texts.sort();
    assert_eq!(
        texts,
        vec!["alpha invoices are approved weekly", "alpha travel policy"]
    );

    // Same content, new policy version: re-ingested (the new policy may redact more).
    let mut m3 = m2.clone();
    m3.policy_version = "p2".into();
    assert!(matches!(
        index.upsert_document(&m3, &v2).await.unwrap(),
        UpsertOutcome::Written { chunks: 2, .. }
    ));
    assert_eq!(
        index
            .stored_document("d1")
            .await
            .unwrap()
            .unwrap()
            .policy_version,
        "p2"
    );
    // Updated in place (same chunk ids): nothing doubled.
    assert_eq!(index.count_chunks().await.unwrap(), 2);

    // Another document is untouched by d1's upserts and delete.
    index
        .upsert_document(&meta("d2", "hr", "x"), &chunks(&["alpha leave policy"]))
        .await
        .unwrap();
    assert_eq!(index.delete_document("d1").await.unwrap(), 2);
    assert_eq!(index.document_hash("d1").await.unwrap(), None);
    assert_eq!(index.count_chunks().await.unwrap(), 1);
    assert_eq!(index.delete_document("d1").await.unwrap(), 0);
    assert_eq!(
        index.document_hash("d2").await.unwrap().as_deref(),
        Some("x")
    );

    // An upsert with no chunks removes the document.
    assert!(matches!(
        index
            .upsert_document(&meta("d2", "hr", "y"), &[])
            .await
            .unwrap(),
        UpsertOutcome::Written {
            chunks: 0,
            removed: 1
        }
    ));
    assert_eq!(index.count_chunks().await.unwrap(), 0);
}

#[tokio::test]
async fn batch_upsert_is_one_call_and_reports_each_document() {
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path()).await;
    let docs = vec![
        (meta("a", "finance", "1"), chunks(&["one", "two"])),
        (meta("b", "hr", "1"), chunks(&["three"])),
    ];
    let out = index.upsert_documents(&docs).await.unwrap();
    assert!(
        out.iter()
            .all(|o| matches!(o, UpsertOutcome::Written { .. }))
    );
    let mut docs2 = docs.clone();
    docs2[1].0.content_hash = "2".into();
    docs2[1].1 = chunks(&["three", "four"]);
    // A new document in the same commit as a stored one that grew.
    docs2.push((meta("c", "hr", "1"), chunks(&["five"])));
    let out = index.upsert_documents(&docs2).await.unwrap();
    assert_eq!(
        out,
        vec![
            UpsertOutcome::Unchanged,
            UpsertOutcome::Written {
                chunks: 2,
                removed: 1
            },
            UpsertOutcome::Written {
                chunks: 1,
                removed: 0
            }
        ]
    );
    assert_eq!(index.count_chunks().await.unwrap(), 5);
    assert_eq!(
        index.document_hash("c").await.unwrap().as_deref(),
        Some("1")
    );
    let dup = vec![docs[0].clone(), docs[0].clone()];
    assert!(matches!(
        index.upsert_documents(&dup).await,
        Err(IndexError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn list_collections_counts_documents_and_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path()).await;
    assert!(index.list_collections().await.unwrap().is_empty());
    load_corpus(&index).await;
    let stats = index.list_collections().await.unwrap();
    let c = |name: &str, documents, chunks| CollectionStats {
        name: name.into(),
        documents,
        chunks,
    };
    assert_eq!(
        stats,
        vec![c("engineering", 1, 3), c("finance", 2, 6), c("hr", 1, 3)]
    );
}

#[tokio::test]
async fn collection_prefilter_hides_better_matches_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path()).await;
    load_corpus(&index).await;
    // The best possible match for the question, in a collection the caller lacks.
    let question = "what is the secret acquisition target for project falcon invoices";
    index
        .upsert_document(
            &meta("secret-1", "board", "s"),
            &chunks(&["secret acquisition target for project falcon invoices"]),
        )
        .await
        .unwrap();

    for mode in [SearchMode::Vector, SearchMode::Fts, SearchMode::Hybrid] {
        // Control: with the grant, it is the top hit.
        let granted = index
            .search(&q(question, &["board", "finance"]).with_mode(mode))
            .await
            .unwrap();
        assert_eq!(granted[0].doc_id, "secret-1", "{mode:?}");

        // Without it: never returned, and the top k is still filled from granted
        // collections (a post-filter on the top k would have come back short).
        let hits = index
            .search(
                &q(question, &["finance", "hr", "engineering"])
                    .with_mode(mode)
                    .with_k(3)
                    .with_score_floor(None),
            )
            .await
            .unwrap();
        assert!(hits.iter().all(|h| h.collection != "board"), "{mode:?}");
        if mode != SearchMode::Fts {
            assert_eq!(hits.len(), 3, "{mode:?}");
        }
        assert!(hits.iter().all(|h| h.doc_id != "secret-1"));
    }

    // Grants are typed: a quoting attempt is not a collection name, so it cannot reach
    // the prefilter at all (the filter still escapes quotes, as a second line).
    assert!(CollectionName::new("x') OR ('1'='1").is_err());
    // No grants, no results.
    assert!(index.search(&q(question, &[])).await.unwrap().is_empty());
}

#[tokio::test]
async fn vector_fts_and_hybrid_modes() {
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path()).await;
    load_corpus(&index).await;
    let all: Vec<&str> = vec!["finance", "hr", "engineering"];

    let question = "how many weeks of parental leave do employees get";
    for mode in [SearchMode::Vector, SearchMode::Fts, SearchMode::Hybrid] {
        let hits = index
            .search(&q(question, &all).with_mode(mode))
            .await
            .unwrap();
        assert!(!hits.is_empty(), "{mode:?}");
        assert_eq!(hits[0].chunk_id, "hr-1:1", "{mode:?}: {hits:#?}");
        assert_eq!(hits[0].heading_path, "Doc > Section");
        assert_eq!(hits[0].source_path, "hr/hr-1.md");
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        match mode {
            SearchMode::Vector => {
                assert!(hits[0].similarity.is_some() && hits[0].bm25.is_none());
                assert_eq!(hits[0].score, hits[0].similarity.unwrap());
            }
            SearchMode::Fts => {
                assert!(
                    hits.iter()
                        .all(|h| h.bm25.is_some() && h.fts_rank.is_some())
                );
                assert!(hits.iter().all(|h| h.vector_rank.is_none()));
            }
            SearchMode::Hybrid => {
                let top = &hits[0];
                assert_eq!((top.vector_rank, top.fts_rank), (Some(1), Some(1)));
                let expected = 2.0 / (sluice_index::RRF_K + 1.0);
                assert!((top.score - expected).abs() < 1e-6);
            }
        }
    }

    // A keyword only full text can see (a code name), phrased so the vector leg ranks it
    // lower: hybrid still surfaces it.
    index
        .upsert_document(
            &meta("eng-2", "engineering", "e2"),
            &chunks(&["Runbook ZX-9041 restarts the billing worker pool."]),
        )
        .await
        .unwrap();
    let hybrid = index
        .search(&q("zx-9041 release tests production", &all).with_k(5))
        .await
        .unwrap();
    assert!(hybrid.iter().any(|h| h.doc_id == "eng-2"), "{hybrid:#?}");
    let fts = index
        .search(&q("ZX-9041", &all).with_mode(SearchMode::Fts))
        .await
        .unwrap();
    assert_eq!(fts[0].doc_id, "eng-2");
}

#[tokio::test]
async fn score_floor_returns_nothing_for_unrelated_questions() {
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path()).await;
    load_corpus(&index).await;
    let all: Vec<&str> = vec!["finance", "hr", "engineering"];
    let off_topic = "what is the boiling point of tungsten";
    for mode in [SearchMode::Vector, SearchMode::Fts, SearchMode::Hybrid] {
        let hits = index
            .search(&q(off_topic, &all).with_mode(mode))
            .await
            .unwrap();
        assert!(hits.is_empty(), "{mode:?}: {hits:#?}");
        let on_topic = index
            .search(&q("approve invoices before payment", &all).with_mode(mode))
            .await
            .unwrap();
        assert!(!on_topic.is_empty(), "{mode:?}");
        assert!(on_topic.iter().all(
            |h| h.bm25.is_some() || h.similarity.unwrap() >= sluice_index::DEFAULT_SCORE_FLOOR
        ));
    }
    // Without a floor, vector search always returns the nearest chunks.
    let unfloored = index
        .search(
            &q(off_topic, &all)
                .with_mode(SearchMode::Vector)
                .with_score_floor(None),
        )
        .await
        .unwrap();
    assert_eq!(unfloored.len(), 5);
}

#[tokio::test]
async fn new_rows_are_found_before_any_index_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = IndexConfig::new(dir.path().to_str().unwrap(), DIM);
    cfg.refresh_min_unindexed_rows = usize::MAX;
    let index = open_with(cfg).await;
    load_corpus(&index).await;
    let status = index.index_status().await.unwrap();
    assert!(status.fts && !status.vector);
    assert!(status.max_unindexed_rows > 0, "{status:?}");
    // fin-2 was written after the FTS index was built on fin-1, so it is not indexed yet.
    let hits = index
        .search(&q("penalty fee supplier", &["finance"]).with_mode(SearchMode::Fts))
        .await
        .unwrap();
    assert_eq!(hits[0].chunk_id, "fin-2:2");
    index.refresh_indexes().await.unwrap();
    assert_eq!(index.index_status().await.unwrap().max_unindexed_rows, 0);
    let again = index
        .search(&q("penalty fee supplier", &["finance"]).with_mode(SearchMode::Fts))
        .await
        .unwrap();
    assert_eq!(again[0].chunk_id, "fin-2:2");
}

fn synthetic(i: usize) -> String {
    const WORDS: &[&str] = &[
        "ledger",
        "audit",
        "payroll",
        "forecast",
        "vendor",
        "contract",
        "renewal",
        "margin",
        "invoice",
        "budget",
        "pipeline",
        "deploy",
        "cluster",
        "latency",
        "backup",
        "restore",
        "hiring",
        "onboarding",
        "benefits",
        "pension",
        "travel",
        "expense",
        "tax",
        "compliance",
    ];
    let mut x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut words = vec![format!("item{i}")];
    for _ in 0..8 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        words.push(WORDS[(x % WORDS.len() as u64) as usize].to_owned());
    }
    words.join(" ")
}

#[tokio::test]
async fn vector_index_is_built_past_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = IndexConfig::new(dir.path().to_str().unwrap(), DIM);
    cfg.vector_index_min_rows = 600;
    let index = open_with(cfg).await;
    let texts: Vec<String> = (0..1000).map(synthetic).collect();
    let docs: Vec<_> = texts
        .chunks(50)
        .enumerate()
        .map(|(d, ts)| {
            let ts: Vec<&str> = ts.iter().map(String::as_str).collect();
            (meta(&format!("s{d}"), "finance", "h"), chunks(&ts))
        })
        .collect();
    index.upsert_documents(&docs[..10]).await.unwrap();
    assert!(!index.index_status().await.unwrap().vector);
    index.upsert_documents(&docs[10..]).await.unwrap();
    let status = index.index_status().await.unwrap();
    assert!(status.vector && status.fts, "{status:?}");
    assert_eq!(status.rows, 1000);

    // Each probed chunk's own text finds it first, through the ANN index.
    for i in [3usize, 250, 517, 999] {
        let hits = index
            .search(&q(&texts[i], &["finance"]).with_mode(SearchMode::Vector))
            .await
            .unwrap();
        assert_eq!(hits[0].chunk_id, format!("s{}:{}", i / 50, i % 50));
        assert!((hits[0].similarity.unwrap() - 1.0).abs() < 1e-4);
        let hybrid = index.search(&q(&texts[i], &["finance"])).await.unwrap();
        assert_eq!(hybrid[0].chunk_id, hits[0].chunk_id);
    }
    // The prefilter still holds with the index.
    let none = index
        .search(&q(&texts[5], &["hr"]).with_score_floor(None))
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// A bulk load refreshes the indexes every few hundred rows, and each refresh adds a segment
/// to the vector index; the final refresh folds them into one (a search reads every segment:
/// 95 segments over 114k chunks made hybrid search ~4× slower). Each commit also leaves a
/// data file, and the final refresh rewrites them into one.
#[tokio::test]
async fn the_final_refresh_merges_index_segments_and_data_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = IndexConfig::new(dir.path().to_str().unwrap(), DIM);
    cfg.vector_index_min_rows = 600;
    cfg.refresh_min_unindexed_rows = 50;
    let index = open_with(cfg).await;
    let texts: Vec<String> = (0..1000).map(synthetic).collect();
    for (d, ts) in texts.chunks(50).enumerate() {
        let ts: Vec<&str> = ts.iter().map(String::as_str).collect();
        let doc = (meta(&format!("s{d}"), "finance", "h"), chunks(&ts));
        index.upsert_documents(&[doc]).await.unwrap();
    }
    let before = index.index_status().await.unwrap();
    assert!(before.vector && before.max_segments >= 4, "{before:?}");
    assert_eq!(index.data_files().await.unwrap(), 20);
    let returned = index.refresh_indexes().await.unwrap();
    let after = index.index_status().await.unwrap();
    assert_eq!(
        returned, after,
        "refresh_indexes returns the state it leaves"
    );
    assert_eq!(
        (after.max_segments, after.max_unindexed_rows, after.rows),
        (1, 0, 1000)
    );
    assert_eq!(index.data_files().await.unwrap(), 1);
    for i in [3usize, 620, 999] {
        for mode in [SearchMode::Vector, SearchMode::Fts] {
            let hits = index
                .search(&q(&texts[i], &["finance"]).with_mode(mode))
                .await
                .unwrap();
            assert_eq!(
                hits[0].chunk_id,
                format!("s{}:{}", i / 50, i % 50),
                "{mode:?}"
            );
        }
    }
}

#[tokio::test]
async fn byte_scan_sees_stored_strings_and_not_others() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = IndexConfig::new(dir.path().to_str().unwrap(), DIM);
    // Refresh after every write, so the marker also reaches the full-text index.
    cfg.refresh_min_unindexed_rows = 1;
    let index = open_with(cfg).await;
    load_corpus(&index).await;
    let marker = "sluicemarker7731x";
    // Long enough text for Lance to consider compressing the page.
    let filler = "quarterly figures are reported to the board ".repeat(200);
    let text = format!("{filler} {marker} {filler}");
    index
        .upsert_document(&meta("m1", "finance", "m"), &chunks(&[text.as_str()]))
        .await
        .unwrap();
    assert!(scan_files_for(dir.path(), marker.as_bytes()).unwrap());
    assert!(scan_files_for(dir.path(), b"Parental leave is sixteen weeks").unwrap());
    assert!(!scan_files_for(dir.path(), b"sluicecanary-never-written-4410").unwrap());

    // Deleted, then history purged: gone from the files too.
    index.delete_document("m1").await.unwrap();
    assert!(scan_files_for(dir.path(), marker.as_bytes()).unwrap());
    index.purge_history(Duration::ZERO).await.unwrap();
    assert!(!scan_files_for(dir.path(), marker.as_bytes()).unwrap());
    assert!(scan_files_for(dir.path(), b"Parental leave is sixteen weeks").unwrap());
    // And the index still answers after the purge.
    let hits = index
        .search(&q("parental leave weeks", &["hr"]))
        .await
        .unwrap();
    assert_eq!(hits[0].chunk_id, "hr-1:1");
}

#[tokio::test]
async fn reopen_persists_and_checks_dimension() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = open(dir.path()).await;
        load_corpus(&index).await;
    }
    let index = open(dir.path()).await;
    assert_eq!(index.count_chunks().await.unwrap(), 12);
    let hits = index
        .search(&q("kubernetes cluster upgrades", &["engineering"]))
        .await
        .unwrap();
    assert_eq!(hits[0].chunk_id, "eng-1:1");

    let wrong = ChunkIndex::open(IndexConfig::new(dir.path().to_str().unwrap(), 128)).await;
    assert!(matches!(wrong, Err(IndexError::Schema { .. })), "{wrong:?}");
}

#[tokio::test]
async fn bad_input_is_rejected_without_leaking_text() {
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path()).await;
    let mut c = chunks(&["confidential words that must not reach a log"]);
    c[0].vector.truncate(10);
    let err = index
        .upsert_document(&meta("d", "finance", "h"), &c)
        .await
        .unwrap_err();
    assert!(matches!(err, IndexError::Dimension { got: 10, .. }));
    assert!(!err.to_string().contains("confidential"), "{err}");

    let mut nan = chunks(&["x"]);
    nan[0].vector[0] = f32::NAN;
    assert!(matches!(
        index
            .upsert_document(&meta("d", "finance", "h"), &nan)
            .await,
        Err(IndexError::BadVector { .. })
    ));

    let mut query = q("anything", &["finance"]);
    query.vector = None;
    assert!(matches!(
        index.search(&query).await,
        Err(IndexError::MissingQueryPart { .. })
    ));
    // Searching before the table exists is empty, not an error.
    assert!(
        index
            .search(&q("anything", &["finance"]))
            .await
            .unwrap()
            .is_empty()
    );
    let _ = all_collections();
}

/// A section's heading is part of what its chunks are about: the BM25 leg matches the
/// heading path too, so "manual failover" finds the steps under "Manual failover within the
/// region" although the chunk's own text never says it.
#[tokio::test]
async fn bm25_matches_heading_paths() {
    let dir = tempfile::tempdir().unwrap();
    let index = open(dir.path()).await;
    let mut cs = chunks(&[
        "Promote the replica with patronictl switchover and wait for the lag to clear.",
        "Backups run nightly and are kept for thirty five days.",
    ]);
    cs[0].heading_path = "Runbook > 5. Manual failover within the region".to_owned();
    cs[1].heading_path = "Runbook > 2. Backups".to_owned();
    index
        .upsert_document(&meta("rb", "ops", "h1"), &cs)
        .await
        .unwrap();
    let hits = index
        .search(
            &q("manual failover", &["ops"])
                .with_mode(SearchMode::Fts)
                .with_score_floor(None),
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(hits[0].text.starts_with("Promote the replica"));
    assert!(index.index_status().await.unwrap().heading_fts);
}
