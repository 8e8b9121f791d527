//! The guarded paths over the ports alone: ingest, search and answer with the in-memory
//! fakes of `sluice-testkit` (no embedding model, no LanceDB, no mistral.rs), under the
//! shipped policy. What the fakes cannot show (real ranking, real model output) is in the
//! end-to-end suites beside this one.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::common::{coll, manifest, redactor, repo};
use sluice_ports::{Embedder, Generator};
use sluice_rag::{
    AnswerSettings, Answerer, AskRequest, IngestOptions, Ingestor, NO_CONTEXT_ANSWER,
    SearchRequest, discover,
};
use sluice_testkit::{Counting, HashEmbedder, MemoryIndex, Spelling};

async fn corpora() -> (Arc<dyn Embedder>, Arc<MemoryIndex>) {
    let embedder: Arc<dyn Embedder> = Arc::new(HashEmbedder::new(256));
    let index = Arc::new(MemoryIndex::new());
    let ing = Ingestor::new(
        redactor(),
        embedder.clone(),
        index.clone(),
        IngestOptions::default(),
    );
    let (files, failures, _) = discover(&[repo().join("corpora")]);
    assert!(failures.is_empty());
    let reports = ing.ingest_files(&coll("demo"), &files, &()).await;
    assert!(reports.iter().all(|r| r.outcome.is_ok()), "{reports:#?}");
    (embedder, index)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_stores_no_planted_value_and_a_rerun_writes_nothing() {
    let (embedder, index) = corpora().await;
    let texts = index.texts();
    assert!(texts.len() >= 48, "chunks: {}", texts.len());
    assert!(
        texts.iter().any(|t| t.contains("replica")),
        "ordinary text is stored"
    );
    let leaked: Vec<String> = manifest()
        .planted
        .iter()
        .filter(|p| texts.iter().any(|t| t.contains(&p.value)))
        .map(|p| format!("{} from {}", p.entity, p.file))
        .collect();
    assert!(leaked.is_empty(), "planted values stored: {leaked:?}");

    let ing = Ingestor::new(
        redactor(),
        embedder,
        index.clone(),
        IngestOptions::default(),
    );
    let (files, _, _) = discover(&[repo().join("corpora")]);
    let again = ing.ingest_files(&coll("demo"), &files, &()).await;
    assert!(
        again
            .iter()
            .all(|r| matches!(r.outcome, Ok(sluice_rag::FileOutcome::Unchanged))),
        "{again:#?}"
    );
    assert_eq!(index.texts().len(), texts.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaking_model_is_redacted_and_off_topic_never_calls_it() {
    let (embedder, index) = corpora().await;
    let canary = manifest()
        .planted
        .into_iter()
        .find(|p| p.entity == "AWS_ACCESS_KEY_ID")
        .expect("the manifest plants an AWS key id");
    let model = Arc::new(Counting::new(Arc::new(Spelling(format!(
        "Run the failover [1]. The key is {} if you need it.",
        canary.value
    )))));
    let a = Answerer::new(
        embedder,
        index,
        model.clone() as Arc<dyn Generator>,
        AnswerSettings::default(),
    );
    let r = redactor();

    let on_topic = AskRequest::question(
        "What are the steps to fail over the primary database?",
        vec![coll("demo")],
    );
    let answer = a.ask(&r, on_topic).await.unwrap();
    assert_eq!(model.calls(), 1);
    assert!(!answer.citations.is_empty(), "the question finds sources");
    assert!(!answer.text.contains(&canary.value), "{}", answer.text);
    assert!(answer.summary.response_findings.values().sum::<usize>() >= 1);

    let off_topic = AskRequest::question("banana bread recipe with walnuts", vec![coll("demo")]);
    let answer = a.ask(&r, off_topic).await.unwrap();
    assert_eq!(answer.text, NO_CONTEXT_ANSWER);
    assert_eq!(model.calls(), 1, "no sources, no model call");

    let ungranted = a
        .search(
            &r,
            SearchRequest {
                query: "primary database failover".into(),
                collections: vec![coll("hr")],
                k: 5,
                mode: sluice_ports::SearchMode::Hybrid,
                score_floor: Some(sluice_ports::DEFAULT_SCORE_FLOOR),
            },
        )
        .await
        .unwrap();
    assert!(ungranted.hits.is_empty(), "grants are a prefilter");
}
