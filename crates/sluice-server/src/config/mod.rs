//! The gateway's configuration file (`sluice.toml`): a versioned serde form that rejects
//! unknown fields, turned into the validated runtime type [`ServerConfig`] by one function,
//! `validate_and_build`. Every error names the file, line and column.
//!
//! ```toml
//! version = 1
//! listen = "127.0.0.1:8080"
//! data_dir = "/var/lib/sluice"          # index, audit log and keys live below it by default
//!
//! [models]
//! embedding = "/var/lib/sluice/models/all-MiniLM-L6-v2"
//! llm = { gguf = "/var/lib/sluice/models/SmolLM2-135M-Instruct.Q4_1.gguf" }
//!
//! [policy]
//! dir = "/etc/sluice/policies"
//!
//! [[principal]]
//! id = "alice"
//! key_sha256 = "…64 hex…"                # `sluice keys new` prints a key and its hash
//! roles = ["reader"]
//! collections = ["handbook", "engineering"]
//! ```
//!
//! Relative paths are taken from the directory of the config file.
//!
//! This module holds the runtime types and [`ServerConfig::load`]; the parts live beside it:
//! `file` (the serde file form), `build` (one `build_*` per section, from file form to
//! runtime type), `demo` (the demo config `make run` writes, serialised from the file form).
//! Roles, grants and principals are the authorisation domain and live in [`crate::authz`];
//! they are re-exported here so `config::Role` and friends keep working.

mod build;
mod demo;
mod file;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::authz::{Grants, Principal, Role};
pub(crate) use demo::principal_block;
pub use demo::write_demo_config;

/// Default listen address: loopback only (put a TLS reverse proxy in front for the network).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default request body limit (2 MiB).
pub const DEFAULT_BODY_BYTES: u64 = 2 * 1024 * 1024;
/// Default request timeout.
pub const DEFAULT_REQUEST_TIMEOUT_S: u64 = 120;

/// A configuration problem, located in the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, does not match the format, or fails validation.
    #[error("{}:{line}:{col}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        col: usize,
        /// What is wrong (never a secret: key hashes are not echoed).
        message: String,
    },
}

/// Which model answers.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmConfig {
    /// A local GGUF file run by mistral.rs.
    Local {
        /// The `.gguf` file.
        gguf: PathBuf,
        /// Context length override.
        context_length: Option<usize>,
    },
    /// An OpenAI-compatible server (e.g. a vLLM or llama.cpp server on the same host).
    Upstream {
        /// Base URL, e.g. `http://127.0.0.1:8000/v1`.
        base_url: String,
        /// Model name at the upstream.
        model: String,
        /// Environment variable holding the upstream's API key.
        api_key_env: Option<String>,
        /// Context length of the upstream model.
        context_length: Option<usize>,
    },
    /// The deterministic echo generator: for benchmarks and tests only, never for users.
    EchoForBenchmarksOnly,
}

/// Model settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelsConfig {
    /// The all-MiniLM-L6-v2 folder.
    pub embedding: PathBuf,
    /// Threads for the embedder (default: all cores).
    pub embed_threads: Option<usize>,
    /// f32, int8 products on ONNX Runtime (another model id: the index must match), or auto
    /// (follow the index; int8 for a new one on a CPU with VNNI).
    pub embed_precision: crate::engines::PrecisionChoice,
    /// The answer model.
    pub llm: LlmConfig,
}

/// Policy settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConfig {
    /// The policy folder.
    pub dir: PathBuf,
    /// Reload when files change.
    pub watch: bool,
    /// Key file for `pseudonymize`/`hash` (created on first start; `SLUICE_PSEUDONYM_KEY`
    /// overrides it).
    pub pseudonym_key_file: PathBuf,
}

/// Audit log settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// The audit directory.
    pub dir: PathBuf,
    /// Always true: every record is fsync'd before its response is sent.
    pub fsync: bool,
    /// Ed25519 key that signs checkpoints (PEM; created with mode 0600 on first start).
    pub signing_key_file: PathBuf,
    /// Key for the HMACs of finding values (hex; created with mode 0600 on first start).
    pub hmac_key_file: PathBuf,
}

