//! The one place the file form becomes the runtime [`ServerConfig`] (quickwit's
//! `validate_and_build`): one `build_*` function per section. Each checks its own values,
//! pushes what is wrong onto the shared [`Diagnostics`] and carries on, so one section's
//! problem does not hide another's; [`validate_and_build`] only calls them, in the order of the
//! sections in the file form, and hands back the config if nothing was pushed.
//!
//! After pushing a problem, a section still returns a value (a default, or a fail-closed
//! placeholder such as no grants) so the code stays free of half-built `Option`s; those
//! values never leave this module, because [`Diagnostics::finish`] refuses to return a
//! config once any problem was recorded.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::engines::PrecisionChoice;

use super::file::{
    AnswerFile, AuditFile, FileConfig, LimitsFile, LlmFile, ModelsFile, PolicyFile, PrincipalFile,
    UpstreamFile,
};
use super::{
    AnswerConfig, AuditSettings, DEFAULT_LISTEN, DEFAULT_RATE_LIMIT, Grants, Limits, LlmConfig,
    ModelsConfig, PolicyConfig, Principal, RateLimit, Role, ServerConfig,
};
use sluice_index::CollectionName;

/// A problem: the byte range of the offending value in the file, and what is wrong with it
/// (never the value itself when it could be a secret).
pub(super) type Invalid = (Range<usize>, String);

/// The problems found so far, in the order the checks ran.
#[derive(Debug, Default)]
struct Diagnostics(Vec<Invalid>);

impl Diagnostics {
    /// Records a problem at `span`.
    fn push(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.0.push((span, message.into()));
    }

    /// `value` if nothing was recorded, else the first problem. [`super::ConfigError`] names
    /// one location; the first recorded is the one the gateway has always reported, since
    /// the checks run in the order they did before this module was split.
    fn finish<T>(self, value: T) -> Result<T, Invalid> {
        match self.0.into_iter().next() {
            None => Ok(value),
            Some(first) => Err(first),
        }
    }
}

