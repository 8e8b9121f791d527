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
use serde::Deserialize;
use serde_json::{Value, json};
use sluice_index::{CollectionName, SearchMode};
use sluice_ingest::Format;
use sluice_policy::Boundary;
use sluice_rag::{
    AnswerSummary, AnswerView, AskRequest, FileOutcome, FindingView, IngestOptions, Ingestor,
    SearchRequest, SearchView,
};

use crate::answer_sse::{Encoder, sse_response};
use crate::config::Role;
use crate::error::ApiError;
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
    #[serde(default)]
    answer_mode: Option<sluice_rag::AnswerMode>,
}

/// `POST /v1/ask`: answer, citations, findings per boundary, usage, timings (or SSE).
pub(crate) async fn ask(
    State(state): State<AppState>,
    WithRole(caller, _): AsReader,
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
    req.answer_mode = body.answer_mode;
    req.params = Some(sluice_llm::GenerationParams {
        max_tokens,
        ..sluice_llm::GenerationParams::default()
    });
    let ctx = caller.ctx.clone();
    let answerer = &state.inner.answerer;
    let prepared = crate::answer_sse::prepare(answerer, &ctx, req).await?;
    if body.stream {
        let stream = answerer.stream(ctx.redactor(), &prepared);
        let enc = AskEvents {
            prepared: prepared.clone(),
            request_id: ctx.id.to_string(),
        };
        return Ok(sse_response(ctx, stream, enc));
    }
    let (text, summary) = crate::answer_sse::complete(answerer, &ctx, &prepared).await?;
    Ok(Json(ask_json(&prepared, &summary, &text, ctx.id.as_str())).into_response())
}

fn ask_json(
    prepared: &sluice_rag::Prepared,
    summary: &AnswerSummary,
    text: &str,
    request_id: &str,
) -> Value {
    serde_json::to_value(AnswerView::new(prepared, summary, text).with_request_id(request_id))
        .unwrap_or(Value::Null)
}

/// `/v1/ask` events: `{"type":"sources",...}`, `{"type":"delta","text":...}`,
/// `{"type":"done",...}` (the whole answer object), then the stream ends.
struct AskEvents {
    prepared: sluice_rag::Prepared,
    request_id: String,
}

impl Encoder for AskEvents {
    fn start(&mut self) -> Vec<Event> {
        // Passages first: a cited answer within the retrieval time, before any token.
        let passages = json!({
            "type": "passages",
            "passages": self.prepared.passages,
            "request_id": self.request_id,
        });
        let sources = json!({
            "type": "sources",
            "citations": self.prepared.citations,
            "request_id": self.request_id,
        });
        vec![
            Event::default().data(passages.to_string()),
            Event::default().data(sources.to_string()),
        ]
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

/// `POST /v1/search`: hits with every text field through the context boundary.
pub(crate) async fn search(
    State(state): State<AppState>,
    WithRole(caller, _): AsReader,
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
    let req = SearchRequest {
        query: body.query,
        collections,
        k,
        mode: body.mode.unwrap_or_default(),
        score_floor: state.inner.answerer.settings().score_floor,
    };
    let out = state
        .inner
        .answerer
        .search(ctx.redactor(), req)
        .await
        .inspect_err(|e| ctx.add_refusal(e))?;
    ctx.add_findings(&out.findings);
    ctx.add_sources(
        out.hits
            .iter()
            .map(|h| (h.chunk_id.as_str(), h.doc_id.as_str())),
    );
    let view =
        SearchView::new(out, ctx.redactor().policy().version()).with_request_id(ctx.id.as_str());
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct RedactBody {
    text: String,
    #[serde(default)]
    boundary: Option<String>,
}

/// `POST /v1/redact`: redacted text and findings (entity, rule, action, span; no values).
pub(crate) async fn redact(
    WithRole(caller, _): AsReader,
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
    // A dry run under a key of this request alone: with the gateway's key, a reader could
    // run guesses through here and compare the tokens with `<PERSON_…>` in search hits (a
    // dictionary oracle). Tokens shown here are well-formed but match nothing stored.
    let dry_run = sluice_policy::Redactor::new(
        ctx.redactor().policy().clone(),
        sluice_policy::PseudonymKey::new(rand::random::<[u8; 32]>().to_vec()),
    );
    let r = dry_run.redact(&body.text, boundary);
    ctx.add_findings(&r.findings);
    if let Some(b) = r.blocked {
        return Err(ApiError::Blocked {
            boundary: boundary.as_str(),
            rule: b.rule,
            entity: b.entity,
        });
    }
    let findings: Vec<FindingView> = r.findings.iter().map(FindingView::from).collect();
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
    let names: Vec<CollectionName> = visible
        .iter()
        .filter_map(|c| CollectionName::new(c.name.as_str()).ok())
        .collect();
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
    let collection = caller
        .collections(Some(std::slice::from_ref(&collection)))
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal("a granted collection came back empty".into()))?;
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
    // One pass: the ingestor puts the path and the text through the ingest boundary and
    // reports every finding (also those of a document the policy blocks).
    let ingestor = Ingestor::new(
        ctx.redactor().clone(),
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
    ctx.add_findings(&report.details);
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
