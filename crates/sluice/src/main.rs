//! The `sluice` command line. Thin: it parses arguments, reads files, calls the library crates
//! and prints. Exit codes: 0 ok, 1 blocked by policy / check failed, 2 usage or input error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod ask_cmd;
mod audit_cmd;
mod eval_cmd;
mod ingest_cmd;
mod model_cmd;
mod policy_cmd;
mod redact_cmd;
mod serve_cmd;
mod stack;

/// jemalloc rather than glibc's malloc. A bulk ingest allocates on many threads (LanceDB,
/// DataFusion, tokio), and glibc gives each thread an arena it rarely hands back: loading
/// 72k synthetic chunks through `ChunkIndex` alone held 362 MB resident with glibc, 235 MB
/// with `MALLOC_ARENA_MAX=2` and 268 MB with jemalloc, at the same speed; mimalloc held
/// 896 MB. ONNX Runtime's own allocations stay on glibc (jemalloc is linked with prefixed
/// symbols).
#[cfg(not(windows))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Sluice: a privacy-guarded local RAG and data-boundary gateway.
#[derive(Parser)]
#[command(name = "sluice", version, about, propagate_version = true)]
struct Cli {
    /// Folder holding the index and the audit log.
    #[arg(long, global = true, env = "SLUICE_DATA", default_value = "data")]
    data_dir: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Redact stdin to stdout under a policy boundary.
    Redact(redact_cmd::RedactArgs),
    /// Report what a policy finds in files (entity counts; never values).
    Scan(redact_cmd::ScanArgs),
    /// Validate and test policy sets.
    Policy {
        #[command(subcommand)]
        command: policy_cmd::PolicyCommand,
    },
    /// Verify, query and export the audit log.
    Audit(audit_cmd::AuditArgs),
    /// Ingest documents (md, txt, html, pdf, docx) into a collection, through the ingest policy.
    Ingest(ingest_cmd::IngestArgs),
    /// Search a collection (hybrid: vector + BM25).
    Search(ingest_cmd::SearchArgs),
    /// Answer a question from a collection with the local model, with citations.
    Ask(ask_cmd::AskArgs),
    /// Evaluate models, retrieval and the policy on your own documents (docs/eval.md).
    Eval(eval_cmd::EvalArgs),
    /// Run the HTTP gateway (OpenAI-compatible and native API) from a config file.
    Serve(serve_cmd::ServeArgs),
    /// Prepare local model files (re-quantise for the CPU).
    Model {
        #[command(subcommand)]
        command: model_cmd::ModelCommand,
    },
    /// API keys for the gateway config.
    Keys {
        #[command(subcommand)]
        command: serve_cmd::KeysCommand,
    },
}

fn main() -> ExitCode {
    // A panic message can quote the value that caused it (a parser's, a library's): the
    // hook names where it happened and never prints the message.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
        eprintln!("sluice: internal error{at} (message withheld: it may quote input)");
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Redact(args) => redact_cmd::run(args),
        Command::Scan(args) => redact_cmd::scan(args),
        Command::Policy { command } => policy_cmd::run(command),
        Command::Audit(args) => audit_cmd::run(args, &cli.data_dir),
        Command::Ingest(args) => ingest_cmd::ingest(args, &cli.data_dir),
        Command::Search(args) => ingest_cmd::search(args, &cli.data_dir),
        Command::Ask(args) => ask_cmd::ask(args, &cli.data_dir),
        Command::Eval(args) => eval_cmd::run(args, &cli.data_dir),
        Command::Serve(args) => serve_cmd::serve(args, &cli.data_dir),
        Command::Keys { command } => serve_cmd::keys(command),
        Command::Model { command } => model_cmd::run(command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes on one line, each said once. Many error types repeat their
/// source in their own message (`cannot read F: <the IO error>`) *and* return it as their
/// source, so anyhow's `{:#}` would print that cause twice.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let msg = cause.to_string();
        if line.contains(&msg) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&msg);
    }
    line
}

/// A closed stdout (`sluice redact | head`) is not an error.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
