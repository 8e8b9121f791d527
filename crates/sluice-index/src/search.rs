//! Retrieval: a vector leg and a BM25 leg, both prefiltered on the granted collections
//! inside LanceDB, fused here with reciprocal rank fusion.
//!
//! Why not LanceDB's `execute_hybrid`: it rescales `_distance` and `_score` to 0..1 within
//! each result set before the reranker sees them, so the raw cosine similarity — which
//! the score floor needs, and which callers want as a component score — is lost. Running
//! the two legs ourselves (concurrently) costs the same and keeps both raw scores; the RRF
//! formula is LanceDB's `RRFReranker` one.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use futures::TryStreamExt;
use lancedb::index::scalar::FullTextSearchQuery;
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::{DistanceType, Table};

use crate::index::{ChunkIndex, lance_err, sql_in};
use crate::schema::{self, Columns, HIT_COLUMNS, col};
use crate::{CollectionName, Hit, Query, RRF_K, SearchMode, cosine};
use crate::{IndexError, Result};

/// Candidates fetched per leg: enough for RRF to reorder the top `k`.
fn candidates(k: usize) -> usize {
    k.saturating_mul(4).max(20)
}

/// One row of a leg's result.
struct Row {
    hit: Hit,
    vector: Vec<f32>,
    /// BM25 (`_score`) for the text leg, cosine similarity for the vector leg.
    leg_score: f32,
}

pub(crate) async fn search(index: &ChunkIndex, q: &Query) -> Result<Vec<Hit>> {
    if q.k == 0 || q.collections.is_empty() {
        return Ok(Vec::new());
    }
    let dim = index.config().dim;
    if let Some(v) = &q.vector {
        schema::check_vector(v, dim, || "query".to_owned())?;
    }
    let text = q.text.trim();
    let mode = q.mode.as_str();
    match q.mode {
        SearchMode::Vector | SearchMode::Hybrid if q.vector.is_none() => {
            return Err(IndexError::MissingQueryPart {
                mode,
                missing: "vector",
            });
        }
        SearchMode::Fts if text.is_empty() => {
            return Err(IndexError::MissingQueryPart {
                mode,
                missing: "text",
            });
        }
        _ => {}
    }
    let Some(table) = index.table().await? else {
        return Ok(Vec::new());
    };

    // The caller's grants, applied by LanceDB before ranking in both legs (prefilter is
    // the default of `only_if`; `postfilter()` is never called).
    // Typed names (`CollectionName`: `A-Z a-z 0-9 . _ -` only) are what make this filter
    // safe to build from the caller's grants.
    let colls: Vec<&str> = q.collections.iter().map(CollectionName::as_str).collect();
    let filter = sql_in(col::COLLECTION, &colls);
    let n = candidates(q.k);
    let floor = q.score_floor.filter(|_| q.vector.is_some());

    let vector_limit = match q.mode {
        SearchMode::Vector | SearchMode::Hybrid => Some(n),
        // Full-text mode runs a top-1 vector probe only to apply the floor's gate.
        SearchMode::Fts => floor.map(|_| 1),
    };
    let run_fts = q.mode != SearchMode::Vector && !text.is_empty();
    let uri = index.uri();

    let vector_leg = async {
        match (vector_limit, &q.vector) {
            (Some(limit), Some(v)) => {
                let ef = index.config().ann_ef.max(limit);
                vector_leg(&table, uri, v, &filter, limit, ef).await
            }
            _ => Ok(Vec::new()),
        }
    };
    let fts_leg = async {
        if run_fts {
            fts_leg(&table, uri, text, &filter, n).await
        } else {
            Ok(Vec::new())
        }
    };
    let (mut vrows, frows) = futures::try_join!(vector_leg, fts_leg)?;

    let qv = q.vector.as_deref();
    let sim = |v: &[f32]| qv.map(|q| cosine(q, v));
    // Rank the vector leg by exact cosine (an ANN index orders by quantised distances).
    for row in &mut vrows {
        row.leg_score = sim(&row.vector).unwrap_or(0.0);
    }
    vrows.sort_by(|a, b| b.leg_score.total_cmp(&a.leg_score));

    // Gate: the question must be close to *something* the caller may read.
    if let Some(floor) = floor {
        let best = vrows.first().map_or(f32::NEG_INFINITY, |r| r.leg_score);
        if best < floor {
            return Ok(Vec::new());
        }
    }

    let mut order: Vec<String> = Vec::new();
    let mut cands: HashMap<String, Hit> = HashMap::new();
    if q.mode != SearchMode::Fts {
        for (i, row) in vrows.into_iter().enumerate() {
            let mut hit = row.hit;
            hit.similarity = Some(row.leg_score);
            hit.vector_rank = Some(i + 1);
            order.push(hit.chunk_id.clone());
            cands.insert(hit.chunk_id.clone(), hit);
        }
    }
    for (i, row) in frows.into_iter().enumerate() {
        let Row {
            hit,
            vector,
            leg_score,
        } = row;
        let entry = cands.entry(hit.chunk_id.clone()).or_insert_with(|| {
            order.push(hit.chunk_id.clone());
            Hit {
                similarity: sim(&vector),
                ..hit
            }
        });
        entry.bm25 = Some(leg_score);
        entry.fts_rank = Some(i + 1);
    }

    let mut hits: Vec<Hit> = order
        .into_iter()
        .filter_map(|id| cands.remove(&id))
        .filter(|h| match floor {
            Some(f) => h.bm25.is_some() || h.similarity.is_some_and(|s| s >= f),
            None => true,
        })
        .map(|mut h| {
            h.score = match q.mode {
                SearchMode::Vector => h.similarity.unwrap_or(0.0),
                SearchMode::Fts => h.bm25.unwrap_or(0.0),
                SearchMode::Hybrid => rrf(h.vector_rank) + rrf(h.fts_rank),
            };
            h
        })
        .collect();
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| best_rank(a).cmp(&best_rank(b)))
            .then_with(|| a.chunk_id.cmp(&b.chunk_id))
    });
    hits.truncate(q.k);
    Ok(hits)
}

