//! Sluice's own endpoints for answers, retrieval and redaction: `POST /v1/ask`,
//! `POST /v1/search`, `POST /v1/redact`, and the collection endpoints (list, upload,
//! delete). Every path that moves text runs its boundary: prompt on questions and queries,
//! context on retrieved chunks, response on answers, ingest on documents.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sluice_index::{Query, SearchMode};
use sluice_ingest::Format;
use sluice_policy::Boundary;
use sluice_rag::{AnswerSummary, AskRequest, FileOutcome, IngestOptions, Ingestor};

use crate::answer_stream::{Encoder, sse_response};
use crate::config::Role;
use crate::error::ApiError;
use crate::openai::findings_json;
use crate::request::{ApiJson, AsReader, Caller, WithRole, body_error};
use crate::state::AppState;

fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code,
        message: message.into(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct AskBody {
    question: String,
    #[serde(default)]
    collections: Option<Vec<String>>,
    #[serde(default)]
    k: Option<usize>,
    #[serde(default)]
    max_tokens: Option<usize>,
    #[serde(default)]
    mode: Option<SearchMode>,
    #[serde(default)]
    stream: bool,
}

/// `POST /v1/ask`: answer, citations, findings per boundary, usage, timings (or SSE).
pub(crate) async fn ask(
    State(state): State<AppState>,
    WithRole(caller): AsReader,
    ApiJson(body): ApiJson<AskBody>,
) -> Result<Response, ApiError> {
    let collections = caller.collections(body.collections.as_deref()).await?;
    if body.k.is_some_and(|k| !(1..=50).contains(&k)) {
        return Err(bad("invalid_request", "k must be between 1 and 50"));
    }
    let max_tokens = body
        .max_tokens
        .unwrap_or(state.inner.config.answer.max_tokens);
    if !(1..=4096).contains(&max_tokens) {
        return Err(bad(
            "invalid_request",
            "max_tokens must be between 1 and 4096",
        ));
    }
    let mut req = AskRequest::question(body.question, collections);
    req.k = body.k;
    req.mode = body.mode;
    req.params = Some(sluice_llm::GenerationParams {
        max_tokens,
        ..sluice_llm::GenerationParams::default()
    });
    let ctx = caller.ctx.clone();
    let answerer = &state.inner.answerer;
    let prepared = crate::answer_stream::prepare(answerer, &ctx, req).await?;
    if body.stream {
        let stream = answerer.stream(ctx.redactor(), &prepared);
        let enc = AskEvents {
            prepared: prepared.clone(),
            request_id: ctx.id.to_string(),
        };
        return Ok(sse_response(ctx, stream, enc));
    }
    let (text, summary) = crate::answer_stream::complete(answerer, &ctx, &prepared).await?;
    Ok(Json(ask_json(&prepared, &summary, &text, ctx.id.as_str())).into_response())
}

fn ask_json(
    prepared: &sluice_rag::Prepared,
    summary: &AnswerSummary,
    text: &str,
    request_id: &str,
) -> Value {
    let mut citations = prepared.citations.clone();
    sluice_rag::answer::mark_cited(&mut citations, text);
    json!({
        "answer": text,
        "citations": citations,
        "findings": findings_json(prepared, Some(summary)),
        "model_called": summary.model_called,
        "finish_reason": summary.finish_reason,
        "usage": {
            "prompt_tokens": summary.prompt_tokens,
            "completion_tokens": summary.completion_tokens,
        },
        "timings_ms": summary.timings,
        "policy_version": prepared.policy_version,
        "request_id": request_id,
    })
}

/// `/v1/ask` events: `{"type":"sources",...}`, `{"type":"delta","text":...}`,
/// `{"type":"done",...}` (the whole answer object), then the stream ends.
struct AskEvents {
    prepared: sluice_rag::Prepared,
    request_id: String,
}

impl Encoder for AskEvents {
    fn start(&mut self) -> Vec<Event> {
        let v = json!({
            "type": "sources",
            "citations": self.prepared.citations,
            "request_id": self.request_id,
        });
        vec![Event::default().data(v.to_string())]
    }

    fn delta(&mut self, text: &str) -> Event {
        Event::default().data(json!({"type": "delta", "text": text}).to_string())
    }

    fn done(&mut self, summary: &AnswerSummary, text: &str) -> Vec<Event> {
        let mut v = ask_json(&self.prepared, summary, text, &self.request_id);
        v["type"] = json!("done");
        vec![Event::default().data(v.to_string())]
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SearchBody {
    query: String,
    #[serde(default)]
    collections: Option<Vec<String>>,
    #[serde(default)]
    k: Option<usize>,
    #[serde(default)]
    mode: Option<SearchMode>,
}

#[derive(Debug, Serialize)]
struct SearchHit {
    chunk_id: String,
    doc_id: String,
    collection: String,
    source_path: String,
    span: std::ops::Range<u64>,
    heading_path: String,
    text: String,
    score: f32,
    similarity: Option<f32>,
}

/// `POST /v1/search`: hits with their text through the context boundary.
pub(crate) async fn search(
    State(state): State<AppState>,
    WithRole(caller): AsReader,
    ApiJson(body): ApiJson<SearchBody>,
) -> Result<Response, ApiError> {
    let collections = caller.collections(body.collections.as_deref()).await?;
    let k = body.k.unwrap_or(sluice_index::DEFAULT_K);
    if !(1..=50).contains(&k) {
        return Err(bad("invalid_request", "k must be between 1 and 50"));
    }
    if body.query.trim().is_empty() {
        return Err(bad("invalid_request", "query is empty"));
    }
    if body.query.len() > 16 * 1024 {
        return Err(bad("invalid_request", "query is over 16 KiB"));
    }
    let ctx = caller.ctx.clone();
    let redactor = ctx.redactor();
    let q = redactor.redact(&body.query, Boundary::Prompt);
    ctx.add_findings(&q.findings);
    if let Some(b) = q.blocked {
        return Err(ApiError::Blocked {
            boundary: "prompt",
            rule: b.rule,
            entity: b.entity,
        });
    }
    let hits = if collections.is_empty() {
        Vec::new()
    } else {
        let embedder = state.inner.embedder.clone();
        let text = q.text.clone();
        let vector = tokio::task::spawn_blocking(move || embedder.embed(&[text.as_str()]))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??
            .pop()
            .ok_or_else(|| ApiError::Internal("embedder returned no vector".into()))?;
        let query = Query::new(q.text.clone(), vector, collections)
            .with_k(k)
            .with_mode(body.mode.unwrap_or_default());
        state.inner.retriever.search(&query).await?
    };
    let mut prompt = sluice_rag::FindingCounts::new();
    for f in &q.findings {
        *prompt.entry(f.entity.to_string()).or_insert(0) += 1;
    }
    let mut context = sluice_rag::FindingCounts::new();
    let mut out = Vec::with_capacity(hits.len());
    for h in hits {
        let r = redactor.redact(&h.text, Boundary::Context);
        ctx.add_findings(&r.findings);
        if let Some(b) = r.blocked {
            return Err(ApiError::Blocked {
                boundary: "context",
                rule: b.rule,
                entity: b.entity,
            });
        }
        for f in &r.findings {
            *context.entry(f.entity.to_string()).or_insert(0) += 1;
        }
        ctx.add_sources([(h.chunk_id.as_str(), h.doc_id.as_str())]);
        out.push(SearchHit {
            chunk_id: h.chunk_id,
            doc_id: h.doc_id,
            collection: h.collection,
            source_path: h.source_path,
            span: h.span,
            heading_path: h.heading_path,
            text: r.text,
            score: h.score,
            similarity: h.similarity,
        });
    }
    Ok(Json(json!({
        "hits": out,
        "findings": {"prompt": prompt, "context": context},
        "policy_version": redactor.policy().version(),
        "request_id": ctx.id.as_str(),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct RedactBody {
    text: String,
    #[serde(default)]
    boundary: Option<String>,
}

/// `POST /v1/redact`: redacted text and findings (entity, rule, action, span; no values).
pub(crate) async fn redact(
    WithRole(caller): AsReader,
    ApiJson(body): ApiJson<RedactBody>,
) -> Result<Response, ApiError> {
    let boundary: Boundary = match body.boundary.as_deref() {
        None => Boundary::Prompt,
        Some(b) => b.parse().map_err(|_| {
            bad(
                "invalid_request",
                "boundary must be ingest, prompt, context or response",
            )
        })?,
    };
    let ctx = caller.ctx.clone();
    let r = ctx.redactor().redact(&body.text, boundary);
    ctx.add_findings(&r.findings);
    if let Some(b) = r.blocked {
        return Err(ApiError::Blocked {
            boundary: boundary.as_str(),
            rule: b.rule,
            entity: b.entity,
        });
    }
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            json!({
                "entity": &*f.entity,
                "rule": &*f.rule,
                "action": f.action.name(),
                "start": f.start,
                "end": f.end,
            })
        })
        .collect();
    Ok(Json(json!({
        "text": r.text,
        "findings": findings,
        "boundary": boundary.as_str(),
        "policy_version": ctx.redactor().policy().version(),
        "request_id": ctx.id.as_str(),
    }))
    .into_response())
}

/// `GET /v1/collections`: the granted collections with document and chunk counts.
pub(crate) async fn list_collections(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require_any(&[Role::Reader, Role::Ingester])?;
    let all = state.inner.store.list_collections().await?;
    let visible: Vec<_> = all
        .into_iter()
        .filter(|c| caller.principal.grants.allows(&c.name))
        .collect();
    let names: Vec<String> = visible.iter().map(|c| c.name.clone()).collect();
    caller.ctx.set_collections(&[], &names);
    Ok(Json(json!({"collections": visible})).into_response())
}

#[derive(Debug, Deserialize)]
struct UploadJson {
    source_path: String,
    text: String,
    #[serde(default)]
    format: Option<String>,
}

fn format_of(explicit: Option<&str>, source_path: &str) -> Result<Format, ApiError> {
    let name = match explicit {
        Some(f) => f.to_owned(),
        None => std::path::Path::new(source_path)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_owned(),
    };
    Format::from_extension(&name).map_err(|_| ApiError::Unprocessable {
        code: "unsupported_document",
        message: "unsupported document type (supported: md, markdown, txt, text, html, htm, \
                  pdf, docx); name the file with its extension or set `format`"
            .into(),
    })
}

/// `POST /v1/collections/{c}/documents`: multipart (`file`, optional `source_path` and
/// `format` fields) or JSON `{source_path, text, format?}`; through the ingest boundary.
pub(crate) async fn upload_document(
    State(state): State<AppState>,
    caller: Caller,
    Path(collection): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require(Role::Ingester)?;
    caller
        .collections(Some(std::slice::from_ref(&collection)))
        .await?;
    let limit = state.inner.config.limits.body_bytes;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (source_path, bytes, format) = if ct.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, &state)
            .await
            .map_err(|r| body_error(r.status(), limit))?;
        let mut file: Option<(Option<String>, Vec<u8>)> = None;
        let mut path: Option<String> = None;
        let mut format: Option<String> = None;
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|e| body_error(e.status(), limit))?
        {
            match field.name().unwrap_or("") {
                "file" => {
                    let name = field.file_name().map(str::to_owned);
                    let data = field
                        .bytes()
                        .await
                        .map_err(|e| body_error(e.status(), limit))?;
                    file = Some((name, data.to_vec()));
                }
                "source_path" => {
                    path = Some(
                        field
                            .text()
                            .await
                            .map_err(|e| body_error(e.status(), limit))?,
                    )
                }
                "format" => {
                    format = Some(
                        field
                            .text()
                            .await
                            .map_err(|e| body_error(e.status(), limit))?,
                    )
                }
                _ => {}
            }
        }
        let (name, data) =
            file.ok_or_else(|| bad("invalid_request", "multipart field `file` is missing"))?;
        let source_path = path.or(name).ok_or_else(|| {
            bad(
                "invalid_request",
                "give the file a name or a `source_path` field",
            )
        })?;
        let fmt = format_of(format.as_deref(), &source_path)?;
        (source_path, data, fmt)
    } else {
        let ApiJson(body) = ApiJson::<UploadJson>::from_request(req, &state).await?;
        let fmt = format_of(body.format.as_deref(), &body.source_path)?;
        (body.source_path, body.text.into_bytes(), fmt)
    };
    if source_path.trim().is_empty() || source_path.len() > 1024 || source_path.contains('\0') {
        return Err(bad("invalid_request", "source_path must be 1-1024 bytes"));
    }
    let ctx = caller.ctx.clone();
    let redactor = ctx.redactor().clone();

    // The source path is stored and shown in citations: it passes the ingest boundary too.
    let sp = redactor.redact(&source_path, Boundary::Ingest);
    ctx.add_findings(&sp.findings);
    if let Some(b) = sp.blocked {
        return Err(ApiError::Blocked {
            boundary: "ingest",
            rule: b.rule,
            entity: b.entity,
        });
    }
    let source_path = sp.text;

    // The audit record wants the findings with keyed hashes; the ingestor reports counts.
    // Scanning the extracted text here also refuses a blocked document before any
    // embedding work.
    let scan_bytes = bytes.clone();
    let scan_redactor = redactor.clone();
    let scan = tokio::task::spawn_blocking(move || {
        sluice_ingest::extract(&scan_bytes, format)
            .map(|doc| scan_redactor.redact(&doc.text, Boundary::Ingest))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::from(sluice_rag::IngestError::Extract(e)))?;
    ctx.add_findings(&scan.findings);
    if let Some(b) = scan.blocked {
        return Err(ApiError::Blocked {
            boundary: "ingest",
            rule: b.rule,
            entity: b.entity,
        });
    }

    let ingestor = Ingestor::new(
        redactor,
        state.inner.embedder.clone(),
        state.inner.store.clone(),
        IngestOptions {
            max_file_bytes: limit,
            ..IngestOptions::default()
        },
    );
    let report = ingestor
        .ingest_bytes(&collection, &source_path, bytes, format)
        .await;
    let outcome = report.outcome.map_err(ApiError::from)?;
    ctx.add_doc(&report.doc_id);
    let status = match outcome {
        FileOutcome::Added => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    Ok((
        status,
        Json(json!({
            "collection": collection,
            "doc_id": report.doc_id,
            "source_path": report.source_path,
            "outcome": outcome,
            "chunks": report.chunks,
            "bytes": report.bytes,
            "findings": {"ingest": report.findings},
            "policy_version": ctx.redactor().policy().version(),
            "request_id": ctx.id.as_str(),
        })),
    )
        .into_response())
}

/// `DELETE /v1/collections/{c}/documents/{doc}`: `{doc}` is the document's source path
/// (URL-encoded) or, for keys granted every collection, its id.
pub(crate) async fn delete_document(
    State(state): State<AppState>,
    caller: Caller,
    Path((collection, doc)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(Role::Ingester)?;
    caller
        .collections(Some(std::slice::from_ref(&collection)))
        .await?;
    let ctx = caller.ctx.clone();
    let store = Arc::clone(&state.inner.store);
    // A doc id is a hash of (collection, source path): computing it from the path proves
    // the document is in this collection.
    let by_path = sluice_rag::doc_id(&collection, &doc);
    let by_id = || {
        let id = doc.to_ascii_lowercase();
        (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(id)
    };
    let id = if store.stored(&by_path).await?.is_some() {
        by_path
    } else if let Some(id) = by_id()
        && store
            .stored(&id)
            .await?
            .is_some_and(|d| d.collection == collection)
    {
        // By id only inside the collection in the path, which the grant check above covers.
        id
    } else {
        return Err(ApiError::NotFound(
            "no such document in this collection (give its source path)".into(),
        ));
    };
    let removed = store.delete_document(&id).await?;
    if removed == 0 {
        return Err(ApiError::NotFound(
            "no such document in this collection".into(),
        ));
    }
    ctx.add_doc(&id);
    Ok(Json(json!({
        "collection": collection,
        "doc_id": id,
        "chunks_removed": removed,
        "request_id": ctx.id.as_str(),
    }))
    .into_response())
}
