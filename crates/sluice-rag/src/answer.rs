//! The guarded answer path.
//!
//! 1. **Prompt boundary**: every user/system turn is checked; `block` refuses with the rule.
//! 2. **Retrieval**: the redacted question is embedded and searched (hybrid by default) with
//!    the caller's collections as a prefilter; nothing above the score floor → a fixed
//!    "nothing found" answer and no model call.
//! 3. **Context boundary**: each retrieved chunk is redacted again (defence in depth: the
//!    ingest policy may have been weaker when it was stored).
//! 4. **Assembly**: numbered, fenced sources; trimmed (lowest rank first) to fit the model's
//!    context window with room for the answer.
//! 5. **Response boundary**: the model's deltas go through the streaming redactor, so a
//!    covered value never leaves even when the model spells it across token boundaries; a
//!    `block` mid-stream ends the stream with an error (fail closed).
//!
//! [`Answerer::prepare`] runs 1–4 and returns what the caller needs to show sources before
//! the answer; [`Answerer::stream`] runs 5; [`Answerer::ask`] does both and collects.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use futures::{Stream, StreamExt};
use serde::Serialize;
use sluice_embed::Embedder;
use sluice_index::{Hit, Query, Retriever, SearchMode};
use sluice_llm::{
    ChatMessage, ChatRequest, FinishReason, GenEvent, GenerationParams, Generator, Role, Usage,
};
use sluice_policy::{Boundary, Finding, Redactor};

use crate::error::AnswerError;
use crate::prompt;

/// What the answer says when no granted document is relevant enough. No model is called.
pub const NO_CONTEXT_ANSWER: &str =
    "I found no relevant documents in the collections you can access, so I cannot answer this.";

/// Entity type → count (never values).
pub type FindingCounts = BTreeMap<String, usize>;

/// One redaction at the prompt or context boundary: refuses on a `block` (carrying every
/// finding so far, for the audit record), else tallies its findings and returns the text.
fn screen(
    r: sluice_policy::Redaction,
    boundary: &'static str,
    counts: &mut FindingCounts,
    rules: &mut Vec<String>,
    details: &mut Vec<Finding>,
) -> Result<String, AnswerError> {
    if let Some(b) = r.blocked {
        details.extend(r.findings);
        return Err(AnswerError::Blocked {
            boundary,
            rule: b.rule,
            entity: b.entity,
            findings: std::mem::take(details),
        });
    }
    count(&r.findings, counts);
    rules.extend(r.findings.iter().map(|f| f.rule.to_string()));
    details.extend(r.findings);
    Ok(r.text)
}

fn count(findings: &[Finding], into: &mut FindingCounts) {
    for f in findings {
        *into.entry(f.entity.to_string()).or_insert(0) += 1;
    }
}

/// Knobs of the answer path.
#[derive(Debug, Clone)]
pub struct AnswerSettings {
    /// Longest accepted question (bytes, after trimming).
    pub max_question_bytes: usize,
    /// Sources retrieved.
    pub k: usize,
    /// Retrieval mode.
    pub mode: SearchMode,
    /// Cosine floor below which a question is off-topic (`None`: no floor).
    pub score_floor: Option<f32>,
    /// Default generation settings (a request may lower `max_tokens`).
    pub params: GenerationParams,
}

impl Default for AnswerSettings {
    fn default() -> Self {
        Self {
            max_question_bytes: 16 * 1024,
            k: 4,
            mode: SearchMode::Hybrid,
            score_floor: Some(sluice_index::DEFAULT_SCORE_FLOOR),
            params: GenerationParams {
                max_tokens: 256,
                temperature: 0.0,
                stop: Vec::new(),
            },
        }
    }
}

/// A question (or a chat) to answer.
#[derive(Debug, Clone)]
pub struct AskRequest {
    /// The conversation; the last user message is the question retrieval runs on.
    pub messages: Vec<ChatMessage>,
    /// Collections the caller may read (their grants). Empty → nothing is retrieved.
    pub collections: Vec<String>,
    /// Overrides [`AnswerSettings::k`].
    pub k: Option<usize>,
    /// Overrides [`AnswerSettings::mode`].
    pub mode: Option<SearchMode>,
    /// Overrides the default generation settings.
    pub params: Option<GenerationParams>,
    /// `true` (the default): answer from retrieved sources. `false`: the data-boundary
    /// gateway without RAG — nothing is retrieved, the conversation (client system prompts
    /// included) goes to the model through the prompt boundary, and the answer comes back
    /// through the response boundary.
    pub rag: bool,
}

