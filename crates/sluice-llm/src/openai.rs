//! The upstream backend: any server that speaks OpenAI's `POST /chat/completions` with
//! `stream: true` (Ollama, vLLM, llama.cpp's server, OpenAI itself). Errors never carry
//! the request body or the upstream's free-text error message (which may quote the
//! prompt); the API key is read once from an environment variable and never printed.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use futures::{Stream, StreamExt};
use serde::Deserialize;

use crate::sse::SseParser;
use crate::stops::apply_stops;
use crate::{
    ChatRequest, FinishReason, GenEvent, GenStream, Generator, LlmError, Usage, estimate_tokens,
};

/// Stop strings sent upstream (OpenAI accepts at most 4); all are applied locally too.
const UPSTREAM_MAX_STOPS: usize = 4;
/// Bytes of an error response read to find its error code.
const ERROR_BODY_LIMIT: usize = 4096;

/// A secret API key. `Debug` and `Display` print `[REDACTED]`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Where the upstream is and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    /// The API root, e.g. `http://127.0.0.1:11434/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// The `model` field sent upstream.
    pub model: String,
    /// Name of the environment variable that holds the API key (sent as a bearer token);
    /// `None` sends no key.
    pub api_key_env: Option<String>,
    /// Longest wait for the connection, for the response headers, and between two pieces
    /// of the streamed body (not a limit on the whole answer). Default 60 s.
    pub timeout: Duration,
    /// Tokens the upstream model accepts (prompt + completion). Default 8192.
    pub context_length: usize,
}

impl UpstreamConfig {
    /// The defaults for `model` at `base_url`.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key_env: None,
            timeout: Duration::from_secs(60),
            context_length: 8192,
        }
    }
}

/// A chat model behind an OpenAI-compatible HTTP API.
///
/// Proxy settings from the environment (`HTTPS_PROXY`, …) are ignored: prompts go to
/// the configured URL and nowhere else. Token counts are the `chars / 4` estimate
/// unless the upstream reports usage.
#[derive(Debug)]
pub struct OpenAiGenerator {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The URL without user info, for messages.
    shown_url: String,
    model: String,
    api_key: Option<ApiKey>,
    timeout: Duration,
    context_length: usize,
}

impl OpenAiGenerator {
    /// Checks the configuration and reads the API key. Sends nothing.
    ///
    /// Errors with [`LlmError::Load`] when the URL is not `http(s)` or the named key
    /// variable is unset or empty.
    pub fn new(cfg: UpstreamConfig) -> Result<Self, LlmError> {
        let base = cfg.base_url.trim_end_matches('/');
        let url = reqwest::Url::parse(&format!("{base}/chat/completions"))
            .map_err(|e| LlmError::Load(format!("upstream base_url is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(LlmError::Load(
                "upstream base_url must be http:// or https://".into(),
            ));
        }
        let mut shown = url.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        let api_key = match &cfg.api_key_env {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(k) if !k.trim().is_empty() => Some(ApiKey::new(k.trim())),
                _ => {
                    return Err(LlmError::Load(format!(
                        "the upstream API key variable {var} is not set"
                    )));
                }
            },
        };
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.timeout)
            .read_timeout(cfg.timeout)
            .no_proxy()
            // A redirect would re-send the (redacted, but still private) prompt to wherever
            // the upstream points: the configured address is the only one spoken to.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| LlmError::Load(format!("HTTP client: {e}")))?;
        Ok(Self {
            client,
            url,
            shown_url: shown.to_string(),
            model: cfg.model,
            api_key,
            timeout: cfg.timeout,
            context_length: cfg.context_length.max(1),
        })
    }

    fn upstream(&self, status: Option<u16>, message: String) -> LlmError {
        LlmError::Upstream { status, message }
    }

    fn request_error(&self, e: &reqwest::Error) -> LlmError {
        self.upstream(
            e.status().map(|s| s.as_u16()),
            describe(e, &self.shown_url, self.timeout),
        )
    }
}

