//! The local backend: a GGUF model run in-process by mistral.rs, on the CPU unless the
//! crate is built with the `cuda` feature. The file is checked here first (magic bytes,
//! architecture) so a wrong file is a clear [`LlmError::ModelFile`], never a panic; the
//! chat template and tokenizer come from the file, and no network is used.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::FutureExt;
use mistralrs::{
    Constraint, Model, NormalRequest, Request, RequestBuilder, RequestLike, Response, StopTokens,
    TextMessageRole,
};
use tokio::sync::mpsc;

use crate::gguf;
use crate::pipeline;
use crate::queue::QueuedGenerator;
use crate::stops::{TEMPLATE_ECHOES, apply_stops};
use crate::{
    ChatRequest, FinishReason, GenEvent, GenStream, Generator, LlmError, Role, Usage,
    estimate_tokens,
};

/// Longest context used when the configuration does not set one, whatever the model's
/// own limit: the KV cache grows with it, and RAG prompts on CPU stay well below it.
pub const DEFAULT_MAX_CONTEXT: usize = 8192;

/// Tokens the chat template adds per message (role markers, separators), for the
/// prompt-length estimate.
const TEMPLATE_TOKENS_PER_MESSAGE: usize = 4;

/// How to load a local GGUF model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModelConfig {
    /// The `.gguf` file. Relative paths are taken from the current directory.
    pub path: PathBuf,
    /// Tokens of context to allow (prompt + completion). Default: the model's own
    /// `<architecture>.context_length`, at most [`DEFAULT_MAX_CONTEXT`]; a larger value
    /// than the model's own is lowered to it.
    pub context_length: Option<usize>,
    /// Generations run at once (default 1; also mistral.rs's batch size). Applied by
    /// [`MistralRsGenerator::queued`].
    pub max_concurrency: usize,
    /// Requests that may wait for a free slot (default 32); more are turned away with
    /// [`LlmError::Busy`]. Applied by [`MistralRsGenerator::queued`].
    pub max_queue: usize,
}

impl LocalModelConfig {
    /// The defaults for the model at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            context_length: None,
            max_concurrency: 1,
            max_queue: 32,
        }
    }
}

/// A GGUF model run in-process by mistral.rs.
///
/// One instance holds one copy of the weights. It does not limit concurrency itself:
/// share it through [`MistralRsGenerator::queued`].
pub struct MistralRsGenerator {
    model: Arc<Model>,
    model_id: String,
    architecture: String,
    context_length: usize,
    tokenizer: Arc<OnceLock<Option<tokenizers::Tokenizer>>>,
    load_time: Duration,
    /// Activation dtype the engine runs in (`f32` on a CPU).
    dtype: String,
    max_concurrency: usize,
    max_queue: usize,
}

impl std::fmt::Debug for MistralRsGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MistralRsGenerator")
            .field("model_id", &self.model_id)
            .field("architecture", &self.architecture)
            .field("context_length", &self.context_length)
            .field("tokenizer", &self.tokenizer.get().map(Option::is_some))
            .field("load_time", &self.load_time)
            .finish_non_exhaustive()
    }
}

impl MistralRsGenerator {
    /// Checks and loads the model. Must run inside a multi-thread tokio runtime.
    ///
    /// Errors: [`LlmError::ModelFile`] when the file is missing, not GGUF, or of an
    /// architecture mistral.rs cannot run; [`LlmError::Load`] when mistral.rs fails (a
    /// panic inside mistral.rs during loading is caught and reported the same way).
    pub async fn load(cfg: LocalModelConfig) -> Result<Self, LlmError> {
        let started = Instant::now();
        let file_err = |reason: String| LlmError::ModelFile {
            path: cfg.path.clone(),
            reason,
        };
        let path =
            std::path::absolute(&cfg.path).map_err(|e| file_err(format!("bad path: {e}")))?;

        let header_path = path.clone();
        let header = tokio::task::spawn_blocking(move || gguf::read_header(&header_path))
            .await
            .map_err(|e| file_err(format!("reading the header failed: {e}")))?
            .map_err(file_err)?;
        gguf::check_architecture(&header).map_err(file_err)?;

        let (Some(dir), Some(file)) = (
            path.parent().and_then(|d| d.to_str()).map(str::to_string),
            path.file_name()
                .and_then(|f| f.to_str())
                .map(str::to_string),
        ) else {
            return Err(file_err("the path must be valid UTF-8".into()));
        };
        let model_id = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("local")
            .to_string();

        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {}
            _ => {
                return Err(LlmError::Load(
                    "mistral.rs must be loaded inside a multi-thread tokio runtime".into(),
                ));
            }
        }

