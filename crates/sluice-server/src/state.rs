//! The gateway's shared state: the swappable parts (embedder, retriever, store, generator),
//! the current policy behind an [`ArcSwap`], the audit log, and the rate limiter.
//!
//! Tests build an [`AppState`] from [`AppParts`] with whatever parts they want;
//! [`AppState::from_config`] opens the real ones.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use serde::Serialize;
use sluice_audit::{AuditConfig, AuditLog, AuditSigningKey, HmacKey, Timestamp};
use sluice_embed::{EmbedConfig, Embedder};
use sluice_index::{ChunkStore, Retriever};
use sluice_llm::{Generator, QueuedGenerator};
use sluice_policy::{Policy, PseudonymKey, Redactor};
use sluice_rag::{AnswerSettings, Answerer};

use crate::ServerError;
use crate::config::{LlmConfig, RateLimit, ServerConfig};

/// The parts an [`AppState`] is made of.
pub struct AppParts {
    /// Validated configuration (limits, principals, paths).
    pub config: ServerConfig,
    /// Sentence embedder.
    pub embedder: Arc<dyn Embedder>,
    /// Read side of the chunk index.
    pub retriever: Arc<dyn Retriever>,
    /// Write side of the chunk index.
    pub store: Arc<dyn ChunkStore>,
    /// The answer model, already wrapped in a bounded queue where wanted.
    pub generator: Arc<dyn Generator>,
    /// The queue in front of the model, for the queue-depth metric.
    pub queue: Option<Arc<QueuedGenerator>>,
    /// The compiled policy set.
    pub policy: Arc<Policy>,
    /// Files of the policy set (for `GET /v1/admin/policies`).
    pub policy_files: Vec<String>,
    /// Key for `pseudonymize`/`hash` actions; kept across policy reloads.
    pub pseudonym_key: PseudonymKey,
    /// The open audit log.
    pub audit: AuditLog,
    /// Public half of the audit signing key (verification pins it).
    pub audit_public_key: Option<String>,
    /// Key for finding-value HMACs in audit records.
    pub hmac_key: HmacKey,
}

/// What `GET /v1/admin/policies` shows.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyStatus {
    /// Policy set name.
    pub name: String,
    /// Version (hash) of the active set.
    pub version: String,
    /// When the active set was loaded (RFC 3339).
    pub loaded_at: String,
    /// Its files, relative to the policy folder.
    pub files: Vec<String>,
    /// Detectors compiled.
    pub detectors: usize,
    /// Successful reloads since start.
    pub reloads: u64,
    /// Failed reloads since start.
    pub reload_errors: u64,
    /// The last failed reload (the active set stayed in place), if any since the last
    /// successful one.
    pub last_error: Option<ReloadError>,
}

/// A rejected policy change.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadError {
    /// When it was rejected (RFC 3339).
    pub at: String,
    /// Summary.
    pub message: String,
    /// `file:line:col: …` problems (policy text only, never request data).
    pub diagnostics: Vec<String>,
}

/// Shared state of the gateway. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: ServerConfig,
    pub embedder: Arc<dyn Embedder>,
    pub store: Arc<dyn ChunkStore>,
    pub generator: Arc<dyn Generator>,
    pub queue: Option<Arc<QueuedGenerator>>,
    pub answerer: Answerer,
    pub redactor: ArcSwap<Redactor>,
    pub pseudonym_key: PseudonymKey,
    pub policy_status: Mutex<PolicyStatus>,
    /// Serialises reloads (the watcher and the admin endpoint).
    pub reload_lock: tokio::sync::Mutex<()>,
    pub audit: AuditLog,
    pub audit_public_key: Option<String>,
    pub hmac_key: HmacKey,
    pub rate: RateLimiter,
    pub metrics: crate::metrics::Metrics,
}

