//! Opening the parts that the document commands share: policy, embedder, index, model
//! (the engines themselves are built by `sluice_server::engines`, shared with the gateway).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use sluice_embed::{Backend, BertEmbedder, EmbedConfig, Embedder, Precision};
use sluice_index::ChunkIndex;
use sluice_policy::{PseudonymKey, Redactor};
use sluice_server::engines::{PrecisionChoice, resolve_precision};
use tokio::runtime::Runtime;

/// Where the policy, models and index are.
#[derive(Args, Debug, Clone)]
pub struct StackArgs {
    /// Policy folder.
    #[arg(long, env = "SLUICE_POLICY", default_value = "policies")]
    pub policy: PathBuf,
    /// Folder with the provisioned models (`make models`).
    #[arg(long, env = "SLUICE_MODELS", default_value = "models")]
    pub models: PathBuf,
    /// LanceDB URI of the index (default: <data-dir>/lancedb; `s3://…` with the aws build).
    #[arg(long, env = "SLUICE_INDEX_URI")]
    pub index_uri: Option<String>,
    /// Threads for the embedding model (default: all cores).
    #[arg(long, env = "SLUICE_EMBED_THREADS")]
    pub embed_threads: Option<usize>,
    /// Embedding backend: auto (ONNX Runtime when `make models` provisioned it, else candle),
    /// onnx, or candle. Both compute the same vectors.
    #[arg(long, env = "SLUICE_EMBED_BACKEND", default_value = "auto")]
    pub embed_backend: Backend,
    /// Embedding arithmetic: auto (the index's own; for a new index int8 on a CPU with VNNI,
    /// else f32), f32, or int8 (ONNX Runtime only: ~1.8x faster on VNNI, vectors within
    /// cosine ~0.99 of f32). Each is its own model id: an index refuses the other one.
    #[arg(long, env = "SLUICE_EMBED_PRECISION", default_value = "auto")]
    pub embed_precision: PrecisionChoice,
    /// Memory LanceDB may use to cache index data, in MiB (the live indexes of 114k chunks
    /// take ~86 MB on disk; above the budget, index data is read from disk again).
    #[arg(long, env = "SLUICE_INDEX_CACHE_MB", default_value_t = sluice_index::DEFAULT_INDEX_CACHE_BYTES >> 20)]
    pub index_cache_mb: usize,
}

impl StackArgs {
    /// The policy with the data dir's pseudonym key (`DIR/keys/pseudonym.key`, created on
    /// first use; `SLUICE_PSEUDONYM_KEY` overrides). The gateway's demo config uses the same
    /// file, so a name pseudonymised at ingest matches the same name in a later question.
    pub fn redactor(&self, data_dir: &Path) -> Result<Redactor> {
        let policy = crate::policy_cmd::load_policy(&self.policy)?;
        let key = match std::env::var("SLUICE_PSEUDONYM_KEY") {
            Ok(k) if !k.is_empty() => PseudonymKey::new(k.into_bytes()),
            _ => {
                let path = data_dir.join("keys").join("pseudonym.key");
                let bytes = sluice_server::load_or_create_secret(&path)
                    .with_context(|| format!("reading the pseudonym key {}", path.display()))?;
                PseudonymKey::new(bytes)
            }
        };
        Ok(Redactor::new(Arc::new(policy), key))
    }

    /// all-MiniLM-L6-v2 from the models folder, on the backend `sluice_embed::load` picks,
    /// in the precision of the index in `data_dir` (`--embed-precision auto`) or the one asked.
    pub fn embedder(&self, data_dir: &Path, rt: &Runtime) -> Result<Arc<dyn Embedder>> {
        let mut cfg = EmbedConfig {
            threads: self.embed_threads,
            backend: self.embed_backend,
            ..EmbedConfig::default()
        };
        let model_dir = self.models.join(BertEmbedder::DEFAULT_MODEL);
        let new_index = Precision::for_new_index(&model_dir, &cfg);
        let uri = self.index_uri(data_dir);
        (cfg.precision, _) = rt.block_on(resolve_precision(self.embed_precision, &uri, new_index));
        Ok(sluice_server::engines::embedder(&model_dir, &cfg)?)
    }

    /// The index URI for `data_dir`.
    pub fn index_uri(&self, data_dir: &Path) -> String {
        self.index_uri
            .clone()
            .unwrap_or_else(|| data_dir.join("lancedb").display().to_string())
    }

    /// Opens (creating when needed) the chunk index for `embedder`'s vectors: an index made
    /// with another embedding model is refused (it would have to be re-indexed).
    pub async fn index(&self, data_dir: &Path, embedder: &dyn Embedder) -> Result<Arc<ChunkIndex>> {
        let cache = self.index_cache_mb.saturating_mul(1 << 20);
        Ok(sluice_server::engines::index(&self.index_uri(data_dir), embedder, cache).await?)
    }
}

/// A multi-thread runtime for the async libraries (mistral.rs wants one).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
