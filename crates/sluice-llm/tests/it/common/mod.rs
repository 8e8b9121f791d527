//! Shared test helpers: one tokio runtime per test binary, the SmolLM2 model loaded once
//! per binary, and a collector for generation streams.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use futures::StreamExt;
use sluice_llm::{
    ChatMessage, ChatRequest, FinishReason, GenEvent, GenStream, GenerationParams, LlmError,
    LocalModelConfig, MistralRsGenerator, Usage,
};
use tokio::runtime::Runtime;

/// The model file name `make models` provisions.
pub const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// One multi-thread runtime for the whole binary, so the model and any servers outlive
/// individual tests.
pub fn rt() -> &'static Runtime {
    static RT: LazyLock<Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    });
    &RT
}

/// `$SLUICE_MODELS` or `<workspace>/models`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("SLUICE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"))
}

/// SmolLM2, loaded once per test binary.
pub async fn model() -> Arc<MistralRsGenerator> {
    static MODEL: tokio::sync::OnceCell<Arc<MistralRsGenerator>> =
        tokio::sync::OnceCell::const_new();
    MODEL
        .get_or_init(|| async {
            let path = models_dir().join(SMOLLM2);
            assert!(
                path.is_file(),
                "{} is missing: run `make models`",
                path.display()
            );
            let g = MistralRsGenerator::load(LocalModelConfig::new(path))
                .await
                .expect("load SmolLM2");
            eprintln!("SmolLM2 loaded in {:?}", g.load_time());
            Arc::new(g)
        })
        .await
        .clone()
}

/// A greedy request with one user message.
pub fn ask(q: &str, max_tokens: usize, stop: &[&str]) -> ChatRequest {
    ChatRequest {
        messages: vec![ChatMessage::user(q)],
        params: GenerationParams {
            max_tokens,
            temperature: 0.0,
            stop: stop.iter().map(|s| s.to_string()).collect(),
        },
    }
}

/// The outcome of a whole stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub text: String,
    pub deltas: usize,
    pub finish: FinishReason,
    pub usage: Usage,
}

/// Reads a stream to its end; checks that `Done` comes last and exactly once.
pub async fn collect(mut s: GenStream) -> Result<Outcome, LlmError> {
    let (mut text, mut deltas, mut done) = (String::new(), 0, None);
    while let Some(ev) = s.next().await {
        match ev? {
            GenEvent::Delta(d) => {
                assert!(done.is_none(), "delta after Done");
                assert!(!d.is_empty(), "empty delta");
                deltas += 1;
                text.push_str(&d);
            }
            GenEvent::Done {
                finish_reason,
                usage,
            } => {
                assert!(done.is_none(), "two Done events");
                done = Some((finish_reason, usage));
            }
        }
    }
    let (finish, usage) = done.expect("stream ended without Done");
    Ok(Outcome {
        text,
        deltas,
        finish,
        usage,
    })
}
