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

use futures::StreamExt;
use serde::Serialize;
use sluice_policy::{Boundary, Finding, Redactor};
use sluice_ports::Embedder;
use sluice_ports::{ChatMessage, GenerationParams, Generator, Role};
use sluice_ports::{CollectionName, Retriever, SearchMode};

use crate::error::AnswerError;
use crate::passages::{self, Passage};
use crate::prompt;
use crate::screen::{self, FindingCounts, Screen};
use crate::search::{SearchHit, SearchOutcome, SearchRequest, Searcher, screen_hits};

mod stream;

/// What the answer says when no granted document is relevant enough. No model is called.
pub const NO_CONTEXT_ANSWER: &str =
    "I found no relevant documents in the collections you can access, so I cannot answer this.";

/// Sentences of the sources the model reads by default ([`AnswerSettings::context_sentences`]).
pub const DEFAULT_CONTEXT_SENTENCES: usize = 0;

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
    /// How questions are answered unless a request says otherwise.
    pub answer_mode: AnswerMode,
    /// Cited passages selected per answer (0: none).
    pub passages: usize,
    /// What of the sources the model reads: 0 sends whole chunks; `n` sends only the `n`
    /// sentences that best answer the question (the passage ranking), grouped by source in
    /// document order under the source's title. A shorter prompt is a sooner first token on
    /// a CPU, and less for a small model to lose the answer in.
    pub context_sentences: usize,
    /// What a RAG question gets when the model's queue is full.
    pub on_busy: OnBusy,
}

/// What a question gets when the model is busy (its queue is full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnBusy {
    /// An error (`model_busy`, HTTP 429): the client retries later.
    #[default]
    Reject,
    /// The extractive answer (the cited passages) now, without the model.
    Extractive,
}

/// How a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerMode {
    /// Passages first, then the model's answer.
    #[default]
    Generate,
    /// Passages only, no model call: the mode for CPU-only hosts.
    Extractive,
}

impl Default for AnswerSettings {
    fn default() -> Self {
        Self {
            max_question_bytes: 16 * 1024,
            k: 4,
            mode: SearchMode::Hybrid,
            score_floor: Some(sluice_ports::DEFAULT_SCORE_FLOOR),
            params: GenerationParams {
                max_tokens: 256,
                temperature: 0.0,
                stop: Vec::new(),
            },
            answer_mode: AnswerMode::Generate,
            passages: crate::passages::DEFAULT_PASSAGES,
            context_sentences: DEFAULT_CONTEXT_SENTENCES,
            on_busy: OnBusy::Reject,
        }
    }
}

/// A question (or a chat) to answer.
#[derive(Debug, Clone)]
pub struct AskRequest {
    /// The conversation; the last user message is the question retrieval runs on.
    pub messages: Vec<ChatMessage>,
    /// Collections the caller may read (their grants). Empty → nothing is retrieved.
    pub collections: Vec<CollectionName>,
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
    /// Overrides [`AnswerSettings::answer_mode`].
    pub answer_mode: Option<AnswerMode>,
}

impl AskRequest {
    /// A single question over `collections`.
    pub fn question(q: impl Into<String>, collections: Vec<CollectionName>) -> Self {
        Self {
            messages: vec![ChatMessage::user(q)],
            collections,
            k: None,
            mode: None,
            params: None,
            rag: true,
            answer_mode: None,
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
    /// The sentences of the sources that best answer the question (through the context
    /// boundary), numbered like the citations: shown before the model's answer, or as the
    /// whole answer in [`AnswerMode::Extractive`].
    pub passages: Vec<Passage>,
    /// Answered from the passages alone (no model call).
    pub extractive: bool,
    /// The caller's stop strings after the prompt boundary. They are applied to the answer
    /// *after* the response boundary (never by the model on raw output, where cutting a
    /// value in two would let part of it past the redactor).
    pub stops: Vec<String>,
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
    searcher: Searcher,
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
            searcher: Searcher::new(embedder, retriever),
            generator,
            settings,
        }
    }

    /// The search half (for embeddings of request text).
    pub fn searcher(&self) -> &Searcher {
        &self.searcher
    }

