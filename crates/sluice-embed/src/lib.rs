//! Local sentence embeddings for Sluice.
//!
//! Text never leaves the host to be embedded. Two backends compute all-MiniLM-L6-v2
//! (384 dimensions) on the CPU from the files `make models` unpacks:
//!
//! - [`OrtEmbedder`]: ONNX Runtime (the `ort` crate, library loaded from the models folder at
//!   run time), the default;
//! - [`BertEmbedder`]: candle, the fallback when the ONNX files are absent, and the CUDA build.
//!
//! [`load`] is the one place that picks between them ([`Backend`]). The rest of Sluice sees
//! only the [`Embedder`] trait, so the server and tests can swap in another model or a fake.
//!
//! ```no_run
//! use sluice_embed::{EmbedConfig, Embedder, load_default, models_root};
//!
//! let config = EmbedConfig { threads: Some(2), ..EmbedConfig::default() };
//! let embedder = load_default(&models_root(), &config)?; // ONNX Runtime if provisioned
//! let vectors = embedder.embed(&["Where is the invoice?", "Rechnung Nr. 4711"])?;
//! assert_eq!(vectors.len(), 2);
//! assert_eq!(vectors[0].len(), embedder.dim()); // 384, unit length
//! # Ok::<(), sluice_embed::EmbedError>(())
//! ```
//!
//! Models are found under `$SLUICE_MODELS`, else `./models` ([`models_root`]).

mod backend;
mod bert;
mod int8;
mod onnx;
mod text;

use std::path::PathBuf;

pub use backend::{Backend, Precision, int8_is_native, load, load_default};
pub use bert::{BertEmbedder, DeviceChoice, EmbedConfig, Timings};
pub use int8::{Int8Graph, int8_graph};
// The port this crate implements, re-exported so callers of the engine need one import.
pub use onnx::{ONNX_CPU_BATCH, OrtEmbedder, OrtFiles};
pub use sluice_ports::{EmbedError, Embedder};

/// The folder holding the provisioned models: `$SLUICE_MODELS` if set and not empty,
/// else `models` relative to the current directory (where `make models` puts them).
pub fn models_root() -> PathBuf {
    match std::env::var_os("SLUICE_MODELS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("models"),
    }
}