impl AskRequest {
    /// A single question over `collections`.
    pub fn question(q: impl Into<String>, collections: Vec<String>) -> Self {
        Self {
            messages: vec![ChatMessage::user(q)],
            collections,
            k: None,
            mode: None,
            params: None,
            rag: true,
        }
    }
}

/// A numbered source of the answer.
#[derive(Debug, Clone, Serialize)]
pub struct Citation {
    /// Its number in the prompt (`[n]` in the answer).
    pub n: usize,
    /// Chunk id (`<doc_id>:<i>`).
    pub chunk_id: String,
    /// Document id.
    pub doc_id: String,
    /// Collection.
    pub collection: String,
    /// Source path.
    pub source_path: String,
    /// Byte span in the source.
    pub span: Range<u64>,
    /// Heading path.
    pub heading_path: String,
    /// Retrieval score.
    pub score: f32,
    /// Whether the answer cites it (`[n]` appears in the final text).
    pub cited: bool,
}

/// Time spent per stage, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Prompt boundary + embedding + search + context boundary.
    pub retrieval_ms: f64,
    /// From the start of [`Answerer::stream`] to the first emitted (redacted) text.
    pub first_token_ms: Option<f64>,
    /// From the start of [`Answerer::prepare`] to the end of the answer.
    pub total_ms: f64,
}

/// Steps 1–4 done: what to send to the model and what to show as sources.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The question after the prompt boundary.
    pub question: String,
    /// The sources, numbered from 1.
    pub citations: Vec<Citation>,
    /// Findings of the prompt boundary.
    pub prompt_findings: FindingCounts,
    /// Findings of the context boundary.
    pub context_findings: FindingCounts,
    /// Rule ids that fired at the prompt and context boundaries (for audit).
    pub rules: Vec<String>,
    /// The prompt and context findings themselves (each knows its boundary), for audit
    /// records that store keyed hashes; values print as `[REDACTED]`.
    pub details: Vec<Finding>,
    /// The messages for the model; empty when nothing relevant was found.
    pub messages: Vec<ChatMessage>,
    /// Generation settings for this request.
    pub params: GenerationParams,
    /// Policy version used (recorded in audit).
    pub policy_version: String,
    /// No-RAG mode ([`AskRequest::rag`] false): the model is called without sources.
    pub direct: bool,
    started: Instant,
    retrieval_ms: f64,
}

impl Prepared {
    /// Whether the model will be called (false: the fixed "nothing found" answer).
    pub fn has_context(&self) -> bool {
        !self.messages.is_empty()
    }
}

/// What the stream of an answer yields.
#[derive(Debug, Clone)]
pub enum AnswerEvent {
    /// Text that passed the response boundary.
    Delta(String),
    /// The end, with totals.
    Done(AnswerSummary),
}

/// Totals of one answer.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerSummary {
    /// Why generation stopped (`stop` for the no-context answer).
    pub finish_reason: &'static str,
    /// Tokens in and out (zeros without a model call).
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
    /// Findings of the response boundary.
    pub response_findings: FindingCounts,
    /// Rule ids that fired at the response boundary.
    pub response_rules: Vec<String>,
    /// The response findings themselves (for keyed hashes in audit records).
    #[serde(skip)]
    pub details: Vec<Finding>,
    /// Whether the model was called.
    pub model_called: bool,
    /// Stage timings.
    pub timings: Timings,
}

/// A complete answer ([`Answerer::ask`]).
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// The answer text (after the response boundary).
    pub text: String,
    /// Numbered sources.
    pub citations: Vec<Citation>,
    /// Findings per boundary.
    pub findings: BTreeMap<&'static str, FindingCounts>,
    /// Totals.
    pub summary: AnswerSummary,
}

/// The answer path, with its three swappable parts.
#[derive(Clone)]
pub struct Answerer {
    embedder: Arc<dyn Embedder>,
    retriever: Arc<dyn Retriever>,
    generator: Arc<dyn Generator>,
    settings: AnswerSettings,
}

impl Answerer {
    /// Wires the parts.
    pub fn new(
        embedder: Arc<dyn Embedder>,
        retriever: Arc<dyn Retriever>,
        generator: Arc<dyn Generator>,
        settings: AnswerSettings,
    ) -> Self {
        Self {
            embedder,
            retriever,
            generator,
            settings,
        }
    }