/// The per-key rate limit when `[limits]` does not set one.
const DEFAULT_RATE_LIMIT: RateLimit = RateLimit {
    per_second: 20.0,
    burst: 40,
};

/// Per-key rate limit: a token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed in a burst.
    pub burst: u32,
}

/// Request limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest request body.
    pub body_bytes: u64,
    /// Time until a request is answered with 504 (streams: until the last event).
    pub request_timeout: Duration,
    /// Generations at once.
    pub model_concurrency: usize,
    /// Requests that may wait for the model; more get 429.
    pub model_queue: usize,
    /// Per-key rate limit; `None` = unlimited.
    pub rate_limit: Option<RateLimit>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: DEFAULT_BODY_BYTES,
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_S),
            model_concurrency: 1,
            model_queue: 8,
            rate_limit: Some(DEFAULT_RATE_LIMIT),
        }
    }
}

/// Answer settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerConfig {
    /// Sources retrieved per question.
    pub k: usize,
    /// Default `max_tokens`.
    pub max_tokens: usize,
    /// `generate` (passages, then the model) or `extractive` (passages only, no model).
    pub mode: sluice_rag::AnswerMode,
    /// `reject` (429 when the model queue is full) or `extractive` (the passages instead).
    pub on_busy: sluice_rag::OnBusy,
    /// Sentences of the sources the model reads (0: whole chunks).
    pub context_sentences: usize,
}

impl Default for AnswerConfig {
    fn default() -> Self {
        Self {
            k: 4,
            max_tokens: 256,
            mode: sluice_rag::AnswerMode::default(),
            on_busy: sluice_rag::OnBusy::default(),
            context_sentences: sluice_rag::DEFAULT_CONTEXT_SENTENCES,
        }
    }
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// The file it was read from, if any.
    pub source: Option<PathBuf>,
    /// Listen address.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// LanceDB URI (default `<data_dir>/lancedb`).
    pub index_uri: String,
    /// Models.
    pub models: ModelsConfig,
    /// Policy.
    pub policy: PolicyConfig,
    /// Audit log.
    pub audit: AuditSettings,
    /// Limits.
    pub limits: Limits,
    /// Answers.
    pub answer: AnswerConfig,
    /// API clients.
    pub principals: Vec<Principal>,
}

impl ServerConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(path, &text)
    }

    /// Parses and validates config text; `path` names it in errors and anchors relative
    /// paths (at its parent directory).
    pub fn from_toml(path: &Path, text: &str) -> Result<ServerConfig, ConfigError> {
        let file: file::FileConfig = toml::from_str(text).map_err(|e| {
            let (line, col) = line_col(text, e.span().map_or(0, |s| s.start));
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                col,
                message: e.message().to_owned(),
            }
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        build::validate_and_build(file, &base)
            .map_err(|(span, message)| {
                let (line, col) = line_col(text, span.start);
                ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line,
                    col,
                    message,
                }
            })
            .map(|mut c| {
                c.source = Some(path.to_path_buf());
                c
            })
    }

    /// The principal whose key hashes to `key_sha256`.
    pub fn principal_by_hash(&self, key_sha256: &str) -> Option<&Principal> {
        self.principals.iter().find(|p| p.key_sha256 == key_sha256)
    }
}

