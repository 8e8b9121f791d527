//! Local-model benchmark for `bench/llm_peers.sh`: loads a GGUF with
//! [`MistralRsGenerator`], answers each prompt greedily, and prints one JSON line with
//! the load time, memory, and per-prompt time to first token and decode rate.
//!
//! ```text
//! cargo run --release -p sluice-llm --example llm_bench -- \
//!     --model models/SmolLM2-135M-Instruct.Q4_1.gguf --prompts prompts.json [--max-tokens 64]
//! ```
//! `prompts.json` is a JSON array of strings. Threads: set `RAYON_NUM_THREADS` (candle
//! reads it for its CPU kernels).

use std::path::PathBuf;
use std::time::Instant;

use futures::StreamExt;
use sluice_llm::{
    ChatMessage, ChatRequest, GenEvent, GenerationParams, Generator, LocalModelConfig,
    MistralRsGenerator,
};

fn proc_status_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let model = PathBuf::from(arg(&args, "--model").ok_or("--model PATH is required")?);
    let prompts: Vec<String> = serde_json::from_str(&std::fs::read_to_string(
        arg(&args, "--prompts").ok_or("--prompts FILE is required")?,
    )?)?;
    let max_tokens: usize = arg(&args, "--max-tokens").map_or(Ok(64), |s| s.parse())?;

    let rss_before_load = proc_status_mb("VmRSS:");
    let generator = MistralRsGenerator::load(LocalModelConfig::new(model)).await?;
    let load_s = generator.load_time().as_secs_f64();
    let rss_after_load = proc_status_mb("VmRSS:");

    let mut runs = Vec::new();
    for (i, prompt) in prompts.iter().enumerate() {
        let req = ChatRequest {
            messages: vec![ChatMessage::user(prompt.clone())],
            params: GenerationParams {
                max_tokens,
                temperature: 0.0,
                stop: vec![],
            },
        };
        let start = Instant::now();
        let mut stream = generator.generate(req).await?;
        let (mut first, mut last, mut chunks, mut text) = (None, None, 0usize, String::new());
        let mut usage = None;
        while let Some(ev) = stream.next().await {
            match ev? {
                GenEvent::Delta(d) => {
                    let now = start.elapsed().as_secs_f64();
                    first.get_or_insert(now);
                    last = Some(now);
                    chunks += 1;
                    text.push_str(&d);
                }
                GenEvent::Done { usage: u, .. } => usage = Some(u),
            }
        }
        let total = start.elapsed().as_secs_f64();
        let decode = match (first, last) {
            (Some(f), Some(l)) if chunks > 1 && l > f => (chunks - 1) as f64 / (l - f),
            _ => 0.0,
        };
        runs.push(serde_json::json!({
            "prompt": i,
            "ttft_s": first,
            "decode_tok_s": decode,
            "chunks": chunks,
            "prompt_tokens": usage.map(|u| u.prompt_tokens),
            "completion_tokens": usage.map(|u| u.completion_tokens),
            "total_s": total,
            "text": text,
        }));
    }
    let out = serde_json::json!({
        "engine": "sluice-llm (mistral.rs 0.8.1)",
        "model": generator.model_id(),
        "threads": std::env::var("RAYON_NUM_THREADS").ok(),
        "load_s": load_s,
        "tokenizer": generator.has_tokenizer(),
        "rss_mb_before_load": rss_before_load,
        "rss_mb_after_load": rss_after_load,
        "rss_mb_end": proc_status_mb("VmRSS:"),
        "hwm_mb": proc_status_mb("VmHWM:"),
        "runs": runs,
    });
    println!("{out}");
    Ok(())
}