/// A short, body-free description of a transport error.
fn describe(e: &reqwest::Error, url: &str, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer from {url} within {}s", timeout.as_secs_f32());
    }
    let mut root: &dyn std::error::Error = e;
    let mut refused = false;
    while let Some(src) = root.source() {
        if let Some(io) = src.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        root = src;
    }
    if refused {
        format!("cannot connect to {url}: connection refused (is the model server running?)")
    } else if e.is_connect() {
        format!("cannot connect to {url}: {root}")
    } else if e.is_body() || e.is_decode() {
        format!("the answer from {url} broke off: {root}")
    } else {
        format!("request to {url} failed: {root}")
    }
}

/// An OpenAI error body's `code` or `type`, if it is a short identifier (free text is
/// dropped: it may quote the prompt).
fn error_code(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let err = v.get("error")?;
    let code = ["code", "type"]
        .iter()
        .filter_map(|k| err.get(*k).and_then(|c| c.as_str()))
        .find(|c| {
            !c.is_empty()
                && c.len() <= 64
                && c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "_-.".contains(ch))
        })?;
    Some(code.to_string())
}

#[async_trait]
impl Generator for OpenAiGenerator {
    fn model_id(&self) -> &str {
        &self.model
    }

    fn context_length(&self) -> usize {
        self.context_length
    }

    /// `chars / 4`, rounded up: the upstream's tokenizer is not at hand.
    fn count_tokens(&self, text: &str) -> usize {
        estimate_tokens(text)
    }

    async fn generate(&self, req: ChatRequest) -> Result<GenStream, LlmError> {
        req.validate()?;
        let prompt_tokens: usize = req
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content) + 4)
            .sum();
        let messages: Vec<serde_json::Value> = req
            .messages
            .iter()
            .map(|m| serde_json::json!({ "role": m.role.as_str(), "content": m.content }))
            .collect();
        let mut body = serde_json::json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
            "max_tokens": req.params.max_tokens,
            "temperature": req.params.temperature,
        });
        if !req.params.stop.is_empty() {
            let stops: Vec<&String> = req.params.stop.iter().take(UPSTREAM_MAX_STOPS).collect();
            body["stop"] = serde_json::json!(stops);
        }

        let mut http = self.client.post(self.url.clone()).json(&body);
        if let Some(key) = &self.api_key {
            http = http.bearer_auth(key.expose());
        }
        let resp = match tokio::time::timeout(self.timeout, http.send()).await {
            Err(_) => {
                return Err(self.upstream(
                    None,
                    format!(
                        "no answer from {} within {}s",
                        self.shown_url,
                        self.timeout.as_secs_f32()
                    ),
                ));
            }
            Ok(Err(e)) => return Err(self.request_error(&e)),
            Ok(Ok(r)) => r,
        };

        let status = resp.status();
        if !status.is_success() {
            let mut resp = resp;
            let mut head = Vec::new();
            while head.len() < ERROR_BODY_LIMIT {
                match tokio::time::timeout(self.timeout, resp.chunk()).await {
                    Ok(Ok(Some(c))) => head.extend_from_slice(&c),
                    _ => break,
                }
            }
            let code = error_code(&head)
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            return Err(self.upstream(
                Some(status.as_u16()),
                format!("{} answered HTTP {status}{code}", self.shown_url),
            ));
        }

        let raw = upstream_stream(
            resp.bytes_stream(),
            prompt_tokens,
            self.shown_url.clone(),
            self.timeout,
        );
        Ok(apply_stops(raw, req.params.stop, prompt_tokens, false))
    }
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<ChunkUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<ChunkDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChunkDelta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct ChunkUsage {
    #[serde(default)]
    prompt_tokens: Option<usize>,
    #[serde(default)]
    completion_tokens: Option<usize>,
}

