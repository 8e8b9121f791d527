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

use std::collections::HashSet;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

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

/// What a principal may do. Roles do not imply each other: give a principal every role it
/// needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Ask, search, chat, embeddings, redact, list models and collections.
    Reader,
    /// Upload and delete documents in granted collections.
    Ingester,
    /// Read and verify the audit log.
    Auditor,
    /// Reload and inspect policies.
    Admin,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 4] = [Role::Reader, Role::Ingester, Role::Auditor, Role::Admin];

    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Ingester => "ingester",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// The role named `s` (`reader`, `ingester`, `auditor`, `admin`).
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Collections a principal may read or write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grants {
    /// `"*"`: every collection, present and future.
    All,
    /// Only these (sorted, no duplicates).
    Only(Vec<String>),
}

impl Grants {
    /// Whether `collection` is granted.
    pub fn allows(&self, collection: &str) -> bool {
        match self {
            Grants::All => true,
            Grants::Only(v) => v.iter().any(|c| c == collection),
        }
    }
}

/// One API client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable id, recorded in audit records (never the key).
    pub id: String,
    /// SHA-256 of the API key, lower-case hex.
    pub key_sha256: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Collection grants.
    pub grants: Grants,
}

impl Principal {
    /// Whether the principal holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
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
            rate_limit: Some(RateLimit {
                per_second: 20.0,
                burst: 40,
            }),
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
}

