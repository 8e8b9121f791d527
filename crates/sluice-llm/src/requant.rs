//! Re-writing a GGUF's tensors in a form the CPU runs faster ([`RequantTarget`]).
//!
//! - **Q8_0**: candle 0.10 has AVX2 dot products for Q4_0, Q8_0 and the K-quants, but none
//!   for Q4_1, Q5_0 or Q5_1: SmolLM2-135M's pinned file is Q4_1, so every matmul of it runs
//!   scalar code. Its hidden size (576) is not a multiple of 256, so the K-quants do not fit
//!   most of its tensors either; Q8_0 (blocks of 32, like Q4_1) does, and holds a Q4_1 value
//!   to within 1/254 of its block's scale, so the model's output is unchanged in practice.
//!   Tensors that are already fast (F32 norms, Q8_0, K-quants) are copied as they are.
//! - **F16**: every quantised tensor unpacked to F16. candle loads F16 (and F32) weights as
//!   plain f32 tensors, so reading a prompt runs each matmul as one blocked GEMM; a
//!   quantised weight is instead applied as one quantised dot product per row and token,
//!   which is what makes a RAG prompt slow to read on a CPU. For a small model the price is
//!   memory (4 bytes per weight once loaded) and a somewhat slower decode at long contexts.
//!
//! The output is deterministic (metadata and tensors in name order), so its hash can be
//! recorded, and it is written to a temporary file and renamed into place, so a reader never
//! sees half a file.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use candle_core::Device;
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};

use crate::LlmError;

/// What [`requantize`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequantTarget {
    /// Q4_1/Q5_0/Q5_1/Q8_1 tensors to Q8_0 (SIMD dot products in candle); others kept.
    #[default]
    Q8_0,
    /// Every quantised tensor to F16 (loaded as f32: prompts are read with GEMMs).
    F16,
}

impl RequantTarget {
    /// Whether a tensor of type `t` is converted.
    fn converts(self, t: GgmlDType) -> bool {
        match self {
            Self::Q8_0 => matches!(
                t,
                GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1 | GgmlDType::Q8_1
            ),
            Self::F16 => !matches!(t, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16),
        }
    }

    fn dtype(self) -> GgmlDType {
        match self {
            Self::Q8_0 => GgmlDType::Q8_0,
            Self::F16 => GgmlDType::F16,
        }
    }

    /// GGUF `general.file_type` of the result (llama.cpp's `LLAMA_FTYPE_MOSTLY_*`).
    fn file_type(self) -> u32 {
        match self {
            Self::Q8_0 => 7,
            Self::F16 => 1,
        }
    }

    /// The type's name as GGUF tools write it (`Q8_0`, `F16`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Q8_0 => "Q8_0",
            Self::F16 => "F16",
        }
    }
}

/// What [`requantize`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequantReport {
    /// Tensors converted to the target type.
    pub converted: usize,
    /// Tensors copied unchanged.
    pub kept: usize,
    /// Size of the written file in bytes.
    pub bytes: u64,
}

/// Whether `path` holds any tensor [`requantize`] would convert to `target`.
pub fn needs_requantize(path: &Path, target: RequantTarget) -> Result<bool, LlmError> {
    let (content, _) = open(path)?;
    Ok(content
        .tensor_infos
        .values()
        .any(|t| target.converts(t.ggml_dtype)))
}

/// Writes `dst`: `src` with every tensor that `target` converts re-written in its type.
pub fn requantize(
    src: &Path,
    dst: &Path,
    target: RequantTarget,
) -> Result<RequantReport, LlmError> {
    let (content, mut reader) = open(src)?;
    let bad = |reason: String| LlmError::ModelFile {
        path: src.to_path_buf(),
        reason,
    };
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let (mut converted, mut kept) = (0, 0);
    let mut tensors: Vec<(&str, QTensor)> = Vec::with_capacity(names.len());
    for name in names {
        let t = content
            .tensor(&mut reader, name, &Device::Cpu)
            .map_err(|e| bad(format!("tensor {name}: {e}")))?;
        let t = if target.converts(t.dtype()) {
            converted += 1;
            let f = t
                .dequantize(&Device::Cpu)
                .map_err(|e| bad(format!("tensor {name}: {e}")))?;
            QTensor::quantize(&f, target.dtype()).map_err(|e| bad(format!("tensor {name}: {e}")))?
        } else {
            kept += 1;
            t
        };
        tensors.push((name.as_str(), t));
    }
    let mut metadata: Vec<(&str, gguf_file::Value)> = content
        .metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    metadata.sort_by(|a, b| a.0.cmp(b.0));
    if converted > 0 {
        for (k, v) in &mut metadata {
            if *k == "general.file_type" {
                *v = gguf_file::Value::U32(target.file_type());
            }
        }
    }
    let tmp = temp_path(dst);
    let write = || -> Result<u64, String> {
        let file = File::create(&tmp).map_err(|e| e.to_string())?;
        let mut w = BufWriter::new(file);
        let md: Vec<(&str, &gguf_file::Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
        let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (*k, t)).collect();
        gguf_file::write(&mut w, &md, &ts).map_err(|e| e.to_string())?;
        let file = w.into_inner().map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        Ok(file.metadata().map_err(|e| e.to_string())?.len())
    };
    let written = write().and_then(|bytes| {
        // Read it back before it replaces anything: a file that does not parse is an error.
        crate::gguf::read_header(&tmp)?;
        std::fs::rename(&tmp, dst).map_err(|e| e.to_string())?;
        Ok(bytes)
    });
    match written {
        Ok(bytes) => Ok(RequantReport {
            converted,
            kept,
            bytes,
        }),
        Err(reason) => {
            let _ = std::fs::remove_file(&tmp);
            Err(LlmError::ModelFile {
                path: dst.to_path_buf(),
                reason: format!("writing the re-quantised model failed: {reason}"),
            })
        }
    }
}

fn open(path: &Path) -> Result<(gguf_file::Content, BufReader<File>), LlmError> {
    let bad = |reason: String| LlmError::ModelFile {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|e| bad(format!("cannot open: {e}")))?;
    let mut reader = BufReader::new(file);
    let mut magic = [0u8; 4];
    reader
        .read_exact(&mut magic)
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    if &magic != b"GGUF" {
        return Err(bad("not a GGUF file".into()));
    }
    use std::io::Seek;
    reader
        .rewind()
        .map_err(|e| bad(format!("cannot read: {e}")))?;
    let content = gguf_file::Content::read(&mut reader).map_err(|e| bad(e.to_string()))?;
    Ok((content, reader))
}

fn temp_path(dst: &Path) -> PathBuf {
    let mut name = dst.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    dst.with_file_name(name)
}
