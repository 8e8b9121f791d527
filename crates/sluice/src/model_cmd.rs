//! `sluice model …`: preparing local model files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use sluice_llm::RequantTarget;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Re-quantise a GGUF's Q4_1/Q5 tensors to Q8_0, which candle runs with SIMD on a CPU
    /// (Q4_1 has no SIMD kernel): same answers, several times faster. `make run` does this.
    /// `--to f16` unpacks every quantised tensor instead: a prompt is then read with GEMMs
    /// (about half the time to first token for SmolLM2 on a CPU), at 4 bytes per weight.
    Requantize {
        /// The GGUF to read (e.g. models/SmolLM2-135M-Instruct.Q4_1.gguf).
        src: PathBuf,
        /// Where to write the new file (replaced atomically).
        dst: PathBuf,
        /// The tensor type to write.
        #[arg(long, value_enum, default_value_t = To::Q8_0)]
        to: To,
        /// Do nothing if DST exists and is newer than SRC.
        #[arg(long)]
        if_needed: bool,
    },
}

/// `--to`: the command-line names of [`RequantTarget`].
#[derive(Clone, Copy, ValueEnum)]
pub enum To {
    /// Q4_1/Q5 tensors to Q8_0; the rest kept
    #[value(name = "q8_0")]
    Q8_0,
    /// Every quantised tensor to F16
    #[value(name = "f16")]
    F16,
}

impl From<To> for RequantTarget {
    fn from(to: To) -> Self {
        match to {
            To::Q8_0 => RequantTarget::Q8_0,
            To::F16 => RequantTarget::F16,
        }
    }
}

pub fn run(command: ModelCommand) -> anyhow::Result<ExitCode> {
    match command {
        ModelCommand::Requantize {
            src,
            dst,
            to,
            if_needed,
        } => {
            let target = RequantTarget::from(to);
            if if_needed && up_to_date(&src, &dst) {
                println!("ok: {} is up to date", dst.display());
                return Ok(ExitCode::SUCCESS);
            }
            if !sluice_llm::needs_requantize(&src, target)? {
                println!(
                    "ok: {} has no tensor to convert to {}; nothing to do",
                    src.display(),
                    target.name()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let t0 = std::time::Instant::now();
            let r = sluice_llm::requantize(&src, &dst, target)
                .with_context(|| format!("re-quantising {}", src.display()))?;
            println!(
                "ok: {} → {} ({} tensors to {}, {} kept, {:.1} MB, {:.1} s)",
                src.display(),
                dst.display(),
                r.converted,
                target.name(),
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