struct UpState<S> {
    body: std::pin::Pin<Box<S>>,
    parser: SseParser,
    out: VecDeque<Result<GenEvent, LlmError>>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    deltas: usize,
    prompt_tokens: usize,
    done: bool,
    url: String,
    timeout: Duration,
}

impl<S> UpState<S> {
    fn fail(&mut self, message: String) {
        self.out.push_back(Err(LlmError::Upstream {
            status: None,
            message,
        }));
        self.done = true;
    }

    fn end(&mut self) {
        let usage = self.usage.unwrap_or(Usage {
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.deltas,
        });
        let finish_reason = self.finish.unwrap_or(FinishReason::Stop);
        self.out.push_back(Ok(GenEvent::Done {
            finish_reason,
            usage,
        }));
        self.done = true;
    }

    fn event(&mut self, data: &str) {
        if self.done {
            return;
        }
        if data.trim() == "[DONE]" {
            self.end();
            return;
        }
        let Ok(chunk) = serde_json::from_str::<Chunk>(data) else {
            self.fail(format!("{} sent a malformed stream chunk", self.url));
            return;
        };
        if let Some(err) = chunk.error {
            let code = error_code(
                &serde_json::to_vec(&serde_json::json!({ "error": err })).unwrap_or_default(),
            )
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
            self.fail(format!(
                "{} reported an error while streaming{code}",
                self.url
            ));
            return;
        }
        for choice in chunk.choices {
            if let Some(text) = choice
                .delta
                .and_then(|d| d.content)
                .filter(|t| !t.is_empty())
            {
                self.deltas += 1;
                self.out.push_back(Ok(GenEvent::Delta(text)));
            }
            if let Some(r) = choice.finish_reason {
                self.finish = Some(match r.as_str() {
                    "length" => FinishReason::Length,
                    "cancelled" | "canceled" => FinishReason::Cancelled,
                    _ => FinishReason::Stop,
                });
            }
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(Usage {
                prompt_tokens: u.prompt_tokens.unwrap_or(self.prompt_tokens),
                completion_tokens: u.completion_tokens.unwrap_or(self.deltas),
            });
        }
    }
}

