//! Sluice's HTTP gateway (axum): OpenAI-compatible and native endpoints behind API keys,
//! roles and collection grants, with the four policy boundaries on every path that moves
//! text and one audit record per request.
//!
//! | endpoint | role |
//! |---|---|
//! | `POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models` | reader |
//! | `POST /v1/ask`, `POST /v1/search`, `POST /v1/redact` | reader |
//! | `GET /v1/collections` | reader or ingester |
//! | `POST /v1/collections/{c}/documents`, `DELETE /v1/collections/{c}/documents/{doc}` | ingester |
//! | `GET /v1/audit`, `GET /v1/audit/{id}`, `GET /v1/audit/verify` | auditor |
//! | `GET /v1/admin/policies`, `POST /v1/admin/policies/reload` | admin |
//! | `GET /healthz`, `GET /readyz`, `GET /metrics` | none (not audited) |
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let cfg = sluice_server::ServerConfig::load(std::path::Path::new("sluice.toml"))?;
//! sluice_server::serve(cfg, |addr| eprintln!("listening on http://{addr}")).await?;
//! # Ok(()) }
//! ```
//!
//! Modules: [`config`] (the config file), [`authz`] (roles, grants, principals), [`keys`]
//! (API keys), [`state`] (the swappable parts), `request` (the layer that authenticates, times out, renders errors and audits),
//! `openai` / `native` (the API handlers), `probes`, `audit_api` and `policy_admin`,
//! `answer_sse` (answers as Server-Sent Events), [`reload`] (policy hot reload), `metrics`.

mod answer_sse;
mod audit_api;
pub mod authz;
pub mod config;
pub mod engines;
mod error;
pub mod keys;
mod metrics;
mod native;
mod openai;
mod policy_admin;
mod probes;
pub mod reload;
mod request;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use authz::{Grants, Principal, Role};
pub use config::{ConfigError, LlmConfig, ServerConfig, write_demo_config};
pub use error::{ApiError, ErrorInfo};
pub use keys::{hash_api_key, load_or_create_secret, new_api_key, principal_toml};
pub use reload::{PolicyWatcher, watch_policies};
pub use request::{GATEWAY_VERSION, RequestCtx};
pub use state::{AppParts, AppState, PolicyStatus, ReloadError};

/// Why the gateway could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The config file is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The policy set is invalid.
    #[error("policy: {0}")]
    Policy(String),
    /// A model could not be loaded.
    #[error("model: {0}")]
    Model(String),
    /// The chunk index could not be opened.
    #[error("index: {0}")]
    Index(#[from] sluice_index::IndexError),
    /// An engine (embedder, index, answer model) could not be opened.
    #[error(transparent)]
    Engine(#[from] engines::EngineError),
    /// The audit log could not be opened.
    #[error("audit log: {0}")]
    Audit(#[from] sluice_audit::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another IO failure (key files, the policy watcher, the server loop).
    #[error("{0}")]
    Io(String),
}

/// The router with every endpoint and the request layer.
pub fn app(state: AppState) -> Router {
    let body_limit = usize::try_from(state.config().limits.body_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics))
        .route("/v1/models", get(openai::models))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/v1/ask", post(native::ask))
        .route("/v1/search", post(native::search))
        .route("/v1/redact", post(native::redact))
        .route("/v1/collections", get(native::list_collections))
        .route(
            "/v1/collections/{collection}/documents",
            post(native::upload_document),
        )
        .route(
            "/v1/collections/{collection}/documents/{*doc}",
            axum::routing::delete(native::delete_document),
        )
        .route("/v1/audit", get(audit_api::audit_query))
        .route("/v1/audit/verify", get(audit_api::audit_verify))
        .route("/v1/audit/{id}", get(audit_api::audit_get))
        .route("/v1/admin/policies", get(policy_admin::policies))
        .route("/v1/admin/policies/reload", post(policy_admin::reload))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request::layer,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint".into())
}

/// Serves `state` on `listener` until `shutdown` resolves (for tests and embedding).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Opens everything `cfg` names, binds its listen address, calls `ready` with the bound
/// address, and serves until SIGINT or SIGTERM (in-flight requests finish). Sets up JSON
/// logs on stdout unless the program already installed a subscriber.
pub async fn serve(cfg: ServerConfig, ready: impl FnOnce(SocketAddr)) -> Result<(), ServerError> {
    init_logging();
    let listen = cfg.listen;
    let watch = cfg.policy.watch;
    let state = AppState::from_config(cfg).await?;
    let _watcher = if watch {
        Some(watch_policies(&state)?)
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::Io(e.to_string()))?;
    tracing::info!(%addr, policy_version = %state.redactor().policy().version(), "listening");
    ready(addr);
    let queue = state.inner.queue.clone();
    // In-flight requests get the request timeout (plus a moment for their audit records)
    // after SIGTERM; a connection still open then (a client reading a stream slowly) does
    // not hold the process.
    let grace = state.inner.config.limits.request_timeout + SHUTDOWN_SLACK;
    let signalled = Arc::new(tokio::sync::Notify::new());
    let notify = signalled.clone();
    let server = serve_on(listener, state, async move {
        shutdown_signal().await;
        notify.notify_one();
    });
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => r.map_err(|e| ServerError::Io(e.to_string()))?,
        () = async { signalled.notified().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(grace_s = grace.as_secs(), "grace period over; closing the remaining connections");
        }
    }
    if let Some(q) = queue {
        q.close();
    }
    Ok(())
}

/// Time after the request timeout for the last audit records to be written at shutdown.
const SHUTDOWN_SLACK: std::time::Duration = std::time::Duration::from_secs(5);

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// JSON logs on stdout, one object per line, the request id on every line of a request;
/// `RUST_LOG` filters (default `info`). Does nothing if a subscriber is installed already.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,lance=warn,lancedb=warn,mistralrs_core=warn")
    });
    let filter = silence_document_loggers(filter);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .try_init();
}

/// The PDF libraries log document text (pdf-extract's warnings quote what they could not
/// decode): their targets are off whatever `RUST_LOG` says, so no document value reaches a
/// log line.
pub fn silence_document_loggers(
    filter: tracing_subscriber::EnvFilter,
) -> tracing_subscriber::EnvFilter {
    ["pdf_extract=off", "lopdf=off"]
        .into_iter()
        .filter_map(|d| d.parse().ok())
        .fold(filter, tracing_subscriber::EnvFilter::add_directive)
}
