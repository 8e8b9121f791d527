//! A sentence-transformers style BERT embedder (all-MiniLM-L6-v2) on candle.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

use crate::text::{self, Encoded};
use crate::{Backend, EmbedError, Embedder, Precision};

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The CPU (the default; the only choice without the `cuda` feature).
    #[default]
    Cpu,
    /// A CUDA GPU by ordinal; needs the crate's `cuda` feature and a CUDA host.
    Cuda(usize),
}

/// candle's batch when [`EmbedConfig::batch_size`] is `None` (a GPU wants wide batches).
const CANDLE_BATCH: usize = 32;

/// How an embedder runs ([`crate::load`], [`BertEmbedder`], [`crate::OrtEmbedder`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedConfig {
    /// Inputs are truncated to this many tokens, `[CLS]` and `[SEP]` included.
    /// 256 is all-MiniLM-L6-v2's training length (sentence-transformers' `max_seq_length`).
    pub max_tokens: usize,
    /// At most this many texts go through the network at once; longer input lists are split.
    /// `None`: the backend's own default ([`crate::ONNX_CPU_BATCH`] for ONNX Runtime, 32 for candle).
    pub batch_size: Option<usize>,
    /// Threads for the forward pass. candle: a rayon pool owned by the embedder (also used
    /// for tokenising); `None` uses rayon's global pool (`RAYON_NUM_THREADS`, else one per
    /// core). ONNX Runtime: the session's intra-op threads; `None` is one per core.
    pub threads: Option<usize>,
    /// The compute device (a CUDA device means candle: the ONNX backend is CPU only).
    pub device: DeviceChoice,
    /// Which implementation [`crate::load`] picks.
    pub backend: Backend,
    /// f32 everywhere, or the projections in int8 (ONNX Runtime only; another model id).
    pub precision: Precision,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            batch_size: None,
            threads: None,
            device: DeviceChoice::Cpu,
            backend: Backend::Auto,
            precision: Precision::F32,
        }
    }
}

/// Wall time spent in each phase of `embed_timed` ([`BertEmbedder::embed_timed`],
/// [`crate::OrtEmbedder::embed_timed`]), summed over its batches.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Tokenising, truncating and padding (the `tokenizers` batch encode).
    pub tokenize: Duration,
    /// Building the input tensors from the encodings.
    pub tensors: Duration,
    /// The BERT forward pass (for ONNX Runtime, including the wait for the shared session).
    pub forward: Duration,
    /// Mean pooling, L2 normalisation and copying the vectors out.
    pub pool: Duration,
    /// Tokens fed to the network, padding included.
    pub padded_tokens: usize,
    /// Tokens fed to the network, padding excluded.
    pub real_tokens: usize,
}

/// all-MiniLM-L6-v2 (or another BERT sentence-transformers model with mean pooling) on candle.
///
/// Pipeline, as sentence-transformers does it: WordPiece tokenisation truncated to
/// [`EmbedConfig::max_tokens`], batches padded to their longest member, BERT forward pass,
/// mean pooling over the attention mask, L2 normalisation. Inputs are sorted by length before
/// batching so that little compute goes to padding; results come back in input order.
pub struct BertEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dim: usize,
    model_id: String,
    batch_size: usize,
    pool: Option<rayon::ThreadPool>,
}

impl std::fmt::Debug for BertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEmbedder")
            .field("model_id", &self.model_id)
            .field("dim", &self.dim)
            .field("device", &self.device)
            .field("batch_size", &self.batch_size)
            .field(
                "threads",
                &self.pool.as_ref().map(|p| p.current_num_threads()),
            )
            .finish_non_exhaustive()
    }
}

