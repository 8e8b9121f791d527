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

use sluice_embed::{EmbedConfig, EmbedError, Embedder, Precision};
use sluice_index::{ChunkIndex, IndexConfig, IndexError, RecordedModel};
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

/// How the embedding precision is chosen: `auto`, `f32` or `int8` in flags and config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrecisionChoice {
    /// The precision of the vectors already in the index; for a new index, int8 where the CPU
    /// multiplies int8 natively, else f32 ([`resolve_precision`]).
    #[default]
    Auto,
    /// This precision; an index built with the other one is refused (re-index to switch).
    Fixed(Precision),
}

impl std::fmt::Display for PrecisionChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PrecisionChoice::Auto => f.write_str("auto"),
            PrecisionChoice::Fixed(p) => p.fmt(f),
        }
    }
}

impl std::str::FromStr for PrecisionChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(PrecisionChoice::Auto);
        }
        s.parse()
            .map(PrecisionChoice::Fixed)
            .map_err(|_| format!("unknown embedding precision {s:?}: expected auto, f32 or int8"))
    }
}

/// The precision to embed with at index `uri`, and why (for the log). [`PrecisionChoice::Auto`]
/// follows the model id the index records, so an index keeps the precision it was built
/// with whatever host opens it (tables written before ids were recorded hold f32 vectors);
/// a new index gets `new_index` ([`Precision::for_new_index`] for the embedder about to be
/// loaded), and so does one that cannot be read here (opening it for real then says why).
pub async fn resolve_precision(
    choice: PrecisionChoice,
    uri: &str,
    new_index: Precision,
) -> (Precision, &'static str) {
    if let PrecisionChoice::Fixed(p) = choice {
        return (p, "configured");
    }
    let new = (new_index, "a new index on this host");
    if !uri.contains("://") && !Path::new(uri).exists() {
        return new;
    }
    // The dimension is not checked by this read; the real open checks it.
    match ChunkIndex::recorded_embedding_model(&IndexConfig::new(uri.to_owned(), 1)).await {
        Ok(RecordedModel::Model(id)) => (Precision::of_model_id(&id), "the index's vectors"),
        Ok(RecordedModel::Unrecorded) => (Precision::F32, "the index's vectors"),
        Ok(RecordedModel::NoTable) | Err(_) => new,
    }
}

/// The embedding model in `dir` (all-MiniLM-L6-v2 as `make models` unpacks it) on the
/// backend `sluice_embed::load` picks: ONNX Runtime when provisioned beside the models,
/// else candle; `config.backend` can force one. Blocking (it reads and maps the weights):
/// async callers run it on a blocking thread.
pub fn embedder(dir: &Path, config: &EmbedConfig) -> Result<Arc<dyn Embedder>, EngineError> {
    Ok(sluice_embed::load(dir, config)?)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sluice_index::{ChunkInput, ChunkStore, CollectionName, DocumentMeta};

    use super::*;

    /// An index at `dir` holding one chunk written by `model`.
    async fn index_of(dir: &Path, model: &str) {
        let cfg = IndexConfig::new(dir.display().to_string(), 3).with_embedding_model(model);
        let index = ChunkIndex::open(cfg).await.unwrap();
        let meta = DocumentMeta {
            doc_id: "d".into(),
            collection: CollectionName::new("c").unwrap(),
            source_path: "c/d.md".into(),
            content_hash: "h".into(),
            policy_version: "p".into(),
            ingested_at_ms: 0,
        };
        let chunk = ChunkInput {
            span: 0..4,
            heading_path: String::new(),
            text: "text".into(),
            vector: vec![1.0, 0.0, 0.0],
        };
        index.upsert_document(&meta, &[chunk]).await.unwrap();
    }

    #[tokio::test]
    async fn auto_follows_the_index_and_a_choice_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let (int8, f32) = (tmp.path().join("int8"), tmp.path().join("f32"));
        index_of(&int8, "all-MiniLM-L6-v2-int8").await;
        index_of(&f32, "all-MiniLM-L6-v2").await;
        async fn auto(p: &Path) -> (Precision, &'static str) {
            let uri = p.display().to_string();
            resolve_precision(PrecisionChoice::Auto, &uri, Precision::Int8).await
        }
        assert_eq!(auto(&int8).await, (Precision::Int8, "the index's vectors"));
        assert_eq!(auto(&f32).await, (Precision::F32, "the index's vectors"));
        let new = (Precision::Int8, "a new index on this host");
        assert_eq!(auto(&tmp.path().join("absent")).await, new);
        std::fs::create_dir(tmp.path().join("empty")).unwrap();
        assert_eq!(auto(&tmp.path().join("empty")).await, new);

        let fixed = PrecisionChoice::Fixed(Precision::F32);
        let uri = int8.display().to_string();
        assert_eq!(
            resolve_precision(fixed, &uri, Precision::Int8).await,
            (Precision::F32, "configured")
        );
    }

    #[test]
    fn choices_parse_and_print() {
        for (text, want) in [
            ("auto", PrecisionChoice::Auto),
            ("AUTO", PrecisionChoice::Auto),
            ("f32", PrecisionChoice::Fixed(Precision::F32)),
            ("int8", PrecisionChoice::Fixed(Precision::Int8)),
        ] {
            assert_eq!(text.parse::<PrecisionChoice>(), Ok(want));
            assert_eq!(want.to_string(), text.to_ascii_lowercase());
        }
        let err = "int4".parse::<PrecisionChoice>().unwrap_err();
        assert_eq!(
            err,
            "unknown embedding precision \"int4\": expected auto, f32 or int8"
        );
    }
}
