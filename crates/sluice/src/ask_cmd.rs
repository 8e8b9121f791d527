//! `sluice ask`: the guarded answer path from the command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use futures::StreamExt;
use sluice_llm::{GenerationParams, Generator, QueuedGenerator};
use sluice_rag::{AnswerError, AnswerEvent, AnswerSettings, AnswerView, Answerer, AskRequest};
use sluice_server::LlmConfig;

use crate::ingest_cmd::Mode;
use crate::stack::{StackArgs, runtime};

/// `sluice ask`.
#[derive(Args, Debug)]
pub struct AskArgs {
    /// The question (or use --question-file).
    #[arg(required_unless_present = "question_file")]
    question: Option<String>,
    /// Read the question from a file (UTF-8).
    #[arg(long, conflicts_with = "question")]
    question_file: Option<PathBuf>,
    /// Collections to answer from (repeat or comma-separate).
    #[arg(long, short, required = true, value_delimiter = ',')]
    collection: Vec<sluice_index::CollectionName>,
    /// JSON output (answer, citations, findings per boundary, tokens, timings).
    #[arg(long)]
    json: bool,
    /// Print the answer at the end instead of streaming it.
    #[arg(long)]
    no_stream: bool,
    /// Answer with the cited passages only: no model call (the fast mode for CPU hosts).
    #[arg(long)]
    extractive: bool,
    /// Sources to retrieve.
    #[arg(long, short, default_value_t = 4)]
    k: usize,
    /// Retrieval legs.
    #[arg(long, value_enum, default_value_t = Mode::Hybrid)]
    mode: Mode,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Sentences of the sources the model reads (0: whole chunks); see `[answer] context_sentences`.
    #[arg(long, default_value_t = sluice_rag::DEFAULT_CONTEXT_SENTENCES)]
    context_sentences: usize,
    /// Sampling temperature (0 = greedy, reproducible).
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Local GGUF model (default: the quality model where the host affords it, else
    /// SmolLM2-135M, Q8_0 when `make run` has written it; see `sluice_llm::default_model`).
    #[arg(long, env = "SLUICE_LLM_MODEL")]
    model: Option<PathBuf>,
    /// Use an OpenAI-compatible upstream instead of the local model (e.g. http://127.0.0.1:11434/v1).
    #[arg(long, env = "SLUICE_LLM_URL")]
    llm_url: Option<String>,
    /// Model name at the upstream.
    #[arg(long, env = "SLUICE_LLM_UPSTREAM_MODEL", requires = "llm_url")]
    llm_model: Option<String>,
    /// Name of the environment variable that holds the upstream's API key.
    #[arg(long, requires = "llm_url")]
    llm_key_env: Option<String>,
    #[command(flatten)]
    stack: StackArgs,
}

/// Runs `sluice ask`.
pub fn ask(args: AskArgs, data_dir: &Path) -> Result<ExitCode> {
    let question = match (&args.question, &args.question_file) {
        (Some(q), _) => q.clone(),
        (None, Some(f)) => {
            let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => bail!(
                    "{}: not UTF-8 text (invalid byte at offset {})",
                    f.display(),
                    e.utf8_error().valid_up_to()
                ),
            }
        }
        (None, None) => bail!("give a question or --question-file"),
    };
    let redactor = args.stack.redactor(data_dir)?;
    let rt = runtime()?;
    let embedder = args.stack.embedder(data_dir, &rt)?;
    rt.block_on(async {
        let generator = generator(&args).await?;
        let index = args.stack.index(data_dir, embedder.as_ref()).await?;
        let settings = AnswerSettings {
            context_sentences: args.context_sentences,
            ..AnswerSettings::default()
        };
        let answerer = Answerer::new(embedder, index, generator, settings);
        let mut req = AskRequest::question(question, args.collection.clone());
        req.k = Some(args.k);
        req.mode = Some(args.mode.into());
        if args.extractive {
            req.answer_mode = Some(sluice_rag::AnswerMode::Extractive);
        }
        req.params = Some(GenerationParams {
            max_tokens: args.max_tokens,
            temperature: args.temperature,
            ..GenerationParams::default()
        });
        let prepared = match answerer.prepare(&redactor, req).await {
            Ok(p) => p,
            Err(e) => return Ok(refuse(&e, args.json)),
        };
        let live = !args.json && !args.no_stream;
        let mut stdout = std::io::stdout();
        if !args.json && !args.extractive && !prepared.passages.is_empty() {
            // The cited passages are ready before the model starts: show them first.
            writeln!(stdout, "Passages:")?;
            for p in &prepared.passages {
                writeln!(stdout, "  [{}] {}", p.n, p.text)?;
            }
            writeln!(stdout)?;
            stdout.flush()?;
        }
        let mut stream = std::pin::pin!(answerer.stream(&redactor, &prepared));
        let mut text = String::new();
        let mut summary = None;
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(AnswerEvent::Delta(d)) => {
                    if live {
                        write!(stdout, "{d}")?;
                        stdout.flush()?;
                    }
                    text.push_str(&d);
                }
                Ok(AnswerEvent::Done(s)) => summary = Some(s),
                Err(e) => {
                    if live {
                        writeln!(stdout)?;
                    }
                    return Ok(refuse(&e, args.json));
                }
            }
        }
        let summary = summary.context("the answer stream ended without a summary")?;
        let view = AnswerView::new(&prepared, &summary, &text);
        let citations = &view.citations;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&view)?);
        } else {
            if !live {
                write!(stdout, "{text}")?;
            }
            writeln!(stdout)?;
            if !citations.is_empty() {
                writeln!(stdout, "\nSources:")?;
                for c in citations {
                    let heading = if c.heading_path.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", c.heading_path)
                    };
                    writeln!(
                        stdout,
                        "  [{}] {} [{}..{}]{}{}",
                        c.n,
                        c.source_path,
                        c.span.start,
                        c.span.end,
                        heading,
                        if c.cited { "" } else { " (not cited)" }
                    )?;
                }
            }
            let t = &summary.timings;
            eprintln!(
                "retrieval {:.0} ms, first token {}, total {:.0} ms, {} tokens",
                t.retrieval_ms,
                t.first_token_ms
                    .map(|m| format!("{m:.0} ms"))
                    .unwrap_or_else(|| "-".into()),
                t.total_ms,
                summary.completion_tokens
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn refuse(e: &AnswerError, json: bool) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::json!({ "error": sluice_rag::ErrorView::from(e) })
        );
    } else {
        eprintln!("error: {e}");
    }
    match e {
        AnswerError::Blocked { .. } => ExitCode::FAILURE,
        _ => ExitCode::from(2),
    }
}

async fn generator(args: &AskArgs) -> Result<Arc<dyn Generator>> {
    let llm = if let Some(url) = &args.llm_url {
        LlmConfig::Upstream {
            base_url: url.clone(),
            model: args
                .llm_model
                .clone()
                .context("--llm-model is needed with --llm-url")?,
            api_key_env: args.llm_key_env.clone(),
            context_length: None,
        }
    } else {
        LlmConfig::Local {
            gguf: args
                .model
                .clone()
                .unwrap_or_else(|| sluice_llm::default_model(&args.stack.models)),
            context_length: None,
        }
    };
    let inner = sluice_server::engines::generator(&llm).await?;
    Ok(Arc::new(QueuedGenerator::new(inner, 1, 8)))
}
