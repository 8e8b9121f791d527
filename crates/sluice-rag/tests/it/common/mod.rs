//! Shared set-up of the pipeline tests and benches: the real policy, the real embedding
//! model, a LanceDB index in a temporary folder.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sluice_embed::{BertEmbedder, EmbedConfig, Embedder};
use sluice_index::{ChunkIndex, CollectionName, IndexConfig};
use sluice_policy::{PseudonymKey, Redactor};
use sluice_rag::{IngestOptions, Ingestor};

/// The repository root.
/// A collection name the tests know to be valid.
pub fn coll(name: &str) -> CollectionName {
    CollectionName::new(name).expect("valid collection name")
}

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
