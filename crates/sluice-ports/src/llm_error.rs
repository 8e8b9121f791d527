//! What a chat model reports (sluice-llm holds the backends). Messages are safe to show to a client: they never
//! contain prompt text, generated text or an API key.

use std::path::PathBuf;

/// Everything that can go wrong loading a model or generating with it.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The model file is missing, is not GGUF, or holds an architecture the local backend cannot run.
    #[error("model file {}: {reason}", path.display())]
    ModelFile {
        /// The file as configured.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The backend could not be set up (the engine failed to load the model, or the upstream configuration is unusable).
    #[error("could not load the model: {0}")]
    Load(String),
    /// Too many requests are running or waiting; retry later (HTTP 503/429).
    #[error("the model is busy: {queue_depth} requests are already waiting")]
    Busy {
        /// Requests waiting when this one was turned away.
        queue_depth: usize,
    },
    /// The request cannot be served as asked (empty, bad parameters, prompt longer than the context).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The upstream model server failed, refused the request or could not be reached.
    #[error("upstream model server: {message}")]
    Upstream {
        /// The HTTP status the upstream answered with, if it answered.
        status: Option<u16>,
        /// A short description; never the request body nor the upstream's free-text message.
        message: String,
    },
    /// The model engine failed while generating.
    #[error("generation failed: {0}")]
    Generation(String),
    /// The generation was cancelled before it started (the backend is shutting down).
    #[error("the generation was cancelled")]
    Cancelled,
}