fn upstream_stream<S, B>(body: S, prompt_tokens: usize, url: String, timeout: Duration) -> GenStream
where
    S: Stream<Item = reqwest::Result<B>> + Send + 'static,
    B: AsRef<[u8]> + Send,
{
    let state = UpState {
        body: Box::pin(body),
        parser: SseParser::default(),
        out: VecDeque::new(),
        finish: None,
        usage: None,
        deltas: 0,
        prompt_tokens,
        done: false,
        url,
        timeout,
    };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.out.pop_front() {
                return Some((ev, st));
            }
            if st.done {
                return None;
            }
            match st.body.next().await {
                Some(Ok(bytes)) => match st.parser.push(bytes.as_ref()) {
                    Ok(events) => events.iter().for_each(|e| st.event(e)),
                    Err(why) => st.fail(format!("{} sent a malformed event stream: {why}", st.url)),
                },
                Some(Err(e)) => {
                    let msg = describe(&e, &st.url, st.timeout);
                    st.fail(msg);
                }
                None => {
                    match st.parser.finish() {
                        Ok(events) => events.iter().for_each(|e| st.event(e)),
                        Err(why) => {
                            st.fail(format!("{} sent a malformed event stream: {why}", st.url))
                        }
                    }
                    if !st.done {
                        if st.finish.is_some() {
                            st.end();
                        } else {
                            st.fail(format!(
                                "{} closed the stream before the answer finished",
                                st.url
                            ));
                        }
                    }
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn api_key_is_redacted() {
        let k = ApiKey::new("sk-very-secret");
        assert_eq!(format!("{k:?} {k}"), "[REDACTED] [REDACTED]");
        assert_eq!(k.expose(), "sk-very-secret");
    }

    #[test]
    fn error_code_keeps_identifiers_only() {
        let body = br#"{"error":{"message":"prompt 'my secret' too long","type":"invalid_request_error","code":null}}"#;
        assert_eq!(error_code(body).as_deref(), Some("invalid_request_error"));
        assert_eq!(error_code(br#"{"error":{"type":"a b c"}}"#), None);
        assert_eq!(error_code(b"<html>"), None);
    }

    /// Runs the SSE/chunk parser over a body delivered in the given pieces.
    async fn parse(pieces: &[&str]) -> Vec<Result<GenEvent, LlmError>> {
        let body: Vec<Result<Vec<u8>, reqwest::Error>> =
            pieces.iter().map(|p| Ok(p.as_bytes().to_vec())).collect();
        let s = upstream_stream(
            futures::stream::iter(body),
            7,
            "http://up/v1".into(),
            Duration::from_secs(1),
        );
        s.collect().await
    }

    fn chunk(content: &str, finish: Option<&str>) -> String {
        let c = serde_json::json!({ "choices": [{ "index": 0, "delta": { "content": content }, "finish_reason": finish }] });
        format!("data: {c}\n\n")
    }

    #[tokio::test]
    async fn stream_with_usage_and_done() {
        let body = [
            chunk("Hel", None),
            chunk("lo", None),
            chunk("", Some("length")),
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n".into(),
        ]
        .concat();
        // Split the body at every byte: the result must not depend on how it arrives.
        for cut in [1, 5, 17, body.len() / 2] {
            let (a, b) = body.split_at(cut);
            let evs: Vec<GenEvent> = parse(&[a, b])
                .await
                .into_iter()
                .map(|e| e.unwrap())
                .collect();
            assert_eq!(
                evs,
                [
                    GenEvent::Delta("Hel".into()),
                    GenEvent::Delta("lo".into()),
                    GenEvent::Done {
                        finish_reason: FinishReason::Length,
                        usage: Usage {
                            prompt_tokens: 11,
                            completion_tokens: 2
                        }
                    }
                ]
            );
        }
    }

    #[tokio::test]
    async fn stream_endings() {
        // finish_reason but no [DONE] and no usage: done, with estimated usage.
        let evs = parse(&[&chunk("a", Some("stop"))]).await;
        assert!(matches!(
            evs.last(),
            Some(Ok(GenEvent::Done {
                finish_reason: FinishReason::Stop,
                usage: Usage {
                    prompt_tokens: 7,
                    completion_tokens: 1
                }
            }))
        ));
        // Closed mid-answer: an error, after the text that did arrive.
        let evs = parse(&[&chunk("a", None)]).await;
        assert!(
            matches!(&evs[..], [Ok(GenEvent::Delta(_)), Err(LlmError::Upstream { status: None, message })] if message.contains("closed the stream"))
        );
        // An error object mid-stream: an error without its free text.
        let evs = parse(&[
            "data: {\"error\":{\"message\":\"secret prompt\",\"type\":\"overloaded_error\"}}\n\n",
        ])
        .await;
        match &evs[..] {
            [Err(LlmError::Upstream { message, .. })] => {
                assert!(
                    message.contains("overloaded_error") && !message.contains("secret"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
        // Garbage: an error.
        assert!(matches!(
            &parse(&["data: {not json\n\n"]).await[..],
            [Err(LlmError::Upstream { .. })]
        ));
    }

    #[test]
    fn bad_config_is_a_load_error() {
        assert!(matches!(
            OpenAiGenerator::new(UpstreamConfig::new("ftp://x", "m")),
            Err(LlmError::Load(_))
        ));
        let mut cfg = UpstreamConfig::new("http://127.0.0.1:1/v1", "m");
        cfg.api_key_env = Some("SLUICE_LLM_TEST_SURELY_UNSET_KEY".into());
        assert!(
            matches!(OpenAiGenerator::new(cfg), Err(LlmError::Load(m)) if m.contains("SLUICE_LLM_TEST_SURELY_UNSET_KEY"))
        );
    }
}