impl Default for AnswerConfig {
    fn default() -> Self {
        Self {
            k: 4,
            max_tokens: 256,
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
        let file: FileConfig = toml::from_str(text).map_err(|e| {
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
        validate_and_build(file, &base)
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

// ---------------------------------------------------------------------------------------
// The file form.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    version: Spanned<i64>,
    #[serde(default)]
    listen: Option<Spanned<String>>,
    data_dir: Spanned<PathBuf>,
    #[serde(default)]
    index_uri: Option<String>,
    models: ModelsFile,
    policy: PolicyFile,
    #[serde(default)]
    audit: AuditFile,
    #[serde(default)]
    limits: LimitsFile,
    #[serde(default)]
    answer: AnswerFile,
    #[serde(default, rename = "principal")]
    principals: Vec<Spanned<PrincipalFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsFile {
    embedding: PathBuf,
    #[serde(default)]
    embed_threads: Option<Spanned<usize>>,
    llm: Spanned<LlmFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LlmFile {
    #[serde(default)]
    gguf: Option<PathBuf>,
    #[serde(default)]
    upstream: Option<UpstreamFile>,
    /// The echo generator, clearly named: benchmarking only.
    #[serde(default)]
    echo: Option<Spanned<bool>>,
    #[serde(default)]
    context_length: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamFile {
    base_url: Spanned<String>,
    model: String,
    #[serde(default)]
    api_key_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    dir: PathBuf,
    #[serde(default = "yes")]
    watch: bool,
    #[serde(default)]
    pseudonym_key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditFile {
    #[serde(default)]
    dir: Option<PathBuf>,
    #[serde(default)]
    fsync: Option<Spanned<bool>>,
    #[serde(default)]
    signing_key_file: Option<PathBuf>,
    #[serde(default)]
    hmac_key_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    #[serde(default)]
    body_bytes: Option<Spanned<u64>>,
    #[serde(default)]
    request_timeout_s: Option<Spanned<u64>>,
    #[serde(default)]
    model_concurrency: Option<Spanned<usize>>,
    #[serde(default)]
    model_queue: Option<usize>,
    /// Requests per second per key; 0 turns the limit off.
    #[serde(default)]
    rate_limit_rps: Option<Spanned<f64>>,
    #[serde(default)]
    rate_limit_burst: Option<Spanned<u32>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerFile {
    #[serde(default)]
    k: Option<Spanned<usize>>,
    #[serde(default)]
    max_tokens: Option<Spanned<usize>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalFile {
    id: Spanned<String>,
    key_sha256: Spanned<String>,
    roles: Vec<Spanned<String>>,
    #[serde(default)]
    collections: Vec<Spanned<String>>,
}

fn yes() -> bool {
    true
}

type Invalid = (Range<usize>, String);

/// Whether `name` is a valid collection name: 1–64 of `A-Z a-z 0-9 . _ -`, not starting
/// with `.` (collection names appear in URL paths and index filters).
pub fn valid_collection_name(name: &str) -> bool {
    sluice_index::CollectionName::is_valid(name)
}

fn abs(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// The one place the file form becomes the runtime type; `base` anchors relative paths.
fn validate_and_build(f: FileConfig, base: &Path) -> Result<ServerConfig, Invalid> {
    if *f.version.get_ref() != 1 {
        return Err((
            f.version.span(),
            format!(
                "unsupported config version {} (this gateway reads version = 1)",
                f.version.get_ref()
            ),
        ));
    }
    let listen = match &f.listen {
        None => DEFAULT_LISTEN
            .parse()
            .map_err(|_| (0..0, "bad default".to_owned()))?,
        Some(s) => s.get_ref().parse::<SocketAddr>().map_err(|_| {
            (
                s.span(),
                format!(
                    "listen must be an address with a port, like {DEFAULT_LISTEN} or [::1]:8080"
                ),
            )
        })?,
    };
    let data_dir = abs(base, f.data_dir.get_ref());
    let index_uri = match f.index_uri {
        Some(u) if u.contains("://") => u,
        Some(u) => abs(base, Path::new(&u)).display().to_string(),
        None => data_dir.join("lancedb").display().to_string(),
    };

    // Models.
    if let Some(t) = &f.models.embed_threads
        && *t.get_ref() == 0
    {
        return Err((t.span(), "embed_threads must be at least 1".into()));
    }
    let llm_span = f.models.llm.span();
    let llm_file = f.models.llm.into_inner();
    let echo = llm_file.echo.as_ref().map(|e| (*e.get_ref(), e.span()));
    if let Some((false, span)) = echo {
        return Err((
            span,
            "echo = false means nothing; remove it and set gguf or upstream".into(),
        ));
    }
    let chosen = [
        llm_file.gguf.is_some(),
        llm_file.upstream.is_some(),
        echo.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if chosen != 1 {
        return Err((
            llm_span,
            "models.llm needs exactly one of: gguf = \"<file>\", upstream = { base_url, model, \
             api_key_env }, or echo = true (benchmarks only)"
                .into(),
        ));
    }
    let llm = if let Some(g) = llm_file.gguf {
        LlmConfig::Local {
            gguf: abs(base, &g),
            context_length: llm_file.context_length,
        }
    } else if let Some(u) = llm_file.upstream {
        let url = u.base_url.get_ref();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err((
                u.base_url.span(),
                "upstream.base_url must start with http:// or https://".into(),
            ));
        }
        LlmConfig::Upstream {
            base_url: url.clone(),
            model: u.model,
            api_key_env: u.api_key_env,
            context_length: llm_file.context_length,
        }
    } else {
        LlmConfig::EchoForBenchmarksOnly
    };
    let models = ModelsConfig {
        embedding: abs(base, &f.models.embedding),
        embed_threads: f.models.embed_threads.map(Spanned::into_inner),
        llm,
    };

    let policy = PolicyConfig {
        dir: abs(base, &f.policy.dir),
        watch: f.policy.watch,
        pseudonym_key_file: f
            .policy
            .pseudonym_key_file
            .map(|p| abs(base, &p))
            .unwrap_or_else(|| data_dir.join("keys").join("pseudonym.key")),
    };

    if let Some(fs) = &f.audit.fsync
        && !*fs.get_ref()
    {
        return Err((
            fs.span(),
            "the audit log always fsyncs each record before the response (fail closed); \
             fsync = false is not supported"
                .into(),
        ));
    }
    let audit = AuditSettings {
        dir: f
            .audit
            .dir
            .map(|p| abs(base, &p))
            .unwrap_or_else(|| data_dir.join("audit")),
        fsync: true,
        signing_key_file: f
            .audit
            .signing_key_file
            .map(|p| abs(base, &p))
            .unwrap_or_else(|| data_dir.join("keys").join("audit-signing.pem")),
        hmac_key_file: f
            .audit
            .hmac_key_file
            .map(|p| abs(base, &p))
            .unwrap_or_else(|| data_dir.join("keys").join("audit-hmac.key")),
    };

    let l = f.limits;
    let mut limits = Limits::default();
    if let Some(b) = l.body_bytes {
        if *b.get_ref() < 1024 {
            return Err((b.span(), "body_bytes must be at least 1024".into()));
        }
        limits.body_bytes = b.into_inner();
    }
    if let Some(t) = l.request_timeout_s {
        if *t.get_ref() == 0 {
            return Err((t.span(), "request_timeout_s must be at least 1".into()));
        }
        limits.request_timeout = Duration::from_secs(t.into_inner());
    }
    if let Some(c) = l.model_concurrency {
        if *c.get_ref() == 0 {
            return Err((c.span(), "model_concurrency must be at least 1".into()));
        }
        limits.model_concurrency = c.into_inner();
    }
    if let Some(q) = l.model_queue {
        limits.model_queue = q;
    }
    let default_rate = limits.rate_limit.unwrap_or(RateLimit {
        per_second: 20.0,
        burst: 40,
    });
    let rps = match &l.rate_limit_rps {
        Some(r) => {
            let v = *r.get_ref();
            if !v.is_finite() || v < 0.0 {
                return Err((
                    r.span(),
                    "rate_limit_rps must be 0 (off) or positive".into(),
                ));
            }
            v
        }
        None => default_rate.per_second,
    };
    let burst = match &l.rate_limit_burst {
        Some(b) => {
            if *b.get_ref() == 0 {
                return Err((b.span(), "rate_limit_burst must be at least 1".into()));
            }
            *b.get_ref()
        }
        None => default_rate.burst.max(rps.ceil() as u32),
    };
    limits.rate_limit = (rps > 0.0).then_some(RateLimit {
        per_second: rps,
        burst,
    });

    let mut answer = AnswerConfig::default();
    if let Some(k) = f.answer.k {
        if !(1..=50).contains(k.get_ref()) {
            return Err((k.span(), "answer.k must be between 1 and 50".into()));
        }
        answer.k = k.into_inner();
    }
    if let Some(m) = f.answer.max_tokens {
        if !(1..=4096).contains(m.get_ref()) {
            return Err((
                m.span(),
                "answer.max_tokens must be between 1 and 4096".into(),
            ));
        }
        answer.max_tokens = m.into_inner();
    }

    let mut principals = Vec::with_capacity(f.principals.len());
    let mut ids = HashSet::new();
    let mut hashes = HashSet::new();
    for p in f.principals {
        let p = p.into_inner();
        let id = p.id.get_ref();
        if id.is_empty()
            || id.len() > 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
        {
            return Err((
                p.id.span(),
                "principal id must be 1-64 of A-Z a-z 0-9 . _ - @".into(),
            ));
        }
        if !ids.insert(id.clone()) {
            return Err((p.id.span(), format!("principal `{id}` is defined twice")));
        }
        let h = p.key_sha256.get_ref();
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err((
                p.key_sha256.span(),
                "key_sha256 must be the 64-hex SHA-256 of the API key (`sluice keys new` \
                 prints it); never put the key itself here"
                    .into(),
            ));
        }
        let h = h.to_ascii_lowercase();
        if !hashes.insert(h.clone()) {
            return Err((
                p.key_sha256.span(),
                format!("principal `{id}` has the same key as another principal"),
            ));
        }
        let mut roles = Vec::new();
        for r in &p.roles {
            match Role::parse(r.get_ref()) {
                Some(role) => {
                    if !roles.contains(&role) {
                        roles.push(role);
                    }
                }
                None => {
                    return Err((
                        r.span(),
                        format!(
                            "unknown role `{}` (expected reader, ingester, auditor or admin)",
                            r.get_ref()
                        ),
                    ));
                }
            }
        }
        if roles.is_empty() {
            return Err((p.id.span(), format!("principal `{id}` has no roles")));
        }
        roles.sort();
        let grants = if p.collections.iter().any(|c| c.get_ref() == "*") {
            if p.collections.len() > 1 {
                return Err((
                    p.collections[0].span(),
                    "\"*\" grants every collection; list nothing else beside it".into(),
                ));
            }
            Grants::All
        } else {
            let mut v = Vec::new();
            for c in &p.collections {
                if !valid_collection_name(c.get_ref()) {
                    return Err((
                        c.span(),
                        "collection names are 1-64 of A-Z a-z 0-9 . _ - (or \"*\" for all)".into(),
                    ));
                }
                v.push(c.get_ref().clone());
            }
            v.sort();
            v.dedup();
            Grants::Only(v)
        };
        principals.push(Principal {
            id: id.clone(),
            key_sha256: h,
            roles,
            grants,
        });
    }

    Ok(ServerConfig {
        source: None,
        listen,
        data_dir,
        index_uri,
        models,
        policy,
        audit,
        limits,
        answer,
        principals,
    })
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

/// Writes a demo config for `make run`: data under `data_dir`, policies from `./policies`,
/// models from `$SLUICE_MODELS` (else `./models`), the local SmolLM2 model, and four
/// principals with fresh keys — `reader` (reader, all collections), `ingester` (ingester, all
/// collections), `auditor` (auditor) and `admin` (admin, reader, ingester; all collections).
/// Only the keys' hashes are written; the plaintext keys are returned once, as
/// `(principal, key)`. Refuses to overwrite an existing file.
pub fn write_demo_config(
    path: &Path,
    data_dir: &Path,
) -> Result<Vec<(String, String)>, ConfigError> {
    let io = |source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    };
    let cwd = std::env::current_dir().map_err(io)?;
    let models = std::path::absolute(sluice_embed::models_root()).map_err(io)?;
    let data_dir = std::path::absolute(data_dir).map_err(io)?;
    let policies = cwd.join("policies");
    let demo: [(&str, &[Role], &[&str]); 4] = [
        ("reader", &[Role::Reader], &["*"]),
        ("ingester", &[Role::Ingester], &["*"]),
        ("auditor", &[Role::Auditor], &[]),
        (
            "admin",
            &[Role::Admin, Role::Reader, Role::Ingester],
            &["*"],
        ),
    ];
    let q = |p: &Path| toml_string(&p.display().to_string());
    let mut text = format!(
        "# Sluice gateway demo config (written by `make run`). Keys are stored as SHA-256 hashes.\n\
         version = 1\n\
         listen = \"{DEFAULT_LISTEN}\"\n\
         data_dir = {}\n\n\
         [models]\n\
         embedding = {}\n\
         llm = {{ gguf = {} }}\n\n\
         [policy]\n\
         dir = {}\n\
         watch = true\n\n\
         [limits]\n\
         body_bytes = {DEFAULT_BODY_BYTES}\n\
         request_timeout_s = {DEFAULT_REQUEST_TIMEOUT_S}\n\
         model_queue = 8\n\
         rate_limit_rps = 20\n\
         rate_limit_burst = 40\n\n\
         # On a CPU the model reads every source token before it answers (~20 ms each for\n\
         # SmolLM2-135M on two cores): three sources and short answers keep a demo under ~20 s.\n\
         [answer]\n\
         k = 3\n\
         max_tokens = 128\n",
        q(&data_dir),
        q(&models.join("all-MiniLM-L6-v2")),
        q(&models.join("SmolLM2-135M-Instruct.Q4_1.gguf")),
        q(&policies),
    );
    let mut keys = Vec::new();
    for (id, roles, collections) in demo {
        let (key, hash) = crate::keys::new_api_key();
        let collections: Vec<String> = collections.iter().map(|c| (*c).to_owned()).collect();
        text.push('\n');
        text.push_str(&crate::keys::principal_toml(id, &hash, roles, &collections));
        keys.push((id.to_owned(), key));
    }
    // Validate what we write, so a demo config can never be one the server refuses.
    ServerConfig::from_toml(path, &text)?;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    Ok(keys)
}

pub(crate) fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
            Grants::Only(vec!["handbook".into(), "hr".into()])
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

    #[test]
    fn shipped_example_configs_are_valid() {
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        for f in ["sluice.example.toml", "sluice.container.toml"] {
            let c = ServerConfig::load(&deploy.join(f)).unwrap_or_else(|e| panic!("{e}"));
            assert!(c.limits.rate_limit.is_some(), "{f}");
        }
    }

    #[test]
    fn demo_config_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        let keys = write_demo_config(&path, &dir.path().join("data")).unwrap();
        assert_eq!(keys.len(), 4);
        let c = ServerConfig::load(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for (id, key) in &keys {
            assert!(!text.contains(key.as_str()));
            let p = c
                .principal_by_hash(&crate::keys::hash_api_key(key))
                .unwrap();
            assert_eq!(&p.id, id);
        }
        assert!(
            write_demo_config(&path, dir.path()).is_err(),
            "no overwrite"
        );
    }
}
