//! The one place that decides which implementation embeds: [`load`].

use std::path::Path;
use std::sync::Arc;

use crate::{BertEmbedder, DeviceChoice, EmbedConfig, EmbedError, Embedder, OrtEmbedder, OrtFiles};

/// Which implementation runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// ONNX Runtime on the CPU when its library and the ONNX model are provisioned (and
    /// load), candle otherwise (and always for a CUDA device).
    #[default]
    Auto,
    /// ONNX Runtime, or an error saying what is missing.
    Onnx,
    /// candle (`BertEmbedder`), the fallback and the CUDA backend.
    Candle,
}

impl Backend {
    /// `auto`, `onnx` or `candle`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Onnx => "onnx",
            Backend::Candle => "candle",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Backend::Auto),
            "onnx" | "ort" | "onnxruntime" => Ok(Backend::Onnx),
            "candle" => Ok(Backend::Candle),
            other => Err(format!(
                "unknown embedding backend {other:?}: expected auto, onnx or candle"
            )),
        }
    }
}

/// The arithmetic of the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// f32 throughout (both backends): the model as sentence-transformers computes it.
    #[default]
    F32,
    /// The projections as int8 products on ONNX Runtime (`DynamicQuantizeMatMul` over the
    /// model's own int8 weights, see [`crate::int8_graph`]): ~1.8× the f32 speed on a CPU with
    /// VNNI, vectors within cosine ~0.99 of f32. A different model id (`<model>-int8`), so an
    /// index built with one precision refuses the other instead of mixing vectors.
    Int8,
}

impl Precision {
    /// `f32` or `int8`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
        }
    }

    /// The precision whose vectors carry `model_id` ([`Embedder::model_id`]: `…-int8` is
    /// [`Precision::Int8`]; anything else, including ids recorded before int8 existed, f32).
    pub fn of_model_id(model_id: &str) -> Self {
        if model_id.ends_with(INT8_SUFFIX) {
            Precision::Int8
        } else {
            Precision::F32
        }
    }

    /// The precision for a new index when [`load`] is given `model_dir` and `config` (its
    /// `precision` aside): int8 where it would run on ONNX Runtime (the backend allows it, the
    /// device is the CPU, the ONNX files are provisioned) on a CPU that multiplies int8
    /// natively ([`int8_is_native`]); f32 anywhere else.
    pub fn for_new_index(model_dir: &Path, config: &EmbedConfig) -> Self {
        let onnx = config.backend != Backend::Candle
            && config.device == DeviceChoice::Cpu
            && OrtFiles::beside(model_dir).present();
        if onnx && int8_is_native() {
            Precision::Int8
        } else {
            Precision::F32
        }
    }
}

/// What [`Precision::Int8`] appends to the model id.
pub(crate) const INT8_SUFFIX: &str = "-int8";

/// Whether this CPU has VNNI (AVX-512 VNNI or AVX-VNNI), the instructions that make ONNX
/// Runtime's uint8 × int8 products both fast and exact. Without them its x86 kernels pair up
/// products in 16-bit sums that can saturate (ONNX Runtime's own guide then recommends 7-bit
/// weights), so int8 is left to an explicit choice there.
pub fn int8_is_native() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512vnni")
            || std::arch::is_x86_feature_detected!("avxvnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" => Ok(Precision::F32),
            "int8" | "i8" => Ok(Precision::Int8),
            other => Err(format!(
                "unknown embedding precision {other:?}: expected f32 or int8"
            )),
        }
    }
}

/// Loads the embedding model whose candle folder is `model_dir` (`<models>/all-MiniLM-L6-v2`)
/// with the backend [`EmbedConfig::backend`] asks for; the ONNX files are looked up beside it
/// ([`OrtFiles::beside`]). With [`Backend::Auto`]: ONNX Runtime when the device is the CPU and
/// its files are there, candle when they are not or when ONNX Runtime fails to load (with a
/// warning that says why). The choice is logged (`tracing`, target `sluice_embed`).
///
/// Both backends report the same [`Embedder::model_id`]: they compute the same model (the
/// parity tests hold both to the sentence-transformers reference and to each other).
/// [`Precision::Int8`] runs on ONNX Runtime or not at all: it never falls back to candle's
/// f32, whose vectors belong to another model id.
pub fn load(model_dir: &Path, config: &EmbedConfig) -> Result<Arc<dyn Embedder>, EmbedError> {
    let files = OrtFiles::beside(model_dir);
    let onnx = |config: &EmbedConfig| -> Result<Arc<dyn Embedder>, EmbedError> {
        if let DeviceChoice::Cuda(_) = config.device {
            return Err(EmbedError::Device(
                "the ONNX Runtime backend runs on the CPU only; use the candle backend for CUDA"
                    .into(),
            ));
        }
        let e = OrtEmbedder::load(&files, config)?;
        tracing::info!(
            backend = "onnxruntime",
            model = e.model_id(),
            precision = %config.precision,
            runtime = %e.runtime_library().display(),
            threads = e.threads(),
            "embedding model loaded"
        );
        Ok(Arc::new(e))
    };
    let candle = |config: &EmbedConfig| -> Result<Arc<dyn Embedder>, EmbedError> {
        let e = BertEmbedder::load(model_dir, config)?;
        tracing::info!(
            backend = "candle",
            model = e.model_id(),
            device = ?config.device,
            "embedding model loaded"
        );
        Ok(Arc::new(e))
    };
    if config.precision == Precision::Int8 {
        return match config.backend {
            Backend::Candle => Err(EmbedError::Unsupported {
                path: model_dir.to_path_buf(),
                detail: "int8 precision runs on ONNX Runtime only: use the onnx (or auto) \
                         backend, or f32"
                    .into(),
            }),
            Backend::Auto | Backend::Onnx => onnx(config),
        };
    }
    match config.backend {
        Backend::Onnx => onnx(config),
        Backend::Candle => candle(config),
        Backend::Auto if config.device != DeviceChoice::Cpu => candle(config),
        Backend::Auto if !files.present() => {
            tracing::info!(
                model = %files.model.display(),
                runtime = %files.runtime_dir.display(),
                "ONNX model or runtime not provisioned (`make models`): using candle"
            );
            candle(config)
        }
        Backend::Auto => onnx(config).or_else(|e| {
            tracing::warn!(error = %e, "ONNX Runtime backend failed to load: using candle");
            candle(config)
        }),
    }
}

/// [`load`] for the default model under `models_root` (see [`crate::models_root`]).
pub fn load_default(
    models_root: &Path,
    config: &EmbedConfig,
) -> Result<Arc<dyn Embedder>, EmbedError> {
    load(&models_root.join(BertEmbedder::DEFAULT_MODEL), config)
}