        let max_concurrency = cfg.max_concurrency.max(1);
        // `dir` is absolute and exists, so mistral.rs reads the file locally and never
        // asks the Hugging Face hub; TokenSource::None sends no token anywhere.
        // Prefix caching is off: mistral.rs 0.8.1 keeps the KV cache of every finished
        // sequence and only evicts caches held on a GPU (`prefix_cacher.rs`), so on the CPU
        // memory would grow with every request. RAG prompts share little prefix anyway.
        let force_cpu = cfg!(not(feature = "cuda"));
        let build = pipeline::build(dir, file, max_concurrency, force_cpu);
        let (model, dtype) = match AssertUnwindSafe(build).catch_unwind().await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => return Err(LlmError::Load(format!("mistral.rs: {e}"))),
            Err(panic) => {
                return Err(LlmError::Load(format!(
                    "mistral.rs panicked: {}",
                    panic_text(&*panic)
                )));
            }
        };

        // The tokenizer for `count_tokens` is rebuilt after the model is up, off the load
        // path (about 0.3 s on 2 cores); `count_tokens` waits for it if called before. The
        // cell is always set, to `None` if the build fails or panics.
        let tokenizer = Arc::new(OnceLock::new());
        let cell = Arc::clone(&tokenizer);
        let meta = header.tokenizer;
        let spawned = std::thread::Builder::new()
            .name("sluice-llm-tokenizer".into())
            .spawn(move || {
                let built =
                    std::panic::catch_unwind(AssertUnwindSafe(|| gguf::build_tokenizer(&meta)));
                let _ = cell.set(built.ok().flatten());
            });
        if spawned.is_err() {
            let _ = tokenizer.set(None);
        }

        let native = header.context_length.and_then(|n| usize::try_from(n).ok());
        let context_length = match (cfg.context_length, native) {
            (Some(c), Some(n)) => c.min(n),
            (Some(c), None) => c,
            (None, Some(n)) => n.min(DEFAULT_MAX_CONTEXT),
            (None, None) => 2048,
        }
        .max(1);

        Ok(Self {
            model: Arc::new(model),
            model_id,
            architecture: header.architecture,
            context_length,
            tokenizer,
            load_time: started.elapsed(),
            dtype: dtype.to_string(),
            max_concurrency,
            max_queue: cfg.max_queue,
        })
    }

    /// Wall time [`MistralRsGenerator::load`] took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// The activation dtype the engine runs in: `f32` on a CPU (see `pipeline`), the
    /// engine's choice on a GPU.
    pub fn dtype(&self) -> &str {
        &self.dtype
    }

    /// The GGUF `general.architecture`, e.g. `llama`.
    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    /// Whether [`Generator::count_tokens`] uses the model's tokenizer (rebuilt from the
    /// GGUF for `gpt2`- and `llama`-type tokenizers) rather than the `chars / 4` estimate.
    /// Waits until the tokenizer is built (it is built in the background after loading).
    pub fn has_tokenizer(&self) -> bool {
        self.tokenizer.wait().is_some()
    }

    /// Wraps the generator in a [`QueuedGenerator`] with the configuration's
    /// `max_concurrency` and `max_queue`: the way to share one loaded model.
    pub fn queued(self) -> QueuedGenerator {
        let (c, q) = (self.max_concurrency, self.max_queue);
        QueuedGenerator::new(Arc::new(self), c, q)
    }

    fn prompt_tokens(&self, req: &ChatRequest) -> usize {
        req.messages
            .iter()
            .map(|m| self.count_tokens(&m.content) + TEMPLATE_TOKENS_PER_MESSAGE)
            .sum()
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[async_trait]
impl Generator for MistralRsGenerator {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn context_length(&self) -> usize {
        self.context_length
    }

    /// The model's own tokenizer when it could be rebuilt from the GGUF (see
    /// [`MistralRsGenerator::has_tokenizer`]), else `chars / 4` rounded up.
    fn count_tokens(&self, text: &str) -> usize {
        match self.tokenizer.wait() {
            Some(t) => t
                .encode_fast(text, false)
                .map(|e| e.len())
                .unwrap_or_else(|_| estimate_tokens(text)),
            None => estimate_tokens(text),
        }
    }

    async fn generate(&self, req: ChatRequest) -> Result<GenStream, LlmError> {
        req.validate()?;
        let prompt_tokens = self.prompt_tokens(&req);
        if prompt_tokens >= self.context_length {
            return Err(LlmError::InvalidRequest(format!(
                "the prompt has about {prompt_tokens} tokens; the model accepts {} in all",
                self.context_length
            )));
        }
        let max_tokens = req
            .params
            .max_tokens
            .min(self.context_length - prompt_tokens);

        let mut builder = RequestBuilder::new().set_sampler_max_len(max_tokens);
        for m in &req.messages {
            let role = match m.role {
                Role::System => TextMessageRole::System,
                Role::User => TextMessageRole::User,
                Role::Assistant => TextMessageRole::Assistant,
            };
            builder = builder.add_message(role, &m.content);
        }
        // RequestBuilder starts deterministic (greedy); only a positive temperature samples.
        if req.params.temperature > 0.0 {
            builder = builder.set_sampler_temperature(f64::from(req.params.temperature));
        }
        if !req.params.stop.is_empty() {
            builder = builder.set_sampler_stop_toks(StopTokens::Seqs(req.params.stop.clone()));
        }

        // Build the engine request directly (as `Model::stream_chat_request` does) so the
        // response channel is owned by the returned stream: `Model`'s own stream borrows
        // the model. Dropping the receiver makes the engine cancel the sequence.
        let (tx, rx) = mpsc::channel(8);
        let request = Request::Normal(Box::new(NormalRequest {
            messages: builder.take_messages(),
            sampling_params: builder.take_sampling_params(),
            response: tx,
            return_logprobs: false,
            is_streaming: true,
            id: 0,
            constraint: Constraint::None,
            suffix: None,
            tools: None,
            tool_choice: None,
            logits_processors: None,
            return_raw_logits: false,
            web_search_options: None,
            model_id: None,
            truncate_sequence: false,
        }));
        let sender =
            self.model.inner().get_sender(None).map_err(|e| {
                LlmError::Generation(format!("the model engine is not available: {e}"))
            })?;
        sender
            .send(request)
            .await
            .map_err(|_| LlmError::Generation("the model engine has stopped".into()))?;

        let raw = engine_stream(rx, prompt_tokens, max_tokens, Arc::clone(&self.model));
        // Small local models replay the prompt template and loop on a sentence; the habits
        // are cut on the raw stream (see `stops::TEMPLATE_ECHOES` and `RepeatGuard`).
        let mut stops = req.params.stop;
        stops.extend(TEMPLATE_ECHOES.map(str::to_owned));
        Ok(apply_stops(raw, stops, prompt_tokens, true))
    }
}

struct EngineState {
    rx: mpsc::Receiver<Response>,
    out: VecDeque<Result<GenEvent, LlmError>>,
    done: bool,
    deltas: usize,
    prompt_tokens: usize,
    max_tokens: usize,
    /// Keeps the engine alive while a stream is read, even if the generator is dropped.
    _model: Arc<Model>,
}

impl EngineState {
    fn fallback_usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.deltas,
        }
    }

    fn delta(&mut self, text: Option<String>) {
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            self.deltas += 1;
            self.out.push_back(Ok(GenEvent::Delta(t)));
        }
    }

    fn finish(&mut self, reason: &str, usage: Option<mistralrs::Usage>) {
        let usage = usage.map_or_else(
            || self.fallback_usage(),
            |u| Usage {
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
            },
        );
        self.out.push_back(Ok(GenEvent::Done {
            finish_reason: finish_reason(reason),
            usage,
        }));
        self.done = true;
    }

    fn fail(&mut self, e: LlmError) {
        self.out.push_back(Err(e));
        self.done = true;
    }

    fn on_response(&mut self, resp: Option<Response>) {
        match resp {
            Some(Response::Chunk(c)) => {
                let mut reason = None;
                for choice in c.choices {
                    self.delta(choice.delta.content);
                    reason = reason.or(choice.finish_reason);
                }
                if let Some(r) = reason {
                    self.finish(&r, c.usage);
                }
            }
            Some(Response::Done(r)) => {
                let mut reason = None;
                for choice in r.choices {
                    self.delta(choice.message.content);
                    reason = Some(choice.finish_reason);
                }
                self.finish(reason.as_deref().unwrap_or("stop"), Some(r.usage));
            }
            Some(Response::ValidationError(e)) => {
                self.fail(LlmError::InvalidRequest(e.to_string()))
            }
            Some(Response::InternalError(e)) => self.fail(LlmError::Generation(e.to_string())),
            Some(Response::ModelError(m, _)) => self.fail(LlmError::Generation(m)),
            Some(_) => self.fail(LlmError::Generation(
                "unexpected response from the engine".into(),
            )),
            None => {
                // mistral.rs sends no final chunk when the last token ends inside a
                // multi-byte character (it waits for the rest); the generation is over.
                let reason = if self.deltas >= self.max_tokens {
                    "length"
                } else {
                    "stop"
                };
                self.finish(reason, None);
            }
        }
    }
}

fn finish_reason(r: &str) -> FinishReason {
    match r {
        "length" => FinishReason::Length,
        "canceled" | "cancelled" => FinishReason::Cancelled,
        _ => FinishReason::Stop,
    }
}

fn engine_stream(
    rx: mpsc::Receiver<Response>,
    prompt_tokens: usize,
    max_tokens: usize,
    model: Arc<Model>,
) -> GenStream {
    let state = EngineState {
        rx,
        out: VecDeque::new(),
        done: false,
        deltas: 0,
        prompt_tokens,
        max_tokens,
        _model: model,
    };
    Box::pin(futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.out.pop_front() {
                return Some((ev, st));
            }
            if st.done {
                return None;
            }
            let resp = st.rx.recv().await;
            st.on_response(resp);
        }
    }))
}
