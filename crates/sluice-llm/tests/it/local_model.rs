//! The mistral.rs backend against the real SmolLM2-135M model (`make models`).
#![allow(clippy::unwrap_used)]

use crate::common::{ask, collect, model, rt};
use futures::StreamExt;
use sluice_llm::RequantTarget::{F16, Q8_0};
use sluice_llm::{ChatMessage, ChatRequest, FinishReason, Generator, LlmError};

use crate::common;

const CAPITAL: &str = "What is the capital of France? Answer in one word.";

#[test]
fn answers_greedily_and_deterministically() {
    rt().block_on(async {
        let m = model().await;
        let a = collect(m.generate(ask(CAPITAL, 16, &[])).await.unwrap())
            .await
            .unwrap();
        eprintln!("answer: {:?} {:?}", a.text, a.usage);
        assert!(!a.text.trim().is_empty());
        assert!(a.text.contains("Paris"), "unexpected answer {:?}", a.text);
        assert!(a.usage.completion_tokens > 0 && a.usage.prompt_tokens > 0);
        let b = collect(m.generate(ask(CAPITAL, 16, &[])).await.unwrap())
            .await
            .unwrap();
        assert_eq!(a.text, b.text, "greedy decoding must repeat");
    });
}

#[test]
fn max_tokens_ends_with_length() {
    rt().block_on(async {
        let m = model().await;
        let q = "Write a long story about a lighthouse keeper.";
        let o = collect(m.generate(ask(q, 4, &[])).await.unwrap())
            .await
            .unwrap();
        assert_eq!(o.finish, FinishReason::Length, "{o:?}");
        assert_eq!(o.usage.completion_tokens, 4, "{o:?}");
        assert!(!o.text.is_empty());
    });
}

#[test]
fn stop_strings_cut_the_answer() {
    rt().block_on(async {
        let m = model().await;
        let q = "List three colours, separated by commas.";
        let full = collect(m.generate(ask(q, 32, &[])).await.unwrap())
            .await
            .unwrap();
        // Stop at a piece from the middle of the greedy answer: the stopped answer must be
        // exactly the text before it (greedy decoding is deterministic).
        let stop = full
            .text
            .split_whitespace()
            .skip(1)
            .find(|w| full.text.find(w).is_some_and(|at| at > 0))
            .unwrap_or_else(|| panic!("answer too short to test stops: {:?}", full.text));
        let expected = &full.text[..full.text.find(stop).unwrap()];
        assert!(!expected.is_empty());
        let o = collect(m.generate(ask(q, 32, &["@@never@@", stop])).await.unwrap())
            .await
            .unwrap();
        eprintln!("full {:?}, stop {stop:?} -> {:?}", full.text, o.text);
        assert_eq!(o.text, expected);
        assert_eq!(o.finish, FinishReason::Stop);
        assert!(!o.text.contains(stop));
        assert!(o.usage.completion_tokens > 0);
    });
}

#[test]
fn tokenizer_counts_and_context_limit() {
    rt().block_on(async {
        let m = model().await;
        assert!(
            m.has_tokenizer(),
            "SmolLM2's gpt2 tokenizer should be rebuilt from the GGUF"
        );
        assert_eq!(m.architecture(), "llama");
        assert_eq!(m.context_length(), 8192);
        let n = m.count_tokens("The capital of France is Paris.");
        assert!((5..=10).contains(&n), "{n} tokens");
        assert_eq!(m.count_tokens(""), 0);

        let long = "word ".repeat(9000);
        let err = m.generate(ask(&long, 8, &[])).await.err().unwrap();
        assert!(
            matches!(err, LlmError::InvalidRequest(ref s) if s.contains("8192")),
            "{err}"
        );
        let empty = ChatRequest::new(vec![]);
        assert!(matches!(
            m.generate(empty).await.err().unwrap(),
            LlmError::InvalidRequest(_)
        ));
    });
}

#[test]
fn dropped_stream_does_not_wedge_the_engine() {
    rt().block_on(async {
        let m = model().await;
        let mut s = m
            .generate(ask("Count from one to fifty in words.", 200, &[]))
            .await
            .unwrap();
        let first = s.next().await.unwrap().unwrap();
        assert!(matches!(first, sluice_llm::GenEvent::Delta(_)));
        drop(s); // the engine cancels the sequence on its next send
        let req = ChatRequest::new(vec![
            ChatMessage::system("Be brief."),
            ChatMessage::user("Hi!"),
        ]);
        let mut req = req;
        req.params.max_tokens = 8;
        let o = collect(m.generate(req).await.unwrap()).await.unwrap();
        assert!(o.usage.completion_tokens > 0);
    });
}

/// The Q8_0 copy `make run` writes answers like the pinned Q4_1 file, and runs in f32 on
/// the CPU (the dtype mistral.rs's builder would not choose).
#[test]
fn requantized_copy_answers_the_same() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let src = common::models_dir().join(common::SMOLLM2);
        assert!(
            sluice_llm::needs_requantize(&src, Q8_0).unwrap(),
            "the pinned file is Q4_1"
        );
        let dst = convert_and_ask(&src, &dir.path().join("smollm2.q8_0.gguf"), Q8_0).await;
        // Deterministic output: the same file gives the same bytes (so its hash can be kept).
        let again = dir.path().join("again.gguf");
        sluice_llm::requantize(&src, &again, Q8_0).unwrap();
        assert_eq!(std::fs::read(&dst).unwrap(), std::fs::read(&again).unwrap());
    });
}

/// Converts `src` to `target` at `dst`, checks that nothing is left to convert, loads the
/// copy (in f32, as candle runs every GGUF on a CPU) and checks that it still answers.
async fn convert_and_ask(
    src: &std::path::Path,
    dst: &std::path::Path,
    target: sluice_llm::RequantTarget,
) -> std::path::PathBuf {
    let report = sluice_llm::requantize(src, dst, target).unwrap();
    assert!(report.converted > 0, "{report:?}");
    assert!(!sluice_llm::needs_requantize(dst, target).unwrap());
    let model = sluice_llm::MistralRsGenerator::load(sluice_llm::LocalModelConfig::new(dst))
        .await
        .unwrap();
    assert_eq!(model.dtype(), "f32");
    let a = collect(model.generate(ask(CAPITAL, 16, &[])).await.unwrap())
        .await
        .unwrap();
    assert!(a.text.contains("Paris"), "unexpected answer {:?}", a.text);
    dst.to_path_buf()
}

/// The F16 copy (every quantised tensor unpacked, so candle reads a prompt with GEMMs) loads,
/// runs in f32 and still answers; a second conversion finds nothing left to do.
#[test]
fn unpacked_copy_answers_too() {
    rt().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let src = common::models_dir().join(common::SMOLLM2);
        assert!(sluice_llm::needs_requantize(&src, F16).unwrap());
        let dst = convert_and_ask(&src, &dir.path().join("smollm2.f16.gguf"), F16).await;
        assert!(
            !sluice_llm::needs_requantize(&dst, Q8_0).unwrap(),
            "no Q4_1 tensor is left"
        );
    });
}
