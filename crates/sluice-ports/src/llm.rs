//! The request, response and trait types every backend shares: what a caller sends
//! ([`ChatRequest`]), what comes back ([`GenEvent`]s on a [`GenStream`]), and the
//! [`Generator`] trait that the local, upstream and test backends implement (sluice-llm).

use std::pin::Pin;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::llm_error::LlmError;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions for the model (the system prompt).
    System,
    /// The person asking.
    User,
    /// The model's earlier answers.
    Assistant,
}

impl Role {
    /// The role's name as the OpenAI API spells it: `"system"`, `"user"`, `"assistant"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a chat conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: Role,
    /// What it says.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// How to generate: length limit, randomness and stop strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerationParams {
    /// Most tokens to generate (default 256). Must be at least 1.
    pub max_tokens: usize,
    /// Sampling temperature; `0` means greedy (deterministic) decoding, the default.
    pub temperature: f32,
    /// Generation stops before the first occurrence of any of these strings; the stop
    /// string itself is never part of the output. At most [`GenerationParams::MAX_STOPS`].
    pub stop: Vec<String>,
}

impl GenerationParams {
    /// Most stop strings a request may carry.
    pub const MAX_STOPS: usize = 16;
    /// Longest stop string, in bytes.
    pub const MAX_STOP_BYTES: usize = 256;
    /// Highest accepted temperature.
    pub const MAX_TEMPERATURE: f32 = 5.0;
}

impl Default for GenerationParams {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            temperature: 0.0,
            stop: Vec::new(),
        }
    }
}

/// A chat request: the conversation so far and how to continue it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation, oldest message first. Must not be empty.
    pub messages: Vec<ChatMessage>,
    /// Generation settings.
    #[serde(default)]
    pub params: GenerationParams,
}

impl ChatRequest {
    /// A request with default [`GenerationParams`].
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            params: GenerationParams::default(),
        }
    }

    /// Checks what every backend needs: at least one message, `max_tokens >= 1`, a finite
    /// temperature in `0..=5`, and at most 16 non-empty stop strings of at most 256 bytes.
    /// Backends call this first; callers may call it to reject a request early.
    pub fn validate(&self) -> Result<(), LlmError> {
        let bad = |m: String| Err(LlmError::InvalidRequest(m));
        if self.messages.is_empty() {
            return bad("the request has no messages".into());
        }
        let p = &self.params;
        if p.max_tokens == 0 {
            return bad("max_tokens must be at least 1".into());
        }
        if !p.temperature.is_finite()
            || p.temperature < 0.0
            || p.temperature > GenerationParams::MAX_TEMPERATURE
        {
            return bad(format!(
                "temperature must be between 0 and {}",
                GenerationParams::MAX_TEMPERATURE
            ));
        }
        if p.stop.len() > GenerationParams::MAX_STOPS {
            return bad(format!(
                "at most {} stop strings are allowed",
                GenerationParams::MAX_STOPS
            ));
        }
        if p.stop
            .iter()
            .any(|s| s.is_empty() || s.len() > GenerationParams::MAX_STOP_BYTES)
        {
            return bad(format!(
                "stop strings must be 1 to {} bytes long",
                GenerationParams::MAX_STOP_BYTES
            ));
        }
        Ok(())
    }
}

/// Why a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// The model ended its answer, or a stop string was reached.
    Stop,
    /// `max_tokens` (or the model's context) was reached.
    Length,
    /// The engine cancelled the generation.
    Cancelled,
}

impl FinishReason {
    /// `"stop"`, `"length"` or `"cancelled"`.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for FinishReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Token counts of one generation, as the backend reports them (estimated where it
/// reports none; see each backend).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt, chat template included.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
}

/// One event of a generation stream.
#[derive(Debug, Clone, PartialEq)]
pub enum GenEvent {
    /// The next piece of the answer (one token or a few; never empty).
    Delta(String),
    /// The generation ended; always the last event of a stream that did not fail.
    Done {
        /// Why it ended.
        finish_reason: FinishReason,
        /// Token counts.
        usage: Usage,
    },
}

/// A stream of generation events: zero or more [`GenEvent::Delta`], then one
/// [`GenEvent::Done`] — or an error, after which the stream ends. Dropping the stream
/// cancels the generation.
pub type GenStream = Pin<Box<dyn futures::Stream<Item = Result<GenEvent, LlmError>> + Send>>;

/// A chat model: something that turns a [`ChatRequest`] into a stream of text.
#[async_trait]
pub trait Generator: Send + Sync {
    /// The model's name, for logs, metrics and the OpenAI-compatible `model` field.
    fn model_id(&self) -> &str;

    /// Tokens the model accepts (prompt + completion).
    fn context_length(&self) -> usize;

    /// Rough token count of a text for this model (for context trimming); may be an
    /// estimate, and does not include the chat template's own tokens.
    fn count_tokens(&self, text: &str) -> usize;

    /// Starts a generation. Errors that happen before the first token (a busy queue, an
    /// invalid request, an unreachable upstream) are returned here; later ones arrive
    /// on the stream.
    async fn generate(&self, req: ChatRequest) -> Result<GenStream, LlmError>;
}

/// The `chars / 4` token estimate (rounded up) used where no tokenizer is at hand.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}