    /// The generator (for model listings and metrics).
    pub fn generator(&self) -> &Arc<dyn Generator> {
        &self.generator
    }

    /// The settings.
    pub fn settings(&self) -> &AnswerSettings {
        &self.settings
    }

    /// Steps 1–4: prompt boundary, retrieval, context boundary, assembly.
    pub async fn prepare(
        &self,
        redactor: &Redactor,
        req: AskRequest,
    ) -> Result<Prepared, AnswerError> {
        let started = Instant::now();
        let last_user = req
            .messages
            .iter()
            .rposition(|m| m.role == Role::User)
            .ok_or(AnswerError::NoUserMessage)?;
        let raw_q = req.messages[last_user].content.trim();
        if raw_q.is_empty() {
            return Err(AnswerError::EmptyQuestion);
        }
        let total_bytes: usize = req.messages.iter().map(|m| m.content.len()).sum();
        if total_bytes > self.settings.max_question_bytes {
            return Err(AnswerError::QuestionTooLong {
                len: total_bytes,
                max: self.settings.max_question_bytes,
            });
        }

        // 1. Prompt boundary, every turn (earlier turns go to the model too).
        let mut prompt_findings = FindingCounts::new();
        let mut rules = Vec::new();
        let mut history = Vec::with_capacity(req.messages.len());
        let mut details = Vec::new();
        let mut question = String::new();
        for (i, m) in req.messages.iter().enumerate() {
            let text = screen(
                redactor.redact(&m.content, Boundary::Prompt),
                "prompt",
                &mut prompt_findings,
                &mut rules,
                &mut details,
            )?;
            if i == last_user {
                question = text.trim().to_owned();
            } else if m.role != Role::System || !req.rag {
                // With RAG, client system prompts are dropped: ours sets the rules of the
                // answer. Without, the gateway passes the conversation on (redacted).
                history.push(ChatMessage {
                    role: m.role,
                    content: text,
                });
            }
        }

        let mut params = req.params.unwrap_or_else(|| self.settings.params.clone());
        params.max_tokens = params.max_tokens.clamp(1, 4096);

        // 2. Retrieval on the redacted question.
        let hits = if req.collections.is_empty() || !req.rag {
            Vec::new()
        } else {
            let embedder = self.embedder.clone();
            let q = question.clone();
            let vector = tokio::task::spawn_blocking(move || embedder.embed(&[q.as_str()]))
                .await
                .map_err(|e| AnswerError::Internal(e.to_string()))??
                .pop()
                .ok_or_else(|| AnswerError::Internal("embedder returned no vector".into()))?;
            let query = Query::new(question.clone(), vector, req.collections.clone())
                .with_k(req.k.unwrap_or(self.settings.k).clamp(1, 50))
                .with_mode(req.mode.unwrap_or(self.settings.mode))
                .with_score_floor(self.settings.score_floor);
            self.retriever.search(&query).await?
        };

        // 3. Context boundary.
        let mut context_findings = FindingCounts::new();
        let mut texts = Vec::with_capacity(hits.len());
        for h in &hits {
            texts.push(screen(
                redactor.redact(&h.text, Boundary::Context),
                "context",
                &mut context_findings,
                &mut rules,
                &mut details,
            )?);
        }

        // 4. Assembly within the context window.
        let (messages, used) = if !req.rag {
            (self.direct(history, &question, params.max_tokens)?, 0)
        } else if hits.is_empty() {
            (Vec::new(), 0)
        } else {
            self.fit(&history, &hits, &texts, &question, params.max_tokens)?
        };
        let citations = hits
            .iter()
            .take(used)
            .enumerate()
            .map(|(i, h)| citation(i + 1, h))
            .collect();
        rules.sort();
        rules.dedup();
        Ok(Prepared {
            question,
            citations,
            prompt_findings,
            context_findings,
            rules,
            details,
            messages,
            params,
            policy_version: redactor.policy().version().to_owned(),
            retrieval_ms: started.elapsed().as_secs_f64() * 1e3,
            direct: !req.rag,
            started,
        })
    }

