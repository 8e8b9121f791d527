//! `sluice eval`: every question of a Q&A file through the real answer path (all four
//! boundaries, the real index) for each model × k × mode, scored and reported by
//! `sluice-eval`; and `sluice eval policy`: the policy's per-entity precision and recall on
//! labelled text.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use sluice_eval::{
    CitedSource, EvalSet, LeakDetector, PassRule, QuestionKind, QuestionRun, Setting, SettingResult,
};
use sluice_llm::{GenerationParams, Generator};
use sluice_policy::Boundary;
use sluice_rag::{
    AnswerError, AnswerEvent, AnswerMode, AnswerSettings, Answerer, AskRequest, NO_CONTEXT_ANSWER,
};
use sluice_server::LlmConfig;

use crate::ingest_cmd::Mode;
use crate::stack::{StackArgs, runtime};

/// `sluice eval`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EvalArgs {
    #[command(subcommand)]
    command: Option<EvalCommand>,
    #[command(flatten)]
    qa: QaArgs,
}

#[derive(Subcommand, Debug)]
enum EvalCommand {
    /// Per-entity precision, recall and F1 of the policy on labelled JSONL cases
    /// (`{"text": …, "spans": [{"start", "end", "entity"}]}` per line).
    Policy(PolicyEvalArgs),
    /// Table and HTML report from earlier `--json` runs (several files are merged), without
    /// running anything again: e.g. models evaluated one at a time or on another machine.
    Report(ReportArgs),
}

/// `sluice eval report`.
#[derive(Args, Debug)]
struct ReportArgs {
    /// JSON files written by `sluice eval --json`.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Write the self-contained HTML report here.
    #[arg(long)]
    report: Option<PathBuf>,
}

/// Answer-path evaluation.
#[derive(Args, Debug)]
struct QaArgs {
    /// The Q&A file (docs/eval.md).
    #[arg(long)]
    qa: Option<PathBuf>,
    /// The collection the documents were ingested into.
    #[arg(long, short)]
    collection: Option<sluice_index::CollectionName>,
    /// Models (repeat): a GGUF file, `upstream:http://host/v1#model`, or `extractive`
    /// (passages only, no model). Default: the same model `sluice ask` uses (`sluice_llm::default_model`).
    #[arg(long = "model", id = "model")]
    model_specs: Vec<String>,
    /// Sources per question (comma-separated for several runs).
    #[arg(long, value_delimiter = ',', default_value = "4")]
    k: Vec<usize>,
    /// Retrieval modes (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "hybrid")]
    mode: Vec<Mode>,
    /// Most tokens per answer.
    #[arg(long, default_value_t = 128)]
    max_tokens: usize,
    /// Sentences of the sources the model reads (0: whole chunks); `[answer] context_sentences`.
    #[arg(long, default_value_t = sluice_rag::DEFAULT_CONTEXT_SENTENCES)]
    context_sentences: usize,
    /// Only the first N entries of each section (a quick run).
    #[arg(long)]
    limit: Option<usize>,
    /// Planted values that must never appear in an answer (a corpus MANIFEST.toml).
    /// Default: corpora/MANIFEST.toml when it exists.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Write the self-contained HTML report here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print every per-question record as JSON instead of the table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    stack: StackArgs,
}

