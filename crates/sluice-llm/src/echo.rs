//! A deterministic generator for tests and benchmarks — never a default, never for
//! users. It answers with text it was given, in small pieces, so that a gateway's
//! streaming and output redaction (secrets split across deltas) can be tested and
//! measured without a model.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;

use crate::stops::apply_stops;
use crate::{
    ChatRequest, FinishReason, GenEvent, GenStream, Generator, LlmError, Role, Usage,
    estimate_tokens,
};

/// What [`EchoGenerator`] answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    LastUser,
    Context,
}

/// A generator for tests and benchmarks (never a default): replies with the last user
/// message ([`EchoGenerator::new`]) or with every message's content joined by `"\n"`
/// ([`EchoGenerator::context`]), split into pieces of at most 3 bytes at character
/// boundaries. Each piece counts as one token for `max_tokens` and usage; stop strings
/// are honoured. Token counts are the `chars / 4` estimate.
#[derive(Debug, Clone)]
pub struct EchoGenerator {
    source: Source,
    piece_bytes: usize,
    delay: Duration,
    context_length: usize,
}

impl Default for EchoGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl EchoGenerator {
    /// Echoes the last user message.
    pub fn new() -> Self {
        Self {
            source: Source::LastUser,
            piece_bytes: 3,
            delay: Duration::ZERO,
            context_length: 8192,
        }
    }

    /// Echoes the whole conversation as the model would see it: every message's content,
    /// joined by `"\n"` (so a test can see exactly what reached the model).
    pub fn context() -> Self {
        Self {
            source: Source::Context,
            ..Self::new()
        }
    }

    /// Pieces of at most `bytes` bytes (at least one character each). Default 3.
    pub fn with_piece_bytes(mut self, bytes: usize) -> Self {
        self.piece_bytes = bytes.max(1);
        self
    }

    /// Waits `delay` before each piece, to stand in for a model's decode time.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The context length to report (default 8192).
    pub fn with_context_length(mut self, tokens: usize) -> Self {
        self.context_length = tokens;
        self
    }

    fn reply(&self, req: &ChatRequest) -> String {
        match self.source {
            Source::LastUser => req
                .messages
                .iter()
                .rev()
                .find(|m| m.role == Role::User)
                .map(|m| m.content.clone())
                .unwrap_or_default(),
            Source::Context => req
                .messages
                .iter()
                .map(|m| m.content.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// Splits `text` into pieces of at most `max` bytes, never inside a character.
pub(crate) fn split_pieces(text: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut piece = String::new();
    for c in text.chars() {
        if !piece.is_empty() && piece.len() + c.len_utf8() > max {
            out.push(std::mem::take(&mut piece));
        }
        piece.push(c);
    }
    if !piece.is_empty() {
        out.push(piece);
    }
    out
}

#[async_trait]
impl Generator for EchoGenerator {
    fn model_id(&self) -> &str {
        match self.source {
            Source::LastUser => "echo",
            Source::Context => "echo-context",
        }
    }

    fn context_length(&self) -> usize {
        self.context_length
    }

    fn count_tokens(&self, text: &str) -> usize {
        estimate_tokens(text)
    }

    async fn generate(&self, req: ChatRequest) -> Result<GenStream, LlmError> {
        req.validate()?;
        let prompt_tokens: usize = req
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content))
            .sum();
        let mut pieces = split_pieces(&self.reply(&req), self.piece_bytes);
        let finish_reason = if pieces.len() > req.params.max_tokens {
            pieces.truncate(req.params.max_tokens);
            FinishReason::Length
        } else {
            FinishReason::Stop
        };
        let usage = Usage {
            prompt_tokens,
            completion_tokens: pieces.len(),
        };
        let delay = self.delay;
        let deltas = futures::stream::iter(pieces).then(move |p| async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok::<_, LlmError>(GenEvent::Delta(p))
        });
        let done = futures::stream::iter([Ok::<_, LlmError>(GenEvent::Done {
            finish_reason,
            usage,
        })]);
        Ok(apply_stops(
            Box::pin(deltas.chain(done)),
            req.params.stop,
            prompt_tokens,
            false,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ChatMessage;

    #[test]
    fn pieces_respect_char_boundaries() {
        assert_eq!(split_pieces("abcdefg", 3), ["abc", "def", "g"]);
        assert_eq!(split_pieces("aé日b", 3), ["aé", "日", "b"]);
        assert_eq!(split_pieces("😀x", 3), ["😀", "x"]);
        assert!(split_pieces("", 3).is_empty());
    }

    async fn collect(g: &EchoGenerator, req: ChatRequest) -> (String, FinishReason, Usage) {
        let mut s = g.generate(req).await.unwrap();
        let mut text = String::new();
        while let Some(ev) = s.next().await {
            match ev.unwrap() {
                GenEvent::Delta(d) => text.push_str(&d),
                GenEvent::Done {
                    finish_reason,
                    usage,
                } => return (text, finish_reason, usage),
            }
        }
        panic!("no Done event");
    }

    #[tokio::test]
    async fn echoes_last_user_or_context() {
        let req = ChatRequest::new(vec![
            ChatMessage::system("sys"),
            ChatMessage::user("first"),
            ChatMessage::assistant("reply"),
            ChatMessage::user("hello world"),
        ]);
        let (t, f, u) = collect(&EchoGenerator::new(), req.clone()).await;
        assert_eq!(
            (t.as_str(), f, u.completion_tokens),
            ("hello world", FinishReason::Stop, 4)
        );
        let (t, _, _) = collect(&EchoGenerator::context(), req).await;
        assert_eq!(t, "sys\nfirst\nreply\nhello world");
    }

    #[tokio::test]
    async fn max_tokens_and_stop() {
        let mut req = ChatRequest::new(vec![ChatMessage::user("abcdefghijkl")]);
        req.params.max_tokens = 2;
        let (t, f, _) = collect(&EchoGenerator::new(), req.clone()).await;
        assert_eq!((t.as_str(), f), ("abcdef", FinishReason::Length));
        req.params.max_tokens = 100;
        req.params.stop = vec!["ef".into()];
        let (t, f, _) = collect(&EchoGenerator::new(), req).await;
        assert_eq!((t.as_str(), f), ("abcd", FinishReason::Stop));
    }
}
