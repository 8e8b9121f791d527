//! The OpenAI-compatible endpoints: `POST /v1/chat/completions` (with `stream: true` as
//! SSE chunks), `POST /v1/embeddings` and `GET /v1/models`, so existing clients work
//! unchanged. Sluice's additions travel in a `sluice` extension field: collections in the
//! request; citations, findings and the request id in the response (on the last chunk when
//! streaming). A model named `sluice:<collection>` selects that collection.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use sluice_llm::{ChatMessage, GenerationParams, Role as ChatRole};
use sluice_rag::{AnswerSummary, AskRequest, Citation, Prepared};

use crate::answer_sse::{Encoder, sse_response};
use crate::config::Role;
use crate::error::ApiError;
use crate::request::{ApiJson, AsReader, Caller, WithRole};
use crate::state::AppState;

/// The model id that means "all granted collections".
pub const SLUICE_MODEL: &str = "sluice";

#[derive(Debug, Deserialize)]
pub(crate) struct ChatBody {
    #[serde(default)]
    model: Option<String>,
    messages: Vec<InMessage>,
    #[serde(default)]
    stream: bool,
    #[serde(default)]
    max_tokens: Option<usize>,
    #[serde(default)]
    max_completion_tokens: Option<usize>,
    #[serde(default)]
    temperature: Option<f32>,
    #[serde(default)]
    stop: Option<Stop>,
    #[serde(default)]
    n: Option<u32>,
    #[serde(default)]
    sluice: Option<SluiceExt>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SluiceExt {
    #[serde(default)]
    collections: Option<Vec<String>>,
    /// `false`: no retrieval; the conversation goes to the model through the prompt and
    /// response boundaries (Sluice as a plain data-boundary gateway).
    #[serde(default)]
    rag: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct InMessage {
    role: String,
    #[serde(default)]
    content: Option<Content>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_request",
        message: message.into(),
    }
}

fn to_messages(msgs: Vec<InMessage>) -> Result<Vec<ChatMessage>, ApiError> {
    let mut out = Vec::with_capacity(msgs.len());
    for (i, m) in msgs.into_iter().enumerate() {
        let role = match m.role.as_str() {
            "system" | "developer" => ChatRole::System,
            "user" => ChatRole::User,
            "assistant" => ChatRole::Assistant,
            _ => {
                return Err(bad(format!(
                    "messages[{i}].role: only system, developer, user and assistant are supported"
                )));
            }
        };
        let content = match m.content {
            None => String::new(),
            Some(Content::Text(t)) => t,
            Some(Content::Parts(parts)) => {
                let mut s = String::new();
                for (j, p) in parts.into_iter().enumerate() {
                    if p.kind != "text" {
                        return Err(bad(format!(
                            "messages[{i}].content[{j}]: only text parts are supported"
                        )));
                    }
                    if !s.is_empty() {
                        s.push('\n');
                    }
                    s.push_str(p.text.as_deref().unwrap_or(""));
                }
                s
            }
        };
        out.push(ChatMessage { role, content });
    }
    Ok(out)
}

/// Requested collections from the extension field and a `sluice:<collection>` model name.
fn requested_collections(model: Option<&str>, ext: Option<&SluiceExt>) -> Option<Vec<String>> {
    let mut v: Vec<String> = ext.and_then(|e| e.collections.clone()).unwrap_or_default();
    if let Some(c) = model.and_then(|m| m.strip_prefix("sluice:"))
        && !v.iter().any(|x| x == c)
    {
        v.push(c.to_owned());
    }
    (!v.is_empty()).then_some(v)
}

pub(crate) fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Findings per boundary (entity → count), the shape of every `findings` field.
pub(crate) fn findings_json(prepared: &Prepared, summary: Option<&AnswerSummary>) -> Value {
    json!({
        "prompt": prepared.prompt_findings,
        "context": prepared.context_findings,
        "response": summary.map(|s| s.response_findings.clone()).unwrap_or_default(),
    })
}

fn finish_reason(s: &AnswerSummary) -> &'static str {
    match s.finish_reason {
        "length" => "length",
        _ => "stop",
    }
}

fn usage_json(s: &AnswerSummary) -> Value {
    json!({
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": s.completion_tokens,
        "total_tokens": s.prompt_tokens + s.completion_tokens,
    })
}

fn cited(citations: &[Citation], text: &str) -> Vec<Citation> {
    let mut c = citations.to_vec();
    sluice_rag::answer::mark_cited(&mut c, text);
    c
}

