//! Shared set-up of the pipeline tests and benches: the real policy, the real embedding
//! model, a LanceDB index in a temporary folder.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sluice_embed::{BertEmbedder, EmbedConfig, Embedder};
use sluice_index::{ChunkIndex, IndexConfig};
use sluice_policy::{PseudonymKey, Redactor};
use sluice_rag::{IngestOptions, Ingestor};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The provisioned models (`make models`).
pub fn models_root() -> PathBuf {
    match std::env::var_os("SLUICE_MODELS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo().join("models"),
    }
}

/// The shipped policy with a fixed pseudonym key.
pub fn redactor() -> Redactor {
    static R: OnceLock<Redactor> = OnceLock::new();
    R.get_or_init(|| {
        let policy = sluice_rag::policy_files::load_dir(&repo().join("policies"))
            .expect("read policies/")
            .expect("policies/ compiles");
        Redactor::new(Arc::new(policy), PseudonymKey::new(b"rag tests".to_vec()))
    })
    .clone()
}

/// all-MiniLM-L6-v2, loaded once per test binary.
pub fn embedder() -> Arc<BertEmbedder> {
    static E: OnceLock<Arc<BertEmbedder>> = OnceLock::new();
    E.get_or_init(|| {
        let cfg = EmbedConfig::default();
        match BertEmbedder::load_default(&models_root(), &cfg) {
            Ok(e) => Arc::new(e),
            Err(e) => panic!("{e}\n(these tests need the real model: run `make models`)"),
        }
    })
    .clone()
}

/// A fresh index under `dir`.
pub async fn index(dir: &Path) -> Arc<ChunkIndex> {
    let cfg = IndexConfig::new(dir.join("lancedb").display().to_string(), embedder().dim());
    Arc::new(ChunkIndex::open(cfg).await.expect("open index"))
}

/// A pipeline over `index`.
pub fn ingestor(index: Arc<ChunkIndex>, opts: IngestOptions) -> Ingestor {
    Ingestor::new(redactor(), embedder(), index, opts)
}

#[derive(serde::Deserialize)]
pub struct Manifest {
    pub planted: Vec<Planted>,
}

#[derive(serde::Deserialize)]
pub struct Planted {
    pub file: String,
    pub entity: String,
    pub value: String,
}

/// `corpora/MANIFEST.toml`.
pub fn manifest() -> Manifest {
    let text = std::fs::read_to_string(repo().join("corpora/MANIFEST.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

/// Returns fixed chunks of the granted collections, at most `k`: stands for an index filled
/// under a weaker ingest policy, so the context boundary is what has to catch a value.
pub struct FixedHits(pub Vec<sluice_index::Hit>);

#[async_trait::async_trait]
impl sluice_index::Retriever for FixedHits {
    async fn search(
        &self,
        q: &sluice_index::Query,
    ) -> sluice_index::Result<Vec<sluice_index::Hit>> {
        Ok(self
            .0
            .iter()
            .filter(|h| q.collections.contains(&h.collection))
            .take(q.k)
            .cloned()
            .collect())
    }
}

/// A retrieved chunk of collection `ops` with this path, heading and text.
pub fn hit(path: &str, heading: &str, text: &str) -> sluice_index::Hit {
    sluice_index::Hit {
        chunk_id: "d1:0".into(),
        doc_id: "d1".into(),
        collection: "ops".into(),
        source_path: path.into(),
        span: 0..text.len() as u64,
        heading_path: heading.into(),
        text: text.into(),
        score: 7.5,
        similarity: Some(0.9),
        bm25: Some(7.5),
        vector_rank: Some(1),
        fts_rank: Some(1),
    }
}
