//! `sluice model …`: preparing local model files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Re-quantise a GGUF's Q4_1/Q5 tensors to Q8_0, which candle runs with SIMD on a CPU
    /// (Q4_1 has no SIMD kernel): same answers, several times faster. `make run` does this.
    Requantize {
        /// The GGUF to read (e.g. models/SmolLM2-135M-Instruct.Q4_1.gguf).
        src: PathBuf,
        /// Where to write the Q8_0 file (replaced atomically).
        dst: PathBuf,
        /// Do nothing if DST exists and is newer than SRC.
        #[arg(long)]
        if_needed: bool,
    },
}

pub fn run(command: ModelCommand) -> anyhow::Result<ExitCode> {
    match command {
        ModelCommand::Requantize {
            src,
            dst,
            if_needed,
        } => {
            if if_needed && up_to_date(&src, &dst) {
                println!("ok: {} is up to date", dst.display());
                return Ok(ExitCode::SUCCESS);
            }
            if !sluice_llm::needs_requantize(&src)? {
                println!(
                    "ok: {} has no Q4_1/Q5 tensors; nothing to do",
                    src.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let t0 = std::time::Instant::now();
            let r = sluice_llm::requantize(&src, &dst)
                .with_context(|| format!("re-quantising {}", src.display()))?;
            println!(
                "ok: {} → {} ({} tensors to Q8_0, {} kept, {:.1} MB, {:.1} s)",
                src.display(),
                dst.display(),
                r.converted,
                r.kept,
                r.bytes as f64 / 1e6,
                t0.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// DST exists and was written after SRC.
fn up_to_date(src: &std::path::Path, dst: &std::path::Path) -> bool {
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(src), modified(dst)), (Some(s), Some(d)) if d >= s)
}
