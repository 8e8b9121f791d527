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

/// Loads the embedding model whose candle folder is `model_dir` (`<models>/all-MiniLM-L6-v2`)
/// with the backend [`EmbedConfig::backend`] asks for; the ONNX files are looked up beside it
/// ([`OrtFiles::beside`]). With [`Backend::Auto`]: ONNX Runtime when the device is the CPU and
/// its files are there, candle when they are not or when ONNX Runtime fails to load (with a
/// warning that says why). The choice is logged (`tracing`, target `sluice_embed`).
///
/// Both backends report the same [`Embedder::model_id`]: they compute the same model (the
/// parity tests hold both to the sentence-transformers reference and to each other).
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