/// `POST /v1/chat/completions`.
pub(crate) async fn chat_completions(
    State(state): State<AppState>,
    WithRole(caller, _): AsReader,
    ApiJson(body): ApiJson<ChatBody>,
) -> Result<Response, ApiError> {
    if body.n.is_some_and(|n| n != 1) {
        return Err(bad("n: only 1 choice is supported"));
    }
    let messages = to_messages(body.messages)?;
    let rag = body.sluice.as_ref().and_then(|e| e.rag).unwrap_or(true);
    let collections = if rag {
        let requested = requested_collections(body.model.as_deref(), body.sluice.as_ref());
        caller.collections(requested.as_deref()).await?
    } else {
        Vec::new()
    };
    let defaults = &state.inner.config.answer;
    let params = GenerationParams {
        max_tokens: body
            .max_completion_tokens
            .or(body.max_tokens)
            .unwrap_or(defaults.max_tokens),
        temperature: body.temperature.unwrap_or(0.0),
        stop: match body.stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s],
            Some(Stop::Many(v)) => v,
        },
    };
    // The same bound as /v1/ask: a clear 400 rather than a silent clamp further down.
    if !(1..=4096).contains(&params.max_tokens) {
        return Err(bad("max_tokens must be between 1 and 4096"));
    }
    sluice_llm::ChatRequest {
        messages: vec![ChatMessage::user("x")],
        params: params.clone(),
    }
    .validate()?;
    let req = AskRequest {
        messages,
        collections,
        k: None,
        mode: None,
        params: Some(params),
        rag,
        answer_mode: None,
    };
    let ctx = caller.ctx.clone();
    let answerer = &state.inner.answerer;
    let prepared = crate::answer_sse::prepare(answerer, &ctx, req).await?;
    let model = body.model.unwrap_or_else(|| SLUICE_MODEL.to_owned());
    let id = format!("chatcmpl-{}", ctx.id);
    let created = now_s();

    if body.stream {
        let stream = answerer.stream(ctx.redactor(), &prepared);
        let enc = ChatChunks {
            id,
            created,
            model,
            prepared,
            request_id: ctx.id.to_string(),
        };
        return Ok(sse_response(ctx, stream, enc));
    }

    let (text, summary) = crate::answer_sse::complete(answerer, &ctx, &prepared).await?;
    Ok(Json(json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": finish_reason(&summary),
        }],
        "usage": usage_json(&summary),
        "sluice": {
            "request_id": ctx.id.as_str(),
            "citations": cited(&prepared.citations, &text),
            "passages": prepared.passages,
            "findings": findings_json(&prepared, Some(&summary)),
            "model_called": summary.model_called,
            "policy_version": prepared.policy_version,
        },
    }))
    .into_response())
}

/// OpenAI `chat.completion.chunk` events.
struct ChatChunks {
    id: String,
    created: u64,
    model: String,
    prepared: Prepared,
    request_id: String,
}

impl ChatChunks {
    fn chunk(&self, delta: Value, finish: Value) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    }
}

impl Encoder for ChatChunks {
    fn start(&mut self) -> Vec<Event> {
        let mut c = self.chunk(json!({"role": "assistant", "content": ""}), Value::Null);
        // Cited passages travel in the extension before any token.
        c["sluice"] = json!({
            "request_id": self.request_id,
            "passages": self.prepared.passages,
        });
        vec![Event::default().data(c.to_string())]
    }

    fn delta(&mut self, text: &str) -> Event {
        Event::default().data(
            self.chunk(json!({"content": text}), Value::Null)
                .to_string(),
        )
    }

    fn done(&mut self, summary: &AnswerSummary, text: &str) -> Vec<Event> {
        let mut last = self.chunk(json!({}), json!(finish_reason(summary)));
        last["usage"] = usage_json(summary);
        last["sluice"] = json!({
            "request_id": self.request_id,
            "citations": cited(&self.prepared.citations, text),
            "findings": findings_json(&self.prepared, Some(summary)),
            "model_called": summary.model_called,
            "policy_version": self.prepared.policy_version,
        });
        vec![
            Event::default().data(last.to_string()),
            Event::default().data("[DONE]"),
        ]
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct EmbeddingsBody {
    input: EmbInput,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    encoding_format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum EmbInput {
    One(String),
    Many(Vec<String>),
    Tokens(#[allow(dead_code)] Vec<serde_json::Value>),
}

/// Most inputs in one embeddings request.
const MAX_EMBED_INPUTS: usize = 2048;

/// `POST /v1/embeddings`: every input passes the prompt boundary first (`block` → 403);
/// the vectors are of the redacted text.
pub(crate) async fn embeddings(
    State(state): State<AppState>,
    WithRole(caller, _): AsReader,
    ApiJson(body): ApiJson<EmbeddingsBody>,
) -> Result<Response, ApiError> {
    let inputs = match body.input {
        EmbInput::One(s) => vec![s],
        EmbInput::Many(v) => v,
        EmbInput::Tokens(_) => {
            return Err(bad("input: token arrays are not supported; send text"));
        }
    };
    if inputs.is_empty() || inputs.len() > MAX_EMBED_INPUTS {
        return Err(bad(format!("input: 1 to {MAX_EMBED_INPUTS} texts")));
    }
    let base64 = match body.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => return Err(bad("encoding_format: float or base64")),
    };
    let ctx = caller.ctx.clone();
    let out = state
        .inner
        .answerer
        .searcher()
        .embed_texts(ctx.redactor(), &inputs)
        .await
        .inspect_err(|e| ctx.add_refusal(e))?;
    ctx.add_findings(&out.findings);
    let (vectors, tokens) = (out.vectors, out.tokens);
    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "model": body.model.unwrap_or_else(|| state.inner.embedder.model_id().to_owned()),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
    .into_response())
}

/// `GET /v1/models`: `sluice` (all granted collections), `sluice:<collection>` per granted
/// collection, and the embedding model.
pub(crate) async fn models(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Role::Reader)?;
    let collections = caller.collections(None).await?;
    let model =
        |id: String| json!({"id": id, "object": "model", "created": 0, "owned_by": "sluice"});
    let mut data = vec![model(SLUICE_MODEL.to_owned())];
    data.extend(collections.iter().map(|c| model(format!("sluice:{c}"))));
    data.push(model(state.inner.embedder.model_id().to_owned()));
    Ok(Json(json!({"object": "list", "data": data})).into_response())
}
