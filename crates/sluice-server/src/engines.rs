//! The one place where the concrete engines are built: the embedder (ONNX Runtime or
//! candle), the LanceDB chunk index and the answer model (mistral.rs, an OpenAI-compatible
//! upstream, or the echo generator).
//!
//! The gateway's [`AppState::from_config`](crate::AppState::from_config) and the CLI's
//! commands (`ingest`, `search`, `ask`, `eval`) open their engines here; everything past
//! this module sees only the ports of `sluice-ports` (`Embedder`, `ChunkStore`/`Retriever`,
//! `Generator`), which is why the answer path and the gateway's handlers can be tested with
//! the in-memory fakes of `sluice-testkit`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_embed::{EmbedConfig, EmbedError, Embedder};
use sluice_index::{ChunkIndex, IndexConfig, IndexError};
use sluice_llm::{
    EchoGenerator, Generator, LlmError, LocalModelConfig, MistralRsGenerator, OpenAiGenerator,
    UpstreamConfig,
};

use crate::config::LlmConfig;

/// Why an engine could not be opened. Messages name files, URIs and models, never the
/// text the engines will process.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The embedding model could not be loaded.
    #[error("embedding model: {0}")]
    Embed(#[from] EmbedError),
    /// The chunk index could not be opened or created.
    #[error("index at {uri}: {source}")]
    Index {
        /// The LanceDB URI.
        uri: String,
        /// What LanceDB said.
        #[source]
        source: IndexError,
    },
    /// A local index folder could not be created.
    #[error("creating {}: {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The answer model could not be loaded or its upstream configured.
    #[error("answer model: {0}")]
    Model(#[from] LlmError),
}

/// The embedding model in `dir` (all-MiniLM-L6-v2 as `make models` unpacks it) on the
/// backend `sluice_embed::load` picks: ONNX Runtime when provisioned beside the models,
/// else candle; `config.backend` can force one. Blocking (it reads and maps the weights):
/// async callers run it on a blocking thread.
pub fn embedder(dir: &Path, config: &EmbedConfig) -> Result<Arc<dyn Embedder>, EngineError> {
    Ok(sluice_embed::load(dir, config)?)
}

/// The default embedding model (`models_root/all-MiniLM-L6-v2`), as [`embedder`].
pub fn default_embedder(
    models_root: &Path,
    config: &EmbedConfig,
) -> Result<Arc<dyn Embedder>, EngineError> {
    Ok(sluice_embed::load_default(models_root, config)?)
}

/// Opens the chunk index at `uri` for `embedder`'s vectors, creating a local folder when
/// needed, with `index_cache_bytes` for LanceDB's index cache; an index made with another
/// embedding model is refused (it would have to be re-indexed).
pub async fn index(
    uri: &str,
    embedder: &dyn Embedder,
    index_cache_bytes: usize,
) -> Result<Arc<ChunkIndex>, EngineError> {
    if !uri.contains("://") {
        std::fs::create_dir_all(uri).map_err(|source| EngineError::CreateDir {
            path: PathBuf::from(uri),
            source,
        })?;
    }
    let mut config =
        IndexConfig::new(uri.to_owned(), embedder.dim()).with_embedding_model(embedder.model_id());
    config.index_cache_bytes = index_cache_bytes;
    let index = ChunkIndex::open(config)
        .await
        .map_err(|source| EngineError::Index {
            uri: uri.to_owned(),
            source,
        })?;
    Ok(Arc::new(index))
}

/// The answer model `llm` names. Callers put their own queue in front of it
/// (`QueuedGenerator`): the gateway's size comes from its limits, the CLI's is one.
pub async fn generator(llm: &LlmConfig) -> Result<Arc<dyn Generator>, EngineError> {
    Ok(match llm {
        LlmConfig::Local {
            gguf,
            context_length,
        } => {
            let mut c = LocalModelConfig::new(gguf.clone());
            c.context_length = *context_length;
            let g = MistralRsGenerator::load(c).await?;
            tracing::info!(
                architecture = g.architecture(),
                dtype = g.dtype(),
                load_ms = g.load_time().as_millis() as u64,
                "local model loaded"
            );
            Arc::new(g)
        }
        LlmConfig::Upstream {
            base_url,
            model,
            api_key_env,
            context_length,
        } => {
            let mut c = UpstreamConfig::new(base_url.clone(), model.clone());
            c.api_key_env = api_key_env.clone();
            if let Some(n) = context_length {
                c.context_length = *n;
            }
            Arc::new(OpenAiGenerator::new(c)?)
        }
        LlmConfig::EchoForBenchmarksOnly => Arc::new(EchoGenerator::new()),
    })
}