    /// The conversation for the no-RAG mode, refused if it does not fit the context window.
    fn direct(
        &self,
        mut history: Vec<ChatMessage>,
        question: &str,
        max_tokens: usize,
    ) -> Result<Vec<ChatMessage>, AnswerError> {
        history.push(ChatMessage::user(question));
        let g = &self.generator;
        let budget = g.context_length().saturating_sub(max_tokens);
        let tokens = history
            .iter()
            .map(|m| g.count_tokens(&m.content) + 8)
            .sum::<usize>();
        if tokens > budget {
            return Err(AnswerError::ContextOverflow {
                tokens,
                limit: budget,
            });
        }
        Ok(history)
    }

    /// Drops sources from the lowest rank until the prompt fits with room for the answer.
    fn fit(
        &self,
        history: &[ChatMessage],
        hits: &[Hit],
        texts: &[String],
        question: &str,
        max_tokens: usize,
    ) -> Result<(Vec<ChatMessage>, usize), AnswerError> {
        let g = &self.generator;
        let budget = g.context_length().saturating_sub(max_tokens);
        let fenced: Vec<String> = hits
            .iter()
            .zip(texts)
            .enumerate()
            .map(|(i, (h, t))| prompt::fence(i + 1, h, t))
            .collect();
        // Chat templates add a few tokens per turn.
        let overhead = 8 * (history.len() + 2);
        let tokens = |msgs: &[ChatMessage]| -> usize {
            msgs.iter()
                .map(|m| g.count_tokens(&m.content))
                .sum::<usize>()
                + overhead
        };
        let mut used = fenced.len();
        loop {
            let msgs = prompt::messages(history, &fenced[..used], question);
            let t = tokens(&msgs);
            if t <= budget {
                return Ok((msgs, used));
            }
            if used == 0 {
                return Err(AnswerError::ContextOverflow {
                    tokens: t,
                    limit: budget,
                });
            }
            used -= 1;
            if used == 0 {
                // A question with no sources that fit is answered as "nothing found" only
                // if the question itself fits; otherwise the loop reports the overflow.
                let msgs = prompt::messages(history, &[], question);
                let t = tokens(&msgs);
                if t > budget {
                    return Err(AnswerError::ContextOverflow {
                        tokens: t,
                        limit: budget,
                    });
                }
                return Ok((Vec::new(), 0));
            }
        }
    }