/// Builds the runtime config from the file form; `base` anchors relative paths.
pub(super) fn validate_and_build(f: FileConfig, base: &Path) -> Result<ServerConfig, Invalid> {
    let mut d = Diagnostics::default();
    check_version(&f.version, &mut d);
    let listen = build_listen(f.listen.as_ref(), &mut d);
    let data_dir = abs(base, f.data_dir.get_ref());
    let index_uri = build_index_uri(f.index_uri, base, &data_dir);
    let models = build_models(f.models, base, &mut d);
    let policy = build_policy(f.policy, base, &data_dir);
    let audit = build_audit(f.audit, base, &data_dir, &mut d);
    let limits = build_limits(f.limits, &mut d);
    let answer = build_answer(f.answer, &mut d);
    let principals = build_principals(f.principals, &mut d);
    d.finish(ServerConfig {
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

/// `p` as given if absolute, else below `base` (the config file's directory).
fn abs(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn check_version(version: &Spanned<i64>, d: &mut Diagnostics) {
    if *version.get_ref() != 1 {
        d.push(
            version.span(),
            format!(
                "unsupported config version {} (this gateway reads version = 1)",
                version.get_ref()
            ),
        );
    }
}

fn build_listen(listen: Option<&Spanned<String>>, d: &mut Diagnostics) -> SocketAddr {
    // The default goes through the same parse as a written value, so the constant cannot
    // drift into something the server would refuse in a file (a unit test loads it).
    let (text, span) = match listen {
        Some(s) => (s.get_ref().as_str(), s.span()),
        None => (DEFAULT_LISTEN, 0..0),
    };
    text.parse().unwrap_or_else(|_| {
        d.push(
            span,
            format!("listen must be an address with a port, like {DEFAULT_LISTEN} or [::1]:8080"),
        );
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
    })
}

/// A URI (`s3://…`) is kept as written; anything else is a path, anchored like the others.
fn build_index_uri(index_uri: Option<String>, base: &Path, data_dir: &Path) -> String {
    match index_uri {
        Some(u) if u.contains("://") => u,
        Some(u) => abs(base, Path::new(&u)).display().to_string(),
        None => data_dir.join("lancedb").display().to_string(),
    }
}

fn build_models(m: ModelsFile, base: &Path, d: &mut Diagnostics) -> ModelsConfig {
    if let Some(t) = &m.embed_threads
        && *t.get_ref() == 0
    {
        d.push(t.span(), "embed_threads must be at least 1");
    }
    let embed_precision = match &m.embed_precision {
        None => PrecisionChoice::default(),
        Some(p) => p.get_ref().parse().unwrap_or_else(|e: String| {
            d.push(p.span(), format!("embed_precision: {e}"));
            PrecisionChoice::default()
        }),
    };
    ModelsConfig {
        embedding: abs(base, &m.embedding),
        embed_threads: m.embed_threads.map(Spanned::into_inner),
        embed_precision,
        llm: build_llm(m.llm, base, d),
    }
}

fn build_llm(llm: Spanned<LlmFile>, base: &Path, d: &mut Diagnostics) -> LlmConfig {
    let span = llm.span();
    let f = llm.into_inner();
    if let Some(e) = &f.echo
        && !*e.get_ref()
    {
        d.push(
            e.span(),
            "echo = false means nothing; remove it and set gguf or upstream",
        );
        return LlmConfig::EchoForBenchmarksOnly;
    }
    let chosen = [f.gguf.is_some(), f.upstream.is_some(), f.echo.is_some()]
        .into_iter()
        .filter(|x| *x)
        .count();
    if chosen != 1 {
        d.push(
            span,
            "models.llm needs exactly one of: gguf = \"<file>\", upstream = { base_url, model, \
             api_key_env }, or echo = true (benchmarks only)",
        );
        return LlmConfig::EchoForBenchmarksOnly;
    }
    match (f.gguf, f.upstream) {
        (Some(g), _) => LlmConfig::Local {
            gguf: abs(base, &g),
            context_length: f.context_length,
        },
        (None, Some(u)) => build_upstream(u, f.context_length, d),
        (None, None) => LlmConfig::EchoForBenchmarksOnly,
    }
}

fn build_upstream(
    u: UpstreamFile,
    context_length: Option<usize>,
    d: &mut Diagnostics,
) -> LlmConfig {
    let url = u.base_url.get_ref();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        d.push(
            u.base_url.span(),
            "upstream.base_url must start with http:// or https://",
        );
    }
    LlmConfig::Upstream {
        base_url: u.base_url.into_inner(),
        model: u.model,
        api_key_env: u.api_key_env,
        context_length,
    }
}

/// Nothing in `[policy]` can be wrong on its own (the policy folder is read at start-up).
fn build_policy(p: PolicyFile, base: &Path, data_dir: &Path) -> PolicyConfig {
    PolicyConfig {
        dir: abs(base, &p.dir),
        watch: p.watch,
        pseudonym_key_file: p
            .pseudonym_key_file
            .map(|f| abs(base, &f))
            .unwrap_or_else(|| data_dir.join("keys").join("pseudonym.key")),
    }
}

fn build_audit(a: AuditFile, base: &Path, data_dir: &Path, d: &mut Diagnostics) -> AuditSettings {
    if let Some(fs) = &a.fsync
        && !*fs.get_ref()
    {
        d.push(
            fs.span(),
            "the audit log always fsyncs each record before the response (fail closed); \
             fsync = false is not supported",
        );
    }
    let keys = data_dir.join("keys");
    AuditSettings {
        dir: a
            .dir
            .map(|p| abs(base, &p))
            .unwrap_or_else(|| data_dir.join("audit")),
        fsync: true,
        signing_key_file: a
            .signing_key_file
            .map(|p| abs(base, &p))
            .unwrap_or_else(|| keys.join("audit-signing.pem")),
        hmac_key_file: a
            .hmac_key_file
            .map(|p| abs(base, &p))
            .unwrap_or_else(|| keys.join("audit-hmac.key")),
    }
}

fn build_limits(l: LimitsFile, d: &mut Diagnostics) -> Limits {
    let mut limits = Limits::default();
    if let Some(b) = l.body_bytes {
        if *b.get_ref() < 1024 {
            d.push(b.span(), "body_bytes must be at least 1024");
        }
        limits.body_bytes = b.into_inner();
    }
    if let Some(t) = l.request_timeout_s {
        if *t.get_ref() == 0 {
            d.push(t.span(), "request_timeout_s must be at least 1");
        }
        limits.request_timeout = Duration::from_secs(t.into_inner());
    }
    if let Some(c) = l.model_concurrency {
        if *c.get_ref() == 0 {
            d.push(c.span(), "model_concurrency must be at least 1");
        }
        limits.model_concurrency = c.into_inner();
    }
    if let Some(q) = l.model_queue {
        limits.model_queue = q;
    }
    limits.rate_limit = build_rate_limit(l.rate_limit_rps, l.rate_limit_burst, d);
    limits
}

/// `rate_limit_rps = 0` turns the limit off; an unset burst is at least one second's worth
/// of requests, so a high rate is not throttled by the default burst.
fn build_rate_limit(
    rps: Option<Spanned<f64>>,
    burst: Option<Spanned<u32>>,
    d: &mut Diagnostics,
) -> Option<RateLimit> {
    let rps = match rps {
        Some(r) if !r.get_ref().is_finite() || *r.get_ref() < 0.0 => {
            d.push(r.span(), "rate_limit_rps must be 0 (off) or positive");
            DEFAULT_RATE_LIMIT.per_second
        }
        Some(r) => r.into_inner(),
        None => DEFAULT_RATE_LIMIT.per_second,
    };
    let burst = match burst {
        Some(b) if *b.get_ref() == 0 => {
            d.push(b.span(), "rate_limit_burst must be at least 1");
            DEFAULT_RATE_LIMIT.burst
        }
        Some(b) => b.into_inner(),
        None => DEFAULT_RATE_LIMIT.burst.max(rps.ceil() as u32),
    };
    (rps > 0.0).then_some(RateLimit {
        per_second: rps,
        burst,
    })
}

fn build_answer(a: AnswerFile, d: &mut Diagnostics) -> AnswerConfig {
    let mut answer = AnswerConfig::default();
    if let Some(k) = a.k {
        if !(1..=50).contains(k.get_ref()) {
            d.push(k.span(), "answer.k must be between 1 and 50");
        }
        answer.k = k.into_inner();
    }
    if let Some(m) = a.max_tokens {
        if !(1..=4096).contains(m.get_ref()) {
            d.push(m.span(), "answer.max_tokens must be between 1 and 4096");
        }
        answer.max_tokens = m.into_inner();
    }
    if let Some(n) = a.context_sentences {
        if *n.get_ref() > 64 {
            d.push(
                n.span(),
                "answer.context_sentences must be between 0 and 64",
            );
        }
        answer.context_sentences = n.into_inner();
    }
    answer.mode = a.mode.unwrap_or(answer.mode);
    answer.on_busy = a.on_busy.unwrap_or(answer.on_busy);
    answer
}

/// Ids and key hashes already taken by earlier `[[principal]]` blocks: both must be unique,
/// or an audit record (by id) or a key (by hash) would not name one client.
#[derive(Default)]
struct Taken {
    ids: HashSet<String>,
    hashes: HashSet<String>,
}

fn build_principals(list: Vec<Spanned<PrincipalFile>>, d: &mut Diagnostics) -> Vec<Principal> {
    let mut taken = Taken::default();
    list.into_iter()
        .map(|p| build_principal(p.into_inner(), &mut taken, d))
        .collect()
}

fn build_principal(p: PrincipalFile, taken: &mut Taken, d: &mut Diagnostics) -> Principal {
    let id = p.id.get_ref();
    let id_ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if !id_ok {
        d.push(
            p.id.span(),
            "principal id must be 1-64 of A-Z a-z 0-9 . _ - @",
        );
    } else if !taken.ids.insert(id.clone()) {
        d.push(p.id.span(), format!("principal `{id}` is defined twice"));
    }
    let key_sha256 = build_key_hash(&p.key_sha256, id, taken, d);
    let roles = build_roles(&p.roles, d);
    if p.roles.is_empty() {
        d.push(p.id.span(), format!("principal `{id}` has no roles"));
    }
    Principal {
        id: id.clone(),
        key_sha256,
        roles,
        grants: build_grants(&p.collections, d),
    }
}

/// The key's hash, lower-cased. The message never echoes the value: a key pasted here by
/// mistake must not end up in a log.
fn build_key_hash(
    hash: &Spanned<String>,
    id: &str,
    taken: &mut Taken,
    d: &mut Diagnostics,
) -> String {
    let h = hash.get_ref();
    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        d.push(
            hash.span(),
            "key_sha256 must be the 64-hex SHA-256 of the API key (`sluice keys new` prints \
             it); never put the key itself here",
        );
        return String::new();
    }
    let h = h.to_ascii_lowercase();
    if !taken.hashes.insert(h.clone()) {
        d.push(
            hash.span(),
            format!("principal `{id}` has the same key as another principal"),
        );
    }
    h
}

/// Known roles, deduplicated and sorted; each unknown name is a problem at that name.
fn build_roles(names: &[Spanned<String>], d: &mut Diagnostics) -> Vec<Role> {
    let mut roles = Vec::new();
    for r in names {
        match Role::parse(r.get_ref()) {
            Some(role) if !roles.contains(&role) => roles.push(role),
            Some(_) => {}
            None => d.push(
                r.span(),
                format!(
                    "unknown role `{}` (expected reader, ingester, auditor or admin)",
                    r.get_ref()
                ),
            ),
        }
    }
    roles.sort();
    roles
}

/// `["*"]` is every collection; otherwise valid names, sorted and deduplicated. After a
/// problem the grants are empty (fail closed), though `finish` never lets them out anyway.
fn build_grants(collections: &[Spanned<String>], d: &mut Diagnostics) -> Grants {
    if collections.iter().any(|c| c.get_ref() == "*") {
        if collections.len() > 1 {
            d.push(
                collections[0].span(),
                "\"*\" grants every collection; list nothing else beside it",
            );
            return Grants::Only(Vec::new());
        }
        return Grants::All;
    }
    let mut names = Vec::new();
    for c in collections {
        if let Ok(name) = CollectionName::new(c.get_ref().as_str()) {
            names.push(name);
        } else {
            d.push(
                c.span(),
                "collection names are 1-64 of A-Z a-z 0-9 . _ - (or \"*\" for all)",
            );
        }
    }
    names.sort();
    names.dedup();
    Grants::Only(names)
}
