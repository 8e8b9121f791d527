//! Guarded retrieval, the one search path of `/v1/search`, `sluice search` and the answer
//! path: **prompt boundary** on the query → embedding → hybrid search with the caller's
//! grants as a prefilter → **context boundary** on every field of a hit that carries
//! document text: the chunk, its source path and its heading path.
//!
//! Scores shown to callers never carry corpus statistics of collections they cannot read:
//! BM25 depends on term frequencies over the whole table, so a full-text hit's `score` is
//! its reciprocal rank instead (hybrid RRF scores are rank-based already, cosine similarity
//! depends only on the query and the chunk).

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use sluice_policy::{Boundary, Finding, Redactor};
use sluice_ports::Embedder;
use sluice_ports::{CollectionName, Hit, Query, Retriever, SearchMode};

use crate::error::AnswerError;
use crate::screen::Screen;

/// The RRF constant used for rank-only scores of full-text hits (as in the hybrid fusion).
const RANK_K: f32 = 60.0;

/// A search over granted collections.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The query, as the caller sent it (screened here).
    pub query: String,
    /// Collections the caller may read (their grants). Empty → nothing is retrieved.
    pub collections: Vec<CollectionName>,
    /// Hits wanted (clamped to 1..=50).
    pub k: usize,
    /// Retrieval mode.
    pub mode: SearchMode,
    /// Cosine floor below which the query is off-topic (`None`: no floor).
    pub score_floor: Option<f32>,
}

/// One hit after the context boundary: every text field is redacted.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    /// Chunk id (`<doc_id>:<i>`).
    pub chunk_id: String,
    /// Document id.
    pub doc_id: String,
    /// Collection.
    pub collection: String,
    /// Source path (after the context boundary).
    pub source_path: String,
    /// Byte span in the source.
    pub span: Range<u64>,
    /// Heading path (after the context boundary).
    pub heading_path: String,
    /// Chunk text (after the context boundary).
    pub text: String,
    /// Rank score of the mode (higher is better): RRF (hybrid), cosine (vector),
    /// reciprocal rank (full text).
    pub score: f32,
    /// Cosine similarity to the query.
    pub similarity: Option<f32>,
}

/// What a search returns.
#[derive(Debug, Clone)]
pub struct SearchOutcome {
    /// The query after the prompt boundary.
    pub query: String,
    /// Hits, best first.
    pub hits: Vec<SearchHit>,
    /// Findings of the prompt and context boundaries (values never print).
    pub findings: Vec<Finding>,
    /// Prompt boundary + embedding + search + context boundary, in milliseconds.
    pub took_ms: f64,
}

/// Texts embedded per blocking job: the unit of work that goes on after its caller is
/// gone (a dropped request stops between batches), so it is kept small.
const EMBED_BATCH: usize = 32;

/// Vectors of texts that passed the prompt boundary ([`Searcher::embed_texts`]).
#[derive(Debug, Clone)]
pub struct Embedded {
    /// One vector per input, in input order.
    pub vectors: Vec<Vec<f32>>,
    /// Token estimate of the redacted inputs.
    pub tokens: usize,
    /// Prompt-boundary findings (values never print).
    pub findings: Vec<Finding>,
}

/// Runs [`SearchRequest`]s and embeddings of request text: the embedder and the retriever,
/// with a bound on concurrent embedding jobs (one per core: more would only queue on them).
#[derive(Clone)]
pub struct Searcher {
    embedder: Arc<dyn Embedder>,
    retriever: Arc<dyn Retriever>,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Searcher {
    /// Wires the parts.
    pub fn new(embedder: Arc<dyn Embedder>, retriever: Arc<dyn Retriever>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            embedder,
            retriever,
            slots: Arc::new(tokio::sync::Semaphore::new(cores)),
        }
    }

    /// Embeds request texts (the embeddings endpoint): each passes the prompt boundary and
    /// the vectors are of the redacted text. Work runs in small batches, each holding an
    /// embedding slot, so a caller that goes away stops the rest and many callers queue
    /// instead of piling blocking jobs onto two cores.
    pub async fn embed_texts(
        &self,
        redactor: &Redactor,
        inputs: &[String],
    ) -> Result<Embedded, AnswerError> {
        let mut screen = Screen::new(redactor);
        let texts = inputs
            .iter()
            .map(|t| screen.text(t, Boundary::Prompt))
            .collect::<Result<Vec<_>, _>>()?;
        let tokens = texts.iter().map(|t| sluice_ports::estimate_tokens(t)).sum();
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(EMBED_BATCH) {
            vectors.extend(self.embed_batch(batch.to_vec()).await?);
        }
        Ok(Embedded {
            vectors,
            tokens,
            findings: screen.into_findings(),
        })
    }

    /// One blocking embedding job, holding a slot until it ends (even if its caller left).
    pub(crate) async fn embed_batch(
        &self,
        texts: Vec<String>,
    ) -> Result<Vec<Vec<f32>>, AnswerError> {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AnswerError::Internal(e.to_string()))?;
        let embedder = self.embedder.clone();
        let vectors = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            embedder.embed(&refs)
        })
        .await
        .map_err(|e| AnswerError::Internal(e.to_string()))??;
        Ok(vectors)
    }

    /// Prompt boundary, retrieval, context boundary.
    pub async fn search(
        &self,
        redactor: &Redactor,
        req: SearchRequest,
    ) -> Result<SearchOutcome, AnswerError> {
        let started = Instant::now();
        let mut screen = Screen::new(redactor);
        let query = screen.text(&req.query, Boundary::Prompt)?;
        let (hits, _) = self
            .retrieve(&query, req.collections, req.k, req.mode, req.score_floor)
            .await?;
        let hits = screen_hits(&mut screen, hits, req.mode)?;
        Ok(SearchOutcome {
            query,
            hits,
            findings: screen.into_findings(),
            took_ms: started.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// Embedding and search for an already screened query.
    pub(crate) async fn retrieve(
        &self,
        screened_query: &str,
        collections: Vec<CollectionName>,
        k: usize,
        mode: SearchMode,
        score_floor: Option<f32>,
    ) -> Result<(Vec<Hit>, Vec<f32>), AnswerError> {
        if collections.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let vector = self
            .embed_batch(vec![screened_query.to_owned()])
            .await?
            .pop()
            .ok_or_else(|| AnswerError::Internal("embedder returned no vector".into()))?;
        let query = Query::new(screened_query.to_owned(), vector.clone(), collections)
            .with_k(k.clamp(1, 50))
            .with_mode(mode)
            .with_score_floor(score_floor);
        Ok((self.retriever.search(&query).await?, vector))
    }
}

/// The context boundary over every text-carrying field of each hit.
pub(crate) fn screen_hits(
    screen: &mut Screen<'_>,
    hits: Vec<Hit>,
    mode: SearchMode,
) -> Result<Vec<SearchHit>, AnswerError> {
    hits.into_iter()
        .enumerate()
        .map(|(rank, h)| {
            let score = match mode {
                SearchMode::Fts => 1.0 / (RANK_K + rank as f32 + 1.0),
                SearchMode::Vector | SearchMode::Hybrid => h.score,
            };
            Ok(SearchHit {
                source_path: screen.text(&h.source_path, Boundary::Context)?,
                heading_path: screen.text(&h.heading_path, Boundary::Context)?,
                text: screen.text(&h.text, Boundary::Context)?,
                chunk_id: h.chunk_id,
                doc_id: h.doc_id,
                collection: h.collection,
                span: h.span,
                score,
                similarity: h.similarity,
            })
        })
        .collect()
}