    /// Step 5: the model's answer through the response boundary. Ends with
    /// [`AnswerEvent::Done`] or an error (a mid-stream `block` is an error, and nothing of
    /// the blocked text is emitted).
    pub fn stream(
        &self,
        redactor: &Redactor,
        prepared: &Prepared,
    ) -> impl Stream<Item = Result<AnswerEvent, AnswerError>> + Send + 'static {
        let generator = self.generator.clone();
        let mut guard = redactor.stream(Boundary::Response);
        let messages = prepared.messages.clone();
        let params = prepared.params.clone();
        let started = prepared.started;
        let retrieval_ms = prepared.retrieval_ms;
        let n_sources = prepared.citations.len();
        let direct = prepared.direct;
        async_stream(move |tx| async move {
            let t0 = Instant::now();
            let mut first: Option<f64> = None;
            let emit = |text: String, first: &mut Option<f64>| {
                if text.is_empty() {
                    return true;
                }
                if first.is_none() {
                    *first = Some(t0.elapsed().as_secs_f64() * 1e3);
                }
                tx.send(Ok(AnswerEvent::Delta(text))).is_ok()
            };
            let summary = |finish: &'static str,
                           usage: Usage,
                           guard: &sluice_policy::StreamRedactor,
                           first: Option<f64>,
                           called: bool| {
                let mut response_findings = FindingCounts::new();
                count(guard.findings(), &mut response_findings);
                let mut response_rules: Vec<String> = guard
                    .findings()
                    .iter()
                    .map(|f| f.rule.to_string())
                    .collect();
                response_rules.sort();
                response_rules.dedup();
                AnswerSummary {
                    finish_reason: finish,
                    prompt_tokens: usage.prompt_tokens,
                    completion_tokens: usage.completion_tokens,
                    response_findings,
                    response_rules,
                    details: guard.findings().to_vec(),
                    model_called: called,
                    timings: Timings {
                        retrieval_ms,
                        first_token_ms: first,
                        total_ms: started.elapsed().as_secs_f64() * 1e3,
                    },
                }
            };
            let blocked = |b: sluice_policy::Blocked| AnswerError::Blocked {
                boundary: "response",
                rule: b.rule,
                entity: b.entity,
                findings: Vec::new(),
            };

            if messages.is_empty() || (n_sources == 0 && !direct) {
                if !emit(NO_CONTEXT_ANSWER.to_owned(), &mut first) {
                    return;
                }
                let s = summary("stop", Usage::default(), &guard, first, false);
                let _ = tx.send(Ok(AnswerEvent::Done(s)));
                return;
            }
            let mut gen_stream = match generator.generate(ChatRequest { messages, params }).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e.into()));
                    return;
                }
            };
            let mut finish = FinishReason::Stop;
            let mut usage = Usage::default();
            while let Some(ev) = gen_stream.next().await {
                match ev {
                    Ok(GenEvent::Delta(d)) => match guard.push(&d) {
                        Ok(out) => {
                            if !emit(out, &mut first) {
                                return; // the client went away: dropping stops the model
                            }
                        }
                        Err(b) => {
                            let _ = tx.send(Err(blocked(b)));
                            return;
                        }
                    },
                    Ok(GenEvent::Done {
                        finish_reason,
                        usage: u,
                    }) => {
                        finish = finish_reason;
                        usage = u;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.into()));
                        return;
                    }
                }
            }
            match guard.finish() {
                Ok(out) => {
                    if !emit(out, &mut first) {
                        return;
                    }
                }
                Err(b) => {
                    let _ = tx.send(Err(blocked(b)));
                    return;
                }
            }
            let s = summary(finish.as_str(), usage, &guard, first, true);
            let _ = tx.send(Ok(AnswerEvent::Done(s)));
        })
    }

    /// Step 5 collected: the whole (redacted) answer text and its summary.
    pub async fn collect(
        &self,
        redactor: &Redactor,
        prepared: &Prepared,
    ) -> Result<(String, AnswerSummary), AnswerError> {
        let mut stream = std::pin::pin!(self.stream(redactor, prepared));
        let mut text = String::new();
        let mut summary = None;
        while let Some(ev) = stream.next().await {
            match ev? {
                AnswerEvent::Delta(d) => text.push_str(&d),
                AnswerEvent::Done(s) => summary = Some(s),
            }
        }
        let summary = summary.ok_or_else(|| AnswerError::Internal("stream ended early".into()))?;
        Ok((text, summary))
    }

    /// The whole path, collected.
    pub async fn ask(&self, redactor: &Redactor, req: AskRequest) -> Result<Answer, AnswerError> {
        let prepared = self.prepare(redactor, req).await?;
        let (text, summary) = self.collect(redactor, &prepared).await?;
        let mut citations = prepared.citations;
        mark_cited(&mut citations, &text);
        let mut findings = BTreeMap::new();
        findings.insert("prompt", prepared.prompt_findings);
        findings.insert("context", prepared.context_findings);
        findings.insert("response", summary.response_findings.clone());
        Ok(Answer {
            text,
            citations,
            findings,
            summary,
        })
    }
}

/// Sets [`Citation::cited`] for every `[n]` that appears in `answer`.
pub fn mark_cited(citations: &mut [Citation], answer: &str) {
    for c in citations {
        c.cited = answer.contains(&format!("[{}]", c.n));
    }
}

fn citation(n: usize, h: &Hit) -> Citation {
    Citation {
        n,
        chunk_id: h.chunk_id.clone(),
        doc_id: h.doc_id.clone(),
        collection: h.collection.clone(),
        source_path: h.source_path.clone(),
        span: h.span.clone(),
        heading_path: h.heading_path.clone(),
        score: h.score,
        cited: false,
    }
}

/// A stream fed by an async task through an unbounded channel. Dropping the stream drops
/// the receiver; the task sees its sends fail and stops (which drops the model stream).
fn async_stream<T, F, Fut>(f: F) -> impl Stream<Item = T> + Send + 'static
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::UnboundedSender<T>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = tokio::spawn(f(tx));
    let rx = tokio_stream_from(rx);
    AbortOnDrop {
        inner: rx,
        handle: Some(handle),
    }
}

fn tokio_stream_from<T>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl Stream<Item = T> + Send + Unpin
where
    T: Send,
{
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Aborts the producing task when the consumer drops the stream (client disconnect).
struct AbortOnDrop<S> {
    inner: S,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl<S: Stream + Unpin> Stream for AbortOnDrop<S> {
    type Item = S::Item;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        std::pin::Pin::new(&mut self.inner).poll_next(cx)
    }
}

impl<S> Drop for AbortOnDrop<S> {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}
