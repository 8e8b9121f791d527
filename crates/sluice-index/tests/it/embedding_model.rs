//! The table records the embedding model id of its vectors and refuses another model.
#![allow(clippy::unwrap_used)]

use crate::common::{DIM, chunks, embed, load_corpus, meta};
use sluice_index::{
    ChunkIndex, ChunkStore, EMBEDDING_MODEL_KEY, IndexConfig, IndexError, Query, RecordedModel,
    Retriever,
};

use crate::common;

fn cfg(dir: &std::path::Path, model: Option<&str>) -> IndexConfig {
    let c = IndexConfig::new(dir.to_str().expect("utf-8 path"), DIM);
    match model {
        Some(m) => c.with_embedding_model(m),
        None => c,
    }
}

/// [`ChunkIndex::recorded_embedding_model`] with a dimension no table here has.
async fn recorded(dir: &std::path::Path) -> RecordedModel {
    let c = IndexConfig::new(dir.to_str().expect("utf-8 path"), DIM + 1);
    ChunkIndex::recorded_embedding_model(&c).await.unwrap()
}

#[tokio::test]
async fn another_model_is_refused_with_a_reindex_message() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = ChunkIndex::open(cfg(dir.path(), Some("model-a")))
            .await
            .unwrap();
        // No table yet: nothing recorded, nothing to refuse.
        assert_eq!(index.embedding_model().await.unwrap(), None);
        assert_eq!(recorded(dir.path()).await, RecordedModel::NoTable);
        load_corpus(&index).await; // creates the table, then more writes (merge_insert)
        assert_eq!(
            index.embedding_model().await.unwrap().as_deref(),
            Some("model-a")
        );
    }
    // Read before an embedder exists (to follow the index): no dimension or model check.
    assert_eq!(
        recorded(dir.path()).await,
        RecordedModel::Model("model-a".into())
    );

    // Same model: opens, writes, searches.
    let same = ChunkIndex::open(cfg(dir.path(), Some("model-a")))
        .await
        .unwrap();
    same.upsert_document(
        &meta("new", "hr", "h"),
        &chunks(&["Badges open every door."]),
    )
    .await
    .unwrap();
    let q = Query::new(
        "kubernetes cluster upgrades",
        embed("kubernetes cluster upgrades"),
        vec![common::name("engineering")],
    );
    assert_eq!(same.search(&q).await.unwrap()[0].chunk_id, "eng-1:1");
    drop(same);

    // Another model: refused at open, whether the caller would ingest or search.
    let err = ChunkIndex::open(cfg(dir.path(), Some("model-b")))
        .await
        .unwrap_err();
    match &err {
        IndexError::EmbeddingModel {
            stored, configured, ..
        } => {
            assert_eq!(stored, "model-a");
            assert_eq!(configured, "model-b");
        }
        other => panic!("expected EmbeddingModel, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("model-a") && msg.contains("model-b") && msg.contains("re-index"),
        "{msg}"
    );

    // Without a configured model (a read-only tool) nothing is checked.
    let any = ChunkIndex::open(cfg(dir.path(), None)).await.unwrap();
    assert_eq!(any.count_chunks().await.unwrap(), 13);
    assert_eq!(
        any.embedding_model().await.unwrap().as_deref(),
        Some("model-a")
    );
}

#[tokio::test]
async fn a_table_written_before_ids_were_recorded_is_adopted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let legacy = ChunkIndex::open(cfg(dir.path(), None)).await.unwrap();
        load_corpus(&legacy).await;
        assert_eq!(legacy.embedding_model().await.unwrap(), None);
    }
    assert_eq!(recorded(dir.path()).await, RecordedModel::Unrecorded);
    // Opening with a model accepts the legacy table; the next write records the model.
    let index = ChunkIndex::open(cfg(dir.path(), Some("model-a")))
        .await
        .unwrap();
    index
        .upsert_document(
            &meta("new", "hr", "h"),
            &chunks(&["Badges open every door."]),
        )
        .await
        .unwrap();
    assert_eq!(
        index.embedding_model().await.unwrap().as_deref(),
        Some("model-a")
    );
    drop(index);
    let err = ChunkIndex::open(cfg(dir.path(), Some("model-b")))
        .await
        .unwrap_err();
    assert!(matches!(err, IndexError::EmbeddingModel { .. }), "{err:?}");
    assert_eq!(EMBEDDING_MODEL_KEY, "sluice:embedding_model");
}
