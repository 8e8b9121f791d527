//! The file form of `sluice.toml`: serde structs that mirror the file key for key. Reading
//! rejects unknown keys (`deny_unknown_fields`), so a misspelt setting is an error at its
//! line rather than a silently ignored default. Writing (the demo config, `sluice keys new`)
//! serialises the same structs, so what the gateway writes is by construction something it
//! reads back. Values whose problems the build reports are [`Spanned`], so the error can
//! point at them; nothing here is validated — that is `build.rs`'s job.
//!
//! `None` fields are left out when writing (the TOML serialiser skips them), and so are whole
//! sections that hold only defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The whole file. `version` is checked by the build rather than by a serde tag, so an
/// unsupported version is reported at its value with a message naming the one this gateway
/// reads.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) version: Spanned<i64>,
    #[serde(default)]
    pub(super) listen: Option<Spanned<String>>,
    pub(super) data_dir: Spanned<PathBuf>,
    #[serde(default)]
    pub(super) index_uri: Option<String>,
    pub(super) models: ModelsFile,
    pub(super) policy: PolicyFile,
    #[serde(default, skip_serializing_if = "is_default")]
    pub(super) audit: AuditFile,
    #[serde(default, skip_serializing_if = "is_default")]
    pub(super) limits: LimitsFile,
    #[serde(default, skip_serializing_if = "is_default")]
    pub(super) answer: AnswerFile,
    #[serde(default, rename = "principal")]
    pub(super) principals: Vec<Spanned<PrincipalFile>>,
}

/// `[models]`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModelsFile {
    pub(super) embedding: PathBuf,
    #[serde(default)]
    pub(super) embed_threads: Option<Spanned<usize>>,
    /// `auto` (default), `f32` or `int8` (see `engines::PrecisionChoice`).
    #[serde(default)]
    pub(super) embed_precision: Option<Spanned<String>>,
    pub(super) llm: Spanned<LlmFile>,
}

/// `models.llm`: exactly one of `gguf`, `upstream` or `echo` (the build checks).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LlmFile {
    #[serde(default)]
    pub(super) gguf: Option<PathBuf>,
    #[serde(default)]
    pub(super) upstream: Option<UpstreamFile>,
    /// The echo generator, clearly named: benchmarking only.
    #[serde(default)]
    pub(super) echo: Option<Spanned<bool>>,
    #[serde(default)]
    pub(super) context_length: Option<usize>,
}

/// `models.llm.upstream`: an OpenAI-compatible server.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpstreamFile {
    pub(super) base_url: Spanned<String>,
    pub(super) model: String,
    #[serde(default)]
    pub(super) api_key_env: Option<String>,
}

/// `[policy]`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    pub(super) dir: PathBuf,
    #[serde(default = "yes")]
    pub(super) watch: bool,
    #[serde(default)]
    pub(super) pseudonym_key_file: Option<PathBuf>,
}

/// `[audit]`.
#[derive(Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditFile {
    #[serde(default)]
    pub(super) dir: Option<PathBuf>,
    #[serde(default)]
    pub(super) fsync: Option<Spanned<bool>>,
    #[serde(default)]
    pub(super) signing_key_file: Option<PathBuf>,
    #[serde(default)]
    pub(super) hmac_key_file: Option<PathBuf>,
}

/// `[limits]`.
#[derive(Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsFile {
    #[serde(default)]
    pub(super) body_bytes: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) request_timeout_s: Option<Spanned<u64>>,
    #[serde(default)]
    pub(super) model_concurrency: Option<Spanned<usize>>,
    #[serde(default)]
    pub(super) model_queue: Option<usize>,
    /// Requests per second per key; 0 turns the limit off.
    #[serde(default)]
    pub(super) rate_limit_rps: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) rate_limit_burst: Option<Spanned<u32>>,
}

/// `[answer]`.
#[derive(Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnswerFile {
    #[serde(default)]
    pub(super) k: Option<Spanned<usize>>,
    #[serde(default)]
    pub(super) max_tokens: Option<Spanned<usize>>,
    #[serde(default)]
    pub(super) mode: Option<sluice_rag::AnswerMode>,
    #[serde(default)]
    pub(super) on_busy: Option<sluice_rag::OnBusy>,
    #[serde(default)]
    pub(super) context_sentences: Option<Spanned<usize>>,
}

/// One `[[principal]]` block.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PrincipalFile {
    pub(super) id: Spanned<String>,
    pub(super) key_sha256: Spanned<String>,
    pub(super) roles: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) collections: Vec<Spanned<String>>,
}

/// A value for the file form that did not come from a file. Spans only locate problems in
/// text that was read; a value we are about to write has none, and serialising a
/// [`Spanned`] writes only the value.
pub(super) fn unspanned<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

fn yes() -> bool {
    true
}

/// Whether a section holds only defaults, so writing it would add an empty `[section]`.
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