impl AppState {
    /// Wires the parts.
    pub fn new(parts: AppParts) -> Self {
        let settings = AnswerSettings {
            k: parts.config.answer.k,
            params: sluice_llm::GenerationParams {
                max_tokens: parts.config.answer.max_tokens,
                ..sluice_llm::GenerationParams::default()
            },
            answer_mode: parts.config.answer.mode,
            on_busy: parts.config.answer.on_busy,
            context_sentences: parts.config.answer.context_sentences,
            ..AnswerSettings::default()
        };
        let answerer = Answerer::new(
            parts.embedder.clone(),
            parts.retriever.clone(),
            parts.generator.clone(),
            settings,
        );
        let status = PolicyStatus {
            name: parts.policy.name().to_owned(),
            version: parts.policy.version().to_owned(),
            loaded_at: Timestamp::now().to_string(),
            files: parts.policy_files,
            detectors: parts.policy.detector_count(),
            reloads: 0,
            reload_errors: 0,
            last_error: None,
        };
        let redactor = Redactor::new(parts.policy, parts.pseudonym_key.clone());
        let rate = RateLimiter::new(parts.config.limits.rate_limit);
        AppState {
            inner: Arc::new(Inner {
                config: parts.config,
                embedder: parts.embedder,
                store: parts.store,
                generator: parts.generator,
                queue: parts.queue,
                answerer,
                redactor: ArcSwap::from_pointee(redactor),
                pseudonym_key: parts.pseudonym_key,
                policy_status: Mutex::new(status),
                reload_lock: tokio::sync::Mutex::new(()),
                audit: parts.audit,
                audit_public_key: parts.audit_public_key,
                hmac_key: parts.hmac_key,
                rate,
                metrics: crate::metrics::Metrics::global(),
            }),
        }
    }

    /// Opens everything the config names: policy, keys, audit log, embedder, index, model.
    pub async fn from_config(config: ServerConfig) -> Result<AppState, ServerError> {
        let (policy, policy_files) =
            load_policy(&config.policy.dir).map_err(|(message, diags)| {
                ServerError::Policy(format!("{message}\n{}", diags.join("\n")))
            })?;
        let pseudonym_key = match std::env::var("SLUICE_PSEUDONYM_KEY") {
            Ok(k) if !k.is_empty() => PseudonymKey::new(k.into_bytes()),
            _ => PseudonymKey::new(
                crate::keys::load_or_create_secret(&config.policy.pseudonym_key_file).map_err(
                    |e| {
                        ServerError::Io(format!(
                            "{}: {e}",
                            config.policy.pseudonym_key_file.display()
                        ))
                    },
                )?,
            ),
        };

        let a = &config.audit;
        let signing = if a.signing_key_file.exists() {
            AuditSigningKey::load(&a.signing_key_file)?
        } else {
            let k = AuditSigningKey::generate();
            if let Some(dir) = a.signing_key_file.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| ServerError::Io(format!("{}: {e}", dir.display())))?;
            }
            k.write_new(&a.signing_key_file)?;
            k
        };
        let public = signing.public_hex();
        let hmac = HmacKey::new(
            crate::keys::load_or_create_secret(&a.hmac_key_file)
                .map_err(|e| ServerError::Io(format!("{}: {e}", a.hmac_key_file.display())))?,
        );
        let audit_cfg = AuditConfig::new(a.dir.clone(), signing);
        let audit = tokio::task::spawn_blocking(move || AuditLog::open(audit_cfg))
            .await
            .map_err(|e| ServerError::Io(e.to_string()))??;

        let emb_dir = config.models.embedding.clone();
        let mut emb_cfg = EmbedConfig {
            threads: config.models.embed_threads,
            ..EmbedConfig::default()
        };
        let new_index = sluice_embed::Precision::for_new_index(&emb_dir, &emb_cfg);
        let (precision, why) = crate::engines::resolve_precision(
            config.models.embed_precision,
            &config.index_uri,
            new_index,
        )
        .await;
        tracing::info!(%precision, why, "embedding precision");
        emb_cfg.precision = precision;
        let embedder =
            tokio::task::spawn_blocking(move || crate::engines::embedder(&emb_dir, &emb_cfg))
                .await
                .map_err(|e| ServerError::Io(e.to_string()))??;
        let index = crate::engines::index(
            &config.index_uri,
            embedder.as_ref(),
            sluice_index::DEFAULT_INDEX_CACHE_BYTES,
        )
        .await?;
        if config.models.llm == LlmConfig::EchoForBenchmarksOnly {
            tracing::warn!("models.llm.echo = true: answers echo the question (benchmarks only)");
        }
        let inner = crate::engines::generator(&config.models.llm).await?;
        let queue = Arc::new(QueuedGenerator::new(
            inner,
            config.limits.model_concurrency,
            config.limits.model_queue,
        ));
        Ok(AppState::new(AppParts {
            config,
            embedder,
            retriever: index.clone(),
            store: index,
            generator: queue.clone(),
            queue: Some(queue),
            policy: Arc::new(policy),
            policy_files,
            pseudonym_key,
            audit,
            audit_public_key: Some(public),
            hmac_key: hmac,
        }))
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// The current redactor (a snapshot; later reloads do not change it).
    pub fn redactor(&self) -> Arc<Redactor> {
        self.inner.redactor.load_full()
    }

    /// The policy status.
    pub fn policy_status(&self) -> PolicyStatus {
        match self.inner.policy_status.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Reads the policy folder again; a valid set replaces the active one atomically, an
    /// invalid one is rejected (the active set stays) and recorded in the status.
    pub async fn reload_policy(&self) -> Result<PolicyStatus, ReloadError> {
        let _guard = self.inner.reload_lock.lock().await;
        let dir = self.inner.config.policy.dir.clone();
        let loaded = tokio::task::spawn_blocking(move || load_policy(&dir))
            .await
            .map_err(|e| (format!("reload task failed: {e}"), Vec::new()))
            .and_then(|r| r);
        let now = Timestamp::now().to_string();
        let mut st = match self.inner.policy_status.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match loaded {
            Ok((policy, files)) => {
                let changed = policy.version() != st.version;
                st.name = policy.name().to_owned();
                st.version = policy.version().to_owned();
                st.detectors = policy.detector_count();
                st.files = files;
                st.loaded_at = now;
                st.reloads += 1;
                st.last_error = None;
                self.inner.redactor.store(Arc::new(Redactor::new(
                    Arc::new(policy),
                    self.inner.pseudonym_key.clone(),
                )));
                crate::metrics::policy_reload(true);
                tracing::info!(version = %st.version, changed, "policy set loaded");
                Ok(st.clone())
            }
            Err((message, diagnostics)) => {
                let err = ReloadError {
                    at: now,
                    message,
                    diagnostics,
                };
                st.reload_errors += 1;
                st.last_error = Some(err.clone());
                crate::metrics::policy_reload(false);
                tracing::warn!(
                    problems = err.diagnostics.len(),
                    active_version = %st.version,
                    "policy change rejected; the active set stays"
                );
                Err(err)
            }
        }
    }
}