pub(crate) fn require(dir: &Path, file: &'static str) -> Result<PathBuf, EmbedError> {
    let path = dir.join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(EmbedError::ModelFileMissing {
            dir: dir.to_path_buf(),
            file,
        })
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, EmbedError> {
    let bytes = std::fs::read(path).map_err(|source| EmbedError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| EmbedError::Config {
        path: path.to_path_buf(),
        source,
    })
}

/// Checks `1_Pooling/config.json` asks for exactly mean pooling over `dim`-wide token vectors.
fn check_pooling(path: &Path, dim: usize) -> Result<(), EmbedError> {
    let cfg = read_json(path)?;
    let unsupported = |detail: String| EmbedError::Unsupported {
        path: path.to_path_buf(),
        detail,
    };
    let flag = |key: &str| cfg.get(key).and_then(serde_json::Value::as_bool) == Some(true);
    if !flag("pooling_mode_mean_tokens") {
        return Err(unsupported(
            "only mean pooling is implemented (pooling_mode_mean_tokens is not true)".into(),
        ));
    }
    for other in [
        "pooling_mode_cls_token",
        "pooling_mode_max_tokens",
        "pooling_mode_mean_sqrt_len_tokens",
        "pooling_mode_weightedmean_tokens",
        "pooling_mode_lasttoken",
    ] {
        if flag(other) {
            return Err(unsupported(format!(
                "{other} is set; only mean pooling is implemented"
            )));
        }
    }
    match cfg
        .get("word_embedding_dimension")
        .and_then(serde_json::Value::as_u64)
    {
        Some(d) if d as usize == dim => Ok(()),
        other => Err(unsupported(format!(
            "word_embedding_dimension {other:?} does not match the model's hidden size {dim}"
        ))),
    }
}

impl BertEmbedder {
    /// The model this crate is tested against, as a folder name under the models root.
    pub const DEFAULT_MODEL: &'static str = "all-MiniLM-L6-v2";

    /// Loads [`Self::DEFAULT_MODEL`] from `models_root` (see [`crate::models_root`]).
    pub fn load_default(models_root: &Path, config: &EmbedConfig) -> Result<Self, EmbedError> {
        Self::load(&models_root.join(Self::DEFAULT_MODEL), config)
    }

    /// Loads a model folder: `config.json`, `model.safetensors`, `tokenizer.json` and
    /// `1_Pooling/config.json`, as `make models` unpacks them. The folder name is the model id.
    pub fn load(dir: &Path, config: &EmbedConfig) -> Result<Self, EmbedError> {
        if config.precision != Precision::F32 {
            return Err(EmbedError::Unsupported {
                path: dir.to_path_buf(),
                detail: format!("candle runs f32 only, not {}", config.precision),
            });
        }
        if !dir.is_dir() {
            return Err(EmbedError::ModelDirMissing {
                dir: dir.to_path_buf(),
            });
        }
        let config_path = require(dir, "config.json")?;
        let weights_path = require(dir, "model.safetensors")?;
        let tokenizer_path = require(dir, "tokenizer.json")?;
        let pooling_path = require(dir, "1_Pooling/config.json")?;

        let bert_config: Config =
            serde_json::from_value(read_json(&config_path)?).map_err(|source| {
                EmbedError::Config {
                    path: config_path.clone(),
                    source,
                }
            })?;
        let dim = bert_config.hidden_size;
        check_pooling(&pooling_path, dim)?;
        if config.max_tokens < 2 || config.max_tokens > bert_config.max_position_embeddings {
            return Err(EmbedError::Unsupported {
                path: config_path,
                detail: format!(
                    "max_tokens {} is outside 2..={} (max_position_embeddings)",
                    config.max_tokens, bert_config.max_position_embeddings
                ),
            });
        }

        let device = match config.device {
            DeviceChoice::Cpu => Device::Cpu,
            DeviceChoice::Cuda(ordinal) => Device::new_cuda(ordinal).map_err(|e| {
                EmbedError::Device(format!(
                    "CUDA device {ordinal}: {e} (build with `--features cuda` on a CUDA host)"
                ))
            })?,
        };

        let tokenizer = text::load_tokenizer(&tokenizer_path, config.max_tokens)?;

        // Read, not mmap: `VarBuilder::from_mmaped_safetensors` is `unsafe` (the file could
        // change under the map) and the workspace forbids unsafe code. Costs ~0.1 s at start-up.
        let tensors = candle_core::safetensors::load(&weights_path, &device).map_err(|source| {
            EmbedError::Weights {
                path: weights_path.clone(),
                source: Box::new(source),
            }
        })?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &bert_config).map_err(|source| EmbedError::Weights {
            path: weights_path.clone(),
            source: Box::new(source),
        })?;

        let pool = match config.threads {
            None => None,
            Some(threads) => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads.max(1))
                    .thread_name(|i| format!("sluice-embed-{i}"))
                    .build()
                    .map_err(|source| EmbedError::ThreadPool {
                        threads,
                        source: Box::new(source),
                    })?,
            ),
        };

        let model_id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| Self::DEFAULT_MODEL.to_owned());
        Ok(Self {
            model,
            tokenizer,
            device,
            dim,
            model_id,
            batch_size: config.batch_size.unwrap_or(CANDLE_BATCH).max(1),
            pool,
        })
    }

    /// Like [`Embedder::embed`], and also returns where the time went (a profiling aid).
    pub fn embed_timed(&self, texts: &[&str]) -> Result<(Vec<Vec<f32>>, Timings), EmbedError> {
        let mut timings = Timings::default();
        let out = match &self.pool {
            Some(pool) => pool.install(|| self.embed_all(texts, &mut timings)),
            None => self.embed_all(texts, &mut timings),
        }?;
        Ok((out, timings))
    }

    fn embed_all(&self, texts: &[&str], t: &mut Timings) -> Result<Vec<Vec<f32>>, EmbedError> {
        text::in_sorted_batches(texts, self.batch_size, |batch| self.embed_batch(batch, t))
    }

    fn embed_batch(&self, batch: &[&str], t: &mut Timings) -> Result<Vec<Vec<f32>>, EmbedError> {
        let start = Instant::now();
        let encoded = text::encode(&self.tokenizer, batch)?;
        let tokenized = Instant::now();
        t.tokenize += tokenized - start;
        self.forward_and_pool(encoded, tokenized, t)
            .map_err(|e| EmbedError::Inference(Box::new(e)))
    }

    /// The candle part of a batch: tensors, forward pass, mean pooling, normalisation.
    fn forward_and_pool(
        &self,
        encoded: Encoded,
        tokenized: Instant,
        t: &mut Timings,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        t.padded_tokens += encoded.rows * encoded.cols;
        t.real_tokens += encoded.real_tokens();
        let Encoded {
            rows,
            cols,
            ids,
            type_ids,
            mask,
        } = encoded;
        let ids = Tensor::from_vec(ids, (rows, cols), &self.device)?;
        let type_ids = Tensor::from_vec(type_ids, (rows, cols), &self.device)?;
        let mask = Tensor::from_vec(mask, (rows, cols), &self.device)?;
        let built = Instant::now();
        t.tensors += built - tokenized;

        let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?;
        let forwarded = Instant::now();
        t.forward += forwarded - built;

        // Mean over real tokens: sum(h * m) / max(sum(m), 1e-9), then x / max(|x|, 1e-12),
        // exactly sentence-transformers' Pooling and Normalize modules.
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (rows, cols, 1)
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // (rows, dim)
        let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?; // (rows, 1)
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12f32, f32::MAX)?;
        let vectors = mean.broadcast_div(&norms)?.to_vec2::<f32>()?;
        t.pool += forwarded.elapsed();
        Ok(vectors)
    }
}

impl Embedder for BertEmbedder {
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
