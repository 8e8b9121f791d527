//! Generators for leak tests: they *try* to leak, so an assertion does not depend on what a
//! real model happens to write.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use sluice_ports::{ChatRequest, FinishReason, GenEvent, GenStream, Generator, LlmError, Usage};

/// Emits a fixed text in pieces of 1, 2, 3, 1, … bytes (never inside a character): a model
/// reproducing a value token by token.
pub struct Spelling(pub String);

#[async_trait]
impl Generator for Spelling {
    fn model_id(&self) -> &str {
        "spelling"
    }
    fn context_length(&self) -> usize {
        100_000
    }
    fn count_tokens(&self, text: &str) -> usize {
        text.len() / 4 + 1
    }
    async fn generate(&self, _: ChatRequest) -> Result<GenStream, LlmError> {
        let mut pieces = Vec::new();
        let mut rest = self.0.as_str();
        let mut n = 1;
        while !rest.is_empty() {
            let mut cut = n.min(rest.len());
            while !rest.is_char_boundary(cut) {
                cut += 1;
            }
            pieces.push(Ok(GenEvent::Delta(rest[..cut].to_owned())));
            rest = &rest[cut..];
            n = n % 3 + 1;
        }
        let len = pieces.len();
        pieces.push(Ok(GenEvent::Done {
            finish_reason: FinishReason::Stop,
            usage: Usage {
                prompt_tokens: 1,
                completion_tokens: len,
            },
        }));
        Ok(Box::pin(futures::stream::iter(pieces)))
    }
}

/// Counts calls, then delegates (did the answer path call the model at all?).
pub struct Counting {
    inner: Arc<dyn Generator>,
    calls: AtomicUsize,
}

impl Counting {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Generator>) -> Self {
        Self {
            inner,
            calls: AtomicUsize::new(0),
        }
    }

    /// Calls of [`Generator::generate`] so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Generator for Counting {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn context_length(&self) -> usize {
        self.inner.context_length()
    }
    fn count_tokens(&self, text: &str) -> usize {
        self.inner.count_tokens(text)
    }
    async fn generate(&self, req: ChatRequest) -> Result<GenStream, LlmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.generate(req).await
    }
}