    /// Guarded search (prompt boundary, retrieval, context boundary): the path of
    /// `/v1/search` and `sluice search`, and the retrieval step of [`Answerer::prepare`].
    pub async fn search(
        &self,
        redactor: &Redactor,
        req: SearchRequest,
    ) -> Result<SearchOutcome, AnswerError> {
        self.searcher.search(redactor, req).await
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

        // 1. Prompt boundary: every turn, the turns run together, and the stop strings.
        let mut screen = Screen::new(redactor);
        let mut history = Vec::with_capacity(req.messages.len());
        let mut screened = Vec::with_capacity(req.messages.len());
        let mut question = String::new();
        for (i, m) in req.messages.iter().enumerate() {
            let text = screen.text(&m.content, Boundary::Prompt)?;
            screened.push(text.clone());
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
        screen.joins(&screened.iter().map(String::as_str).collect::<Vec<_>>())?;
        let mut params = req.params.unwrap_or_else(|| self.settings.params.clone());
        params.max_tokens = params.max_tokens.clamp(1, 4096);
        let stops = screen.stops(&std::mem::take(&mut params.stop))?;

        // 2. Retrieval on the redacted question; 3. context boundary on every hit.
        let mode = req.mode.unwrap_or(self.settings.mode);
        let (hits, question_vec) = if req.rag {
            let (hits, vector) = self
                .searcher
                .retrieve(
                    &question,
                    req.collections.clone(),
                    req.k.unwrap_or(self.settings.k),
                    mode,
                    self.settings.score_floor,
                )
                .await?;
            (screen_hits(&mut screen, hits, mode)?, vector)
        } else {
            (Vec::new(), Vec::new())
        };

        // 4. The sentences that best answer the question (passages, and the model's
        //    context when it reads sentences), then assembly within the context window.
        let ctx = self.settings.context_sentences;
        let ranked = if hits.is_empty() || (self.settings.passages == 0 && ctx == 0) {
            Vec::new()
        } else {
            let shortlist = passages::SHORTLIST.max(ctx);
            passages::rank(&self.searcher, &question, &question_vec, &hits, shortlist).await?
        };
        let (messages, used) = if !req.rag {
            (self.direct(history, &question, params.max_tokens)?, 0)
        } else if hits.is_empty() {
            (Vec::new(), 0)
        } else {
            let fenced = self.sources(&hits, &ranked);
            self.fit(&history, &fenced, &question, params.max_tokens)?
        };
        let citations = hits
            .iter()
            .take(used)
            .enumerate()
            .map(|(i, h)| citation(i + 1, h))
            .collect();
        let passages = passages::finish(&ranked, &hits, used, self.settings.passages);
        let extractive = req.rag
            && req.answer_mode.unwrap_or(self.settings.answer_mode) == AnswerMode::Extractive;
        let details = screen.into_findings();
        Ok(Prepared {
            question,
            citations,
            prompt_findings: screen::counts(&details, Boundary::Prompt),
            context_findings: screen::counts(&details, Boundary::Context),
            rules: screen::rules(&details),
            details,
            messages,
            params,
            passages,
            extractive,
            stops,
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

    /// The fenced sources the model reads: whole chunks, or each source's share of the
    /// best `context_sentences` sentences of `ranked` ([`AnswerSettings::context_sentences`]).
    fn sources(&self, hits: &[SearchHit], ranked: &passages::Ranked) -> Vec<String> {
        let n = self.settings.context_sentences;
        if n > 0 {
            let focused = prompt::focused_fences(hits, ranked, n);
            // No sentence to show (sources without text): whole chunks, never an empty prompt.
            if focused.iter().any(|f| !f.is_empty()) {
                return focused;
            }
        }
        hits.iter()
            .enumerate()
            .map(|(i, h)| prompt::fence(i + 1, h))
            .collect()
    }

    /// Drops sources (`fenced`, one per hit, best first) from the lowest rank until the
    /// prompt fits with room for the answer.
    fn fit(
        &self,
        history: &[ChatMessage],
        fenced: &[String],
        question: &str,
        max_tokens: usize,
    ) -> Result<(Vec<ChatMessage>, usize), AnswerError> {
        let g = &self.generator;
        let budget = g.context_length().saturating_sub(max_tokens);
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

/// Sets [`Citation::cited`] for every source the answer cites (`[n]`, `[1, 2]`,
/// `[Source 3]`; see [`crate::citations::cited_numbers`]).
pub fn mark_cited(citations: &mut [Citation], answer: &str) {
    let cited = crate::citations::cited_numbers(answer, citations.len());
    for c in citations {
        c.cited = cited.contains(&c.n);
    }
}

fn citation(n: usize, h: &SearchHit) -> Citation {
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
