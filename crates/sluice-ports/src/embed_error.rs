//! What an embedder reports: loading a model (engine set-up, in sluice-embed) or embedding text.

use std::path::PathBuf;

/// Everything that can go wrong loading a model or embedding text.
///
/// Messages name the file involved and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model folder does not exist.
    #[error(
        "model folder {dir} not found: run `make models` \
         (or set SLUICE_MODELS to the folder that holds all-MiniLM-L6-v2)"
    )]
    ModelDirMissing {
        /// The folder that was expected.
        dir: PathBuf,
    },

    /// A file the model needs is not in the model folder.
    #[error(
        "model folder {dir} is missing {file}: run `make models` \
         (or set SLUICE_MODELS to the folder that holds all-MiniLM-L6-v2)"
    )]
    ModelFileMissing {
        /// The model folder that was searched.
        dir: PathBuf,
        /// The file that is not there, relative to `dir`.
        file: &'static str,
    },

    /// A model file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying IO error.
        #[source]
        source: std::io::Error,
    },

    /// A JSON configuration file of the model is not valid.
    #[error(
        "{path} is not a valid model config ({source}): the file is damaged; \
         run `python3 scripts/fetch-models.py --force` to provision it again"
    )]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },

    /// The model folder holds a model this crate does not run (e.g. a pooling mode other than mean).
    #[error("{path}: unsupported model: {detail}")]
    Unsupported {
        /// The file that declares the unsupported setting.
        path: PathBuf,
        /// What is unsupported.
        detail: String,
    },

    /// The tokenizer file could not be loaded or configured.
    #[error(
        "cannot load tokenizer {path}: {source}; the file is damaged: \
         run `python3 scripts/fetch-models.py --force`"
    )]
    TokenizerLoad {
        /// `tokenizer.json` in the model folder.
        path: PathBuf,
        /// The tokenizers library's error.
        #[source]
        source: crate::BoxError,
    },

    /// The weights could not be loaded into the network (a truncated or foreign safetensors file).
    #[error(
        "cannot load weights {path}: {source}; the file is damaged or not this model: \
         run `python3 scripts/fetch-models.py --force`"
    )]
    Weights {
        /// `model.safetensors` in the model folder.
        path: PathBuf,
        /// candle's error.
        #[source]
        source: crate::BoxError,
    },

    /// Tokenising input text failed.
    #[error("tokenising the input failed: {0}")]
    Tokenize(#[source] crate::BoxError),

    /// The forward pass or pooling failed (a bug or an out-of-memory condition, not bad input).
    #[error("embedding inference failed: {0}")]
    Inference(#[source] crate::BoxError),

    /// The requested compute device is not available in this build or on this host.
    #[error("device unavailable: {0}")]
    Device(String),

    /// The ONNX Runtime backend was chosen but its shared library is not in the models folder.
    #[error(
        "ONNX Runtime library (libonnxruntime.so.*) not found in {dir}: run `make models` \
         (it unpacks the pinned onnxruntime wheel's library there), or use the candle backend"
    )]
    OnnxRuntimeMissing {
        /// The folder that was searched (`<models>/onnxruntime`).
        dir: PathBuf,
    },

    /// The ONNX Runtime library in the models folder is older than this build needs.
    #[error(
        "{path} is ONNX Runtime {found}, older than the {needed} this build needs: \
         run `make models` to provision the pinned version"
    )]
    OnnxRuntimeTooOld {
        /// The library file.
        path: PathBuf,
        /// Its version, from the file name.
        found: String,
        /// The oldest version that works (`1.<ort::MINOR_VERSION>`).
        needed: String,
    },

    /// The ONNX Runtime library exists but could not be loaded (damaged, wrong platform, or
    /// missing system libraries).
    #[error(
        "cannot load ONNX Runtime from {path}: {detail}; run `make models` \
         (`python3 scripts/fetch-models.py --force` to provision it again), or use the candle backend"
    )]
    OnnxRuntimeLoad {
        /// The library file.
        path: PathBuf,
        /// What the loader said.
        detail: String,
    },

    /// ONNX Runtime could not build a session from the model file, or the graph is not a
    /// sentence-transformers BERT export (inputs `input_ids`/`attention_mask`, output
    /// `last_hidden_state`).
    #[error(
        "cannot load ONNX model {path}: {detail}; the file is damaged or not this model: \
         run `python3 scripts/fetch-models.py --force`"
    )]
    OnnxModel {
        /// `model.onnx`.
        path: PathBuf,
        /// ONNX Runtime's error, or what the graph lacks.
        detail: String,
    },

    /// ONNX Runtime failed while running the model (a bug or an out-of-memory condition, not bad input).
    #[error("embedding inference failed (ONNX Runtime): {0}")]
    OnnxInference(#[source] crate::BoxError),

    /// The dedicated thread pool could not be started.
    #[error("cannot start {threads} embedding threads: {source}")]
    ThreadPool {
        /// The requested thread count.
        threads: usize,
        /// rayon's error.
        #[source]
        source: crate::BoxError,
    },
}