/// Reads and compiles a policy folder: the set and its file names, or a message and the
/// `file:line:col` diagnostics.
pub(crate) fn load_policy(dir: &Path) -> Result<(Policy, Vec<String>), (String, Vec<String>)> {
    let sources =
        sluice_rag::policy_files::read_sources(dir).map_err(|e| (e.to_string(), Vec::new()))?;
    let files = sources.iter().map(|s| s.path.clone()).collect();
    match Policy::compile(&sources) {
        Ok(p) => Ok((p, files)),
        Err(e) => Err((
            format!("invalid policy set ({} problems)", e.diagnostics().len()),
            e.diagnostics().iter().map(ToString::to_string).collect(),
        )),
    }
}

/// Per-key token buckets.
pub(crate) struct RateLimiter {
    limit: Option<RateLimit>,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    fn new(limit: Option<RateLimit>) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `principal`; `Err(seconds)` when none is left.
    pub fn check(&self, principal: &str) -> Result<(), u64> {
        let Some(l) = self.limit else {
            return Ok(());
        };
        let now = Instant::now();
        let mut map = match self.buckets.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let burst = f64::from(l.burst);
        let (tokens, last) = map.entry(principal.to_owned()).or_insert((burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * l.per_second;
        *tokens = (*tokens + refill).min(burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - *tokens) / l.per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bucket() {
        let r = RateLimiter::new(Some(RateLimit {
            per_second: 1.0,
            burst: 2,
        }));
        assert!(r.check("a").is_ok());
        assert!(r.check("a").is_ok());
        assert_eq!(r.check("a"), Err(1));
        assert!(r.check("b").is_ok(), "buckets are per key");
        assert!(RateLimiter::new(None).check("a").is_ok());
    }
}