/// Whether `name` is a valid collection name: 1–64 of `A-Z a-z 0-9 . _ -`, not starting
/// with `.` (collection names appear in URL paths and index filters).
pub fn valid_collection_name(name: &str) -> bool {
    sluice_index::CollectionName::is_valid(name)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sluice_index::CollectionName;

    const MIN: &str = r#"
version = 1
data_dir = "/tmp/sluice"
[models]
embedding = "m/emb"
llm = { echo = true }
[policy]
dir = "policies"
[[principal]]
id = "alice"
key_sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
roles = ["reader"]
collections = ["hr", "handbook"]
"#;

    fn load(text: &str) -> Result<ServerConfig, ConfigError> {
        ServerConfig::from_toml(Path::new("/etc/sluice/sluice.toml"), text)
    }

    #[test]
    fn answer_section_sets_mode_fallback_and_context() {
        let text = MIN.replace(
            "[[principal]]",
            "[answer]\nmode = \"extractive\"\non_busy = \"extractive\"\ncontext_sentences = 6\n[[principal]]",
        );
        let a = load(&text).unwrap().answer;
        assert_eq!(a.mode, sluice_rag::AnswerMode::Extractive);
        assert_eq!(a.on_busy, sluice_rag::OnBusy::Extractive);
        assert_eq!(a.context_sentences, 6);
        let d = load(MIN).unwrap().answer;
        assert_eq!(d, AnswerConfig::default());
        assert_eq!(d.on_busy, sluice_rag::OnBusy::Reject);
        // An unknown mode names the line and the choices.
        let bad = MIN.replace(
            "[[principal]]",
            "[answer]\nmode = \"creative\"\n[[principal]]",
        );
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains("10:") && e.contains("extractive"), "{e}");
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = load(MIN).unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.index_uri, "/tmp/sluice/lancedb");
        assert_eq!(c.models.embedding, PathBuf::from("/etc/sluice/m/emb"));
        assert_eq!(c.models.llm, LlmConfig::EchoForBenchmarksOnly);
        assert_eq!(c.policy.dir, PathBuf::from("/etc/sluice/policies"));
        assert_eq!(c.audit.dir, PathBuf::from("/tmp/sluice/audit"));
        assert_eq!(c.limits.body_bytes, DEFAULT_BODY_BYTES);
        assert_eq!(c.principals[0].roles, vec![Role::Reader]);
        assert_eq!(
            c.principals[0].grants,
            Grants::Only(vec![
                CollectionName::new("handbook").unwrap(),
                CollectionName::new("hr").unwrap()
            ])
        );
    }

    #[test]
    fn errors_have_line_and_column() {
        let bad = MIN.replace("roles = [\"reader\"]", "roles = [\"reader\", \"root\"]");
        let e = load(&bad).unwrap_err().to_string();
        assert!(
            e.starts_with("/etc/sluice/sluice.toml:12:20: unknown role `root`"),
            "{e}"
        );

        let bad = MIN.replace("data_dir", "data_dri");
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains(":3:1: unknown field `data_dri`"), "{e}");

        let bad = MIN.replace(
            "llm = { echo = true }",
            "llm = { echo = true, gguf = \"x\" }",
        );
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains(":6:7: models.llm needs exactly one"), "{e}");

        let bad = MIN.replace("version = 1", "version = 2");
        assert!(
            load(&bad)
                .unwrap_err()
                .to_string()
                .contains(":2:11: unsupported")
        );

        let bad = MIN.replace("aaaaaaaa", "sluice_x");
        let e = load(&bad).unwrap_err().to_string();
        assert!(
            e.contains("key_sha256 must be") && !e.contains("sluice_x"),
            "{e}"
        );

        let bad = format!("{MIN}\n[audit]\nfsync = false\n");
        assert!(
            load(&bad)
                .unwrap_err()
                .to_string()
                .contains("always fsyncs")
        );
    }

    /// Every check's message at its value, pinned, so splitting the build into sections
    /// cannot change what an operator reads: `(replace, with, "line:col: message")`, applied
    /// to [`MIN`]; an empty message means the result must load.
    const CASES: &[(&str, &str, &str)] = &[
        (
            "data_dir =",
            "listen = \"nowhere\"\ndata_dir =",
            "3:10: listen must be an address with a port, like 127.0.0.1:8080 or [::1]:8080",
        ),
        (
            "embedding =",
            "embed_threads = 0\nembedding =",
            "5:17: embed_threads must be at least 1",
        ),
        (
            "embedding =",
            "embed_precision = \"int4\"\nembedding =",
            "5:19: embed_precision: unknown embedding precision \"int4\": expected auto, f32 or int8",
        ),
        ("embedding =", "embed_precision = \"int8\"\nembedding =", ""),
        (
            "{ echo = true }",
            "{ echo = false }",
            "6:16: echo = false means nothing; remove it and set gguf or upstream",
        ),
        (
            "{ echo = true }",
            "{ upstream = { base_url = \"ftp://x\", model = \"m\" } }",
            "6:33: upstream.base_url must start with http:// or https://",
        ),
        (
            "[[principal]]",
            "[limits]\nbody_bytes = 10\n[[principal]]",
            "10:14: body_bytes must be at least 1024",
        ),
        (
            "[[principal]]",
            "[limits]\nrequest_timeout_s = 0\n[[principal]]",
            "10:21: request_timeout_s must be at least 1",
        ),
        (
            "[[principal]]",
            "[limits]\nmodel_concurrency = 0\n[[principal]]",
            "10:21: model_concurrency must be at least 1",
        ),
        (
            "[[principal]]",
            "[limits]\nrate_limit_rps = -1.0\n[[principal]]",
            "10:18: rate_limit_rps must be 0 (off) or positive",
        ),
        (
            "[[principal]]",
            "[limits]\nrate_limit_burst = 0\n[[principal]]",
            "10:20: rate_limit_burst must be at least 1",
        ),
        (
            "[[principal]]",
            "[answer]\nk = 0\n[[principal]]",
            "10:5: answer.k must be between 1 and 50",
        ),
        (
            "[[principal]]",
            "[answer]\nmax_tokens = 5000\n[[principal]]",
            "10:14: answer.max_tokens must be between 1 and 4096",
        ),
        (
            "[[principal]]",
            "[answer]\ncontext_sentences = 65\n[[principal]]",
            "10:21: answer.context_sentences must be between 0 and 64",
        ),
        (
            "\"alice\"",
            "\"al ice\"",
            "10:6: principal id must be 1-64 of A-Z a-z 0-9 . _ - @",
        ),
        (
            "roles = [\"reader\"]",
            "roles = []",
            "10:6: principal `alice` has no roles",
        ),
        (
            "[\"hr\", \"handbook\"]",
            "[\"hr\", \"*\"]",
            "13:16: \"*\" grants every collection; list nothing else beside it",
        ),
        (
            "\"handbook\"",
            "\"hand book\"",
            "13:22: collection names are 1-64 of A-Z a-z 0-9 . _ - (or \"*\" for all)",
        ),
        ("\"aaaa", "\"AAAA", ""),
    ];

    fn assert_problem(text: &str, want: &str) {
        match load(text) {
            Ok(_) => assert!(want.is_empty(), "{text}\nloaded, expected {want}"),
            Err(e) => {
                let (e, want) = (e.to_string(), format!("/etc/sluice/sluice.toml:{want}"));
                assert!(e.starts_with(&want), "{text}\ngot  {e}\nwant {want}");
            }
        }
    }

    #[test]
    fn each_check_reports_its_message_at_its_value() {
        for (from, to, want) in CASES {
            let text = MIN.replacen(from, to, 1);
            assert_ne!(text, MIN, "{from}");
            assert_problem(&text, want);
        }
    }

    /// Ids and key hashes must each name one principal (hashes compared lower-cased).
    #[test]
    fn duplicate_principals_are_refused() {
        let second = |id: &str, hash: &str| {
            format!(
                "{MIN}[[principal]]\nid = \"{id}\"\nkey_sha256 = \"{hash}\"\nroles = [\"reader\"]\n"
            )
        };
        let b = "b".repeat(64);
        assert_problem(&second("bob", &b), "");
        assert_problem(
            &second("alice", &b),
            "15:6: principal `alice` is defined twice",
        );
        assert_problem(
            &second("bob", &"A".repeat(64)),
            "16:14: principal `bob` has the same key as another principal",
        );
    }

    /// The config error names one location; with several problems, in one section or in
    /// several, it is the first the checks find (sections in file-form order).
    #[test]
    fn the_first_problem_found_is_reported() {
        let bad = MIN
            .replace("version = 1", "version = 2")
            .replace("roles = [\"reader\"]", "roles = [\"root\"]");
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains(":2:11: unsupported config version 2"), "{e}");
        let bad = MIN
            .replace("roles = [\"reader\"]", "roles = [\"root\"]")
            .replace("\"handbook\"", "\"hand book\"");
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains(":12:10: unknown role `root`"), "{e}");
    }

    #[test]
    fn shipped_example_configs_are_valid() {
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        for f in ["sluice.example.toml", "sluice.container.toml"] {
            let c = ServerConfig::load(&deploy.join(f)).unwrap_or_else(|e| panic!("{e}"));
            assert!(c.limits.rate_limit.is_some(), "{f}");
        }
    }
}