fn rrf(rank: Option<usize>) -> f32 {
    rank.map_or(0.0, |r| 1.0 / (RRF_K + r as f32))
}

fn best_rank(h: &Hit) -> usize {
    h.vector_rank
        .unwrap_or(usize::MAX)
        .min(h.fts_rank.unwrap_or(usize::MAX))
}

async fn vector_leg(
    table: &Table,
    uri: &str,
    v: &[f32],
    filter: &str,
    limit: usize,
    ef: usize,
) -> Result<Vec<Row>> {
    let err = |e| lance_err(uri, "vector search", e);
    let batches: Vec<RecordBatch> = table
        .query()
        .nearest_to(v)
        .map_err(err)?
        .column(col::VECTOR)
        .distance_type(DistanceType::Cosine)
        .ef(ef) // HNSW only; ignored by an exact scan
        .only_if(filter)
        .limit(limit)
        .select(Select::columns(HIT_COLUMNS))
        .execute()
        .await
        .map_err(err)?
        .try_collect()
        .await
        .map_err(err)?;
    rows(&batches, uri, None)
}

async fn fts_leg(
    table: &Table,
    uri: &str,
    text: &str,
    filter: &str,
    limit: usize,
) -> Result<Vec<Row>> {
    // Text and heading path together; a table written before headings were indexed has
    // no index on `heading_path` (the next write adds one), so it is searched on text alone.
    match fts_query(
        table,
        uri,
        text,
        filter,
        limit,
        &[col::TEXT, col::HEADING_PATH],
    )
    .await
    {
        Ok(rows) => Ok(rows),
        Err(_) => fts_query(table, uri, text, filter, limit, &[col::TEXT]).await,
    }
}

async fn fts_query(
    table: &Table,
    uri: &str,
    text: &str,
    filter: &str,
    limit: usize,
    columns: &[&str],
) -> Result<Vec<Row>> {
    let err = |e| lance_err(uri, "full-text search", e);
    let columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    let fts = FullTextSearchQuery::new(text.to_owned())
        .with_columns(&columns)
        .map_err(|e| IndexError::InvalidInput(format!("full-text query: {e}")))?;
    let batches: Vec<RecordBatch> = table
        .query()
        .full_text_search(fts)
        .only_if(filter)
        .limit(limit)
        .select(Select::columns(HIT_COLUMNS))
        .execute()
        .await
        .map_err(err)?
        .try_collect()
        .await
        .map_err(err)?;
    rows(&batches, uri, Some("_score"))
}

fn rows(batches: &[RecordBatch], uri: &str, score: Option<&'static str>) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for batch in batches {
        let c = Columns::new(batch, uri);
        let ids = c.str(col::CHUNK_ID)?;
        let docs = c.str(col::DOC_ID)?;
        let colls = c.str(col::COLLECTION)?;
        let paths = c.str(col::SOURCE_PATH)?;
        let starts = c.u64(col::SPAN_START)?;
        let ends = c.u64(col::SPAN_END)?;
        let heads = c.str(col::HEADING_PATH)?;
        let texts = c.str(col::TEXT)?;
        let scores = match score {
            Some(name) => Some(c.f32(name)?),
            None => None,
        };
        for i in 0..batch.num_rows() {
            out.push(Row {
                hit: Hit {
                    chunk_id: ids.value(i).to_owned(),
                    doc_id: docs.value(i).to_owned(),
                    collection: colls.value(i).to_owned(),
                    source_path: paths.value(i).to_owned(),
                    span: starts.value(i)..ends.value(i),
                    heading_path: heads.value(i).to_owned(),
                    text: texts.value(i).to_owned(),
                    score: 0.0,
                    similarity: None,
                    bm25: None,
                    vector_rank: None,
                    fts_rank: None,
                },
                vector: c.vector(i)?,
                leg_score: scores.map_or(0.0, |s| s.value(i)),
            });
        }
    }
    if score.is_some() {
        // Rank by BM25 whatever the batch order.
        out.sort_by(|a, b| b.leg_score.total_cmp(&a.leg_score));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cosine_of_nothing_is_zero() {
        assert_eq!(super::cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert!((super::cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
    }
}
