//! The guarded paths over the ports alone: ingest, search and answer with the in-memory
//! fakes of `sluice-testkit` (no embedding model, no LanceDB, no mistral.rs), under the
//! shipped policy. What the fakes cannot show (real ranking, real model output) is in the
//! end-to-end suites beside this one.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{coll, manifest, redactor, repo};
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

/// An embedder that takes its time and counts what it does: texts embedded, and the most
/// jobs running at once.
#[derive(Default)]
struct SlowEmbedder {
    embedded: std::sync::atomic::AtomicUsize,
    running: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

impl Embedder for SlowEmbedder {
    fn dim(&self) -> usize {
        8
    }

    fn model_id(&self) -> &str {
        "slow"
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, sluice_ports::EmbedError> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.running.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(20));
        self.embedded.fetch_add(texts.len(), SeqCst);
        self.running.fetch_sub(1, SeqCst);
        Ok(vec![vec![0.5; 8]; texts.len()])
    }
}

/// Hole 5 of the adversarial review: an embeddings request its caller abandoned (a 504, a
/// hang-up) used to run to the end on a blocking thread, and concurrent requests piled
/// blocking jobs onto the cores. Now the work stops between batches once the caller is
/// gone, and no more jobs run at once than there are cores.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abandoned_embedding_work_stops_and_jobs_are_bounded() {
    use std::sync::atomic::Ordering::SeqCst;
    let slow = Arc::new(SlowEmbedder::default());
    let searcher = Arc::new(sluice_rag::Searcher::new(
        slow.clone(),
        Arc::new(MemoryIndex::new()),
    ));
    let redactor = redactor();
    let inputs: Vec<String> = (0..2048).map(|i| format!("release note {i}")).collect();

    // The caller gives up after ~3 batches' worth of time.
    let gave_up = tokio::time::timeout(
        std::time::Duration::from_millis(60),
        searcher.embed_texts(&redactor, &inputs),
    )
    .await;
    assert!(gave_up.is_err(), "2,048 inputs cannot be done in 60 ms");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let embedded = slow.embedded.load(SeqCst);
    assert!(
        embedded <= 8 * 32,
        "{embedded} of 2,048 texts embedded after the caller left"
    );

    // Many callers at once queue for the embedding slots.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let calls = (0..4 * cores).map(|_| searcher.embed_texts(&redactor, &inputs[..64]));
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap().vectors.len(), 64);
    }
    let peak = slow.peak.load(SeqCst);
    assert!(
        peak <= cores,
        "{peak} embedding jobs at once on {cores} cores"
    );
}
