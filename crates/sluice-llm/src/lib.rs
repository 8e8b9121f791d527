//! Sluice's answer models behind one trait.
//!
//! A [`Generator`] turns a [`ChatRequest`] into a [`GenStream`] of text deltas ending in
//! [`GenEvent::Done`]. Backends:
//!
//! - [`MistralRsGenerator`]: a local GGUF model run in-process by mistral.rs (CPU by
//!   default, `cuda` feature for GPU). Share one loaded model with
//!   [`MistralRsGenerator::queued`].
//! - [`OpenAiGenerator`]: any OpenAI-compatible `/chat/completions` server.
//! - [`EchoGenerator`]: deterministic, for tests and benchmarks only.
//! - [`QueuedGenerator`]: bounded concurrency and queue around any generator; beyond
//!   the queue, requests fail fast with [`LlmError::Busy`].
//!
//! Every backend applies the request's stop strings to the stream, so no stop string
//! (or text after it) ever reaches the caller, even when it spans two deltas.
//!
//! ```
//! use futures::StreamExt;
//! use sluice_llm::{ChatMessage, ChatRequest, EchoGenerator, GenEvent, Generator};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let model = EchoGenerator::new();
//! let mut stream = model.generate(ChatRequest::new(vec![ChatMessage::user("hi there")])).await?;
//! let mut answer = String::new();
//! while let Some(event) = stream.next().await {
//!     match event? {
//!         GenEvent::Delta(text) => answer.push_str(&text),
//!         GenEvent::Done { finish_reason, .. } => println!("done: {finish_reason}"),
//!     }
//! }
//! assert_eq!(answer, "hi there");
//! # Ok::<(), sluice_llm::LlmError>(())
//! # }).unwrap();
//! ```

mod defaults;
mod echo;
mod gguf;
mod local;
mod openai;
mod pipeline;
mod queue;
mod repeats;
mod requant;
mod sse;
mod stops;

pub use defaults::{
    QUALITY_MIN_CORES, QUALITY_MIN_MEMORY, QUALITY_MODEL, SMALL_MODEL, SMALL_MODEL_Q8_0,
    default_model,
};
pub use echo::EchoGenerator;
pub use local::{DEFAULT_MAX_CONTEXT, LocalModelConfig, MistralRsGenerator};
pub use openai::{ApiKey, OpenAiGenerator, UpstreamConfig};
pub use queue::QueuedGenerator;
pub use requant::{RequantReport, RequantTarget, needs_requantize, requantize};
// The port this crate implements, re-exported so callers of an engine need one import.
pub use sluice_ports::{
    ChatMessage, ChatRequest, FinishReason, GenEvent, GenStream, GenerationParams, Generator,
    LlmError, Role, StopFilter, Usage, estimate_tokens,
};

/// The GGUF architectures [`MistralRsGenerator`] accepts (`general.architecture`).
pub const SUPPORTED_ARCHITECTURES: &[&str] = gguf::SUPPORTED_ARCHITECTURES;
