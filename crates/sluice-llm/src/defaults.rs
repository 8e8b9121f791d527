//! Which local model Sluice answers with when the configuration names none, chosen from what
//! `make models` provisioned and what the host can afford.
//!
//! - The quality model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M, `make models MODELS=quality`)
//!   when its file is there and the host can run it at a usable speed: always with the `cuda`
//!   build, on a CPU with at least [`QUALITY_MIN_CORES`] cores and [`QUALITY_MIN_MEMORY`] of
//!   memory (it answers far better, but takes ~3.3 GB and is ~10× slower than SmolLM2).
//! - Otherwise SmolLM2-135M-Instruct, re-quantised to Q8_0 when that file exists (`make run`
//!   writes it: candle has SIMD kernels for Q8_0, none for the pinned Q4_1), else the pinned
//!   Q4_1 file.

use std::path::{Path, PathBuf};

/// The pinned small model (`make models`).
pub const SMALL_MODEL: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The small model re-quantised for the CPU (`sluice model requantize`, run by `make run`).
pub const SMALL_MODEL_Q8_0: &str = "SmolLM2-135M-Instruct.Q8_0.gguf";
/// The quality model (`make models MODELS=quality`).
pub const QUALITY_MODEL: &str = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";
/// Cores a CPU host needs before the quality model is the default.
pub const QUALITY_MIN_CORES: usize = 8;
/// Memory a CPU host needs before the quality model is the default.
pub const QUALITY_MIN_MEMORY: u64 = 8 << 30;

/// The model to load from `models` when none is configured (see the module docs).
pub fn default_model(models: &Path) -> PathBuf {
    let quality = models.join(QUALITY_MODEL);
    if quality.is_file() && host_affords_quality() {
        return quality;
    }
    let q8 = models.join(SMALL_MODEL_Q8_0);
    if q8.is_file() {
        return q8;
    }
    models.join(SMALL_MODEL)
}

fn host_affords_quality() -> bool {
    if cfg!(feature = "cuda") {
        return true;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores >= QUALITY_MIN_CORES && total_memory().is_some_and(|m| m >= QUALITY_MIN_MEMORY)
}

/// Total memory from `/proc/meminfo` (Linux); `None` elsewhere.
fn total_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_q8_0_file_wins_over_the_pinned_one_when_present() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(default_model(dir.path()), dir.path().join(SMALL_MODEL));
        std::fs::write(dir.path().join(SMALL_MODEL_Q8_0), b"GGUF").expect("write");
        assert_eq!(default_model(dir.path()), dir.path().join(SMALL_MODEL_Q8_0));
    }

    #[test]
    fn memory_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(total_memory().is_some_and(|m| m > 0));
        }
    }
}