/// `sluice eval policy`.
#[derive(Args, Debug)]
struct PolicyEvalArgs {
    /// Labelled cases, one JSON object per line.
    #[arg(long)]
    cases: PathBuf,
    /// The boundary whose findings are scored (`allow`ed entities are never findings).
    #[arg(long, default_value = "context")]
    boundary: Boundary,
    /// Policy folder.
    #[arg(long, env = "SLUICE_POLICY", default_value = "policies")]
    policy: PathBuf,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

/// Runs `sluice eval`.
pub fn run(args: EvalArgs, data_dir: &Path) -> Result<ExitCode> {
    match args.command {
        Some(EvalCommand::Policy(p)) => policy(p),
        Some(EvalCommand::Report(r)) => report(r),
        None => qa(args.qa, data_dir),
    }
}

fn report(args: ReportArgs) -> Result<ExitCode> {
    let mut settings = Vec::new();
    for path in &args.runs {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        settings.extend(
            sluice_eval::parse_json(&text).with_context(|| {
                format!("{} is not a `sluice eval --json` file", path.display())
            })?,
        );
    }
    if let Some(path) = &args.report {
        std::fs::write(path, sluice_eval::render_html(&settings))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("report: {}", path.display());
    }
    print!("{}", sluice_eval::render_table(&settings));
    Ok(ExitCode::SUCCESS)
}

fn policy(args: PolicyEvalArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.cases)
        .with_context(|| format!("reading {}", args.cases.display()))?;
    let policy = crate::policy_cmd::load_policy(&args.policy)?;
    // A fixed key: tokens are not scored, only the spans and entities.
    let redactor = sluice_policy::Redactor::new(
        Arc::new(policy),
        sluice_policy::PseudonymKey::new(b"sluice eval".to_vec()),
    );
    let origin = args.cases.display().to_string();
    let report = sluice_eval::eval_policy(&text, &origin, |t| {
        redactor
            .findings(t, args.boundary)
            .iter()
            .map(|f| (f.start, f.end, f.entity.to_string()))
            .collect()
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", sluice_eval::render_policy_table(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// One model to evaluate.
enum ModelSpec {
    Gguf(PathBuf),
    Upstream { url: String, model: String },
    Extractive,
}

impl ModelSpec {
    fn parse(s: &str) -> Result<Self> {
        if s == "extractive" {
            return Ok(Self::Extractive);
        }
        if let Some(rest) = s.strip_prefix("upstream:") {
            let (url, model) = rest
                .rsplit_once('#')
                .context("upstream models are written upstream:http://host/v1#model")?;
            return Ok(Self::Upstream {
                url: url.to_owned(),
                model: model.to_owned(),
            });
        }
        Ok(Self::Gguf(PathBuf::from(s)))
    }

    fn label(&self) -> String {
        match self {
            Self::Gguf(p) => p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            Self::Upstream { model, .. } => format!("upstream:{model}"),
            Self::Extractive => "extractive".into(),
        }
    }

    async fn generator(&self) -> Result<Arc<dyn Generator>> {
        let llm = match self {
            Self::Gguf(p) => LlmConfig::Local {
                gguf: p.clone(),
                context_length: None,
            },
            Self::Upstream { url, model } => LlmConfig::Upstream {
                base_url: url.clone(),
                model: model.clone(),
                api_key_env: None,
                context_length: None,
            },
            // Never called: the extractive mode answers from the passages alone.
            Self::Extractive => LlmConfig::EchoForBenchmarksOnly,
        };
        Ok(sluice_server::engines::generator(&llm).await?)
    }
}

/// One entry of the Q&A file, flattened.
struct Entry {
    id: String,
    kind: QuestionKind,
    question: String,
}

fn entries(set: &EvalSet, limit: Option<usize>) -> Vec<Entry> {
    let n = limit.unwrap_or(usize::MAX);
    let mut v: Vec<Entry> = set
        .questions
        .iter()
        .take(n)
        .map(|q| Entry {
            id: q.id.clone(),
            kind: QuestionKind::Answerable,
            question: q.question.clone(),
        })
        .collect();
    v.extend(set.off_topic.iter().take(n).map(|q| Entry {
        id: q.id.clone(),
        kind: QuestionKind::OffTopic,
        question: q.question.clone(),
    }));
    v.extend(set.adversarial.iter().take(n).map(|q| Entry {
        id: q.id.clone(),
        kind: QuestionKind::Adversarial,
        question: q.question.clone(),
    }));
    v
}

fn qa(args: QaArgs, data_dir: &Path) -> Result<ExitCode> {
    let (Some(qa_path), Some(collection)) = (&args.qa, &args.collection) else {
        bail!("give --qa FILE and --collection NAME (or `sluice eval policy --cases FILE`)");
    };
    let set = EvalSet::load(qa_path)?;
    let entries = entries(&set, args.limit);
    let manifest = args.manifest.clone().or_else(|| {
        let p = PathBuf::from("corpora/MANIFEST.toml");
        p.exists().then_some(p)
    });
    let leaks = match &manifest {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            LeakDetector::from_manifest(&text, &p.display().to_string())?
        }
        None => LeakDetector::new(Vec::<String>::new()),
    };
    let specs: Vec<ModelSpec> = if args.model_specs.is_empty() {
        vec![ModelSpec::Gguf(sluice_llm::default_model(
            &args.stack.models,
        ))]
    } else {
        args.model_specs
            .iter()
            .map(|m| ModelSpec::parse(m))
            .collect::<Result<_>>()?
    };
    let redactor = args.stack.redactor(data_dir)?;
    let rt = runtime()?;
    let embedder = args.stack.embedder(data_dir, &rt)?;
    let runs = specs.len() * args.k.len() * args.mode.len() * entries.len();
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(runs as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} questions, {elapsed} (eta {eta}) {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let results: Vec<(SettingResult, Option<u64>)> = rt.block_on(async {
        let index = args.stack.index(data_dir, embedder.as_ref()).await?;
        let mut results = Vec::new();
        for spec in &specs {
            let generator = spec.generator().await?;
            for &k in &args.k {
                for &mode in &args.mode {
                    let setting = Setting {
                        model: spec.label(),
                        k,
                        mode: sluice_index::SearchMode::from(mode).as_str().to_owned(),
                    };
                    bar.set_message(setting.label());
                    let answerer = Answerer::new(
                        embedder.clone(),
                        index.clone(),
                        generator.clone(),
                        AnswerSettings {
                            k,
                            mode: mode.into(),
                            answer_mode: match spec {
                                ModelSpec::Extractive => AnswerMode::Extractive,
                                _ => AnswerMode::Generate,
                            },
                            context_sentences: args.context_sentences,
                            ..AnswerSettings::default()
                        },
                    );
                    let mut question_runs = Vec::with_capacity(entries.len());
                    for e in &entries {
                        question_runs.push(
                            ask_one(&answerer, &redactor, collection, e, args.max_tokens).await,
                        );
                        bar.inc(1);
                    }
                    let scored = sluice_eval::score_setting(
                        setting,
                        &set,
                        question_runs,
                        &leaks,
                        &PassRule::default(),
                    )?;
                    results.push((scored, peak_rss_kib()));
                }
            }
        }
        anyhow::Ok(results)
    })?;
    bar.finish_and_clear();
    let (settings, rss): (Vec<SettingResult>, Vec<Option<u64>>) = results.into_iter().unzip();
    if let Some(path) = &args.report {
        std::fs::write(path, sluice_eval::render_html(&settings))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("report: {}", path.display());
    }
    if args.json {
        println!("{}", sluice_eval::render_json(&settings)?);
    } else {
        print!("{}", sluice_eval::render_table(&settings));
        for (s, r) in settings.iter().zip(&rss) {
            if let Some(kib) = r {
                println!(
                    "{}: peak RSS {:.0} MiB",
                    s.setting.label(),
                    *kib as f64 / 1024.0
                );
            }
        }
    }
    let leaked = settings.iter().any(|s| s.summary.leaks > 0);
    Ok(if leaked {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One question through the real answer path, timed like a user would see it.
async fn ask_one(
    answerer: &Answerer,
    redactor: &sluice_policy::Redactor,
    collection: &sluice_index::CollectionName,
    e: &Entry,
    max_tokens: usize,
) -> QuestionRun {
    let started = Instant::now();
    let mut run = QuestionRun {
        id: e.id.clone(),
        kind: e.kind,
        ..QuestionRun::default()
    };
    let mut req = AskRequest::question(e.question.clone(), vec![collection.clone()]);
    req.params = Some(GenerationParams {
        max_tokens,
        ..GenerationParams::default()
    });
    let prepared = match answerer.prepare(redactor, req).await {
        Ok(p) => p,
        Err(err) => return refusal_or_error(run, &err, started),
    };
    run.retrieved = prepared
        .citations
        .iter()
        .map(|c| c.source_path.clone())
        .collect();
    let mut stream = std::pin::pin!(answerer.stream(redactor, &prepared));
    let mut text = String::new();
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(AnswerEvent::Delta(d)) => {
                if run.first_token_ms.is_none() {
                    run.first_token_ms = Some(started.elapsed().as_secs_f64() * 1e3);
                }
                text.push_str(&d);
            }
            Ok(AnswerEvent::Done(s)) => {
                run.prompt_tokens = s.prompt_tokens as u64;
                run.completion_tokens = s.completion_tokens as u64;
            }
            Err(err) => return refusal_or_error(run, &err, started),
        }
    }
    let mut citations = prepared.citations.clone();
    sluice_rag::answer::mark_cited(&mut citations, &text);
    run.citations = citations
        .iter()
        .map(|c| CitedSource {
            n: u32::try_from(c.n).unwrap_or(u32::MAX),
            path: c.source_path.clone(),
            cited: c.cited,
        })
        .collect();
    run.refused = text == NO_CONTEXT_ANSWER;
    run.answer = text;
    run.total_ms = started.elapsed().as_secs_f64() * 1e3;
    run
}

/// A policy block is a refusal (nothing was answered); anything else is an error.
fn refusal_or_error(mut run: QuestionRun, err: &AnswerError, started: Instant) -> QuestionRun {
    run.total_ms = started.elapsed().as_secs_f64() * 1e3;
    match err {
        AnswerError::Blocked { .. } => run.refused = true,
        other => run.error = Some(other.code().to_owned()),
    }
    run
}

/// Peak resident memory of this process so far (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
